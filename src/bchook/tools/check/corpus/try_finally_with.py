"""try/except/else/finally and with: return/break/continue in finally, nested handlers,
suppressing context managers, exceptions replaced in finally, re-raise, exc_info."""

import contextlib
import sys


def finally_return():
    try:
        return "try"
    finally:
        return "finally"  # noqa: B012 - overrides the return (and any exception)


def finally_swallows():
    try:
        raise ValueError("lost")
    finally:
        return "swallowed"  # noqa: B012


def loop_control():
    out = []
    for i in range(5):
        try:
            if i == 1:
                continue
            if i == 3:
                break
            out.append(i)
        finally:
            out.append(f"f{i}")
    else:
        out.append("no break")
    return out


def break_in_finally():
    for i in range(3):
        try:
            raise KeyError(i)
        finally:
            break  # noqa: B012 - drops the KeyError
    return i


def nested():
    log = []
    try:
        try:
            1 / 0
        except ZeroDivisionError:
            log.append(repr(sys.exc_info()[1]))
            try:
                raise ValueError("inner")
            except ValueError as exc:
                log.append((repr(exc), repr(exc.__context__)))
            log.append(repr(sys.exc_info()[1]))
            raise
    except ArithmeticError as exc:
        log.append(("outer", type(exc).__name__))
    else:
        log.append("else not run")
    log.append(sys.exc_info())
    return log


class Tracked:
    log = []

    def __init__(self, name, suppress=False):
        self.name = name
        self.suppress = suppress

    def __enter__(self):
        self.log.append(("enter", self.name))
        return self

    def __exit__(self, kind, value, tb):
        self.log.append(("exit", self.name, kind and kind.__name__))
        return self.suppress


def withs():
    with Tracked("outer"), Tracked("middle", suppress=True) as m:
        with Tracked("inner"):
            raise OSError(m.name)
    with contextlib.suppress(KeyError):
        {}["x"]
    with contextlib.ExitStack() as stack:
        for n in range(3):
            stack.enter_context(Tracked(f"stack{n}"))
    try:
        with Tracked("raising"):
            raise IndexError("escapes")
    except IndexError as exc:
        Tracked.log.append(repr(exc))
    return Tracked.log


def replaced_in_finally():
    try:
        try:
            raise KeyError("first")
        finally:
            raise ValueError("second")
    except ValueError as exc:
        return repr(exc), repr(exc.__context__)


def else_and_finally(x):
    log = []
    try:
        log.append(10 // x)
    except ZeroDivisionError:
        log.append("zero")
        return log
    else:
        log.append("else")
        return log
    finally:
        log.append("finally")


@contextlib.contextmanager
def managed(name):
    print("setup", name)
    try:
        yield name.upper()
    except RuntimeError as exc:
        print("handled in generator", exc)
    finally:
        print("teardown", name)


with managed("cm") as value:
    print("body", value)
with managed("cm2"):
    raise RuntimeError("from body")

print(finally_return(), finally_swallows(), loop_control(), break_in_finally())
print(nested())
print(withs())
print(replaced_in_finally(), else_and_finally(0), else_and_finally(5))


def deep_blocks(n):
    # Many nested blocks at once (CPython allows at most 20 statically nested ones).
    out = []
    for a in range(n):
        try:
            with Tracked("d1"):
                for b in range(n):
                    try:
                        with Tracked("d2"):
                            while True:
                                try:
                                    with Tracked("d3"):
                                        for c in range(n):
                                            try:
                                                with Tracked("d4"):
                                                    try:
                                                        out.append((a, b, c))
                                                        if c == 1:
                                                            raise ValueError(c)
                                                    finally:
                                                        out.append("f")
                                            except ValueError:
                                                out.append("v")
                                finally:
                                    out.append("w")
                                break
                    finally:
                        out.append("b")
        finally:
            out.append("a")
    return out


print(deep_blocks(2))
Tracked.log.clear()
