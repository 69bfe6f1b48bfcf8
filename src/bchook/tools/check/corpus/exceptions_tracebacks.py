"""Exceptions: chaining (from, context, suppressed), re-raise, exceptions in handlers,
tracebacks through multi-line expressions, exception attributes, custom exceptions, assert,
and an uncaught exception at the end (the runner prints its traceback)."""

import traceback


class AppError(Exception):
    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code


def tb_lines(exc):
    return [(f.name, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]


def chained():
    try:
        {}["key"]
    except KeyError as exc:
        raise AppError(404, "not found") from exc


def context_only():
    try:
        1 / 0
    except ZeroDivisionError:
        [][0]


def suppressed():
    try:
        1 / 0
    except ZeroDivisionError:
        raise ValueError("clean") from None


def reraise():
    try:
        int("x")
    except ValueError:
        raise


def multi_line(values):
    return (
        values[0]
        + values[1]
        * values[2]
    )


for fn, arg in ((chained, None), (context_only, None), (suppressed, None), (reraise, None),
                (multi_line, [1, 2]), (multi_line, [1, "a", 2])):
    try:
        fn() if arg is None else fn(arg)
    except Exception as exc:
        print(type(exc).__name__, exc.args, tb_lines(exc)[1:],
              type(exc.__cause__).__name__, type(exc.__context__).__name__,
              exc.__suppress_context__)

try:
    assert 1 + 1 == 3, ("math", 2)
except AssertionError as exc:
    print("assert", exc.args, exc.__traceback__.tb_lineno)

try:
    chained()
except AppError as exc:
    print(exc.code, str(exc), repr(exc))
    print("".join(traceback.format_exception_only(type(exc), exc)).strip())


def handler_raises():
    try:
        raise TypeError("first")
    except TypeError:
        try:
            raise ValueError("second")
        finally:
            pass


try:
    handler_raises()
except ValueError as exc:
    print(repr(exc), repr(exc.__context__), tb_lines(exc)[1:])


def exception_variable_is_cleared():
    exc = "before"
    try:
        raise KeyError("k")
    except KeyError as exc:  # noqa: F841
        pass
    try:
        return exc
    except UnboundLocalError as err:
        return type(err).__name__


print(exception_variable_is_cleared())


def deep(n):
    if n == 0:
        raise RuntimeError("bottom")
    return deep(n - 1)


try:
    deep(5)
except RuntimeError as exc:
    print(tb_lines(exc)[1:])

chained()
