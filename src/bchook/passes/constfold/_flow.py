"""Control flow over an instruction list: edges, "surely assigned here" and reachability.

Edges are fall-through, jumps (3.10's ``SETUP_*`` are jumps to their handler, which is
what the 3.10 block stack does), and on 3.11+ one edge from every instruction covered by
an exception-table entry to its handler, taken with the state *before* the instruction.
"""

from __future__ import annotations

from ... import ir

V = ir.version
_JUMPS = V.JUMPS
_NO_FALLTHROUGH = V.NO_FALLTHROUGH
_NOP = V.NOP


class Flow:
    """The instructions of ``items`` (labels dropped) with their successors."""

    __slots__ = ("instrs", "jump_to", "handler_to")

    def __init__(self, items: list):
        instrs = []
        label_at = {}
        for item in items:
            if type(item) is ir.Instr:
                instrs.append(item)
            else:
                label_at[id(item)] = len(instrs)
        n = len(instrs)
        jump_to = [-1] * n
        handler_to = [-1] * n
        for k, ins in enumerate(instrs):
            if ins.op in _JUMPS and type(ins.arg) is ir.Label:
                jump_to[k] = label_at.get(id(ins.arg), -1)
            h = ins.handler
            if h is not None:
                handler_to[k] = label_at.get(id(h.label), -1)
        self.instrs = instrs
        self.jump_to = jump_to
        self.handler_to = handler_to

    def surely_set(self, gens: dict[int, int], everything: int) -> list[int]:
        """Forward "must" analysis: for each instruction, the bits of ``everything`` set
        on every path that reaches it, where instruction ``k`` sets ``gens[k]`` (bits are
        never cleared: the callers track variables that are stored once and never deleted).
        Unreachable instructions get ``everything``.
        """
        instrs = self.instrs
        n = len(instrs)
        state = [everything] * n
        if not n:
            return state
        seen = [False] * n
        state[0] = 0
        seen[0] = True
        todo = [0]
        jump_to, handler_to = self.jump_to, self.handler_to

        def reach(target: int, value: int) -> None:
            if not seen[target]:
                seen[target] = True
                state[target] = value
                todo.append(target)
            else:
                merged = state[target] & value
                if merged != state[target]:
                    state[target] = merged
                    todo.append(target)

        while todo:
            k = todo.pop()
            before = state[k]
            after = before | gens.get(k, 0)
            if handler_to[k] >= 0:
                reach(handler_to[k], before)
            if jump_to[k] >= 0:
                reach(jump_to[k], after)
            if instrs[k].op not in _NO_FALLTHROUGH and k + 1 < n:
                reach(k + 1, after)
        return state

    def reachable(self) -> list[bool]:
        instrs = self.instrs
        n = len(instrs)
        seen = [False] * n
        if not n:
            return seen
        todo = [0]
        seen[0] = True
        jump_to, handler_to = self.jump_to, self.handler_to
        while todo:
            k = todo.pop()
            for t in (handler_to[k], jump_to[k],
                      k + 1 if instrs[k].op not in _NO_FALLTHROUGH and k + 1 < n else -1):
                if t >= 0 and not seen[t]:
                    seen[t] = True
                    todo.append(t)
        return seen


def drop_unreachable(items: list) -> tuple[list, int]:
    """``items`` without the instructions no path reaches, and without labels nothing
    refers to any more; returns the new list and how many instructions went."""
    flow = Flow(items)
    alive = flow.reachable()
    removed = alive.count(False)
    out = []
    k = 0
    for item in items:
        if type(item) is ir.Instr:
            if alive[k]:
                out.append(item)
            k += 1
        else:
            out.append(item)
    return drop_unused_labels(out), removed


def drop_unused_labels(items: list) -> list:
    used = set()
    for item in items:
        if type(item) is ir.Instr:
            if type(item.arg) is ir.Label:
                used.add(id(item.arg))
            if item.handler is not None:
                used.add(id(item.handler.label))
    return [x for x in items if type(x) is ir.Instr or id(x) in used]


def drop_jumps_to_next(items: list, made: dict) -> list:
    """An unconditional jump to the instruction right after it becomes a NOP (kept only
    if its line would otherwise vanish, see :func:`drop_redundant_nops`)."""
    unconditional = V.UNCONDITIONAL_JUMPS
    out = list(items)
    for i, item in enumerate(out):
        if type(item) is ir.Instr and item.op in unconditional and type(item.arg) is ir.Label:
            j = i + 1
            while j < len(out) and type(out[j]) is ir.Label:
                if out[j] is item.arg:
                    nop = ir.Instr(_NOP, 0, item.loc, item.handler)
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
            if type(prev) is ir.Instr and prev.loc[0] == line and prev.op not in _NO_FALLTHROUGH:
                continue
            nxt = items[i + 1] if i + 1 < n else None
            if type(nxt) is ir.Instr and nxt.loc[0] == line:
                continue
        out.append(item)
    return out
