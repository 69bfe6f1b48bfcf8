"""Cheap tests before decoding: may the pass fold anything in this code object?

First on the opcodes alone (``ir.raw.opcodes``: one bytes object, searched with regular
expressions at C speed), then, only where that leaves a chance, on the raw instructions
with their arguments (``ir.raw.instructions_of``). They look for the instruction sequences
that start a fold, so a miss costs an optimization, never correctness; what they let
through is decoded and examined for real.
"""

from __future__ import annotations

import re
import types

from ... import ir

V = ir.version
_STORE_FAST = V.OPMAP["STORE_FAST"]


def _opcodes(*kinds: str) -> frozenset:
    return frozenset(op for op, kind in V.OPERATIONS.items() if kind in kinds)


def _one_of(ops) -> bytes:
    return b"[" + re.escape(bytes(sorted(ops))) + b"]"


_CONSTANT = _one_of(V.CONSTANT_LOADS)
#: Operations on the two values below them (3.14's subscript is a "binary" BINARY_OP).
_ON_TWO = _one_of(_opcodes("binary", "subscript", "compare", "contains", "is"))
_ON_ONE = _one_of(_opcodes("to_bool", "unary", "jump_if", "jump_if_or_pop"))
_ATTR = _one_of(_opcodes("attr"))
_CALL = _one_of(_opcodes("call", "call_prefix"))
_SUBSCRIPT = _one_of(_opcodes("binary", "subscript"))

#: Opcode sequences where a fold can start.
_FOLD_START = re.compile(b"|".join((
    _CONSTANT + _CONSTANT + _ON_TWO,
    _CONSTANT + _ON_ONE,
    _CONSTANT + _ATTR + _CONSTANT,                                  # 'a,b'.split(',')
    _CONSTANT + _ATTR + _CALL,                                      # 'abc'.upper()
    _one_of(_opcodes("list_extend", "build_list")) + _CONSTANT + _SUBSCRIPT,  # [1, 2][0]
    _CONSTANT * 3 + _one_of(_opcodes("build_slice", "slice")),
)), re.S)
CONST_CONTAINS = re.compile(_CONSTANT + _one_of(_opcodes("contains")), re.S)

#: What may follow the load of a constant local for a fold to be possible.
_FOLLOWERS = V.CONSTANT_LOADS | _opcodes(
    "copy", "slice", "build_tuple", "binary", "subscript", "compare", "contains", "is",
    "to_bool", "unary", "jump_if", "jump_if_or_pop", "attr")
#: Instructions whose first (or only) local access stores a constant just loaded.
_CONST_STORE = re.compile(_CONSTANT + _one_of(
    {_STORE_FAST} | {op for op, (first, _) in V.SUPERINSTRUCTIONS.items()
                     if first == _STORE_FAST}), re.S)
_WRITES = {_STORE_FAST} | V.LOCAL_CLEARS | set(V.SUPERINSTRUCTIONS)
_ARG_STARTS = ("constant", "build_list", "push_null")


def may_fold(ops: bytes) -> bool:
    return _FOLD_START.search(ops) is not None


def _accesses(op: int, arg: int):
    """``(plain opcode, local)`` for each local an instruction touches."""
    if op in V.SUPERINSTRUCTIONS:
        return ir.local_accesses(ir.Instr(op, arg))
    return ((op, arg),)


def may_propagate(ops: bytes, instrs) -> bool:
    """A local is stored once from a constant and loaded where a fold could use it.

    ``instrs`` is a callable giving ``ir.raw.instructions_of(code)``, asked for only if
    the opcodes leave a chance.
    """
    if _CONST_STORE.search(ops) is None:
        return False
    instrs = instrs()
    once = _stored_once_from_constants(instrs)
    return bool(once) and _used_in_a_fold(instrs, once)


def _stored_once_from_constants(instrs) -> set:
    stores: dict[int, int] = {}
    constant = set()
    prev = -1
    for op, arg in instrs:
        if op in _WRITES:
            for position, (plain, local) in enumerate(_accesses(op, arg)):
                if plain == _STORE_FAST:
                    stores[local] = stores.get(local, 0) + 1
                    if position == 0 and prev in V.CONSTANT_LOADS:
                        constant.add(local)
                elif plain in V.LOCAL_CLEARS:
                    stores[local] = 2  # deleted: never qualifies
        prev = op
    return {local for local in constant if stores[local] == 1}


def _used_in_a_fold(instrs, locals_: set) -> bool:
    loads = V.LOCAL_LOADS
    for k in range(len(instrs) - 1):
        op, arg = instrs[k]
        if op in loads:
            local = arg
        elif op in V.SUPERINSTRUCTIONS:
            plain, local = _accesses(op, arg)[-1]  # the half whose value is on top
            if plain not in loads:
                continue
        else:
            continue
        if local in locals_ and instrs[k + 1][0] in _FOLLOWERS:
            return True
    return False


def _global_loads(instrs, index: int):
    """Indexes into ``instrs`` of the loads of global (or module name) ``co_names[index]``,
    with whether each also pushes a call's NULL."""
    for k, (op, arg) in enumerate(instrs):
        if op in V.GLOBAL_LOADS:
            ins = ir.Instr(op, arg)
            if ir.name_index_of(ins) == index:
                yield k, ir.pushes_null(ins)


def global_feeds_fold(code: types.CodeType, instrs, name: str, attrs=None) -> bool:
    """``name`` is loaded (not as a callee) right before something a fold could use; with
    ``attrs`` (a module's listed constants), right before loading one of those."""
    try:
        index = code.co_names.index(name)
    except ValueError:
        return False
    names = code.co_names
    for k, with_null in _global_loads(instrs, index):
        if with_null or k + 1 == len(instrs):
            continue
        op, arg = instrs[k + 1]
        if attrs is None:
            if op in _FOLLOWERS:
                return True
        elif V.OPERATIONS.get(op) == "attr":
            attr = ir.name_index_of(ir.Instr(op, arg))
            if attr < len(names) and names[attr] in attrs:
                return True
    return False


def builtin_called_with_constants(code: types.CodeType, instrs, builtins) -> bool:
    """One of the builtins is loaded right before a constant (or a list) that may be its
    first argument."""
    names = code.co_names
    for name in builtins:
        if name in names:
            for k, _ in _global_loads(instrs, names.index(name)):
                if k + 1 < len(instrs) and V.OPERATIONS.get(instrs[k + 1][0]) in _ARG_STARTS:
                    return True
    return False
