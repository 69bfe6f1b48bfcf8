"""Decorator stacks, decorators with arguments, functools.wraps/lru_cache/partial/
singledispatch, contextmanager, decorators that replace functions by objects, decorator
expressions (3.9+)."""

import functools


def trace_calls(prefix):
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            print(prefix, fn.__name__, args, sorted(kwargs.items()))
            result = fn(*args, **kwargs)
            print(prefix, "->", result)
            return result
        return wrapper
    return decorate


def twice(fn):
    def wrapper(*args):
        return fn(*fn(*args))
    return wrapper


@trace_calls("outer")
@trace_calls("inner")
@twice
def swap(a, b):
    return b, a


print(swap(1, 2), swap.__name__, swap.__wrapped__.__name__)


@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(30), fib.cache_info().hits > 0)


@functools.singledispatch
def kind(x):
    return "object"


@kind.register
def _(x: int):
    return "int"


@kind.register(str)
def _(x):
    return "str"


print(kind(1), kind("s"), kind(2.0), kind(True))


class Registry:
    def __init__(self):
        self.items = {}

    def __call__(self, name):
        def add(fn):
            self.items[name] = fn
            return fn
        return add


registry = Registry()


@registry("one")
def one():
    return 1


@(lambda fn: fn())  # a decorator that is any expression
def computed():
    return "computed at definition"


buttons = [lambda f, i=i: (i, f) for i in range(2)]


@buttons[1]
def clicked():
    pass


print(registry.items["one"](), computed, clicked[0])


class Counted:
    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.calls = 0
        self.fn = fn

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


@Counted
def add(a, b):
    return a + b


print(add(1, 2), add(3, 4), add.calls, add.__name__)

partial_add = functools.partial(add, 10)
print(partial_add(5), add.calls)


def failing_decorator(fn):
    raise RuntimeError(f"cannot decorate {fn.__name__}")


try:
    @failing_decorator
    def victim():
        pass
except RuntimeError as exc:
    print(exc, exc.__traceback__.tb_lineno, exc.__traceback__.tb_next.tb_lineno)
