"""match: literals, captures, wildcards, sequences with stars, mappings with **rest, class
patterns (positional via __match_args__ and keyword), or/as patterns, guards, value
patterns, nested patterns, and fall-through to no case."""

import enum
from dataclasses import dataclass


class Color(enum.Enum):
    RED = 1
    GREEN = 2


@dataclass
class Point:
    x: int
    y: int


class Box:
    __match_args__ = ("content",)

    def __init__(self, content):
        self.content = content

    def __repr__(self):
        return f"Box({self.content!r})"


def describe(subject):
    match subject:
        case 0 | 0.0:
            return "zero"
        case True:
            return "true"
        case None:
            return "none"
        case int(n) if n < 0:
            return f"negative {n}"
        case int() | float() as number if number > 100:
            return f"big {number}"
        case str() as text if text.isupper():
            return f"shout {text}"
        case "a" | "b":
            return "a or b"
        case []:
            return "empty list"
        case [x]:
            return f"one {x}"
        case [1, *rest]:
            return f"starts with 1, rest {rest}"
        case [_, [_, *inner], *_]:
            return f"nested {inner}"
        case (a, b, c):
            return f"triple {a} {b} {c}"
        case {"kind": "circle", "r": r}:
            return f"circle {r}"
        case {"kind": kind, **others} if others:
            return f"{kind} with {sorted(others)}"
        case {}:
            return "some mapping"
        case Point(x=0, y=y):
            return f"on the y axis at {y}"
        case Point(x, y) if x == y:
            return f"diagonal {x}"
        case Point():
            return "a point"
        case Box(Box(inner)):
            return f"box in a box of {inner!r}"
        case Box(content=[*items]):
            return f"box of {len(items)}"
        case Color.RED:
            return "red"
        case Color():
            return "another color"
        case _:
            return f"other {type(subject).__name__}"


SUBJECTS = [0, 0.0, True, None, -4, 1000, 100.5, "HEY", "a", "b", "c", [], [9], [1, 2, 3],
            [0, [1, 2, 3], 4], (1, 2, 3), {"kind": "circle", "r": 2}, {"kind": "sq", "s": 1},
            {"kind": "sq"}, Point(0, 5), Point(3, 3), Point(1, 2), Box(Box("x")),
            Box([1, 2]), Box(3), Color.RED, Color.GREEN, 7, b"bytes", {1, 2}]

for subject in SUBJECTS:
    print(repr(subject), "->", describe(subject))


def no_match(x):
    result = "unset"
    match x:
        case 1:
            result = "one"
    return result


print(no_match(1), no_match(2))


def bindings_survive(seq):
    match seq:
        case [first, *middle, last]:
            pass
        case _:
            first = middle = last = None
    return first, middle, last


print(bindings_survive([1, 2, 3, 4]), bindings_survive("xy"), bindings_survive(5))


def guard_raises(x):
    match x:
        case [a, b] if a / b > 1:
            return "ratio"
        case _:
            return "no"


for arg in ([4, 2], [1, 2], [1, 0]):
    try:
        print(guard_raises(arg))
    except ZeroDivisionError as exc:
        print("guard raised", exc, exc.__traceback__.tb_next.tb_lineno)
