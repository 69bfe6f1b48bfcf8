"""Generators: send/throw/close, yield from with return values, finally in generators,
generator expressions, StopIteration, gi_frame line numbers, recursion through yield from."""

import sys


def echo():
    received = None
    try:
        while True:
            try:
                received = yield received
            except ValueError as exc:
                received = f"caught {exc}"
    finally:
        print("echo closed")


g = echo()
print(next(g), g.send(1), g.send("two"), g.throw(ValueError("bad")))
print("suspended at line", g.gi_frame.f_lineno)
g.close()
print(g.gi_frame)


def inner():
    x = yield 1
    y = yield x * 2
    return x + y


def outer():
    result = yield from inner()
    print("inner returned", result)
    yield result * 10
    return "outer done"


o = outer()
print(next(o), o.send(5), o.send(7))
try:
    next(o)
except StopIteration as stop:
    print("stop value", stop.value)


def tree(depth):
    if depth:
        yield from tree(depth - 1)
        yield depth
        yield from tree(depth - 1)


print(list(tree(3)))


def with_finally():
    try:
        yield 1
        yield 2
    finally:
        print("cleanup at", sys._getframe().f_lineno)


w = with_finally()
print(next(w))
del w  # closing by refcount runs the finally

gen_exp = (i * i for i in range(5) if i % 2)
print(gen_exp.gi_frame.f_lineno, list(gen_exp), list(gen_exp))


def raising():
    yield 1
    raise KeyError("inside generator")


try:
    for value in raising():
        print("got", value)
except KeyError as exc:
    tb = exc.__traceback__
    lines = []
    while tb:
        lines.append(tb.tb_lineno)
        tb = tb.tb_next
    print("KeyError", exc.args, lines)


def stop_iteration_inside():
    yield 1
    raise StopIteration("converted")


try:
    list(stop_iteration_inside())
except RuntimeError as exc:
    print(type(exc).__name__, exc, type(exc.__cause__).__name__)


def lines_of_suspension():
    yield sys._getframe().f_lineno
    x = 1
    yield x


s = lines_of_suspension()
print(next(s), s.gi_frame.f_lineno, next(s), s.gi_frame.f_lineno)


def pipeline(n):
    numbers = (i for i in range(n))
    evens = (i for i in numbers if i % 2 == 0)
    squares = (i * i for i in evens)
    return sum(squares), max((i for i in range(n)), default=None)


print(pipeline(10), pipeline(0))
