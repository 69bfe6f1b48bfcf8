"""Small helpers every pass needs, with the version differences hidden."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Callable, Iterator

from . import _version as V
from ._model import NO_LOCATION, Instr

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


def load_global(name_index: int, push_null: bool = False, loc=NO_LOCATION) -> list[Instr]:
    """Load global ``co_names[name_index]``; with ``push_null`` ready for :func:`call`."""
    if V.PY311:
        return [Instr("LOAD_GLOBAL", (name_index << 1) | int(push_null), loc)]
    return [Instr("LOAD_GLOBAL", name_index, loc)]


def callable_from(load: list[Instr], loc=NO_LOCATION) -> list[Instr]:
    """Wrap instructions that push a callable so that :func:`call` can call it.

    3.11 and 3.12 want a NULL below the callable, 3.13 above it, 3.10 none.
    """
    if V.PY313:
        return [*load, Instr("PUSH_NULL", 0, loc)]
    if V.PY311:
        return [Instr("PUSH_NULL", 0, loc), *load]
    return list(load)


def call(nargs: int, loc=NO_LOCATION) -> list[Instr]:
    """Call with ``nargs`` positional arguments: ``CALL_FUNCTION`` on 3.10,
    ``PRECALL``+``CALL`` on 3.11, ``CALL`` on 3.12+. The callable was pushed with
    :func:`callable_from` or ``load_global(..., push_null=True)``, then the arguments.
    """
    if V.PY312:
        return [Instr("CALL", nargs, loc)]
    if V.PY311:
        return [Instr("PRECALL", nargs, loc), Instr("CALL", nargs, loc)]
    return [Instr("CALL_FUNCTION", nargs, loc)]
