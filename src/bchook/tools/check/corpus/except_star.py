"""Exception groups and except* (Python 3.11+; the corpus skips it where it does not
compile): splitting, nested groups, raising from handlers, notes, and tracebacks."""


def raise_group():
    raise ExceptionGroup("many", [ValueError(1), TypeError(2), ValueError(3),
                                  ExceptionGroup("nested", [KeyError(4)])])


def handle():
    seen = []
    try:
        raise_group()
    except* ValueError as group:
        seen.append(("value", [e.args for e in group.exceptions]))
    except* (TypeError, KeyError) as group:
        seen.append(("type/key", repr(group)))
    return seen


print(handle())


def partially_handled():
    try:
        raise_group()
    except* TypeError:
        pass


try:
    partially_handled()
except ExceptionGroup as leftover:
    print(repr(leftover), leftover.__traceback__.tb_next.tb_lineno)


def raise_in_handler():
    try:
        raise ExceptionGroup("g", [ValueError("v")])
    except* ValueError:
        raise RuntimeError("from handler")


try:
    raise_in_handler()
except ExceptionGroup as group:
    print(repr(group), [repr(e.__context__) for e in group.exceptions])

err = ValueError("with note")
err.add_note("a note")
try:
    raise err
except ValueError as exc:
    print(exc.__notes__)

eg = ExceptionGroup("split", [ValueError(1), KeyError(2)])
match, rest = eg.split(ValueError)
print(repr(match), repr(rest), repr(eg.subgroup(lambda e: isinstance(e, KeyError))))

try:
    try:
        raise TypeError("naked")
    except* TypeError as group:
        print("naked wrapped", repr(group))
        raise
except ExceptionGroup as final:
    print(repr(final))
