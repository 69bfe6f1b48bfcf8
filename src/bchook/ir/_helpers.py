"""Walking and re-linking the tree of code objects a module compiles to."""

from __future__ import annotations

import types

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Callable, Iterator

_CodeType = types.CodeType


def nested_code(code: _CodeType) -> Iterator[_CodeType]:
    """The code objects directly inside ``code.co_consts``."""
    for const in code.co_consts:
        if type(const) is _CodeType:
            yield const


def walk_code(code: _CodeType) -> Iterator[_CodeType]:
    """``code`` and every code object nested in it, innermost first."""
    for inner in nested_code(code):
        yield from walk_code(inner)
    yield code


def replace_nested_code(
    code: _CodeType, transform: Callable[[_CodeType], _CodeType]
) -> _CodeType:
    """Apply ``transform`` to every code object, nested ones first, re-linking parents.

    A parent whose nested code objects all came back unchanged is not rebuilt.
    """
    consts = code.co_consts
    new_consts = None
    for i, const in enumerate(consts):
        if type(const) is _CodeType:
            new = replace_nested_code(const, transform)
            if new is not const:
                if new_consts is None:
                    new_consts = list(consts)
                new_consts[i] = new
    if new_consts is not None:
        code = code.replace(co_consts=tuple(new_consts))
    return transform(code)


def mentions(code: _CodeType, names=(), consts=()) -> bool:
    """Cheap test, without decoding, of whether ``code`` uses any of these names or constants.

    Lets a pass skip code objects it cannot affect.
    """
    if names:
        co_names = code.co_names
        for name in names:
            if name in co_names:
                return True
    if consts:
        co_consts = code.co_consts
        for value in consts:
            for c in co_consts:
                if c is value or (type(c) is type(value) and c == value):
                    return True
    return False
