"""Instruction sequences for the idioms that differ between CPython releases, and the
readers that say what a decoded instruction means whatever the release.

A pass asks for "a call with two arguments", "exchange the top two values", "jump to L if
the value is false" or "the constant this instruction loads", never for an opcode name that
changed between 3.10 and 3.15. Everything here returns lists of :class:`Instr` (one
idiom may take one instruction on one release and three on another), located at ``loc``
and covered by ``handler``.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

from . import _version as V
from ._model import NO_LOCATION, Instr, IRError

if TYPE_CHECKING:
    from ._bytecode import Bytecode
    from ._model import Handler, Label

__all__ = [
    "NOT_CONSTANT", "load_const", "constant_of", "loads_constant",
    "load_global", "load_attr", "load_method", "name_index_of", "pushes_null",
    "local_name", "local_accesses",
    "pop_top", "swap", "copy", "sink", "dup_top_two",
    "subscript", "is_subscript", "binary_op", "binary_operator_of", "compare_operator_of",
    "callable_from", "call", "call_method", "import_from",
    "jump", "jump_if", "jump_sense", "invert_jump", "for_loop_exit", "return_value",
    "returns_values", "body_start",
    "operation_of", "return_const", "call_on_copy", "fuse",
]

_OP = V.OPMAP


def _op(name: str) -> int:
    return _OP.get(name, -1)


def _at(instrs: list[Instr], handler) -> list[Instr]:
    if handler is not None:
        for ins in instrs:
            ins.handler = handler
    return instrs


class _NotConstant:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_CONSTANT"


#: What :func:`constant_of` returns for an instruction that loads no constant.
NOT_CONSTANT = _NotConstant()

# -- constants ----------------------------------------------------------------------------

_LOAD_CONST = _op("LOAD_CONST")
_LOAD_SMALL_INT = _op("LOAD_SMALL_INT")
_LOAD_COMMON_CONSTANT = _op("LOAD_COMMON_CONSTANT")
#: LOAD_COMMON_CONSTANT's values that are plain immutable constants (3.15 loads None,
#: True, False, '' and -1 with it; the classes and functions it also loads are not
#: constants a pass may fold), by (type, value).
_COMMON = {(type(v), v): i for i, v in enumerate(V.COMMON_CONSTANTS)
           if type(v) in (type(None), bool, str, int)}


def load_const(bc: Bytecode, value, loc=NO_LOCATION, handler: Handler | None = None
               ) -> Instr:
    """The one instruction that loads ``value`` as CPython would load it: ``LOAD_SMALL_INT``
    for ints 0-255 (3.14+), ``LOAD_COMMON_CONSTANT`` for None, True, False, '' and -1
    (3.15), else ``LOAD_CONST`` (adding ``value`` to ``bc.consts`` if needed)."""
    t = type(value)
    if t is int and V.SMALL_INT_LOADS and 0 <= value < 256:
        return Instr(_LOAD_SMALL_INT, value, loc, handler)
    if _COMMON and V.COMMON_CONSTANT_LOADS_VALUES:
        try:
            index = _COMMON.get((t, value))
        except TypeError:  # unhashable: a LOAD_CONST
            index = None
        if index is not None:
            return Instr(_LOAD_COMMON_CONSTANT, index, loc, handler)
    return Instr(_LOAD_CONST, bc.add_const(value), loc, handler)


def loads_constant(ins: Instr) -> bool:
    """Does ``ins`` push a constant (whose value :func:`constant_of` gives)?"""
    op = ins.op
    if op == _LOAD_CONST or op == _LOAD_SMALL_INT:
        return True
    if op == _LOAD_COMMON_CONSTANT:
        value = V.COMMON_CONSTANTS[ins.arg] if ins.arg < len(V.COMMON_CONSTANTS) else None
        return (type(value), value) in _COMMON
    return False


def constant_of(bc: Bytecode, ins: Instr):
    """The constant ``ins`` loads, or :data:`NOT_CONSTANT`."""
    op = ins.op
    if op == _LOAD_CONST:
        return bc.consts[ins.arg]
    if op == _LOAD_SMALL_INT:
        return ins.arg
    if op == _LOAD_COMMON_CONSTANT and loads_constant(ins):
        return V.COMMON_CONSTANTS[ins.arg]
    return NOT_CONSTANT


# -- names and locals ---------------------------------------------------------------------

_LOAD_GLOBAL = _op("LOAD_GLOBAL")
_LOAD_ATTR = _op("LOAD_ATTR")
_LOAD_METHOD = _op("LOAD_METHOD")
_LOAD_SUPER_ATTR = _op("LOAD_SUPER_ATTR")


def load_global(name_index: int, push_null: bool = False, loc=NO_LOCATION) -> list[Instr]:
    """Load global ``co_names[name_index]``; with ``push_null`` ready for :func:`call`."""
    shift = V.NAME_ARG_SHIFT.get(_LOAD_GLOBAL, 0)
    if shift:
        return [Instr(_LOAD_GLOBAL, (name_index << shift) | int(push_null), loc)]
    load = [Instr(_LOAD_GLOBAL, name_index, loc)]
    return callable_from(load, loc) if push_null else load


def load_attr(name_index: int, loc=NO_LOCATION) -> list[Instr]:
    """Replace the object on top of the stack by its attribute ``co_names[name_index]``."""
    return [Instr(_LOAD_ATTR, name_index << V.NAME_ARG_SHIFT.get(_LOAD_ATTR, 0), loc)]


def load_method(name_index: int, loc=NO_LOCATION) -> list[Instr]:
    """Replace the object on top of the stack by its method ``co_names[name_index]``,
    ready for :func:`call_method` (``LOAD_METHOD`` on 3.10/3.11, ``LOAD_ATTR`` with its
    method bit on 3.12+)."""
    if _LOAD_METHOD >= 0:
        return [Instr(_LOAD_METHOD, name_index, loc)]
    return [Instr(_LOAD_ATTR, (name_index << 1) | 1, loc)]


def name_index_of(ins: Instr) -> int:
    """The ``co_names`` index an instruction that uses a name refers to (the flag bits of
    3.11+ LOAD_GLOBAL, 3.12+ LOAD_ATTR and LOAD_SUPER_ATTR taken off)."""
    return ins.arg >> V.NAME_ARG_SHIFT.get(ins.op, 0)


def pushes_null(ins: Instr) -> bool:
    """Does this name load also push the NULL (or ``self``) of a call after it?"""
    op = ins.op
    if op == _LOAD_METHOD:
        return True
    return bool(V.NAME_ARG_SHIFT.get(op, 0) and ins.arg & 1)


def local_name(code: types.CodeType, ins: Instr) -> str | None:
    """The variable a LOAD_FAST/LOAD_DEREF-like instruction names, or None."""
    op = ins.op
    if op in V.HASLOCAL:
        names = code.co_varnames
        return names[ins.arg] if ins.arg < len(names) else None
    if op in V.HASFREE:
        if V.LOCALSPLUS:
            index = ins.arg - code.co_nlocals
            cells = tuple(c for c in code.co_cellvars if c not in code.co_varnames)
        else:
            index = ins.arg
            cells = code.co_cellvars
        names = cells + code.co_freevars
        return names[index] if 0 <= index < len(names) else None
    return None


def local_accesses(ins: Instr) -> tuple[tuple[int, int], ...]:
    """``(plain opcode, local index)`` for each local an instruction touches: two for the
    superinstructions of 3.13+ (``LOAD_FAST_LOAD_FAST``...), one otherwise."""
    pair = V.SUPERINSTRUCTIONS.get(ins.op)
    if pair is None:
        return ((ins.op, ins.arg),)
    return ((pair[0], ins.arg >> 4), (pair[1], ins.arg & 15))


# -- the stack ----------------------------------------------------------------------------

def pop_top(loc=NO_LOCATION) -> list[Instr]:
    return [Instr("POP_TOP", 0, loc)]


def swap(n: int, loc=NO_LOCATION) -> list[Instr]:
    """Exchange the top of the stack with the ``n``-th value (``n`` >= 2)."""
    if V.PY311:
        return [Instr("SWAP", n, loc)]
    if n == 2:
        return [Instr("ROT_TWO", 0, loc)]
    if n == 3:  # [a, b, c] -> [c, a, b] -> [c, b, a]
        return [Instr("ROT_THREE", 0, loc), Instr("ROT_TWO", 0, loc)]
    raise IRError(f"swap({n}) has no short form on Python 3.10")


def copy(n: int, loc=NO_LOCATION) -> list[Instr]:
    """Push a copy of the ``n``-th value (1 is the top)."""
    if V.PY311:
        return [Instr("COPY", n, loc)]
    if n == 1:
        return [Instr("DUP_TOP", 0, loc)]
    raise IRError(f"copy({n}) has no short form on Python 3.10")


def dup_top_two(loc=NO_LOCATION) -> list[Instr]:
    """``[a, b] -> [a, b, a, b]``."""
    if V.PY311:
        return [Instr("COPY", 2, loc), Instr("COPY", 2, loc)]
    return [Instr("DUP_TOP_TWO", 0, loc)]


def sink(n: int, loc=NO_LOCATION) -> list[Instr]:
    """Move the top value ``n - 1`` places down: ``[a, b, c] -> [c, a, b]`` for 3."""
    if V.PY311:
        return [Instr("SWAP", k, loc) for k in range(n, 1, -1)]
    names = {2: "ROT_TWO", 3: "ROT_THREE", 4: "ROT_FOUR"}
    if n in names:
        return [Instr(names[n], 0, loc)]
    return [Instr("ROT_N", n, loc)]


# -- operators ----------------------------------------------------------------------------

_BINARY_SUBSCR = _op("BINARY_SUBSCR")
_BINARY_OP = _op("BINARY_OP")
_SUBSCRIPT_ARG = next((i for i, (_, symbol) in enumerate(V.NB_OPS) if symbol == "[]"), -1)
_SYMBOL_OF = {key: symbol for key, symbol in V.BINARY_OPERATORS.items()}
_OPERATOR = {symbol: key for key, symbol in _SYMBOL_OF.items()}


def subscript(loc=NO_LOCATION) -> list[Instr]:
    """``[container, key] -> [container[key]]`` (``BINARY_OP []`` on 3.14+)."""
    if _BINARY_SUBSCR >= 0:
        return [Instr(_BINARY_SUBSCR, 0, loc)]
    return [Instr(_BINARY_OP, _SUBSCRIPT_ARG, loc)]


def is_subscript(ins: Instr) -> bool:
    if ins.op == _BINARY_SUBSCR:
        return True
    return ins.op == _BINARY_OP and ins.arg == _SUBSCRIPT_ARG


def binary_op(symbol: str, loc=NO_LOCATION) -> list[Instr]:
    """The non-in-place binary operator ``symbol`` (``"+"``, ``"//"``, ``"@"``...)."""
    key = _OPERATOR.get(symbol)
    if key is None:
        raise IRError(f"no binary operator {symbol!r}")
    op, arg = key
    return [Instr(op, 0 if arg is None else arg, loc)]


def binary_operator_of(ins: Instr) -> str | None:
    """The symbol of the non-in-place binary operator ``ins`` applies, or None."""
    return _SYMBOL_OF.get((ins.op, ins.arg if V.BINARY_OP_TAKES_ARG else None))


_COMPARE_OP = _op("COMPARE_OP")


def compare_operator_of(ins: Instr) -> str | None:
    """``"<"``, ``"=="``... for a COMPARE_OP, else None."""
    if ins.op != _COMPARE_OP:
        return None
    index = ins.arg >> V.COMPARE_OP_SHIFT
    return V.CMP_OP[index] if index < len(V.CMP_OP) else None


# -- calls --------------------------------------------------------------------------------

def callable_from(load: list[Instr], loc=NO_LOCATION) -> list[Instr]:
    """Wrap instructions that push a callable so that :func:`call` can call it.

    3.11 and 3.12 want a NULL below the callable, 3.13+ above it, 3.10 none.
    """
    if V.CALL_NULL == "after":
        return [*load, Instr("PUSH_NULL", 0, loc)]
    if V.CALL_NULL == "before":
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


def call_method(nargs: int, loc=NO_LOCATION) -> list[Instr]:
    """Call a method loaded by :func:`load_method` with ``nargs`` arguments."""
    if not V.PY311:
        return [Instr("CALL_METHOD", nargs, loc)]
    return call(nargs, loc)


def import_from(bc: Bytecode, module: str, name: str, loc=NO_LOCATION) -> list[Instr]:
    """Push ``name`` as ``from module import name`` would bind it (nothing is stored)."""
    import_name = V.OPMAP["IMPORT_NAME"]
    return [load_const(bc, 0, loc), Instr("LOAD_CONST", bc.add_const((name,)), loc),
            Instr(import_name, bc.add_name(module) << V.NAME_ARG_SHIFT.get(import_name, 0),
                  loc),
            Instr("IMPORT_FROM", bc.add_name(name), loc), *swap(2, loc), *pop_top(loc)]


# -- control flow -------------------------------------------------------------------------

_SENSES = ("true", "false", "none", "not_none")
_JUMP_OF_SENSE = {}
for _sense in _SENSES:
    try:
        _JUMP_OF_SENSE[_sense] = V.opcode_of(f"POP_JUMP_IF_{_sense.upper()}")
    except KeyError:  # 3.10 tests for None with IS_OP
        pass
_SENSE_OF: dict[int, str] = {}
for _sense in _SENSES:
    for _name in (f"POP_JUMP_IF_{_sense.upper()}", f"POP_JUMP_FORWARD_IF_{_sense.upper()}",
                  f"POP_JUMP_BACKWARD_IF_{_sense.upper()}"):
        if _name in _OP:
            _SENSE_OF[_OP[_name]] = _sense
_INVERSE = {"true": "false", "false": "true", "none": "not_none", "not_none": "none"}
_NOT_TAKEN = V.NOT_TAKEN
_TO_BOOL = _op("TO_BOOL")


def jump(label: Label, loc=NO_LOCATION) -> list[Instr]:
    """An unconditional jump, forward or backward (the encoder picks the opcode)."""
    return [Instr("JUMP", label, loc)]


def jump_if(sense: str, label: Label, loc=NO_LOCATION, handler: Handler | None = None,
            value_is_bool: bool = False) -> list[Instr]:
    """Pop the top value and jump to ``label`` if it is ``"true"``, ``"false"``,
    ``"none"`` or ``"not_none"``.

    3.13+ test for the bool objects themselves: a ``TO_BOOL`` comes first unless
    ``value_is_bool``; 3.14+ follow the jump with ``NOT_TAKEN`` (where sys.monitoring
    reports the branch not taken).
    """
    if sense not in _JUMP_OF_SENSE:
        raise IRError(f"jump_if: no jump if {sense!r} on this Python (choose from "
                      f"{', '.join(_JUMP_OF_SENSE)})")
    seq = []
    if V.JUMP_NEEDS_BOOL and sense in ("true", "false") and not value_is_bool:
        seq.append(Instr(_TO_BOOL, 0, loc))
    seq.append(Instr(_JUMP_OF_SENSE[sense], label, loc))
    if _NOT_TAKEN >= 0:
        seq.append(Instr(_NOT_TAKEN, 0, loc))
    return _at(seq, handler)


def jump_sense(ins: Instr) -> str | None:
    """``"true"``, ``"false"``, ``"none"`` or ``"not_none"`` for a conditional jump that
    pops its value, else None."""
    return _SENSE_OF.get(ins.op)


def invert_jump(ins: Instr, label: Label) -> Instr:
    """The conditional jump of the opposite sense to ``ins``'s, to ``label``."""
    sense = _SENSE_OF.get(ins.op)
    if sense is None or _INVERSE[sense] not in _JUMP_OF_SENSE:
        raise IRError(f"{ins.name} has no conditional jump of the opposite sense")
    return Instr(_JUMP_OF_SENSE[_INVERSE[sense]], label, ins.loc, ins.handler)


def for_loop_exit(loc=NO_LOCATION) -> list[Instr]:
    """What FOR_ITER's exit target must be: ``END_FOR`` and what is glued to it (3.12+),
    nothing before (FOR_ITER pops the iterator itself)."""
    if V.FOR_ITER_TARGET < 0:
        return []
    seq = [Instr(V.FOR_ITER_TARGET, 0, loc)]
    follower = V.GLUED_NEXT.get(V.FOR_ITER_TARGET)
    if follower is not None:
        seq.append(Instr(follower, 0, loc))
    return seq


def return_value(loc=NO_LOCATION) -> list[Instr]:
    """Return the value on top of the stack."""
    return [Instr("RETURN_VALUE", 0, loc)]


def returns_values(ins: Instr) -> int:
    """How many stack values a return instruction takes: 1, or 0 for 3.12/3.13's
    ``RETURN_CONST``; -1 if ``ins`` is no return."""
    return V.RETURNS.get(ins.op, -1)


def body_start(instrs: list[Instr]) -> int:
    """Index of the first instruction after CPython's prologue (``RESUME`` and what
    comes before it; 3.10: ``GEN_START``), where a function's own code begins."""
    if V.PY311:
        for idx, ins in enumerate(instrs):
            if ins.op == V.RESUME:
                return idx + 1
            if ins.op not in V.PROLOGUE:
                break
        return 0
    return 1 if instrs and instrs[0].op == V.GEN_START else 0


# -- constfold --

_UNARY_SYMBOL = {_OP[n]: s for n, s in (("UNARY_NEGATIVE", "-"), ("UNARY_POSITIVE", "+"),
                                        ("UNARY_INVERT", "~"), ("UNARY_NOT", "not"))
                 if n in _OP}
_OR_POP_SENSE = {_OP[n]: s for n, s in (("JUMP_IF_TRUE_OR_POP", "true"),
                                        ("JUMP_IF_FALSE_OR_POP", "false")) if n in _OP}
#: Calls, by how many stack slots the callable takes below the arguments: 3.10's
#: CALL_FUNCTION one, its CALL_METHOD two (method and self, or NULL and callable), and
#: 3.11+'s CALL two (callable and NULL, in the order ``callable_from`` makes).
_CALLABLE_SLOTS = {_OP[n]: k for n, k in (("CALL_FUNCTION", 1), ("CALL_METHOD", 2),
                                          ("CALL", 2)) if n in _OP}


def _binary_detail(ins):
    symbol = binary_operator_of(ins)
    if symbol is not None:
        return ("binary", symbol)
    return ("subscript", None) if is_subscript(ins) else None  # in-place: None


_DETAILS = {
    "constant": lambda ins: ("constant", None) if loads_constant(ins) else None,
    "binary": _binary_detail,
    "unary": lambda ins: ("unary", _UNARY_SYMBOL[ins.op]),
    "compare": lambda ins: ("compare", compare_operator_of(ins)),
    "contains": lambda ins: ("contains", bool(ins.arg)),
    "is": lambda ins: ("is", bool(ins.arg)),
    "build_slice": lambda ins: ("build_slice", ins.arg),
    "build_tuple": lambda ins: ("build_tuple", ins.arg),
    "build_list": lambda ins: ("build_list", ins.arg),
    "list_extend": lambda ins: ("list_extend", ins.arg),
    "copy": lambda ins: ("copy", ins.arg if ins.op in V.HASARG else 1),  # 3.10: DUP_TOP
    "global": lambda ins: ("global", pushes_null(ins)),
    "attr": lambda ins: ("attr", pushes_null(ins)),
    "call": lambda ins: ("call", (ins.arg, _CALLABLE_SLOTS[ins.op])),
    "jump_if": lambda ins: ("jump_if", jump_sense(ins)),
    "jump_if_or_pop": lambda ins: ("jump_if_or_pop", _OR_POP_SENSE[ins.op]),
    "return": lambda ins: ("return", returns_values(ins)),
}


def operation_of(ins: Instr):
    """``(kind, detail)``: what ``ins`` computes, in the same words on every release, or
    None for anything else (see ``ir.version.OPERATIONS`` for the kinds).

    ``detail`` is the operator's symbol for "binary", "unary" and "compare"; whether the
    test is negated (``not in``, ``is not``) for "contains" and "is"; the item count for
    the "build_*" kinds and "list_extend"; the depth for "copy" (1: the top); whether a
    NULL (or ``self``) is pushed too for "global" and "attr" (a method load); ``(number of
    arguments, stack slots of the callable)`` for "call"; the sense (as :func:`jump_sense`)
    for "jump_if" and "jump_if_or_pop"; the number of stack values for "return"; None
    otherwise. An in-place operator (``+=``) and 3.14's LOAD_COMMON_CONSTANT of a class
    are None.
    """
    kind = V.OPERATIONS.get(ins.op)
    if kind is None:
        return None
    read = _DETAILS.get(kind)
    return (kind, None) if read is None else read(ins)


def return_const(bc: Bytecode, value, loc=NO_LOCATION, handler: Handler | None = None
                 ) -> list[Instr]:
    """Return the constant ``value``: one ``RETURN_CONST`` on 3.12 and 3.13 (as CPython
    writes ``return 1``), else its load and ``RETURN_VALUE``."""
    if V.CONSTANT_RETURNS:
        return [Instr("RETURN_CONST", bc.add_const(value), loc, handler)]
    return [load_const(bc, value, loc, handler), *_at(return_value(loc), handler)]


def call_on_copy(name_index: int, loc=NO_LOCATION) -> list[Instr]:
    """``[x] -> [x, g(x)]``: call the global ``g`` (``co_names[name_index]``) with the top
    value, keeping that value below the result."""
    if V.CALL_NULL is None:  # 3.10: no NULL; the callable goes under a copy of x
        return [*copy(1, loc), *load_global(name_index, False, loc), *swap(2, loc),
                *call(1, loc)]
    # the callable and its NULL take two slots above x, whichever comes first
    return [*load_global(name_index, True, loc), *copy(3, loc), *call(1, loc)]


_FUSED_OF = {pair: fused for fused, pair in V.SUPERINSTRUCTIONS.items()}


def fuse(first: Instr, second: Instr) -> Instr | None:
    """The superinstruction (3.13+) that does ``first`` then ``second``, as CPython would
    write them, or None if this release has none for them or an argument does not fit."""
    fused = _FUSED_OF.get((first.op, second.op))
    if fused is None or type(first.arg) is not int or type(second.arg) is not int or not (
            0 <= first.arg < 16 and 0 <= second.arg < 16):
        return None
    return Instr(fused, (first.arg << 4) | second.arg, first.loc, first.handler)
