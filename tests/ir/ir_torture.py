"""Source text full of the constructs that make bytecode hard to re-encode.

Every ``t_*`` function takes no argument and returns a value built from everything it
did, so running the same source compiled two ways (plain, and through an IR pass) and
comparing the results checks behaviour, not just bytes. ``SOURCE`` is compiled by the
tests (it is a string, not imported code, so the tests can choose how it is compiled);
``generated_source()`` adds functions big enough to need ``EXTENDED_ARG``.
"""

from __future__ import annotations

SOURCE = r'''
import sys


class Boom(Exception):
    pass


class Ctx:
    def __init__(self, log, swallow=False):
        self.log = log
        self.swallow = swallow

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, tp, value, tb):
        self.log.append(("exit", tp.__name__ if tp else None))
        return self.swallow


def t_loops():
    out = []
    for i in range(6):
        if i == 1:
            continue
        for j in range(3):
            if j == 2:
                break
            out.append((i, j))
        else:
            out.append("no-break")
        if i == 4:
            break
    else:
        out.append("never")
    n = 0
    while n < 5:
        n += 1
        if n % 2:
            continue
        out.append(n)
    else:
        out.append("while-else")
    return out


def t_try_matrix():
    log = []
    for k in range(5):
        try:
            try:
                if k == 0:
                    raise Boom("zero")
                if k == 1:
                    raise KeyError(k)
                if k == 2:
                    log.append("no error")
                if k == 3:
                    continue
                if k == 4:
                    break
            except Boom as e:
                log.append(("boom", str(e)))
            except (KeyError, IndexError) as e:
                log.append(("lookup", type(e).__name__))
            else:
                log.append("else")
            finally:
                log.append(("finally", k))
        finally:
            log.append("outer")
    return log


def _return_in_finally():
    try:
        return "try"
    finally:
        return "finally"  # noqa: B012


def t_finally_wins():
    def swallow():
        try:
            raise Boom("lost")
        finally:
            return "swallowed"  # noqa: B012
    return [_return_in_finally(), swallow()]


def t_chaining():
    try:
        try:
            raise KeyError("inner")
        except KeyError as e:
            raise Boom("outer") from e
    except Boom as e:
        return (str(e), repr(e.__cause__), e.__suppress_context__)


def t_with():
    log = []
    with Ctx(log) as a, Ctx(log):
        log.append("body")
    with Ctx(log, swallow=True):
        raise Boom()
    try:
        with Ctx(log):
            raise KeyError("x")
    except KeyError:
        log.append("caught")
    return log


def _gen(n):
    received = []
    for i in range(n):
        got = yield i
        received.append(got)
    return received


def _delegate():
    result = yield from _gen(3)
    yield ("done", result)


def t_generators():
    g = _delegate()
    out = [next(g)]
    out.append(g.send("a"))
    out.append(g.send("b"))
    out.append(g.send("c"))
    g2 = _gen(5)
    next(g2)
    try:
        g2.throw(Boom("thrown"))
    except Boom as e:
        out.append(str(e))
    g3 = (x * x for x in range(5) if x % 2)
    out.append(list(g3))
    return out


class Awaitable:
    def __init__(self, value):
        self.value = value

    def __await__(self):
        got = yield ("suspend", self.value)
        return (self.value, got)


class AsyncCtx:
    def __init__(self, log):
        self.log = log

    async def __aenter__(self):
        self.log.append("aenter")
        return await Awaitable("enter")

    async def __aexit__(self, *exc):
        self.log.append(("aexit", exc[0].__name__ if exc[0] else None))
        return False


async def _agen(n):
    for i in range(n):
        yield await Awaitable(i)


async def _coro(log):
    async with AsyncCtx(log) as entered:
        log.append(entered)
    async for v in _agen(2):
        log.append(v)
    try:
        await Awaitable("fail")
        raise Boom("in coroutine")
    except Boom as e:
        log.append(str(e))
    return [x async for x in _agen(2)]


def t_async():
    log = []
    coro = _coro(log)
    sent = None
    trace = []
    while True:
        try:
            trace.append(coro.send(sent))
        except StopIteration as stop:
            return (log, trace, stop.value)
        sent = len(trace)


def t_closures():
    def counter():
        count = 0

        def inc(by=1):
            nonlocal count
            count += by
            return count
        return inc
    c = counter()
    c()
    c(5)
    adders = [lambda x, i=i: x + i for i in range(3)]
    late = [lambda x: x + i for i in range(3)]  # noqa: B023
    return [c(), [f(10) for f in adders], [f(10) for f in late]]


class Base:
    def hello(self):
        return "base"


class Child(Base):
    attr = [i for i in range(3)]

    def hello(self):
        return "child+" + super().hello()

    @property
    def cls_name(self):
        return __class__.__name__


def t_classes():
    c = Child()
    return [c.hello(), c.cls_name, Child.attr, type(c).__mro__[1].__name__]


class Point:
    __match_args__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def _classify(value):
    match value:
        case 0 | 1:
            return "small"
        case [first, *rest] if first == "cmd":
            return ("command", rest)
        case {"kind": "point", **others}:
            return ("mapping", sorted(others))
        case Point(x=0, y=y):
            return ("on-y-axis", y)
        case Point(x, y) if x == y:
            return ("diagonal", x)
        case str() as s:
            return ("string", s.upper())
        case _:
            return "other"


def t_match():
    values = [0, 1, ["cmd", 1, 2], {"kind": "point", "a": 1, "b": 2}, Point(0, 5),
              Point(3, 3), Point(1, 2), "abc", 3.5]
    return [_classify(v) for v in values]


def t_expressions():
    data = {"a": 1, "b": [1, 2, 3]}
    first, *middle, last = range(6)
    merged = {**data, "c": 3}
    text = f"{first!r:>4}|{last:03d}|{data['a'] + 1}|{'nested ' + f'{middle}'}"
    if (n := len(middle)) > 2:
        text += "+" + str(n)
    chained = 1 < first + 1 < 3 <= last
    short = data.get("zz") or data.get("a") and "and"
    ternary = "yes" if chained else "no"
    s = {x % 3 for x in range(10)}
    d = {k: v for k, v in zip("abc", range(3)) if v}
    return [text, chained, short, ternary, sorted(s), d, merged, middle,
            min(1, 2, key=None), divmod(17, 5), (lambda *a, **k: (a, k))(1, 2, x=3)]


G = 0


def t_scopes():
    global G
    G += 1
    x = 5
    del x
    try:
        x  # noqa: F821
    except UnboundLocalError as e:
        err = type(e).__name__
    names = []
    for name in ("G", "t_scopes"):
        names.append(name in globals())
    return [G, err, names]


def t_long_lines():
    values = {"alpha": 1, "beta": 2, "gamma": 3, "delta": 4, "epsilon": 5, "zeta": 6, "eta": 7, "theta": 8, "iota": 9, "kappa": 10, "lambda_": 11, "mu": 12}; total = values["alpha"] + values["beta"] + values["gamma"] + values["delta"] + values["epsilon"] + values["zeta"] + values["eta"] + values["theta"] + values["iota"] + values["kappa"] + values["lambda_"] + values["mu"]; return total


def _deep(n):
    if n == 0:
        return {}["missing"]
    try:
        return _deep(n - 1)
    finally:
        pass


def t_traceback():
    try:
        _deep(3)
    except KeyError as e:
        tb = e.__traceback__
        lines = []
        while tb is not None:
            lines.append((tb.tb_frame.f_code.co_name, tb.tb_lineno - tb.tb_frame.f_code.co_firstlineno))
            tb = tb.tb_next
        return lines


def t_assert():
    try:
        assert 1 + 1 == 3, "math"
    except AssertionError as e:
        return str(e)
    return "assertions disabled"
'''


def generated_source(branches: int = 300, consts: int = 300) -> str:
    """Functions long enough for jumps and constant indexes over 255 (``EXTENDED_ARG``)."""
    lines = ["def t_big_branches(x=7):", "    out = []", "    for i in range(3):"]
    for k in range(branches):
        lines.append(f"        if x == {k} or i == {k % 5}:")
        lines.append(f"            out.append({k})")
    lines.append("        x += 1")
    lines.append("    return out")
    lines.append("")
    lines.append("def t_many_consts():")
    items = ", ".join(f"{k}.5" for k in range(consts))
    lines.append(f"    values = [{items}]")
    strings = " + ".join(f"'s{k}'" for k in range(consts))
    lines.append(f"    text = {strings}")
    lines.append("    return (sum(values), len(text))")
    lines.append("")
    lines.append("def t_long_while():")
    lines.append("    n = 0")
    lines.append("    while n < 50:")
    for k in range(branches):
        lines.append(f"        n += {k % 3}")
    lines.append("        n += 1")
    lines.append("    return n")
    return "\n".join(lines) + "\n"


def full_source() -> str:
    return SOURCE + "\n\n" + generated_source()
