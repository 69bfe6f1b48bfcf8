"""Helpers for the trace pass tests: a corpus of tricky code and ways to run it traced."""

from __future__ import annotations

import sys
import types

from bchook.testing import load_module
from bchook.passes.trace.instrument import TracePass
from bchook.passes.trace.runtime import _runtime

#: Every kind of code object and control flow the probes must survive: closures, class
#: bodies, comprehensions, generators driven by send/throw/close, yield from, context
#: managers, try/finally with break/continue, tracebacks, frames, match, decorators,
#: coroutines with gather/wait_for timeouts, async generators and async with.
CORPUS = """\
import asyncio
import contextlib
import functools
import inspect
import sys
import traceback

OUT = []


def note(*args):
    OUT.append(args)


def plain(a, b=2, *args, c=3, **kw):
    return a + b + c + len(args) + len(kw)


def closure(n):
    total = 0

    def add(k):
        nonlocal total
        total += k
        return total
    for i in range(n):
        add(i)
    return total, (lambda: total)()


class Base:
    created = [x * 2 for x in range(3)]

    def __init__(self, v):
        self.v = v

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.tag = cls.__name__.lower()

    @property
    def double(self):
        return self.v * 2

    @staticmethod
    def static(x):
        return -x

    @classmethod
    def make(cls, v):
        return cls(v)


class Child(Base):
    def __init__(self, v):
        super().__init__(v + 1)

    def method(self):
        return self.double + self.static(1)


def comprehensions(n):
    a = [i * i for i in range(n) if i % 2]
    b = {i: [j for j in range(i)] for i in range(n)}
    c = {x for x in a}
    d = list(x + 1 for x in c)
    return a, b, sorted(c), sorted(d)


def gen(n):
    got = []
    for i in range(n):
        x = yield i
        got.append(x)
    return got


def delegate(n):
    r = yield from gen(n)
    yield ("done", r)


def gen_protocol():
    g = delegate(3)
    out = [next(g), g.send("a"), g.send("b"), g.send("c")]
    g2 = gen(5)
    next(g2)
    try:
        g2.throw(KeyError("k"))
    except KeyError as e:
        out.append(("thrown", str(e)))
    g3 = delegate(2)
    next(g3)
    g3.close()
    out.append(list(gen(0)))
    return out


def catching_gen():
    try:
        yield 1
    except ValueError:
        yield "caught"
    finally:
        note("catching_gen finally")


def throw_into_catching():
    g = catching_gen()
    a = next(g)
    b = g.throw(ValueError)
    g.close()
    return a, b


@contextlib.contextmanager
def managed(tag):
    note("enter", tag)
    try:
        yield tag
    except ZeroDivisionError:
        note("handled", tag)
    finally:
        note("exit", tag)


def with_blocks():
    with managed("a") as t:
        x = t * 2
    with managed("b"):
        1 / 0
    return x


def try_finally(n):
    out = []
    for i in range(n):
        try:
            if i == 1:
                continue
            if i == 3:
                break
            out.append(i)
        finally:
            out.append(-i)
    else:
        out.append("else")
    return out


def raises(depth):
    if depth == 0:
        raise ValueError("bottom")
    return raises(depth - 1)


def traceback_lines():
    try:
        raises(3)
    except ValueError as e:
        return [(f.name, f.lineno) for f in traceback.extract_tb(e.__traceback__)]


def returns_own_exception():
    try:
        raise KeyError("mine")
    except KeyError as e:
        return e


def frame_lines():
    here = sys._getframe().f_lineno
    there = inspect.currentframe().f_lineno
    return here, there, inspect.getframeinfo(inspect.currentframe()).lineno


def recursive_mutual(n):
    return n if n <= 0 else recursive_other(n - 1)


def recursive_other(n):
    return recursive_mutual(n - 1) + 1


def match_it(v):
    match v:
        case {"k": x}:
            return ("dict", x)
        case [a, *rest]:
            return ("list", a, len(rest))
        case str() as s if len(s) > 2:
            return ("str", s)
        case _:
            return ("other",)


def walrus(data):
    if (n := len(data)) > 2:
        return n
    return -n


@functools.lru_cache(maxsize=None)
def cached(n):
    return n if n < 2 else cached(n - 1) + cached(n - 2)


def decorator(f):
    @functools.wraps(f)
    def wrapper(*a, **k):
        return ("wrapped", f(*a, **k))
    return wrapper


@decorator
def decorated(x):
    return x * 3


async def co_leaf(x):
    await asyncio.sleep(0)
    return x * 2


async def co_agen(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


class AsyncCM:
    async def __aenter__(self):
        await asyncio.sleep(0)
        return "acm"

    async def __aexit__(self, *exc):
        await asyncio.sleep(0)
        return False


async def co_main():
    a = await co_leaf(1)
    b = await asyncio.gather(co_leaf(2), co_leaf(3))
    c = [i async for i in co_agen(3)]
    async with AsyncCM() as d:
        pass
    try:
        await asyncio.wait_for(asyncio.sleep(10), 0.001)
    except asyncio.TimeoutError:
        e = "timeout"
    return a, b, c, d, e


def exception_chain():
    try:
        try:
            raise KeyError("inner")
        except KeyError as e:
            raise ValueError("outer") from e
    except ValueError as e:
        return (type(e.__cause__).__name__, str(e))


def main():
    results = [
        plain(1, 2, 3, 4, c=5, d=6),
        closure(5),
        Child.make(3).method(), Child.tag, Base.created,
        comprehensions(6),
        gen_protocol(),
        throw_into_catching(),
        with_blocks(),
        try_finally(5),
        traceback_lines(),
        repr(returns_own_exception()),
        frame_lines(),
        recursive_mutual(9),
        [match_it(v) for v in ({"k": 1}, [1, 2, 3], "abcd", 5)],
        walrus("abcd"), walrus("a"),
        cached(20),
        decorated(4),
        asyncio.run(co_main()),
        exception_chain(),
    ]
    return results, list(OUT)
"""

BACKENDS = ["c", "py"]


def accelerated() -> bool:
    return _runtime.load_accel() is not None


def options_for(backend: str, **options) -> dict:
    if backend == "py":
        options["accel"] = "0"
    return options


def load(source: str, path, name: str = "traced_sample", passes=()) -> types.ModuleType:
    """Compile ``source`` (as file ``path``) through ``passes`` and run it as a module."""
    return load_module(source, list(passes), name=name, filename=str(path))


def traced(source: str, path, name: str = "traced_sample", **options) -> types.ModuleType:
    return load(source, path, name, [TracePass(**options)])


def own_stats(path) -> dict:
    """{(file, line, name): (primitive calls, calls)} recorded so far for ``path``."""
    import bchook.trace
    stats = bchook.trace.profile().stats()
    return {k: v[:2] for k, v in stats.items() if k[0] == str(path)}
