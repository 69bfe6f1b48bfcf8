"""Loops: for/else and while/else, break and continue through try/finally and with,
loops over iterators that raise, modified loop variables, infinite loops left by return,
nested loops left by flags, and iterator protocol edge cases."""


class Noisy:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        print("exit", self.name)


def search(grid, wanted):
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if value == wanted:
                break
        else:
            continue
        return r, c
    else:
        return None


print(search([[1, 2], [3, 4]], 4), search([[1]], 9))


def while_else(n):
    i = 0
    while i < n:
        i += 1
        if i == 10:
            break
    else:
        return "no break", i
    return "break", i


print(while_else(3), while_else(20))


def through_blocks():
    out = []
    for i in range(4):
        with Noisy(f"with{i}"):
            try:
                if i == 0:
                    continue
                if i == 2:
                    break
                out.append(i)
            finally:
                out.append(f"finally{i}")
    return out


print(through_blocks())


def infinite_loop_left_by_return():
    n = 0
    while True:
        n += 1
        if n * n > 50:
            return n


print(infinite_loop_left_by_return())


class Countdown:
    def __init__(self, start):
        self.current = start

    def __iter__(self):
        return self

    def __next__(self):
        if self.current <= 0:
            raise StopIteration
        self.current -= 1
        if self.current == 2:
            raise LookupError("iterator failed")
        return self.current


try:
    for value in Countdown(5):
        print("countdown", value)
except LookupError as exc:
    print("iteration stopped by", exc, exc.__traceback__.tb_next.tb_lineno)


def loop_variable_changes():
    seen = []
    for i in range(3):
        seen.append(i)
        i = 100  # does not affect the iteration
    return seen, i


print(loop_variable_changes())


def nested_while(limit):
    a = 0
    found = None
    while a < limit and found is None:
        b = 0
        while b < limit:
            if a * b == 6:
                found = (a, b)
                break
            b += 1
        a += 1
    return found


print(nested_while(5), nested_while(2))

total = 0
for i in range(1000):
    if i % 3 == 0:
        continue
    if i > 500:
        break
    total += i
else:
    total = -1
print(total, i)

it = iter([1, 2, 3, 4, 5])
for x in it:
    if x == 2:
        print("skipping", next(it))
print(list(it))
