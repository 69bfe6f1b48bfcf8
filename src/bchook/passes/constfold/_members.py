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

V = ir.version
_OP = V.OPMAP
_LOAD_CONST = _OP["LOAD_CONST"]
_CONTAINS_OP = _OP["CONTAINS_OP"]
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
        if (type(item) is ir.Instr and item.op == _LOAD_CONST and type(nxt) is ir.Instr
                and nxt.op == _CONTAINS_OP and item.handler is nxt.handler
                and item.loc[0] == nxt.loc[0]):
            value = bc.consts[item.arg]
            if type(value) is tuple and len(value) >= MIN_ITEMS and Val.is_safe(value):
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
    loc, h = load.loc, load.handler

    def I(name, arg=None, where=loc):  # noqa: E743 - reads like an assembly listing
        return ir.Instr(name, arg, where, h)

    def global_(name, null=False):
        return ir.load_global(bc.add_name(name), null, loc)

    type_of_x = []  # [x] -> [x, type(x)]
    if V.CALL_NULL is None:
        type_of_x += [I("DUP_TOP"), *global_("type"), I("ROT_TWO"), *ir.call(1, loc)]
    else:
        type_of_x += [*global_("type", True), I("COPY", 3), *ir.call(1, loc)]
    for x in type_of_x:
        x.handler = h
    fast, slow, end = ir.Label(), ir.Label(), ir.Label()
    check = []
    if len(kinds) == 2:
        second = ir.Label()
        check += [I("COPY", 1) if V.PY311 else I("DUP_TOP"), *global_(kinds[0]),
                  I("IS_OP", 0), I("POP_JUMP_IF_FALSE", second),
                  I("POP_TOP"), I("JUMP", fast), second]
        kinds = kinds[1:]
    check += [*global_(kinds[0]), I("IS_OP", 0), I("POP_JUMP_IF_FALSE", slow)]
    for x in check:
        if type(x) is ir.Instr:
            x.handler = h
    frozen = bc.add_const(frozenset(items))
    cloc = contains.loc
    tail = [
        fast, I(_LOAD_CONST, frozen), I(_CONTAINS_OP, contains.arg, cloc), I("JUMP", end),
        slow, I(_LOAD_CONST, load.arg), I(_CONTAINS_OP, contains.arg, cloc),
        end,
    ]
    return type_of_x + check + tail
