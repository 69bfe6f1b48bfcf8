"""``except`` with several exception types and no parentheses (PEP 758, 3.14+; the corpus
skips it where it does not compile), next to the parenthesized form and ``except*``."""


def classify(value):
    try:
        if value == 0:
            raise ValueError("zero")
        if value == 1:
            raise KeyError("one")
        if value == 2:
            raise TypeError("two")
        return 1 / value
    except ValueError, KeyError:
        return "value or key"
    except (TypeError, ZeroDivisionError) as exc:
        return f"type: {exc}"


print([classify(v) for v in (0, 1, 2, 4)])


def grouped():
    try:
        raise ExceptionGroup("g", [ValueError(1), OSError(2)])
    except* ValueError, TypeError:
        print("value or type in the group")
    except* OSError:
        print("os error in the group")


grouped()
