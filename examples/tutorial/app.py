def main():
    name = "world"
    print("hello, " + name)


main()
