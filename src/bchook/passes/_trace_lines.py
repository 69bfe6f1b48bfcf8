"""Where the trace pass puts line probes: the instructions where a line begins.

As for CPython's line events, a line begins where control arrives from an instruction of
another line (or from none): by falling through, by a jump, or at an exception handler;
and a loop's jump back to the middle of a line (a ``for`` loop's FOR_ITER) begins that
line again. The functions here only find the places; the pass builds the probes.
"""

from __future__ import annotations

from .. import ir
from ..ir import Instr, Label

__all__ = ["label_positions", "line_starts", "back_edges"]

V = ir.version

_GLUED_SECOND = frozenset(V.GLUED_NEXT.values())
_GLUED_FIRST = frozenset(V.GLUED_NEXT)
_SETUPS = frozenset(V.OPMAP[n] for n in (
    "SETUP_FINALLY", "SETUP_WITH", "SETUP_ASYNC_WITH") if n in V.OPMAP)
_FOR_ITER = V.OPMAP["FOR_ITER"]
#: JUMP_BACKWARD_NO_INTERRUPT only closes an await's SEND loop: going round is no new line.
_NOT_A_LOOP = V.OPMAP.get("JUMP_BACKWARD_NO_INTERRUPT", -1)
_NOTHING = object()  # no instruction falls through here


def label_positions(items: list) -> dict[int, int]:
    """{id(label): index of the instruction it names}."""
    position = {}
    index = 0
    for item in items:
        if type(item) is Label:
            position[id(item)] = index
        else:
            index += 1
    return position


def line_starts(instrs: list[Instr], items: list, start: int,
                count: bool) -> list[tuple[Instr, int]]:
    """(instruction, line) for each instruction from ``start`` on where a line begins.

    In count mode an instruction that is also reached by falling through from its own
    line is left out (the entries from elsewhere are the rarer path); in flags mode it
    is kept, so that no line can be missed."""
    preds, handler_targets = _predecessors(instrs, items)
    found = []
    for idx in range(start, len(instrs)):
        ins = instrs[idx]
        line = ins.loc[0]
        if line is None or line <= 0 or ins.op in V.FIXED_PLACE:
            continue
        if idx and instrs[idx - 1].op in _GLUED_FIRST and ins.op in _GLUED_SECOND:
            continue
        if idx == start or idx in handler_targets:
            begins = True
        else:
            fall, jumps = preds[idx]
            if fall is not _NOTHING and fall == line and count:
                begins = False
            else:
                begins = (fall is not _NOTHING and fall != line) or any(
                    j != line for j in jumps)
        if begins:
            found.append((ins, line))
    return found


def back_edges(instrs: list[Instr], items: list,
               begins: set[int]) -> list[tuple[Instr, int]]:
    """(jump, line) for each jump back to an instruction of ``line`` that is not in
    ``begins`` (the ids of the line starts found): going round begins the line again."""
    position = label_positions(items)
    found = []
    for idx, ins in enumerate(instrs):
        if type(ins.arg) is not Label or ins.op not in V.JUMPS or ins.op in _SETUPS:
            continue
        if ins.op == _NOT_A_LOOP:
            continue
        t = position.get(id(ins.arg))
        if t is None or t > idx:
            continue
        target = instrs[t]
        line = target.loc[0]
        if line is None or line <= 0 or id(target) in begins:
            continue
        found.append((ins, line))
    return found


def _predecessors(instrs: list[Instr], items: list):
    """For each instruction: (line of the instruction falling into it or _NOTHING,
    lines of the jumps to it); and the indexes of exception handlers that begin lines."""
    position = label_positions(items)
    preds: list = []
    jumps: list[list] = [[] for _ in instrs]
    handler_targets = set()
    covered: dict[int, set] = {}
    previous = None
    for ins in instrs:
        fall = _NOTHING
        if previous is not None and previous.op not in V.NO_FALLTHROUGH:
            fall = previous.loc[0]
        preds.append(fall)
        previous = ins
        if type(ins.arg) is Label and ins.op in V.JUMPS:
            t = position.get(id(ins.arg))
            if t is not None and t < len(instrs):
                if ins.op in _SETUPS:
                    handler_targets.add(t)  # 3.10: reached by an exception
                if ins.op != _FOR_ITER or not V.PY312:  # 3.12+: FOR_ITER's exit skips END_FOR
                    jumps[t].append(ins.loc[0])
        h = ins.handler
        if h is not None:
            t = position.get(id(h.label))
            if t is not None:
                covered.setdefault(t, set()).add(ins.loc[0])
    # 3.11+: an exception arriving from another line begins the handler's line
    for t, lines in covered.items():
        if V.HANDLER_ALWAYS_STARTS_LINE or lines != {instrs[t].loc[0]}:
            handler_targets.add(t)
    return [(f, j) for f, j in zip(preds, jumps)], handler_targets
