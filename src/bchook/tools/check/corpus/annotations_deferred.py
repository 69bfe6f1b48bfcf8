"""Annotations (PEP 649/749 on 3.14+: evaluated only when read, by the ``__annotate__``
code object the compiler makes). Undefined names in annotations are no error until the
annotations are read; formats other than VALUE work through annotationlib."""

import sys
from typing import Final

DEFERRED = sys.version_info >= (3, 14)
LIMIT: Final = 10
SCALE: Final[int] = LIMIT * 2


def plain(a: int, b: "str" = "x") -> list:
    return [a, b]


print(plain(1), plain.__annotations__)


class Point:
    x: int
    y: float = 0.5
    label: "str" = "p"

    def norm(self) -> float:
        return abs(self.y)


print(Point.__annotations__, Point().norm(), LIMIT, SCALE)

if DEFERRED:
    import annotationlib

    def later(value: NotYetDefined) -> AlsoLater:  # noqa: F821
        return value

    print("defined fine:", later(3))
    try:
        later.__annotations__
    except NameError as exc:
        print("reading them fails:", exc)
    print(annotationlib.get_annotations(later, format=annotationlib.Format.STRING))
    refs = annotationlib.get_annotations(later, format=annotationlib.Format.FORWARDREF)
    print(sorted((k, type(v).__name__) for k, v in refs.items()))

    class Node:
        next: Node | None
        value: Payload  # noqa: F821

    Payload = bytes
    print(Node.__annotations__)
    print(annotationlib.get_annotations(Node, format=annotationlib.Format.STRING))
    module_annotations = annotationlib.get_annotations(sys.modules[__name__])
    print(sorted(module_annotations))
else:
    print(sorted(__annotations__))
