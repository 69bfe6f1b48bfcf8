"""Cheap tests before decoding: may the pass fold anything in this code object?

They search the opcodes alone (``ir.raw.opcodes``: one bytes object, searched with regular
expressions at C speed) and read arguments (``ir.raw.instructions_of``, which lines up with
the opcodes) only at the places those searches find. They look for the instruction
sequences that start a fold, so a miss costs an optimization, never correctness; what they
let through is decoded and examined for real.
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
#: What a subscript is compiled to (3.14+: BINARY_OP, which is also every operator).
_SUBSCRIPT = _one_of({ins.op for ins in ir.subscript()})

#: Opcode sequences where a fold can start (the alternatives after a constant are grouped:
#: the search is more than twice as fast so).
_FOLD_START = re.compile(
    _CONSTANT + b"(?:" + b"|".join((
        _CONSTANT + _ON_TWO,                                        # 1 < 2
        _CONSTANT + _CONSTANT + _one_of(_opcodes("build_slice", "slice")),  # 'abc'[1:2]
        _ON_ONE,                                                    # not 1, if 0:
        _ATTR + _CONSTANT,                                          # 'a,b'.split(',')
        _ATTR + _CALL,                                              # 'abc'.upper()
    )) + b")|" + _one_of(_opcodes("list_extend", "build_list")) + _CONSTANT + _SUBSCRIPT,
    re.S)                                                           # [1, 2][0]
CONST_CONTAINS = re.compile(_CONSTANT + _one_of(_opcodes("contains")), re.S)

#: What may follow the load of a constant local (or global) for a fold to be possible.
_FOLLOWERS = _one_of(V.CONSTANT_LOADS | _opcodes(
    "copy", "slice", "build_tuple", "binary", "subscript", "compare", "contains", "is",
    "to_bool", "unary", "jump_if", "jump_if_or_pop", "attr"))
_FUSED = set(V.SUPERINSTRUCTIONS)
#: A constant, then an instruction whose first (or only) local access is a store.
_CONST_STORE = re.compile(_CONSTANT + _one_of(
    {_STORE_FAST} | {op for op in _FUSED if V.SUPERINSTRUCTIONS[op][0] == _STORE_FAST}), re.S)
_WRITE = re.compile(_one_of({_STORE_FAST} | V.LOCAL_CLEARS | _FUSED), re.S)
#: A local's value on top of the stack, then something a fold could use it for.
_LOCAL_USE = re.compile(b"(?=(" + _one_of(V.LOCAL_LOADS | _FUSED) + _FOLLOWERS + b"))", re.S)
_GLOBAL_LOAD = _one_of(V.GLOBAL_LOADS)
_ANY_GLOBAL = re.compile(_GLOBAL_LOAD, re.S)
_GLOBAL_ATTR = re.compile(b"(?=(" + _GLOBAL_LOAD + _ATTR + b"))", re.S)
#: A builtin loaded, then what may be its first argument: a constant, a list, or (3.11+)
#: the NULL of the call pushed between them.
_GLOBAL_CALL = re.compile(b"(?=(" + _GLOBAL_LOAD + _one_of(
    V.CONSTANT_LOADS | _opcodes("build_list", "push_null")) + b"))", re.S)


def may_fold(ops: bytes) -> bool:
    return _FOLD_START.search(ops) is not None


def _accesses(op: int, arg: int):
    """``(plain opcode, local)`` for each local an instruction touches."""
    if op in _FUSED:
        return ir.local_accesses(ir.Instr(op, arg))
    return ((op, arg),)


def may_propagate(ops: bytes, instrs) -> bool:
    """A local is stored once from a constant and loaded where a fold could use it.

    ``instrs`` is a callable giving ``ir.raw.instructions_of(code)``, asked for only if
    the opcodes leave a chance.
    """
    if _CONST_STORE.search(ops) is None or _LOCAL_USE.search(ops) is None:
        return False
    instrs = instrs()
    stores: dict[int, int] = {}
    constant = set()
    for m in _WRITE.finditer(ops):
        k = m.start()
        for position, (plain, local) in enumerate(_accesses(*instrs[k])):
            if plain == _STORE_FAST:
                stores[local] = stores.get(local, 0) + 1
                if position == 0 and k and ops[k - 1] in V.CONSTANT_LOADS:
                    constant.add(local)
            elif plain in V.LOCAL_CLEARS:  # deleted or cleared: never qualifies
                stores[local] = 2
    once = {local for local in constant if stores[local] == 1}
    if not once:
        return False
    for m in _LOCAL_USE.finditer(ops):
        plain, local = _accesses(*instrs[m.start()])[-1]  # the value left on top
        if local in once and plain in V.LOCAL_LOADS:
            return True
    return False


def _global_load(instrs, k: int, names) -> tuple[str | None, bool]:
    """The global (or module name) instruction ``k`` loads, and whether it pushes a NULL
    too (to be called)."""
    ins = ir.Instr(*instrs[k])
    index = ir.name_index_of(ins)
    return (names[index] if index < len(names) else None), ir.pushes_null(ins)


def global_feeds_fold(code: types.CodeType, ops: bytes, instrs, name: str,
                      attrs=None) -> bool:
    """``name`` is loaded, not as a callee (the load of a constant global is a fold in
    itself: it becomes the constant); with ``attrs`` (a module's listed constants), right
    before loading one of those.

    ``instrs`` as for :func:`may_propagate`.
    """
    names = code.co_names
    for m in (_ANY_GLOBAL if attrs is None else _GLOBAL_ATTR).finditer(ops):
        k = m.start()
        if _global_load(instrs(), k, names) != (name, False):
            continue
        if attrs is None:
            return True
        attr = ir.name_index_of(ir.Instr(*instrs()[k + 1]))
        if attr < len(names) and names[attr] in attrs:
            return True
    return False


#: Whether a LOAD_GLOBAL says that the global is loaded to be called (3.11+: it pushes
#: the call's NULL too); a LOAD_NAME never does.
_CALLEES_MARKED = ir.pushes_null(ir.load_global(0, True)[-1])


def builtin_called_with_constants(code: types.CodeType, ops: bytes, instrs,
                                  builtins) -> bool:
    """One of the builtins is loaded to be called right before a constant (or a list)
    that may be its first argument."""
    names = code.co_names
    for m in _GLOBAL_CALL.finditer(ops):
        k = m.start()
        name, with_null = _global_load(instrs(), k, names)
        if name in builtins and (with_null or not _CALLEES_MARKED
                                 or V.OPERATIONS.get(instrs()[k][0]) != "global"):
            return True
    return False
