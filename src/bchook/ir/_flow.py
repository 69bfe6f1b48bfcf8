"""Control flow over an instruction list: where each instruction can go next, basic
blocks, reachability, "surely set here", the value-stack depth and where each stack
value comes from.

Edges are falling through (not after a return, raise or unconditional jump), jumps
(3.10's ``SETUP_*`` jump to their handler, which is what its block stack does; 3.14's
``END_ASYNC_FOR`` names an instruction without going there: no edge), and on 3.11+ one
edge from every instruction covered by an exception-table entry to its handler, taken
with the state *before* the instruction. Every pass and tool that needs control flow (the
encoder, goto, trace's line probes, constfold, ``bchook.asm``, ``bchook dis --cfg``) uses
this one.
"""

from __future__ import annotations

from . import _version as V
from ._model import Instr, IRError, Label

__all__ = ["Flow", "stack_depth", "drop_unreachable", "drop_unused_labels"]

_FLOW_JUMPS = V.FLOW_JUMPS
_JUMPS = V.JUMPS
_NO_FALLTHROUGH = V.NO_FALLTHROUGH


def _where(code, instr: Instr | None = None) -> str:
    if code is None:
        return "<code>"
    name = getattr(code, "co_qualname", code.co_name)
    line = instr.loc[0] if instr is not None else None
    return f"{name} ({code.co_filename}:{line or code.co_firstlineno})"


class Flow:
    """The instructions of ``items`` (labels dropped) with their successors.

    ``label_at``: ``{id(label): index of the instruction it names}`` (``len(instrs)`` for
    a label after the last one); ``jump_to[k]``: where instruction ``k`` jumps (-1: no
    jump); ``handler_to[k]``: where an exception in it goes (-1: out of the frame). A jump
    or handler to a label that is not in ``items`` is an :class:`IRError`.
    """

    __slots__ = ("instrs", "label_at", "jump_to", "handler_to", "code")

    def __init__(self, items: list, code=None):
        instrs: list[Instr] = []
        label_at: dict[int, int] = {}
        for item in items:
            if type(item) is Instr:
                instrs.append(item)
            else:
                label_at[id(item)] = len(instrs)
        n = len(instrs)
        jump_to = [-1] * n
        handler_to = [-1] * n
        for k, ins in enumerate(instrs):
            if ins.op in _FLOW_JUMPS and type(ins.arg) is Label:
                t = label_at.get(id(ins.arg))
                if t is None:
                    raise IRError(f"{_where(code, ins)}: {ins.name} jumps to a label that "
                                  "is not in the instruction list")
                jump_to[k] = t
            h = ins.handler
            if h is not None:
                t = label_at.get(id(h.label))
                if t is None:
                    raise IRError(f"{_where(code, ins)}: exception handler label is not in "
                                  "the instruction list")
                handler_to[k] = t
        self.instrs = instrs
        self.label_at = label_at
        self.jump_to = jump_to
        self.handler_to = handler_to
        self.code = code

    def index_of(self, label: Label) -> int:
        """Index of the instruction ``label`` names."""
        try:
            return self.label_at[id(label)]
        except KeyError:
            raise IRError(f"{_where(self.code)}: {label!r} is not in the instruction "
                          "list") from None

    def falls_through(self, k: int) -> bool:
        return self.instrs[k].op not in _NO_FALLTHROUGH and k + 1 < len(self.instrs)

    def successors(self, k: int) -> list[int]:
        """Where control can go after instruction ``k``: next, jump target, handler."""
        out = []
        if self.falls_through(k):
            out.append(k + 1)
        if self.jump_to[k] >= 0:
            out.append(self.jump_to[k])
        if self.handler_to[k] >= 0:
            out.append(self.handler_to[k])
        return out

    def entries(self) -> set[int]:
        """Indexes reached other than by falling through: jump and handler targets."""
        return {t for t in self.jump_to if t >= 0} | {t for t in self.handler_to if t >= 0}

    def blocks(self) -> list[tuple[int, int]]:
        """Basic blocks as ``(start, end)`` index ranges (``end`` exclusive): a block
        starts at an entry (:meth:`entries`), after a jump or an instruction that does not
        fall through, and where the exception handler changes."""
        instrs = self.instrs
        entries = self.entries()
        out = []
        start = 0
        for k in range(1, len(instrs) + 1):
            if k == len(instrs):
                out.append((start, k))
                break
            prev = instrs[k - 1]
            if (k in entries or prev.op in _JUMPS or prev.op in _NO_FALLTHROUGH
                    or prev.handler is not instrs[k].handler):
                out.append((start, k))
                start = k
        return [b for b in out if b[1] > b[0]]

    def reachable(self) -> list[bool]:
        """Which instructions some path from the first one reaches."""
        n = len(self.instrs)
        seen = [False] * n
        if not n:
            return seen
        seen[0] = True
        todo = [0]
        while todo:
            for t in self.successors(todo.pop()):
                if not seen[t]:
                    seen[t] = True
                    todo.append(t)
        return seen

    def surely_set(self, gens: dict[int, int], everything: int) -> list[int]:
        """Forward "must" analysis: for each instruction, the bits of ``everything`` set
        on every path that reaches it, where instruction ``k`` sets ``gens[k]`` (bits are
        never cleared: callers track variables stored once and never deleted).
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

    def depths(self) -> list[int | None]:
        """Stack depth before each instruction (None: unreachable)."""
        out: list[int | None] = [None] * len(self.instrs)
        if self.instrs:
            self.max_depth(out)
        return out

    def stack_sources(self) -> list[tuple | None]:
        """Where each value on the stack before each instruction comes from, bottom first:
        the index of the instruction that pushed or last overwrote it, ``~t`` for a value
        the unwinding to the handler at ``t`` pushed, None where paths disagree (None for
        the whole of an unreachable instruction).

        Wherever two instructions name the same source for a slot, control arrives at
        either with that source's latest value in the slot, so a jump between them keeps
        it (goto checks the ``for`` iterators a jump keeps this way). Follows
        ``ir.version.stack_reach``: what an instruction may change becomes its own.
        """
        instrs = self.instrs
        n = len(instrs)
        state: list[tuple | None] = [None] * n
        if not n:
            return state
        effects, reach_of = V.stack_effects, V.stack_reach
        jump_to, handler_to = self.jump_to, self.handler_to
        state[0] = (None,) * V.entry_depth(instrs[0].op)
        todo = [0]

        def reach(target: int, stack: tuple, ins: Instr) -> None:
            seen = state[target]
            if seen is None:
                state[target] = stack
                todo.append(target)
                return
            if len(seen) != len(stack):
                raise IRError(f"{_where(self.code, ins)}: inconsistent stack depth at "
                              f"instruction {target}: {len(seen)} on one path, "
                              f"{len(stack)} on another")
            merged = tuple(a if a == b else None for a, b in zip(seen, stack))
            if merged != seen:
                state[target] = merged
                todo.append(target)

        while todo:
            k = todo.pop()
            stack = state[k]
            ins = instrs[k]
            arg = ins.arg if type(ins.arg) is int else 0
            h = ins.handler
            if h is not None:
                # the unwinding pops down to the handler's depth, then pushes its values
                reach(handler_to[k], stack[:h.depth] + (~handler_to[k],) * (1 + h.lasti), ins)
            kept = len(stack) - reach_of(ins.op, arg)
            fall, jump = effects(ins.op, arg)
            for target, effect in ((jump_to[k], jump),
                                   (k + 1 if self.falls_through(k) else -1, fall)):
                if target >= 0:
                    depth = len(stack) + effect
                    if depth < 0:
                        raise IRError(f"{_where(self.code, ins)}: stack underflow at "
                                      f"{ins.name}")
                    below = max(0, min(kept, depth))
                    reach(target, stack[:below] + (k,) * (depth - below), ins)
        return state

    def max_depth(self, record: list | None = None) -> int:
        """Maximum value-stack depth over every path; IRError on underflow or on paths
        that join with different depths."""
        handler_targets = {id(ins.handler): t for ins, t in zip(self.instrs, self.handler_to)
                           if t >= 0}
        return stack_depth(self.instrs, self.jump_to, handler_targets, self.code, record)


def stack_depth(instrs, targets, handler_targets, code, record=None) -> int:
    """Maximum value-stack depth over every path; raises IRError on underflow.

    ``targets[k]``: where instruction ``k`` jumps (-1: nowhere; 3.14's END_ASYNC_FOR
    reference is no jump); ``handler_targets``: ``{id(handler): index}``.
    """
    n = len(instrs)
    depth_at: list = [None] * n if record is None else record
    effects = V.stack_effects
    not_flow = V.NOT_CONTROL_FLOW
    best = V.entry_depth(instrs[0].op)
    todo = [(0, best)]
    while todo:
        idx, depth = todo.pop()
        while idx < n:
            seen = depth_at[idx]
            if seen is not None:
                if seen != depth:
                    # CPython's compiler never joins paths of different depths (checked
                    # over the whole stdlib, 3.10-3.15); a loop that pushes more than it
                    # pops would otherwise make this walk run forever.
                    ins = instrs[idx]
                    raise IRError(f"{_where(code, ins)}: inconsistent stack depth at "
                                  f"{ins.name} (instruction {idx}): {seen} on one path, "
                                  f"{depth} on another")
                break
            depth_at[idx] = depth
            ins = instrs[idx]
            op = ins.op
            h = ins.handler
            if h is not None:
                hd = h.depth + 1 + h.lasti
                if hd > best:
                    best = hd
                todo.append((handler_targets[id(h)], hd))
            try:
                fall, jump = effects(op, ins.arg if type(ins.arg) is int else 0)
            except ValueError as exc:
                raise IRError(f"{_where(code, ins)}: {ins.name}: {exc}") from None
            t = targets[idx]
            if t >= 0 and op not in not_flow:
                jd = depth + jump
                if jd < 0:
                    raise IRError(f"{_where(code, ins)}: stack underflow at {ins.name}")
                if jd > best:
                    best = jd
                todo.append((t, jd))
            if op in _NO_FALLTHROUGH:
                if depth + fall < 0:  # a return or raise of values that are not there
                    raise IRError(f"{_where(code, ins)}: stack underflow at {ins.name}")
                break
            depth += fall
            if depth < 0:
                raise IRError(f"{_where(code, ins)}: stack underflow at {ins.name}")
            if depth > best:
                best = depth
            idx += 1
    return best


def drop_unreachable(items: list) -> tuple[list, int]:
    """``items`` without the instructions no path reaches, and without labels nothing
    refers to any more; returns the new list and how many instructions went."""
    alive = Flow(items).reachable()
    removed = alive.count(False)
    out = []
    k = 0
    for item in items:
        if type(item) is Instr:
            if alive[k]:
                out.append(item)
            k += 1
        else:
            out.append(item)
    return drop_unused_labels(out), removed


def drop_unused_labels(items: list) -> list:
    """``items`` without the labels no jump or handler names."""
    used = set()
    for item in items:
        if type(item) is Instr:
            if type(item.arg) is Label:
                used.add(id(item.arg))
            if item.handler is not None:
                used.add(id(item.handler.label))
    return [x for x in items if type(x) is Instr or id(x) in used]
