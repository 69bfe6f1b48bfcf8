"""Step 3: changing a constant with code.replace.

Code objects are immutable, but ``code.replace(field=value)`` makes a copy with some fields
changed, and a function's ``__code__`` can be swapped for it.
"""


def greet(name):
    return "Hello, " + name


print(greet("Ada"))
code = greet.__code__
print("co_consts before:", code.co_consts)

consts = tuple("Bonjour, " if c == "Hello, " else c for c in code.co_consts)
greet.__code__ = code.replace(co_consts=consts)

print("co_consts after: ", greet.__code__.co_consts)
print(greet("Ada"))
assert greet("Ada") == "Bonjour, Ada"
# the bytecode did not change: LOAD_CONST still loads constant number 1 (or whichever)
assert greet.__code__.co_code == code.co_code
