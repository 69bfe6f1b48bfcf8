"""``with_goto`` for functions whose source cannot be found (made by ``exec``, say).

Without the syntax tree there is no way to run ``__exit__``/``finally`` code on the way
out of a block, so this works on the bytecode alone and accepts only jumps whose two ends
are in the same ``try``/``with``/``except`` block: the jump then only has to pop the ``for``
iterators it leaves. Anything else is a SyntaxError that says the source is needed. Labels
CPython dropped as unreachable cannot be brought back either.
"""

from __future__ import annotations

import types

from .. import ir
from ..ir import _version as V
from ._goto_ir import CAN_JUMP_BACK_IF, fold_jumps, handler_key, invert_loops

_LOADS = {V.OPMAP[n] for n in ("LOAD_GLOBAL", "LOAD_NAME") if n in V.OPMAP}
_LOAD_LOCAL = V.OPMAP["LOAD_FAST"]
_LOAD_DEREF = V.OPMAP["LOAD_DEREF"]
_LOAD_ATTR = V.OPMAP["LOAD_ATTR"]
_POP_TOP = V.OPMAP["POP_TOP"]
_SETUPS = frozenset(V.OPMAP[n] for n in ("SETUP_FINALLY", "SETUP_WITH", "SETUP_ASYNC_WITH")
                    if n in V.OPMAP)
_POP_BLOCKS = frozenset(V.OPMAP[n] for n in ("POP_BLOCK", "POP_EXCEPT") if n in V.OPMAP)


def rewrite_without_source(code: types.CodeType, filename: str, why: str) -> types.CodeType:
    """``code`` and its nested code objects with goto/label sequences turned into jumps."""
    found = {}
    labels_elsewhere: dict[str, int] = {}
    for co in ir.walk_code(code):
        names = _names(co)
        if "goto" in names or "label" in names:
            bc = ir.Bytecode.from_code(co)
            instrs = list(bc.instructions())
            sites = _sites(bc, instrs)
            if sites:
                found[_key(co)] = (bc, instrs, sites)
            for kind, name, ins, _ in sites:
                if kind == "label":
                    labels_elsewhere.setdefault(name, ins.loc[0])

    def run(co: types.CodeType) -> types.CodeType:
        entry = found.get(_key(co))
        if entry is None:
            return co
        bc = entry[0]
        # nested code objects were rewritten since decoding: encode with the new ones
        bc.code = co
        bc.consts = list(co.co_consts)
        _rewrite(*entry, filename, why, labels_elsewhere)
        return bc.to_code()

    return ir.replace_nested_code(code, run)


def _key(co: types.CodeType) -> tuple:
    """Stays the same when only the nested code objects of ``co`` are replaced."""
    return (co.co_name, co.co_firstlineno, co.co_code)


def _names(co) -> tuple:
    return co.co_names + co.co_varnames + co.co_freevars + co.co_cellvars


def _local_name(ins, code) -> str | None:
    if ins.op == _LOAD_LOCAL:
        names = code.co_varnames
        return names[ins.arg] if ins.arg < len(names) else None
    if V.LOCALSPLUS:
        index = ins.arg - code.co_nlocals
        cells = tuple(c for c in code.co_cellvars if c not in code.co_varnames) + \
            code.co_freevars
    else:
        index = ins.arg
        cells = code.co_cellvars + code.co_freevars
    return cells[index] if 0 <= index < len(cells) else None


def _sites(bc, instrs):
    """``(kind, label name, first instruction, index)`` of each ``goto .x``/``label .x``."""
    out = []
    words = {i: n for i, n in enumerate(bc.names) if n == "goto" or n == "label"}
    attr_shift = V.NAME_ARG_SHIFT.get(_LOAD_ATTR, 0)
    for i in range(len(instrs) - 2):
        ins = instrs[i]
        op = ins.op
        if op in _LOADS:
            word = words.get(ins.arg >> V.NAME_ARG_SHIFT.get(op, 0))
        elif op == _LOAD_LOCAL or op == _LOAD_DEREF:
            word = _local_name(ins, bc.code)
        else:
            continue
        if word != "goto" and word != "label":
            continue
        attr, pop = instrs[i + 1], instrs[i + 2]
        if attr.op != _LOAD_ATTR or pop.op != _POP_TOP or attr.arg & ((1 << attr_shift) - 1):
            continue  # not a plain attribute load whose value is dropped
        out.append((word, bc.names[attr.arg >> attr_shift], ins, i))
    return out


def _rewrite(bc, instrs, sites, filename: str, why: str, labels_elsewhere: dict) -> None:
    depths = bc.depths()
    regions = _regions(bc, instrs)
    labels: dict[str, list[int]] = {}
    for kind, name, ins, i in sites:
        if kind == "label":
            copies = labels.setdefault(name, [])
            if copies and instrs[copies[0]].loc[0] != ins.loc[0]:
                raise _error(f"duplicate label .{name} (first defined at line "
                             f"{instrs[copies[0]].loc[0]})", filename, ins.loc[0])
            copies.append(i)
    replace: dict[int, list] = {}
    at: dict[int, ir.Label] = {}
    for copies in labels.values():
        for i in copies:
            at[i] = ir.Label()
            replace[i] = [at[i]]
    ours: set[int] = set()
    for kind, name, goto, i in sites:
        if kind != "goto":
            continue
        copies = labels.get(name)
        line = goto.loc[0]
        if not copies:
            if name in labels_elsewhere:
                raise _error(f"goto .{name}: label .{name} is in another function (line "
                             f"{labels_elsewhere[name]}); goto can only jump within one "
                             "function", filename, line)
            raise _error(f"goto .{name}: there is no label .{name} (or the compiler removed "
                         f"it as unreachable code, which with_goto can only prevent with "
                         f"the function's source: {why})", filename, line)
        if depths[i] is None:
            replace[i] = [ir.Instr("JUMP", at[copies[0]], goto.loc, goto.handler)]
            continue
        fitting = [c for c in copies if regions[c] == regions[i] and depths[c] is not None]
        if not fitting:
            raise _error(f"goto .{name} jumps into or out of a with, try, except or finally "
                         "block; running their cleanup needs the function's source code, "
                         f"which with_goto cannot find ({why})", filename, line)
        target = min(fitting, key=lambda c: abs(c - i))
        pops = depths[i] - depths[target]
        if pops < 0:
            raise _error(f"goto .{name} jumps into a for loop body (label .{name} is at "
                         f"line {instrs[target].loc[0]})", filename, line)
        jump = ir.Instr("JUMP", at[target], goto.loc, goto.handler)
        if not pops:
            ours.add(id(jump))
        replace[i] = [ir.Instr("POP_TOP", 0, goto.loc, goto.handler)
                      for _ in range(pops)] + [jump]
    drop = {i + k for _, _, _, i in sites for k in (1, 2)}
    items = []
    k = 0
    for item in bc.items:
        if type(item) is ir.Label:
            items.append(item)
            continue
        if k in replace:
            items.extend(replace[k])
        elif k not in drop:
            items.append(item)
        k += 1
    items = fold_jumps(items, ours)
    if CAN_JUMP_BACK_IF:
        items = invert_loops(items, ours)
    bc.items = items


def _regions(bc, instrs) -> list:
    """What decides where an exception goes, per instruction: the handler (3.11+), or the
    block stack of SETUP_* blocks and handlers being run (3.10)."""
    if V.HAS_EXCEPTION_TABLE:
        return _Handlers(instrs)
    label_at = {}
    count = 0
    for item in bc.items:
        if type(item) is ir.Label:
            label_at[id(item)] = count
        else:
            count += 1
    n = len(instrs)
    out: list = [None] * n
    todo = [(0, ())]
    while todo:
        i, blocks = todo.pop()
        while i < n and out[i] is None:
            out[i] = blocks
            ins = instrs[i]
            if ins.op in _SETUPS:
                todo.append((label_at[id(ins.arg)], blocks + (("handler", i),)))
                blocks = blocks + (("block", i),)
            elif ins.op in _POP_BLOCKS:
                blocks = blocks[:-1]
            elif ins.op in V.JUMPS:
                todo.append((label_at[id(ins.arg)], blocks))
            if ins.op in V.NO_FALLTHROUGH:
                break
            i += 1
    return out


class _Handlers:
    """The handler of each instruction, looked up only for the few that are asked for."""

    def __init__(self, instrs):
        self.instrs = instrs

    def __getitem__(self, i):
        return handler_key(self.instrs[i].handler)


def _error(message: str, filename: str, line: int | None) -> SyntaxError:
    return SyntaxError(message, (filename, line, None, None))
