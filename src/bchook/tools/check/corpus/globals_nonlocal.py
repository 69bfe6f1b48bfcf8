"""global and nonlocal together, globals created and deleted in functions, names shadowing
builtins, exec/eval with explicit namespaces, module attributes changing under functions."""

counter = 0
len = len  # a global that shadows a builtin (same object)


def increment(by=1):
    global counter
    counter += by
    return counter


def create_global():
    global created
    created = "made in a function"


def delete_global():
    global created
    del created


print(increment(), increment(5), counter)
create_global()
print(created)
delete_global()
try:
    print(created)  # noqa: F821
except NameError as exc:
    print("NameError", exc)


def shadow_builtin():
    global len

    def len(x):  # noqa: F811
        return -1
    return len("abc")


print(len("abc"), shadow_builtin(), len("abc"))
del len
print(len("abc"))


def outer():
    x = "outer"

    def middle():
        nonlocal x
        x = "middle"

        def inner():
            global x
            x = "global from inner"
            return x
        return inner()
    result = middle()
    return x, result


print(outer(), x)  # noqa: F821


def nonlocal_loop():
    total = 0
    steps = []

    def step(n):
        nonlocal total
        total += n
        steps.append(total)

    for n in range(5):
        step(n)
    return total, steps


print(nonlocal_loop())

namespace = {"value": 41}
exec("value += 1\nresult = value * 2", namespace)
print(namespace["value"], namespace["result"], eval("value - 2", namespace))


def uses_module_constant():
    return LIMIT * 2


LIMIT = 5
print(uses_module_constant())
LIMIT = 50
print(uses_module_constant())
globals()["LIMIT"] = 500
print(uses_module_constant())


def read_then_bind():
    try:
        print(counter)
    except UnboundLocalError as exc:
        print("UnboundLocalError", str(exc).split("'")[1])
    counter = 1  # noqa: F841 - makes counter local everywhere in this function


read_then_bind()
import builtins  # noqa: E402

builtins.bchook_fuzz_marker = "from builtins"
print(bchook_fuzz_marker)  # noqa: F821
bchook_fuzz_marker = "shadowing global"
print(bchook_fuzz_marker)
del builtins.bchook_fuzz_marker
