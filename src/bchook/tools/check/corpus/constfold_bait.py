"""Code that looks constant but is not: rebound builtins and globals, ALL_CAPS names that
change, floats that fold differently (-0.0, nan, inf), huge and negative numbers, operations
that raise, dead-looking branches that run, and names deleted before use."""

import math

DEBUG = False
LIMIT = 10
NAN = float("nan")


def uses_caps():
    if DEBUG:
        return "debug branch"
    return LIMIT * 2


print(uses_caps())
DEBUG = True
LIMIT = 11
print(uses_caps())


def shadowed_builtin():
    len = lambda x: 42  # noqa: E731
    return len("abc"), abs(-3)


print(shadowed_builtin())

abs = lambda x: "module abs"  # noqa: E731


def module_shadow():
    return abs(-5)


print(module_shadow())
del abs
print(module_shadow())


def floats():
    neg_zero = -0.0
    values = [0.0 * -1, -0.0 + 0.0, 1e308 * 10, -1e308 * 10, float("inf") - float("inf")]
    return (math.copysign(1, neg_zero), [repr(v) for v in values], NAN == NAN, NAN is NAN,
            0.1 + 0.2, 1 / 3, 2 ** -1, 10 ** 20, -7 // 2, -7 % 2, 7 // -2, round(2.5))


print(floats())


def big_numbers():
    a = 2 ** 100
    b = a * a
    c = "ab" * 5
    d = (1, 2) * 3
    e = -(2 ** 63)
    return a, b % 1000, c, d, e, ~e, e >> 3, 1 << 70


print(big_numbers())


def raising_constants():
    out = []
    for expr in ("1 / 0", "1 % 0", "2 ** -1 // 0", "'a' + 1", "[][0]", "{}['k']",
                 "int('x')", "(1,)[5]", "'abc'.index('z')", "-1 ** 0.5"):
        try:
            out.append(repr(eval(expr)))
        except Exception as exc:
            out.append(f"{type(exc).__name__}: {exc}")
    return out


print(raising_constants())


def runtime_only(flag):
    x = 1
    if flag:
        x = 2
    y = x * 10
    z = 1 / 0 if flag == "boom" else y
    return y, z


for arg in (False, True):
    print(runtime_only(arg))
try:
    runtime_only("boom")
except ZeroDivisionError as exc:
    print("boom", exc.__traceback__.tb_next.tb_lineno)


def deleted_local():
    value = 3
    del value
    try:
        return value  # noqa: F821
    except UnboundLocalError as exc:
        return type(exc).__name__


print(deleted_local())


def loop_rebinding():
    x = 1
    results = []
    for _ in range(3):
        results.append(x)
        x = x * 2 + 1
    return results


print(loop_rebinding())


def string_methods_of_constants():
    return ("a,b".split(","), "x".upper(), "%s-%d" % ("a", 1), f"{1 + 1}",
            "abc"[::-1], "é".encode(), b"x" * 3, (1, 2) + (3,), "ab" in "cab")


print(string_methods_of_constants())


def conditional_constants(n):
    if 0:
        return "never"
    while 0:
        return "never"
    if not 1:
        return "never"
    if __debug__:
        n += 1
    return n if True else "never"


print(conditional_constants(1))

type_checks = [isinstance(True, int), type(1) is int, 1 == 1.0, 1 is not None, () == ()]
print(type_checks)
