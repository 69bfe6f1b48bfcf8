"""What every generated program imports (``from bchook.tools.check.prelude import *``).

Helpers that make a program's behaviour visible: ``report()`` calls a function and prints
what it returned or raised (with the line numbers of the traceback); context managers,
awaitables and async iterators that print what happens to them; ``drive()`` runs a
coroutine without an event loop. Installed with bchook, so a reproduction file that
imports it runs wherever bchook does; it is never rewritten (bchook does not rewrite its
own modules).
"""

import sys

__all__ = ["sys", "show", "here", "report", "CM", "ACM", "Tick", "ARange", "drive", "deco",
           "tagged"]


def show(*args, **kw):
    print(*args, **kw)


def here():
    return sys._getframe(1).f_lineno


def report(label, fn, *args, **kw):
    try:
        value = fn(*args, **kw)
    except Exception as exc:
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename != __file__:
                frames.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
            tb = tb.tb_next
        context = exc.__context__
        print(label, "raised", type(exc).__name__, exc.args, frames,
              None if context is None else type(context).__name__)
    else:
        print(label, "returned", repr(value))


class CM:
    def __init__(self, name, suppress=False):
        self.name = name
        self.suppress = suppress

    def __enter__(self):
        print("enter", self.name)
        return self.name

    def __exit__(self, kind, value, tb):
        print("exit", self.name, None if kind is None else kind.__name__)
        return self.suppress


class ACM(CM):
    async def __aenter__(self):
        await Tick(self.name)
        return self.__enter__()

    async def __aexit__(self, kind, value, tb):
        return self.__exit__(kind, value, tb)


class Tick:
    def __init__(self, value):
        self.value = value

    def __await__(self):
        got = yield self.value
        return got


class ARange:
    def __init__(self, n):
        self.n = n
        self.i = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.i >= self.n:
            raise StopAsyncIteration
        self.i += 1
        await Tick(self.i)
        return self.i


def drive(coro):
    sent = None
    for _ in range(1000):
        try:
            value = coro.send(sent)
        except StopIteration as stop:
            return stop.value
        sent = (value, "back")
    coro.close()
    raise RuntimeError("coroutine did not finish")


def deco(fn):
    def wrapper(*args, **kw):
        print("call", fn.__name__, len(args), sorted(kw))
        return fn(*args, **kw)
    wrapper.__name__ = fn.__name__
    return wrapper


def tagged(tag):
    def apply(fn):
        fn.tag = tag
        return fn
    return apply
