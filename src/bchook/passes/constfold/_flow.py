"""Tidying after a round of folds: jumps that became jumps to the next instruction, and the
NOPs the folds left to keep lines, where no line needs them any more. (Control flow
itself, and the removal of what became unreachable, is ``ir.Flow``/``ir.drop_unreachable``.)
"""

from __future__ import annotations

from ... import ir

V = ir.version


def drop_jumps_to_next(items: list, made: dict) -> list:
    """An unconditional jump to the instruction right after it becomes a NOP (kept only
    if its line would otherwise vanish, see :func:`drop_redundant_nops`)."""
    out = list(items)
    for i, item in enumerate(out):
        if type(item) is ir.Instr and item.op in V.UNCONDITIONAL_JUMPS and (
                type(item.arg) is ir.Label):
            j = i + 1
            while j < len(out) and type(out[j]) is ir.Label:
                if out[j] is item.arg:
                    nop = ir.Instr("NOP", 0, item.loc, item.handler)
                    made[id(nop)] = nop
                    out[i] = nop
                    break
                j += 1
    return out


def drop_redundant_nops(items: list, made: dict) -> list:
    """Remove the NOPs this pass made unless one keeps a line that would otherwise vanish
    from the line events (the rule CPython applies to its own NOPs)."""
    out = []
    n = len(items)
    for i, item in enumerate(items):
        if type(item) is ir.Instr and id(item) in made:
            line = item.loc[0]
            if line is None:
                continue
            prev = out[-1] if out else None
            if type(prev) is ir.Instr and prev.loc[0] == line and (
                    prev.op not in V.NO_FALLTHROUGH):
                continue
            nxt = items[i + 1] if i + 1 < n else None
            if type(nxt) is ir.Instr and nxt.loc[0] == line:
                continue
        out.append(item)
    return out
