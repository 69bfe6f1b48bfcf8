"""Star-args everywhere: *args/**kwargs, keyword-only and positional-only parameters,
unpacking in calls, literals and assignments, mutable defaults, argument errors."""


def everything(a, b=2, /, c=3, *args, d, e=5, **kwargs):
    return a, b, c, args, d, e, sorted(kwargs.items())


print(everything(1, d=4))
print(everything(1, 2, 3, 4, 5, d=6, f=7, b=8))
print(everything(*[1, 2], *(3, 4), **{"d": 5}, **{"z": 0}))

for bad in ("everything()", "everything(1, 2, 3)", "everything(1, a=1, d=2)",
            "everything(1, d=1, **{'d': 2})", "everything(1, 2, 3, d=4, c=5)"):
    try:
        eval(bad)
    except TypeError as exc:
        print("TypeError:", exc)

first, *middle, last = range(6)
(x, y), [*z] = "ab", "cde"
head, *_ = [10]
print(first, middle, last, x, y, z, head)
print([*range(3), *"ab", *{"k": 1}], {**{"a": 1}, "b": 2, **{"a": 3}}, {*(), *[1, 1]})


def append_to(item, target=[]):  # noqa: B006 - the shared default is the point
    target.append(item)
    return target


print(append_to(1), append_to(2), append_to(3, []))


def kw_only(*, key):
    return key


def forward(*args, **kwargs):
    return kw_only(*args, **kwargs)


print(forward(key="k"))
try:
    forward("positional")
except TypeError as exc:
    print("TypeError:", exc)


def star_returns():
    items = [1, 2, 3]
    return *items, 4


print(star_returns())


def defaults_evaluated_once(x=[], y={}, *, z=()):  # noqa: B006
    x.append(len(x))
    y[len(y)] = z
    return x, y


print(defaults_evaluated_once(), defaults_evaluated_once(z=(1,)),
      defaults_evaluated_once.__defaults__, defaults_evaluated_once.__kwdefaults__)

matrix = [[1, 2], [3, 4]]
print(list(zip(*matrix)), max(*matrix[0], *matrix[1]), print(*matrix, sep=" | "))


def unpack_error(values):
    a, b = values
    return a + b


for arg in ([1, 2], [1], [1, 2, 3], 5):
    try:
        print(unpack_error(arg))
    except (ValueError, TypeError) as exc:
        print(type(exc).__name__, exc, exc.__traceback__.tb_next.tb_lineno)
