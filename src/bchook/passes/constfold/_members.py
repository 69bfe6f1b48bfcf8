"""``constfold.membership_sets``: ``x in (9 constants)`` as a frozenset lookup.

A frozenset answers ``x in s`` like the tuple scan only when hashing and ``==`` of ``x``
agree and have no side effects, which is true of exact ``str``, ``int`` and ``bytes``. So
the rewritten test checks ``type(x) is str`` (one or two such checks) and falls back to the
original tuple for anything else::

    x in ("a", "b", ...)   ->   (x in frozenset(...)) if type(x) is str else (x in (...))

Assumes the builtins ``type``, ``str``, ``int`` and ``bytes`` are the real ones (the module
must not bind those names; the pass checks that).
"""

from __future__ import annotations

from ... import ir
from . import _values as Val

#: Below this many items, scanning the tuple costs about as much as the type check.
MIN_ITEMS = 5
_ELEMENT_TYPES = (str, int, bool, bytes, float, type(None))


def fast_types(items: tuple) -> list[str] | None:
    """Names of the exact types of ``x`` for which the frozenset may answer, or None."""
    counts = {"str": 0, "int": 0, "bytes": 0}
    for v in items:
        t = type(v)
        if t not in _ELEMENT_TYPES or (t is float and v != v):
            return None
        if t is str:
            counts["str"] += 1
        elif t is bytes:
            counts["bytes"] += 1
        elif t is int or t is bool:
            counts["int"] += 1
    if counts["str"] and counts["bytes"]:
        return None  # comparing them warns under -b: leave it to the tuple
    present = [name for name in counts if counts[name]]
    present.sort(key=lambda name: -counts[name])
    return present[:2] or None


def rewrite(bc: ir.Bytecode, builtins: frozenset, report) -> bool:
    if "type" not in builtins:
        return False
    items = bc.items
    out = []
    changed = False
    i = 0
    n = len(items)
    while i < n:
        item = items[i]
        nxt = items[i + 1] if i + 1 < n else None
        if (type(item) is ir.Instr and type(nxt) is ir.Instr and item.handler is nxt.handler
                and item.loc[0] == nxt.loc[0] and ir.loads_constant(item)):
            value = ir.constant_of(bc, item)
            test = ir.operation_of(nxt)
            if (test is not None and test[0] == "contains" and type(value) is tuple
                    and len(value) >= MIN_ITEMS and Val.is_safe(value)):
                kinds = fast_types(value)
                if kinds and all(k in builtins for k in kinds):
                    out += _lookup(bc, item, nxt, value, kinds)
                    changed = True
                    report.membership += 1
                    i += 2
                    continue
        out.append(item)
        i += 1
    if changed:
        bc.items = out
    return changed


def _lookup(bc: ir.Bytecode, load: ir.Instr, contains: ir.Instr, items: tuple, kinds):
    """``[x] -> [x in items]``, through the frozenset when ``type(x)`` is one of ``kinds``."""
    loc = load.loc

    def global_(name):
        return ir.load_global(bc.add_name(name), False, loc)

    fast, slow, end = ir.Label(), ir.Label(), ir.Label()
    seq = ir.call_on_copy(bc.add_name("type"), loc)  # [x] -> [x, type(x)]
    if len(kinds) == 2:
        second = ir.Label()
        seq += [*ir.copy(1, loc), *global_(kinds[0]), ir.Instr("IS_OP", 0, loc),
                *ir.jump_if("false", second, loc, value_is_bool=True),
                *ir.pop_top(loc), *ir.jump(fast, loc), second]
        kinds = kinds[1:]
    seq += [*global_(kinds[0]), ir.Instr("IS_OP", 0, loc),
            *ir.jump_if("false", slow, loc, value_is_bool=True)]
    seq += [fast, ir.load_const(bc, frozenset(items), loc), contains.copy(), *ir.jump(end, loc),
            slow, load.copy(), contains.copy(), end]
    for x in seq:
        if type(x) is ir.Instr:
            x.handler = load.handler
    return seq
