"""Nested closures: cells, nonlocal chains, late binding, closures over loop variables,
class scopes that closures skip, __class__ cells and cells deleted and rebound."""


def counter(start):
    count = start

    def bump(step=1):
        nonlocal count
        count += step
        return count

    def peek():
        return count

    return bump, peek


bump, peek = counter(10)
print(bump(), bump(5), peek())


def late_binding():
    funcs = [lambda: i for i in range(3)]
    bound = [lambda i=i: i for i in range(3)]
    return [f() for f in funcs], [f() for f in bound]


print(late_binding())


def three_levels(x):
    def middle(y):
        def inner(z):
            nonlocal y
            y += z
            return x + y + z
        r = inner(1), inner(2)
        return r, y
    return middle(100)


print(three_levels(1000))


x = "global x"


class Scope:
    x = "class x"

    def method(self):
        return x  # class attributes are not in the closure

    items = [x for _ in range(2)]  # the iterable's scope is the class body
    names = (lambda: x)()


print(Scope().method(), Scope.items, Scope.names)


class Base:
    def hello(self):
        return "base"


class Child(Base):
    def hello(self):
        def helper():
            return super(Child, self).hello() + "+helper"
        return super().hello(), helper(), __class__.__name__


print(Child().hello())


def deleted_cell():
    value = 1

    def read():
        return value

    first = read()
    del value
    try:
        read()
    except NameError as exc:
        second = str(exc)
    value = 2
    return first, second, read()


print(deleted_cell())


def cell_in_loop():
    out = []
    for i in range(3):
        def show(i=i, j=i * 2):
            return (i, j)
        out.append(show)
    return [f() for f in out]


print(cell_in_loop())


def unbound_local():
    total = 0

    def add():
        total += 1  # noqa: F823 - local before assignment
        return total

    return add()


try:
    unbound_local()
except UnboundLocalError as exc:
    print(type(exc).__name__, exc.args[0].split("'")[1])


def make_adders():
    return {n: (lambda m, n=n: m + n) for n in range(3)}


print({k: f(10) for k, f in make_adders().items()})
print(counter.__code__.co_freevars, counter.__code__.co_cellvars)
print(bump.__code__.co_freevars, [c.cell_contents for c in bump.__closure__])
