"""Where the trace pass puts line probes: the instructions where a line begins.

As for CPython's line events, a line begins where control arrives from an instruction of
another line (or from none): by falling through, by a jump, or at an exception handler;
and a loop's jump back to the middle of a line (a ``for`` loop's FOR_ITER) begins that
line again. The functions here only find the places, on the pass's :class:`ir.Flow`;
the pass builds the probes.
"""

from __future__ import annotations

from ... import ir
from ...ir import Instr

__all__ = ["line_starts", "back_edges"]

V = ir.version

_NOTHING = object()  # no instruction falls through here


def _kept_with_previous(instrs: list[Instr], idx: int) -> bool:
    """Must ``instrs[idx]`` follow ``instrs[idx - 1]`` directly (nothing in between)?"""
    if not idx:
        return False
    prev, ins = instrs[idx - 1].op, instrs[idx].op
    return V.GLUED_NEXT.get(prev) == ins or (prev, ins) in V.KEEP_ADJACENT


def line_starts(flow: ir.Flow, start: int, count: bool) -> list[tuple[Instr, int]]:
    """(instruction, line) for each instruction from ``start`` on where a line begins.

    In count mode an instruction that is also reached by falling through from its own
    line is left out (the entries from elsewhere are the rarer path); in flags mode it
    is kept, so that no line can be missed."""
    instrs = flow.instrs
    falls, jumps, handler_starts = _arrivals(flow)
    found = []
    for idx in range(start, len(instrs)):
        ins = instrs[idx]
        line = ins.loc[0]
        if line is None or line <= 0 or ins.op in V.FIXED_PLACE:
            continue
        if _kept_with_previous(instrs, idx):
            continue
        if idx == start or idx in handler_starts:
            begins = True
        else:
            fall = falls[idx]
            if fall is not _NOTHING and fall == line and count:
                begins = False
            else:
                begins = (fall is not _NOTHING and fall != line) or any(
                    j != line for j in jumps[idx])
        if begins:
            found.append((ins, line))
    return found


def back_edges(flow: ir.Flow, begins: set[int]) -> list[tuple[Instr, int]]:
    """(jump, line) for each jump back to an instruction of ``line`` that is not in
    ``begins`` (the ids of the line starts found): going round begins the line again."""
    instrs = flow.instrs
    found = []
    for idx, t in enumerate(flow.jump_to):
        if t < 0 or t > idx:
            continue
        ins = instrs[idx]
        if ins.op in V.BLOCK_SETUPS or ins.op in V.DELEGATION_JUMPS:
            continue
        target = instrs[t]
        line = target.loc[0]
        if line is None or line <= 0 or id(target) in begins:
            continue
        found.append((ins, line))
    return found


def _arrivals(flow: ir.Flow):
    """For each instruction: the line of the instruction falling into it (or _NOTHING),
    the lines of the jumps to it; and the indexes of exception handlers that begin
    lines."""
    instrs = flow.instrs
    falls: list = [_NOTHING]
    for k in range(1, len(instrs)):
        falls.append(instrs[k - 1].loc[0] if flow.falls_through(k - 1) else _NOTHING)
    jumps: list[list] = [[] for _ in instrs]
    handler_starts = set()
    covered: dict[int, set] = {}
    for k, ins in enumerate(instrs):
        t = flow.jump_to[k]
        if t >= 0:
            if ins.op in V.BLOCK_SETUPS:
                handler_starts.add(t)  # 3.10: reached by an exception
            jumps[t].append(ins.loc[0])
        t = flow.handler_to[k]
        if t >= 0:
            covered.setdefault(t, set()).add(ins.loc[0])
    # 3.11+: an exception arriving from another line begins the handler's line
    for t, lines in covered.items():
        if V.HANDLER_ALWAYS_STARTS_LINE or lines != {instrs[t].loc[0]}:
            handler_starts.add(t)
    return falls, jumps, handler_starts
