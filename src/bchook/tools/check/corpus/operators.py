"""Operators in every kind of scope: binary, unary, augmented and reflected, with the
dunder methods that answer them (and NotImplemented falling through to the other side),
in functions with the everyday names a pass may single out (add, total, main...)."""

import operator


class Loud:
    """A number that says which method Python called."""

    def __init__(self, v):
        self.v = v

    def __repr__(self):
        return f"Loud({self.v})"

    def __add__(self, other):
        print("__add__", other)
        return Loud(self.v + (other.v if isinstance(other, Loud) else other))

    def __radd__(self, other):
        print("__radd__", other)
        return Loud(other + self.v)

    def __iadd__(self, other):
        print("__iadd__", other)
        self.v += other
        return self

    def __sub__(self, other):
        print("__sub__", other)
        return NotImplemented if isinstance(other, str) else Loud(self.v - other)

    def __rsub__(self, other):
        print("__rsub__", other)
        return Loud(other - self.v)

    def __mul__(self, other):
        return Loud(self.v * other)

    def __matmul__(self, other):
        return ("matmul", self.v, other)

    def __neg__(self):
        return Loud(-self.v)

    def __invert__(self):
        return Loud(~self.v)

    def __lt__(self, other):
        print("__lt__", other)
        return self.v < other

    def __eq__(self, other):
        return isinstance(other, Loud) and self.v == other.v

    __hash__ = None


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def total(values, start=0):
    result = start
    for v in values:
        result += v
    return result


def compute(x, y):
    return (x + y) * (x - y) // (y or 1) % 7 + x ** 2 - (x << 2) + (x >> 1) + (x & y) + \
        (x | y) + (x ^ y) + -x + ~y + +x


def f(a, b=1 + 2):
    return a + b


def g(text):
    return text + "!" + text * 2


def h(items):
    items += [len(items)]
    items = items + [0]
    return items


def helper():
    inner_total = 0

    def inner(n):
        nonlocal inner_total
        inner_total += n
        return inner_total + 1

    return [inner(i) for i in range(4)], inner_total


def main():
    print("add", add(2, 3), add("a", "b"), add([1], [2]), add(1.5, 2), add(True, True))
    print("sub", sub(10, 4), sub(2.5, 1), sub({1, 2}, {1}))
    print("total", total(range(5)), total(["a", "b"], ""), total([[1], [2]], []))
    print("compute", compute(7, 3), compute(-4, 0), compute(10**20, 3))
    print("f", f(1), f(1, 2), "g", g("hi"), "h", h([5]))
    print("helper", helper())
    print("lambda", (lambda p, q: p + q - 1)(3, 4), sorted([3, 1, 2], key=lambda k: -k))
    print("bool", 1 + True, True + True, -True, ~int(False))
    print("divmod", 7 // -2, -7 % 3, 7.5 // 2, divmod(-7, 2), 2 ** -1, (-8) ** (1 / 3) == 2)
    print("chains", 1 < 2 < 3, 3 > 2 > 2, 1 < 2 == 2.0 != 3, "a" < "b" <= "b")
    print("strings", "ab" + "cd", "ab" * 3, "%s+%d" % ("x", 4), f"{2 + 3}{'+'}")
    print("containers", [1] + [2], (1,) + (2,), [0] * 3, {1} | {2}, {1, 2} & {2}, {1} ^ {2},
          {"a": 1} | {"b": 2})
    x = Loud(1)
    print("loud", x + 2, 3 + x, x - 1, 5 - x, x * 3, x @ 4, -x, ~x)
    y = x
    y += 5
    print("iadd keeps identity", y is x, x)
    try:
        print(x - "s")
    except TypeError as exc:
        print("TypeError", exc)
    print("sorted", sorted([Loud(3), Loud(1), Loud(2)], key=lambda v: v.v))
    print("operator", operator.add(1, 2), operator.sub(5, 3), operator.iadd([1], [2]))
    try:
        print(add(1, "a"))
    except TypeError as exc:
        print("TypeError", exc)
    try:
        print(sub(None, 1))
    except TypeError as exc:
        print("TypeError", exc)


class Accumulator:
    start = 10 + 5
    step = start - 3
    values = [i + 2 for i in range(3)]
    try:  # a comprehension does not see the class body's names
        hidden = [start + i for i in range(2)]
    except NameError as exc:
        hidden = str(exc)

    def __init__(self):
        self.n = self.start

    def add(self, v):
        self.n += v
        return self

    def total(self):
        return self.n + sum(self.values) - self.step


def numbers():
    n = 0
    while n < 5:
        yield n + 100
        n += 2


async def coro(a, b):
    return a + b


def drive(c):
    try:
        c.send(None)
    except StopIteration as stop:
        return stop.value


main()
print("class", Accumulator().add(4).add(-1).total(), Accumulator.start, Accumulator.values,
      Accumulator.hidden)
print("generator", list(numbers()), sum(v + 1 for v in numbers()))
print("coroutine", drive(coro(20, 22)), drive(coro("a", "b")))
counter = 0
for i in range(3):
    counter += i + 1
    counter -= 1
print("module", counter, add(counter, -counter), i + counter)
