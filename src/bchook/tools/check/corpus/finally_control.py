"""``return``/``break``/``continue`` inside ``finally`` (CPython 3.14+ warns about them,
PEP 765, but they still work): the finally's jump wins over the pending exception or
return."""

import warnings

warnings.simplefilter("ignore", SyntaxWarning)


def swallow():
    try:
        raise ValueError("lost")
    finally:
        return "finally wins"  # noqa: B012


def loop_control():
    seen = []
    for i in range(4):
        try:
            if i == 1:
                raise KeyError(i)
            seen.append(i)
        finally:
            if i == 2:
                break  # noqa: B012
            continue  # noqa: B012
    return seen


print(swallow(), loop_control())
