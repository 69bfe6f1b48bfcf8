"""Bytecode stage of the goto pass: turn the AST stage's markers into jumps.

A jump marker becomes ``POP_TOP`` x n + ``JUMP``, where n is the stack depth at the goto
minus the depth at its label (the ``for`` iterators the jump leaves behind); a label marker
becomes an IR label; ``@goto:true``/``@goto:false`` tests become a jump or nothing. The AST
stage guarantees that the two ends of a jump differ only by ``for`` iterators (same block
stack on 3.10, same exception handler on 3.11+); the depths and handlers are checked here.
"""

from __future__ import annotations

from .. import ir
from ..ir import _version as V
from . import _goto_markers as markers

_LOADS = frozenset(V.OPMAP[n] for n in (
    "LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS") if n in V.OPMAP)
_POP_TOP = V.OPMAP["POP_TOP"]
_TO_BOOL = V.OPMAP.get("TO_BOOL", -1)
_INVERSE = {
    "POP_JUMP_IF_TRUE": "POP_JUMP_IF_FALSE",
    "POP_JUMP_IF_FALSE": "POP_JUMP_IF_TRUE",
    "POP_JUMP_IF_NONE": "POP_JUMP_IF_NOT_NONE",
    "POP_JUMP_IF_NOT_NONE": "POP_JUMP_IF_NONE",
}
CAN_JUMP_BACK_IF = V.HAS_ABSOLUTE_JUMPS or V.BACKWARD_CONDITIONAL_JUMPS
#: Longest loop test (in instructions) copied to the bottom of a goto loop.
_MAX_TEST = 8
_GLUED = frozenset(V.GLUED_NEXT) | frozenset(V.GLUED_NEXT.values())


class GotoInternalError(ir.IRError):
    """The two ends of a jump do not match: a bug in the goto pass, never in user code."""


def wants(code) -> bool:
    prefix = markers.PREFIX
    return any(name.startswith(prefix) for name in code.co_names)


def resolve(bc: ir.Bytecode, label_info: dict) -> bool:
    """Replace the markers of ``bc``; ``label_info`` maps label ids to (what, line)."""
    instrs = list(bc.instructions())
    names = bc.names
    found = []
    for i, ins in enumerate(instrs):
        if ins.op in _LOADS:
            index = ins.arg >> V.NAME_ARG_SHIFT.get(ins.op, 0)
            marker = markers.parse(names[index]) if index < len(names) else None
            if marker is not None:
                found.append((i, marker))
    if not found:
        return False
    depths = bc.depths()
    copies: dict[int, list[int]] = {}   # label id -> instruction indexes of its copies
    fins: dict[int, list[int]] = {}     # finally id -> first instruction of each copy
    jumps, tests = [], []
    for i, (kind, first, second) in found:
        if kind in ("jump", "label", "fin"):
            if i + 1 >= len(instrs) or instrs[i + 1].op != _POP_TOP:
                raise GotoInternalError(f"{bc.name}: goto marker not followed by POP_TOP")
            if kind == "jump":
                jumps.append((i, first, second))
            else:
                (copies if kind == "label" else fins).setdefault(first, []).append(i)
        else:
            tests.append((i, kind == "true"))

    replace: dict[int, list] = {}
    drop: set[int] = set()
    labels_at: dict[int, ir.Label] = {}
    for positions in copies.values():
        for i in positions:
            labels_at[i] = ir.Label()
            replace[i] = [labels_at[i]]
            drop.add(i + 1)
    for positions in fins.values():
        for i in positions:
            drop.update((i, i + 1))

    owners: dict[int, dict] = {}
    ours: set[int] = set()
    for i, label_id, fin in jumps:
        positions = copies.get(label_id)
        if not positions:
            what, line = label_info.get(label_id, ("a label", None))
            raise SyntaxError(f"{what} (line {line}) is in code the compiler removed as "
                              "unreachable (a branch that can never run), so goto cannot "
                              "jump to it")
        goto = instrs[i]
        if len(positions) > 1:
            if fin is not None and fin in fins:
                # the copy of the label in the same copy of the finally body
                owner = owners.get(fin)
                if owner is None:
                    owner = owners[fin] = _copy_owner(bc, instrs, fins[fin])
                mine = owner.get(i)
                if mine is not None and mine >= 0:
                    positions = [p for p in positions if owner.get(p) == mine] or positions
            # copies CPython made of a small exit block are all alike: take one the
            # goto can reach with the same handler
            fitting = [p for p in positions
                       if handler_key(instrs[p].handler) == handler_key(goto.handler)]
            positions = fitting or positions
        target = positions[0]
        pops = 0
        if depths[i] is not None:
            if depths[target] is None or depths[i] < depths[target]:
                raise GotoInternalError(
                    f"{bc.name}: stack depth {depths[i]} at a goto (line {goto.loc[0]}) "
                    f"but {depths[target]} at its label")
            if handler_key(goto.handler) != handler_key(instrs[target].handler):
                raise GotoInternalError(
                    f"{bc.name}: a goto (line {goto.loc[0]}) and its label are in different "
                    "try blocks")
            pops = depths[i] - depths[target]
        new = [ir.Instr("POP_TOP", 0, goto.loc, goto.handler) for _ in range(pops)]
        jump = ir.Instr("JUMP", labels_at[target], goto.loc, goto.handler)
        if not pops:
            ours.add(id(jump))
        replace[i] = new + [jump]
        drop.add(i + 1)

    for i, truth in tests:
        j = i + 1
        if j < len(instrs) and instrs[j].op == _TO_BOOL:
            j += 1
        cond = instrs[j] if j < len(instrs) else None
        sense = _sense(cond)
        if sense is None:
            raise GotoInternalError(f"{bc.name}: goto test marker not followed by a "
                                    "conditional jump")
        drop.update(range(i, j + 1))
        if sense is truth:  # the test always jumps
            replace[i] = [ir.Instr("JUMP", cond.arg, cond.loc, cond.handler)]

    items = []
    k = 0
    for item in bc.items:
        if type(item) is ir.Label:
            items.append(item)
            continue
        new = replace.get(k)
        if new is not None:
            items.extend(new)
        elif k not in drop:
            items.append(item)
        k += 1
    items = fold_jumps(items, ours)
    if CAN_JUMP_BACK_IF:
        items = invert_loops(items, ours)
    bc.items = items
    return True


def _sense(ins) -> bool | None:
    """True/False for a jump-if-true/false instruction, else None."""
    if ins is None:
        return None
    base = ins.name.replace("FORWARD_", "").replace("BACKWARD_", "")
    if base == "POP_JUMP_IF_TRUE":
        return True
    if base == "POP_JUMP_IF_FALSE":
        return False
    return None


def handler_key(handler):
    return None if handler is None else (id(handler.label), handler.depth, handler.lasti)


def _copy_owner(bc: ir.Bytecode, instrs: list, starts: list[int]) -> dict[int, int]:
    """Which copy of a ``finally`` body each instruction belongs to (-1: several).

    A copy is what control reaches from its first instruction without entering another
    copy; copies of a body are disjoint, so this holds wherever the compiler laid them out.
    """
    label_at = {}
    count = 0
    for item in bc.items:
        if type(item) is ir.Label:
            label_at[id(item)] = count
        else:
            count += 1
    n = len(instrs)
    start_set = set(starts)
    owner: dict[int, int] = {}
    for copy, start in enumerate(starts):
        seen = {start}
        todo = [start]
        while todo:
            k = todo.pop()
            previous = owner.get(k)
            owner[k] = copy if previous is None or previous == copy else -1
            ins = instrs[k]
            successors = []
            if ins.op not in V.NO_FALLTHROUGH and k + 1 < n:
                successors.append(k + 1)
            if ins.op in V.JUMPS:
                successors.append(label_at[id(ins.arg)])
            if ins.handler is not None:
                successors.append(label_at[id(ins.handler.label)])
            for t in successors:
                if t not in seen and t not in start_set:
                    seen.add(t)
                    todo.append(t)
    return owner


def fold_jumps(items: list, ours: set[int]) -> list:
    """``if c: goto x`` compiles to ``POP_JUMP_IF_FALSE next; JUMP x; next:``: make it
    ``POP_JUMP_IF_TRUE x``, as CPython does for loops (one instruction less per pass)."""
    position = {id(item): p for p, item in enumerate(items) if type(item) is ir.Label}
    n = len(items)
    for p in range(n - 1):
        cond = items[p]
        jump = items[p + 1]
        if type(jump) is not ir.Instr or id(jump) not in ours or type(cond) is not ir.Instr:
            continue
        base = cond.name.replace("FORWARD_", "").replace("BACKWARD_", "")
        inverse = _INVERSE.get(base)
        if inverse is None or type(cond.arg) is not ir.Label:
            continue
        q = p + 2
        following = set()
        while q < n and type(items[q]) is ir.Label:
            following.add(id(items[q]))
            q += 1
        if id(cond.arg) not in following:
            continue
        if handler_key(cond.handler) != handler_key(jump.handler):
            continue
        if position[id(jump.arg)] <= p and not CAN_JUMP_BACK_IF:
            continue
        try:
            folded = ir.Instr(inverse, jump.arg, cond.loc, cond.handler)
        except ir.IRError:
            continue
        items[p] = folded
        items[p + 1] = None
    return [item for item in items if item is not None]


def invert_loops(items: list, ours: set[int]) -> list:
    """A backward goto to a test (``label .top; if i >= n: goto .done``) becomes a copy of
    the test that jumps back while it fails, as CPython lays out ``while`` loops:
    ``JUMP top`` -> ``<test>; POP_JUMP_IF_FALSE after_test; JUMP done``. Only where
    conditional jumps may go backward (3.10, 3.11)."""
    position = {id(item): p for p, item in enumerate(items) if type(item) is ir.Label}
    plans = {}   # item index of a JUMP -> its replacement
    after = {}   # id(conditional jump) -> label to put after it
    for p, jump in enumerate(items):
        if type(jump) is not ir.Instr or id(jump) not in ours:
            continue
        start = position[id(jump.arg)]
        if start > p:
            continue
        test = []
        q = start + 1
        while q < len(items) and len(test) <= _MAX_TEST:
            item = items[q]
            q += 1
            if type(item) is ir.Label:
                continue
            if handler_key(item.handler) != handler_key(jump.handler) or item.op in _GLUED:
                break
            if item.op in V.JUMPS:
                base = item.name.replace("FORWARD_", "").replace("BACKWARD_", "")
                if base in _INVERSE and test:
                    test.append(item)
                break
            if item.op in V.NO_FALLTHROUGH:
                break
            test.append(item)
        else:
            continue
        if not test or not test[-1].is_jump:
            continue
        cond = test[-1]
        label = after.get(id(cond))
        if label is None:
            label = after[id(cond)] = ir.Label()
        base = cond.name.replace("FORWARD_", "").replace("BACKWARD_", "")
        plans[p] = [ins.copy() for ins in test[:-1]] + [
            ir.Instr(_INVERSE[base], label, cond.loc, cond.handler),
            ir.Instr("JUMP", cond.arg, cond.loc, cond.handler),
        ]
    if not plans:
        return items
    out = []
    for p, item in enumerate(items):
        new = plans.get(p)
        if new is not None:
            out.extend(new)
            continue
        out.append(item)
        if type(item) is ir.Instr and id(item) in after:
            out.append(after[id(item)])
    return out
