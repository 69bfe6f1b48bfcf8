"""Bytecode stage of the goto pass: turn the AST stage's markers into jumps.

A jump marker becomes ``POP_TOP`` x n + a jump, where n is the stack depth at the goto
minus the depth at its label (the ``for`` iterators the jump leaves behind); a label marker
becomes an IR label; ``@goto:true``/``@goto:false`` tests become a jump or nothing. The AST
stage guarantees that the two ends of a jump differ only by ``for`` iterators (same
exception region: handler or block stack, same iterators below the label's depth); the
depths, regions and kept iterators are checked here.
"""

from __future__ import annotations

from ... import ir
from . import markers as markers

_GLOBAL_LOADS = ir.version.GLOBAL_LOADS
_POP_TOP = ir.version.OPMAP["POP_TOP"]
#: Longest loop test (in instructions) copied to the bottom of a goto loop.
_MAX_TEST = 8


class GotoInternalError(ir.IRError):
    """The two ends of a jump do not match: a bug in the goto pass, never in user code."""


def wants(code) -> bool:
    prefix = markers.PREFIX
    return any(name.startswith(prefix) for name in code.co_names)


def resolve(bc: ir.Bytecode, label_info: dict) -> bool:
    """Replace the markers of ``bc``; ``label_info`` maps label ids to (what, line)."""
    flow = bc.flow()
    instrs = flow.instrs
    names = bc.names
    found = []
    for i, ins in enumerate(instrs):
        if ins.op in _GLOBAL_LOADS:
            index = ir.name_index_of(ins)
            marker = markers.parse(names[index]) if index < len(names) else None
            if marker is not None:
                found.append((i, marker))
    if not found:
        return False
    uses = bc.table_uses()
    edit = Edit(flow)
    copies: dict[int, list[int]] = {}   # label id -> instruction indexes of its copies
    fins: dict[int, list[int]] = {}     # finally id -> first instruction of each copy
    jumps = []
    for i, (kind, first, second) in found:
        if kind in ("jump", "label", "fin"):
            if i + 1 >= len(instrs) or instrs[i + 1].op != _POP_TOP:
                raise GotoInternalError(f"{bc.name}: goto marker not followed by POP_TOP")
            if kind == "jump":
                jumps.append((i, first, second))
            else:
                (copies if kind == "label" else fins).setdefault(first, []).append(i)
        else:
            edit.settle_test(i, kind == "true", bc.name)

    labels_at: dict[int, ir.Label] = {}
    for positions in copies.values():
        for i in positions:
            labels_at[i] = edit.label_at(i, i + 2)
    for positions in fins.values():
        for i in positions:
            edit.drop.update((i, i + 1))

    regions = edit.regions
    owners: dict[int, dict] = {}
    for i, label_id, fin in jumps:
        positions = copies.get(label_id)
        if not positions:
            what, line = label_info.get(label_id, ("a label", None))
            raise SyntaxError(f"{what} (line {line}) is in code the compiler removed as "
                              "unreachable (a branch that can never run), so goto cannot "
                              "jump to it")
        if len(positions) > 1:
            if fin is not None and fin in fins:
                # the copy of the label in the same copy of the finally body
                owner = owners.get(fin)
                if owner is None:
                    owner = owners[fin] = _copy_owner(flow, fins[fin])
                mine = owner.get(i)
                if mine is not None and mine >= 0:
                    positions = [p for p in positions if owner.get(p) == mine] or positions
            # copies CPython made of a small exit block are all alike: take one the
            # goto can reach in the same exception region
            positions = [p for p in positions if regions[p] == regions[i]] or positions
        target = positions[0]
        pops = 0
        depth = edit.depths[i]
        if depth is not None:
            if edit.depths[target] is None or depth < edit.depths[target]:
                raise GotoInternalError(
                    f"{bc.name}: stack depth {depth} at a goto (line {instrs[i].loc[0]}) "
                    f"but {edit.depths[target]} at its label")
            if regions[i] != regions[target]:
                raise GotoInternalError(
                    f"{bc.name}: a goto (line {instrs[i].loc[0]}) and its label are in "
                    "different try blocks")
            if not edit.keeps(i, target):
                raise GotoInternalError(
                    f"{bc.name}: a goto (line {instrs[i].loc[0]}) and its label are in "
                    "different for loops")
            pops = depth - edit.depths[target]
        edit.goto(i, i + 2, labels_at[target], target, pops)
    bc.items = edit.apply(bc.items)
    bc.drop_unused(uses)  # the marker names, as if the code had been written with jumps
    return True


class Edit:
    """Replacements for the instructions of one :class:`ir.Flow`, by index, made into a
    new item list at once by :meth:`apply` (labels stay where they are)."""

    def __init__(self, flow: ir.Flow):
        self.flow = flow
        self.replace: dict[int, list] = {}
        self.drop: set[int] = set()
        self.depths = flow.depths()
        self.regions = ir.exception_regions(flow)
        self.ours: set[int] = set()   # ids of the jumps that pop nothing
        self._entries: set[int] | None = None
        self._tests: dict[int, int] | None = None
        self._sources: list | None = None

    @property
    def sources(self) -> list:
        """Where each stack value before each instruction comes from
        (:meth:`ir.Flow.stack_sources`)."""
        if self._sources is None:
            self._sources = self.flow.stack_sources()
        return self._sources

    def keeps(self, goto: int, label: int) -> bool:
        """Does a jump from instruction ``goto`` to ``label`` keep the stack values the label
        needs: the ones below its depth (``for`` iterators) the same at both ends? The goto's
        values above that depth are the ones the jump pops."""
        depth = self.depths[label]
        if depth is None or self.depths[goto] is None or depth > self.depths[goto]:
            return False
        if not depth:
            return True
        at_label = self.sources[label]
        return None not in at_label and self.sources[goto][:depth] == at_label

    def label_at(self, start: int, end: int) -> ir.Label:
        """A label for what follows the marker ``instrs[start:end]``, which goes."""
        label = ir.Label()
        self.replace[start] = [label]
        self.drop.update(range(start + 1, end))
        return label

    def settle_test(self, i: int, truth: bool, where: str) -> None:
        """The test of a marker loaded at ``i`` always comes out ``truth``: its conditional
        jump becomes a jump or nothing."""
        found = ir.jump_if_at(self.flow.instrs, i + 1)
        sense = ir.jump_sense(self.flow.instrs[found[0]]) if found else None
        if sense not in ("true", "false"):
            raise GotoInternalError(f"{where}: goto test marker not followed by a "
                                    "conditional jump")
        cond, end = found
        self.drop.update(range(i, end))
        if (sense == "true") is truth:  # the test always jumps
            ins = self.flow.instrs[cond]
            self.replace[i] = _covered(ir.jump(ins.arg, ins.loc), ins)

    def goto(self, start: int, end: int, label: ir.Label, target: int, pops: int) -> None:
        """Replace the goto ``instrs[start:end]`` by ``pops`` POP_TOPs and a jump to
        ``label`` (at instruction ``target``). ``if c: goto x`` compiles to
        ``POP_JUMP_IF_FALSE next; <goto>; next:``: that becomes ``POP_JUMP_IF_TRUE x``, as
        CPython compiles a loop (one instruction less per pass)."""
        flow = self.flow
        goto = flow.instrs[start]
        self.drop.update(range(start + 1, end))
        if not pops:
            cond = self._test_before(start)
            if (cond is not None and flow.jump_to[cond] == end and cond not in self.replace
                    and cond not in self.drop and start not in self._jumped_to()
                    and self.regions[cond] == self.regions[start]
                    and (target > cond or ir.version.CONDITIONAL_JUMPS_GO_BACK)):
                self.replace[cond] = [ir.invert_jump(flow.instrs[cond], label)]
                self.drop.add(start)
                return
        seq = [ins for _ in range(pops) for ins in ir.pop_top(goto.loc)]
        jump = ir.jump(label, goto.loc)
        if not pops:
            self.ours.add(id(jump[0]))
        self.replace[start] = _covered(seq + jump, goto)

    def _test_before(self, k: int) -> int | None:
        """The conditional jump whose sequence ends right before instruction ``k``."""
        if self._tests is None:
            instrs = self.flow.instrs
            self._tests = {}
            for c, ins in enumerate(instrs):
                if ir.jump_sense(ins) is not None:
                    self._tests[ir.jump_if_at(instrs, c)[1]] = c
        return self._tests.get(k)

    def _jumped_to(self) -> set[int]:
        if self._entries is None:
            self._entries = self.flow.entries()
        return self._entries

    def apply(self, items: list) -> list:
        """``items`` with the replacements made, then (where conditional jumps may go
        backward) backward goto loops laid out as CPython lays out ``while`` loops."""
        items = _rebuild(items, self.replace, self.drop)
        if self.ours and ir.version.CONDITIONAL_JUMPS_GO_BACK:
            items = _invert_loops(items, self.ours)
        return items


def _covered(seq: list, like: ir.Instr) -> list:
    """``seq`` in the exception region of ``like``."""
    for ins in seq:
        ins.handler = like.handler
    return seq


def _rebuild(items: list, replace: dict, drop: set, after: dict | None = None) -> list:
    """``items`` with instruction ``k`` (counting instructions only) replaced by
    ``replace[k]``, left out if ``k`` is in ``drop``, and followed by ``after[k]``."""
    out = []
    k = 0
    for item in items:
        if type(item) is not ir.Instr:
            out.append(item)
            continue
        new = replace.get(k)
        if new is not None:
            out.extend(new)
        elif k not in drop:
            out.append(item)
        if after and k in after:
            out.append(after[k])
        k += 1
    return out


def _copy_owner(flow: ir.Flow, starts: list[int]) -> dict[int, int]:
    """Which copy of a ``finally`` body each instruction belongs to (-1: several).

    A copy is what control reaches from its first instruction without entering another
    copy; copies of a body are disjoint, so this holds wherever the compiler laid them out.
    """
    start_set = set(starts)
    owner: dict[int, int] = {}
    for copy, start in enumerate(starts):
        seen = {start}
        todo = [start]
        while todo:
            k = todo.pop()
            previous = owner.get(k)
            owner[k] = copy if previous is None or previous == copy else -1
            for t in flow.successors(k):
                if t not in seen and t not in start_set:
                    seen.add(t)
                    todo.append(t)
    return owner


def _invert_loops(items: list, ours: set[int]) -> list:
    """A backward goto to a test (``label .top; if i >= n: goto .done``) becomes a copy of
    the test that jumps back while it fails, as CPython lays out ``while`` loops:
    ``JUMP top`` -> ``NOP; <test>; POP_JUMP_IF_FALSE after_test; JUMP done`` (the NOP, on
    the goto's line, only where the goto has a line of its own)."""
    flow = ir.Flow(items)
    instrs = flow.instrs
    regions = ir.exception_regions(flow)
    replace = {}
    after = {}   # index of the end of a copied test -> label to put after it
    for k, jump in enumerate(instrs):
        start = flow.jump_to[k]
        if id(jump) not in ours or start > k:
            continue
        q = start
        while q < len(instrs) and q - start <= _MAX_TEST and regions[q] == regions[k]:
            test = ir.jump_if_at(instrs, q)
            if test is not None or flow.jump_to[q] >= 0 or not flow.falls_through(q):
                break
            q += 1
        else:
            continue
        if test is None or q == start or regions[test[0]] != regions[k]:
            continue
        cond, end = test
        label = after.get(end - 1)
        if label is None:
            label = after[end - 1] = ir.Label()
        ins = instrs[cond]
        seq = [x.copy() for x in instrs[start:cond]] + [ir.invert_jump(ins, label)] + [
            x.copy() for x in instrs[cond + 1:end]]
        if flow.jump_to[cond] != k + 1:  # where the loop ends is not right after it
            seq += ir.jump(ins.arg, ins.loc)
        if jump.loc[0] is not None and jump.loc[0] != seq[0].loc[0]:
            # The goto's line keeps its line event (coverage, debuggers), as a `continue`
            # there would; the copied test keeps its own line for tracebacks.
            seq.insert(0, ir.Instr("NOP", 0, jump.loc))
        replace[k] = _covered(seq, ins)
    if not replace:
        return items
    return _rebuild(items, replace, set(), after)
