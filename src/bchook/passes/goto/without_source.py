"""``with_goto`` for functions whose source cannot be found (made by ``exec``, say).

Without the syntax tree there is no way to run ``__exit__``/``finally`` code on the way
out of a block, so this works on the bytecode alone and accepts only jumps whose two ends
are in the same ``try``/``with``/``except`` block and whose label is in no ``for`` loop the
goto is not in (the iterators below the label's stack depth are the same at both ends,
``ir.Flow.stack_sources``): the jump then only has to pop the iterators it leaves. Anything else is a SyntaxError that says the source is needed. Labels
CPython dropped as unreachable cannot be brought back either.
"""

from __future__ import annotations

import types

from ... import ir
from .resolve import Edit

_GLOBAL_LOADS = ir.version.GLOBAL_LOADS
_LOAD_ATTR = ir.version.OPMAP["LOAD_ATTR"]
_POP_TOP = ir.version.OPMAP["POP_TOP"]


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
                found[_key(co)] = (bc, sites)
            for kind, name, i in sites:
                if kind == "label":
                    labels_elsewhere.setdefault(name, instrs[i].loc[0])

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


def has_statements(code: types.CodeType) -> bool:
    """Do ``code`` or its nested code objects still run a ``goto .x`` or ``label .x``?
    Code the goto pass rewrote has none left (nor its marker names)."""
    for co in ir.walk_code(code):
        names = _names(co)
        if "goto" in names or "label" in names:
            bc = ir.Bytecode.from_code(co)
            if _sites(bc, list(bc.instructions())):
                return True
    return False


def _key(co: types.CodeType) -> tuple:
    """Stays the same when only the nested code objects of ``co`` are replaced."""
    return (co.co_name, co.co_firstlineno, co.co_code)


def _names(co) -> tuple:
    return co.co_names + co.co_varnames + co.co_freevars + co.co_cellvars


def _sites(bc, instrs):
    """``(kind, label name, index)`` of each ``goto .x``/``label .x``."""
    out = []
    for i in range(len(instrs) - 2):
        ins = instrs[i]
        if ins.op in _GLOBAL_LOADS:
            word = bc.names[ir.name_index_of(ins)]
        else:
            word = ir.local_name(bc.code, ins)
            if word is not None and ir.version.stack_effects(ins.op, ins.arg)[0] != 1:
                continue  # a store or a delete, not a load
        if word != "goto" and word != "label":
            continue
        attr, pop = instrs[i + 1], instrs[i + 2]
        if attr.op != _LOAD_ATTR or pop.op != _POP_TOP or ir.pushes_null(attr):
            continue  # not a plain attribute load whose value is dropped
        out.append((word, bc.names[ir.name_index_of(attr)], i))
    return out


def _rewrite(bc, sites, filename: str, why: str, labels_elsewhere: dict) -> None:
    uses = bc.table_uses()
    edit = Edit(bc.flow())
    instrs = edit.flow.instrs
    depths, regions = edit.depths, edit.regions
    labels: dict[str, list[int]] = {}
    for kind, name, i in sites:
        if kind == "label":
            copies = labels.setdefault(name, [])
            if copies and instrs[copies[0]].loc[0] != instrs[i].loc[0]:
                raise _error(f"duplicate label .{name} (first defined at line "
                             f"{instrs[copies[0]].loc[0]})", filename, instrs[i].loc[0])
            copies.append(i)
    at = {i: edit.label_at(i, i + 3) for copies in labels.values() for i in copies}
    for kind, name, i in sites:
        if kind != "goto":
            continue
        copies = labels.get(name)
        line = instrs[i].loc[0]
        if not copies:
            if name in labels_elsewhere:
                raise _error(f"goto .{name}: label .{name} is in another function (line "
                             f"{labels_elsewhere[name]}); goto can only jump within one "
                             "function", filename, line)
            raise _error(f"goto .{name}: there is no label .{name} (or the compiler removed "
                         f"it as unreachable code, which with_goto can only prevent with "
                         f"the function's source: {why})", filename, line)
        if depths[i] is None:
            edit.goto(i, i + 3, at[copies[0]], copies[0], 0)
            continue
        fitting = [c for c in copies if regions[c] == regions[i] and depths[c] is not None]
        if not fitting:
            raise _error(f"goto .{name} jumps into or out of a with, try, except or finally "
                         "block; running their cleanup needs the function's source code, "
                         f"which with_goto cannot find ({why})", filename, line)
        keeping = [c for c in fitting if edit.keeps(i, c)]
        if not keeping:
            target = min(fitting, key=lambda c: abs(c - i))
            raise _error(f"goto .{name} jumps into a for loop body"
                         f"{_loop_line(edit, i, target)} from outside it; label .{name} is "
                         f"at line {instrs[target].loc[0]}. Move the label out of the loop",
                         filename, line)
        target = min(keeping, key=lambda c: abs(c - i))
        edit.goto(i, i + 3, at[target], target, depths[i] - depths[target])
    bc.items = edit.apply(bc.items)
    bc.drop_unused(uses)  # ``goto``, ``label`` and the label names, if nothing else uses them


def _loop_line(edit: Edit, goto: int, label: int) -> str:
    """`` (line N)`` of the outermost loop the label is in and the goto is not."""
    at_goto, at_label = edit.sources[goto], edit.sources[label]
    for k, source in enumerate(at_label):
        if k >= len(at_goto) or source != at_goto[k]:
            if source is not None and source >= 0 and edit.flow.instrs[source].loc[0]:
                return f" (line {edit.flow.instrs[source].loc[0]})"
            break
    return ""


def _error(message: str, filename: str, line: int | None) -> SyntaxError:
    return SyntaxError(message, (filename, line, None, None))
