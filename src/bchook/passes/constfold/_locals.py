"""Local constant propagation: ``x = 3`` ... ``x * 2`` loads ``3`` instead of ``x``.

A local qualifies when its only store is a constant's load followed by ``STORE_FAST x``, it
is not an argument, a cell or a free variable, and nothing deletes or clears it (``del x``,
``except ... as x``, 3.12's inlined comprehensions). A load is replaced only where that
store has run on every path to it, so a use that raises UnboundLocalError still does.
The store itself stays: ``locals()``, tracebacks and debuggers still see ``x``.
The new load is a copy of the instruction that loaded the stored constant, so it loads
the very same object and even ``is`` sees no change.
"""

from __future__ import annotations

import inspect

from ... import ir

V = ir.version
_STORE_FAST = V.OPMAP["STORE_FAST"]
#: Instructions that store, delete or clear a local (3.13's fused ones included).
_WRITES = {_STORE_FAST} | V.LOCAL_CLEARS | set(V.SUPERINSTRUCTIONS)


def _first_local(code) -> int:
    """Index of the first local that is not an argument."""
    n = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & inspect.CO_VARARGS:
        n += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        n += 1
    return n


def candidates(bc: ir.Bytecode) -> dict[int, ir.Instr]:
    """``{local index: the constant load stored into it}`` for the locals stored once,
    from a constant."""
    code = bc.code
    first = _first_local(code)
    shared = set(code.co_cellvars) | set(code.co_freevars)
    varnames = code.co_varnames
    stores: dict[int, int] = {}
    load_of: dict[int, ir.Instr] = {}
    banned: set[int] = set()
    prev = None
    for item in bc.items:
        if type(item) is not ir.Instr:
            prev = None
            continue
        if item.op not in _WRITES:
            prev = item
            continue
        for position, (op, local) in enumerate(ir.local_accesses(item)):
            if op == _STORE_FAST:
                stores[local] = stores.get(local, 0) + 1
                if position == 0 and prev is not None and ir.loads_constant(prev):
                    load_of[local] = prev
                else:
                    banned.add(local)
            elif op in V.LOCAL_CLEARS:
                banned.add(local)
        prev = item
    return {
        local: load_of[local] for local, count in stores.items()
        if count == 1 and local in load_of and local not in banned and local >= first
        and local < len(varnames) and varnames[local] not in shared
    }


def propagate(bc: ir.Bytecode, rewritten: dict) -> list[str]:
    """Replace the loads of qualifying locals by their constant; returns their names.
    The new loads go into ``rewritten`` (by id).

    3.13+ superinstructions touching such a local are split first and fused back where
    nothing changed, so the code keeps its speed elsewhere.
    """
    found = candidates(bc)
    if not found:
        return []
    split_pairs = []
    if V.SUPERINSTRUCTIONS:
        items = []
        for item in bc.items:
            if type(item) is ir.Instr and item.op in V.SUPERINSTRUCTIONS:
                (op1, a), (op2, b) = ir.local_accesses(item)
                if a in found or b in found:
                    first = ir.Instr(op1, a, item.loc, item.handler)
                    second = ir.Instr(op2, b, item.loc, item.handler)
                    items += (first, second)
                    split_pairs.append((first, second))
                    continue
            items.append(item)
        bc.items = items

    instrs = [x for x in bc.items if type(x) is ir.Instr]
    bits = {local: 1 << i for i, local in enumerate(found)}
    gens = {}
    prev = None
    for k, ins in enumerate(instrs):
        if ins.op == _STORE_FAST and prev is found.get(ins.arg):
            gens[k] = bits[ins.arg]
        prev = ins
    state = ir.Flow(bc.items, bc.code).surely_set(gens, (1 << len(bits)) - 1)
    new_of: dict[int, ir.Instr] = {}  # id(old load) -> its replacement
    used = set()
    for k, ins in enumerate(instrs):
        if ins.op in V.LOCAL_LOADS and ins.arg in bits and state[k] & bits[ins.arg]:
            used.add(ins.arg)
            new = found[ins.arg].copy()
            new.loc, new.handler = ins.loc, ins.handler
            new_of[id(ins)] = new
            rewritten[id(new)] = new
    if new_of:
        bc.items = [new_of.get(id(x), x) for x in bc.items]
    if split_pairs:
        _fuse_back(bc, split_pairs)
    return [bc.code.co_varnames[local] for local in sorted(used)]


def _fuse_back(bc: ir.Bytecode, pairs) -> None:
    where = {id(x): i for i, x in enumerate(bc.items)}
    drop = set()
    for first, second in pairs:
        i = where.get(id(first))
        if i is not None and i + 1 < len(bc.items) and bc.items[i + 1] is second:
            fused = ir.fuse(first, second)
            if fused is not None:
                bc.items[i] = fused
                drop.add(id(second))
    if drop:
        bc.items = [x for x in bc.items if id(x) not in drop]
