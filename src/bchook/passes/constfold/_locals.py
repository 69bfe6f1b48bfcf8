"""Local constant propagation: ``x = 3`` ... ``x * 2`` loads ``3`` instead of ``x``.

A local qualifies when its only store is ``LOAD_CONST c; STORE_FAST x``, it is not an
argument, a cell or a free variable, and nothing deletes or clears it (``del x``,
``except ... as x``, 3.12's inlined comprehensions). A load is replaced only where that
store has run on every path to it, so a use that raises UnboundLocalError still does.
The store itself stays: ``locals()``, tracebacks and debuggers still see ``x``.
The loaded object is the very constant the store uses, so even ``is`` sees no change.
"""

from __future__ import annotations

import inspect

from ... import ir
from ._flow import Flow

V = ir.version
_OP = V.OPMAP
_LOAD_CONST = _OP["LOAD_CONST"]
_LOAD_FAST = _OP["LOAD_FAST"]
_STORE_FAST = _OP["STORE_FAST"]
_DELETE_FAST = _OP["DELETE_FAST"]
_LOAD_FAST_CHECK = _OP.get("LOAD_FAST_CHECK", -1)
_LOAD_FAST_AND_CLEAR = _OP.get("LOAD_FAST_AND_CLEAR", -1)
_SUPER = V.SUPERINSTRUCTIONS
_LOADS = frozenset(op for op in (_LOAD_FAST, _LOAD_FAST_CHECK) if op >= 0)
#: Instructions that store, delete or clear a local (3.13's fused ones included).
_WRITES = frozenset(op for op in (_STORE_FAST, _DELETE_FAST, _LOAD_FAST_AND_CLEAR, *_SUPER)
                    if op >= 0)


def _accesses(ins: ir.Instr):
    """``(opcode, local)`` pairs an instruction stands for (two for a superinstruction)."""
    pair = _SUPER.get(ins.op)
    if pair is None:
        return ((ins.op, ins.arg),)
    return ((pair[0], ins.arg >> 4), (pair[1], ins.arg & 15))


def _first_local(code) -> int:
    """Index of the first local that is not an argument."""
    n = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & inspect.CO_VARARGS:
        n += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        n += 1
    return n


def candidates(bc: ir.Bytecode) -> dict[int, int]:
    """``{local index: const index}`` of the locals stored once from a constant."""
    code = bc.code
    first = _first_local(code)
    shared = set(code.co_cellvars) | set(code.co_freevars)
    varnames = code.co_varnames
    stores: dict[int, int] = {}
    const_of: dict[int, int] = {}
    banned: set[int] = set()
    prev = None
    watched = _WRITES
    for item in bc.items:
        if type(item) is not ir.Instr:
            prev = None
            continue
        if item.op not in watched:
            prev = item
            continue
        for position, (op, local) in enumerate(_accesses(item)):
            if op == _STORE_FAST:
                stores[local] = stores.get(local, 0) + 1
                if position == 0 and prev is not None and prev.op == _LOAD_CONST:
                    const_of[local] = prev.arg
                else:
                    banned.add(local)
            elif op == _DELETE_FAST or op == _LOAD_FAST_AND_CLEAR:
                banned.add(local)
        prev = item
    return {
        local: const_of[local] for local, count in stores.items()
        if count == 1 and local in const_of and local not in banned and local >= first
        and local < len(varnames) and varnames[local] not in shared
    }


def propagate(bc: ir.Bytecode, rewritten: dict) -> list[str]:
    """Replace the loads of qualifying locals by their constant; returns their names.
    The new loads go into ``rewritten`` (by id).

    3.13 superinstructions touching such a local are split first and fused back where
    nothing changed, so the code keeps its speed elsewhere.
    """
    found = candidates(bc)
    if not found:
        return []
    split_pairs = []
    if _SUPER:
        items = []
        for item in bc.items:
            if type(item) is ir.Instr and item.op in _SUPER:
                (op1, a), (op2, b) = _accesses(item)
                if a in found or b in found:
                    first = ir.Instr(op1, a, item.loc, item.handler)
                    second = ir.Instr(op2, b, item.loc, item.handler)
                    items += (first, second)
                    split_pairs.append((item.op, first, second))
                    continue
            items.append(item)
        bc.items = items

    instrs = [x for x in bc.items if type(x) is ir.Instr]
    bits = {local: 1 << i for i, local in enumerate(found)}
    gens = {}
    prev = None
    for k, ins in enumerate(instrs):
        if ins.op == _STORE_FAST and ins.arg in bits and prev is not None and (
                prev.op == _LOAD_CONST):
            gens[k] = bits[ins.arg]
        prev = ins
    state = Flow(bc.items).surely_set(gens, (1 << len(bits)) - 1)
    used = set()
    for k, ins in enumerate(instrs):
        if ins.op in _LOADS and ins.arg in bits and state[k] & bits[ins.arg]:
            used.add(ins.arg)
            ins.op = _LOAD_CONST
            ins.arg = found[ins.arg]
            ins._size = 0
            rewritten[id(ins)] = ins
    if split_pairs:
        _fuse_back(bc, split_pairs)
    return [bc.code.co_varnames[local] for local in sorted(used)]


def _fuse_back(bc: ir.Bytecode, pairs) -> None:
    where = {id(x): i for i, x in enumerate(bc.items)}
    drop = set()
    for fused_op, first, second in pairs:
        op1, op2 = _SUPER[fused_op]
        i = where.get(id(first))
        if (first.op == op1 and second.op == op2 and i is not None
                and i + 1 < len(bc.items) and bc.items[i + 1] is second):
            bc.items[i] = ir.Instr(fused_op, (first.arg << 4) | second.arg, first.loc,
                                   first.handler)
            drop.add(id(second))
    if drop:
        bc.items = [x for x in bc.items if id(x) not in drop]
