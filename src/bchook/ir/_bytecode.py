"""Decode a code object into an editable instruction list and encode it back."""

from __future__ import annotations

import types

from . import _borrow
from . import _raw
from . import _tables
from ._flow import Flow, stack_depth
from . import _version as V
from ._model import NO_LOCATION, Handler, Instr, IRError, Label

__all__ = ["Bytecode", "TableUses"]

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Iterator, Union

    Item = Union[Instr, Label]

_OPNAME = V.OPNAME
_CACHES = V.CACHES
_JUMPS = V.JUMPS
_JABS = V.JABS
_EXT = V.EXTENDED_ARG
_BACKWARD = V.BACKWARD_JUMPS
_NO_FALLTHROUGH = V.NO_FALLTHROUGH
_BORROWS = _borrow.BORROWS
_HASCONST = V.HASCONST
_HASNAME = V.HASNAME
#: flag bits below the name index (3.11+ LOAD_GLOBAL, 3.12+ LOAD_ATTR...): see version
_NAME_SHIFT = V.NAME_ARG_SHIFT


def _code_name(code) -> str:
    return getattr(code, "co_qualname", code.co_name)


def _where(code, instr: Instr | None = None) -> str:
    line = instr.loc[0] if instr is not None else None
    return f"{_code_name(code)} ({code.co_filename}:{line or code.co_firstlineno})"


class Bytecode:
    """The instructions of one code object, with labels for jump targets.

    ``items`` is a list of :class:`Instr` and :class:`Label`; edit it in place.
    ``consts`` and ``names`` are lists in the code object's own order: new entries go at
    the end (use :meth:`add_const` / :meth:`add_name`), and existing ones keep their
    index until :meth:`drop_unused` drops the entries an edit left unused. Call
    :meth:`to_code` to encode.
    """

    __slots__ = ("code", "items", "consts", "names", "_const_index", "_name_index")

    def __init__(self, code: types.CodeType, items: list[Item]):
        self.code = code
        self.items = items
        self.consts = list(code.co_consts)
        self.names = list(code.co_names)
        self._const_index: dict | None = None
        self._name_index: dict | None = None

    # -- decoding ---------------------------------------------------------------------

    @classmethod
    def from_code(cls, code: types.CodeType) -> "Bytecode":
        n_units = len(code.co_code) // 2
        # unit index -> index of the Instr starting there (prefix included)
        start_of: dict[int, int] = {}
        instrs: list[Instr] = []
        jumps: list[tuple[Instr, int]] = []
        new = Instr.__new__
        for first, op, arg, size in _raw.walk(code.co_code):
            if op == _EXT:
                raise IRError(f"{_where(code)}: co_code ends with a dangling EXTENDED_ARG")
            ins = new(Instr)
            ins.op = op
            ins.handler = None
            ins._size = size - _CACHES[op]
            ins.loc = NO_LOCATION
            ins.arg = arg  # no-arg opcodes keep their (ignored) byte, to re-encode exactly
            start_of[first] = len(instrs)
            if size - _CACHES[op] > 1:
                start_of[first + size - 1 - _CACHES[op]] = len(instrs)
            if op in _JUMPS:
                after = first + size
                if op in _JABS:
                    target = arg
                elif op in _BACKWARD:
                    target = after - arg
                else:
                    target = after + arg
                jumps.append((ins, target))
            instrs.append(ins)

        labels: dict[int, Label] = {}
        for ins, target in jumps:
            idx = start_of.get(target)
            if idx is None:
                raise IRError(
                    f"{_where(code)}: {ins.name} jumps to unit {target}, "
                    "which is not the start of an instruction"
                )
            label = labels.get(idx)
            if label is None:
                label = labels[idx] = Label()
            ins.arg = label

        starts = sorted(start_of.items())
        if V.HAS_POSITIONS:
            positions = list(code.co_positions())
            for first, idx in starts:
                ins = instrs[idx]
                if ins.loc is NO_LOCATION:
                    ins.loc = positions[first]
            for start, end, target, depth, lasti in _tables.parse_exception_table(
                code.co_exceptiontable
            ):
                idx = start_of.get(target)
                if idx is None:
                    raise IRError(f"{_where(code)}: exception handler at unit {target} "
                                  "is not the start of an instruction")
                label = labels.get(idx)
                if label is None:
                    label = labels[idx] = Label()
                handler = Handler(label, depth, lasti)
                lo = start_of[start]
                hi = start_of.get(end, len(instrs))
                for k in range(lo, hi):
                    instrs[k].handler = handler
        else:
            unit_to_idx = [0] * (n_units + 1)
            for first, idx in starts:
                unit_to_idx[first] = idx
            for start, end, line in code.co_lines():
                if line is not None:
                    loc = (line, line, None, None)
                    u = start // 2
                    end //= 2
                    while u < end:
                        if u in start_of:
                            instrs[start_of[u]].loc = loc
                        u += 1
        if not labels:
            return cls(code, instrs)
        items: list[Item] = []
        for idx, ins in enumerate(instrs):
            label = labels.get(idx)
            if label is not None:
                items.append(label)
            items.append(ins)
        return cls(code, items)

    # -- inspection helpers ---------------------------------------------------------

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def instructions(self) -> Iterator[Instr]:
        return (x for x in self.items if type(x) is Instr)

    @property
    def name(self) -> str:
        return _code_name(self.code)

    def add_const(self, value) -> int:
        """Index of ``value`` in ``consts``, appending it if it is not there yet.

        Equal values of different types (``1``, ``1.0``, ``True``) are different constants.
        """
        index = self._const_index
        if index is None:
            index = self._const_index = {}
            for i, c in enumerate(self.consts):
                index.setdefault(_const_key(c), i)
        key = _const_key(value)
        i = index.get(key)
        if i is None:
            i = index[key] = len(self.consts)
            self.consts.append(value)
        return i

    def add_name(self, name: str) -> int:
        index = self._name_index
        if index is None:
            index = self._name_index = {}
            for i, n in enumerate(self.names):
                index.setdefault(n, i)
        i = index.get(name)
        if i is None:
            i = index[name] = len(self.names)
            self.names.append(name)
        return i

    # -- tables an edit leaves unused ---------------------------------------------------

    def table_uses(self) -> "TableUses":
        """The ``consts`` and ``names`` indexes the instructions of ``items`` use now.

        Take it before an edit and give it to :meth:`drop_unused` after: what the edit
        stopped using goes, and nothing else.
        """
        consts, names = set(), set()
        for ins in self.instructions():
            op = ins.op
            if type(ins.arg) is not int:
                continue  # the encoder says what is wrong with it
            if op in _HASCONST:
                consts.add(ins.arg)
            elif op in _HASNAME:
                names.add(ins.arg >> _NAME_SHIFT.get(op, 0))
        return TableUses(frozenset(consts), frozenset(names))

    def drop_unused(self, candidates: "TableUses") -> bool:
        """Drop the entries of ``consts`` and ``names`` among ``candidates`` that no
        instruction of ``items`` uses any more, renumbering the rest and the instructions
        that use them; True if anything went.

        ``candidates`` is normally :meth:`table_uses` taken before the edit: entries the
        code had in use and the edit made unused, as CPython's optimizer would never have
        kept them (dead constants after folding, the goto pass's marker names). Entries no
        instruction loaded to begin with are never candidates, and must stay: a pass may
        keep a constant that is never loaded (the trace pass keeps the untraced code
        object there), and a function's docstring and constants of code added later may
        sit there on purpose. A function's ``consts[0]`` stays where it is the docstring's
        place (``version.first_const_is_docstring_slot``: always on 3.10-3.13, when
        ``co_flags`` says so on 3.14+), as CPython's own optimizer keeps it.

        Only this code object's own tables change (nested code objects have theirs); call
        it once the edit is done, as instructions outside ``items`` keep the old numbers.
        Entries that stay are the same objects, and with nothing to drop the lists are
        untouched, so :meth:`to_code` still hands back CPython's own tuples.
        """
        now = self.table_uses()
        keep = 0 if V.first_const_is_docstring_slot(self.code.co_flags) else -1
        const_map = _renumbering(len(self.consts), candidates.consts - now.consts, keep)
        name_map = _renumbering(len(self.names), candidates.names - now.names)
        if const_map is None and name_map is None:
            return False
        seen = set()
        for ins in self.instructions():
            if id(ins) in seen:
                continue
            seen.add(id(ins))
            op = ins.op
            if op in _HASCONST:
                table, shift = const_map, 0
            elif op in _HASNAME:
                table, shift = name_map, _NAME_SHIFT.get(op, 0)
            else:
                continue
            if table is None or type(ins.arg) is not int:
                continue
            index = ins.arg >> shift
            if index < len(table):
                arg = (table[index] << shift) | (ins.arg & ((1 << shift) - 1))
                if arg != ins.arg:
                    ins.arg = arg
                    ins._size = 0  # no EXTENDED_ARG the smaller index does not need
        if const_map is not None:
            self.consts[:] = [c for i, c in enumerate(self.consts) if const_map[i] >= 0]
            self._const_index = None
        if name_map is not None:
            self.names[:] = [n for i, n in enumerate(self.names) if name_map[i] >= 0]
            self._name_index = None
        return True

    # -- encoding -------------------------------------------------------------------

    def to_code(self) -> types.CodeType:
        """Encode: lay out EXTENDED_ARGs, jumps, tables and the stack size, and validate."""
        code = self.code
        instrs: list[Instr] = []
        label_at: dict[int, int] = {}
        for item in self.items:
            if type(item) is Instr:
                instrs.append(item)
            elif type(item) is Label:
                label_at[id(item)] = len(instrs)
            else:
                raise IRError(f"{_where(code)}: not an instruction or label: {item!r}")
        if not instrs:
            raise IRError(f"{_where(code)}: no instructions")
        n = len(instrs)

        # jump targets as instruction indexes; fix each jump's direction by layout
        targets: list[int] = [-1] * n
        glued = V.GLUED_NEXT
        for idx, ins in enumerate(instrs):
            op = ins.op
            if op in glued:
                follower = instrs[idx + 1].op if idx + 1 < n else -1
                if follower != glued[op]:
                    raise IRError(f"{_where(code, ins)}: {ins.name} must be followed directly "
                                  f"by {_OPNAME[glued[op]]}, not "
                                  f"{_OPNAME[follower] if follower >= 0 else 'nothing'}")
            if op in _JUMPS:
                arg = ins.arg
                if type(arg) is not Label:
                    raise IRError(f"{_where(code, ins)}: {ins.name} needs a Label target, "
                                  f"got {arg!r}")
                t = label_at.get(id(arg))
                if t is None:
                    raise IRError(f"{_where(code, ins)}: {ins.name} jumps to a label "
                                  "that is not in the instruction list")
                if t >= n:
                    raise IRError(f"{_where(code, ins)}: {ins.name} jumps past the last "
                                  "instruction")
                targets[idx] = t
                if op == V.FOR_ITER and V.FOR_ITER_TARGET >= 0 and (
                        instrs[t].op != V.FOR_ITER_TARGET):
                    raise IRError(f"{_where(code, ins)}: FOR_ITER must jump to END_FOR, not "
                                  f"{instrs[t].name}")
                backward = t <= idx
                if op in _BACKWARD:
                    if not backward:
                        fwd = V.FORWARD_OF.get(op)
                        if fwd is None:
                            raise IRError(f"{_where(code, ins)}: {ins.name} cannot jump "
                                          "forward")
                        ins.op = fwd
                elif backward and op not in _JABS:
                    back = V.BACKWARD_OF.get(op)
                    if back is None:
                        raise IRError(f"{_where(code, ins)}: {ins.name} cannot jump "
                                      "backward on this Python; jump forward to a "
                                      "JUMP_BACKWARD instead")
                    ins.op = back
            elif type(ins.arg) is not int:
                raise IRError(f"{_where(code, ins)}: {ins.name} needs an int argument, "
                              f"got {ins.arg!r}")
            elif ins.arg < 0 or ins.arg >= 1 << 32:
                raise IRError(f"{_where(code, ins)}: {ins.name} argument {ins.arg} out of "
                              "range")
        handler_targets = {}
        if V.HAS_EXCEPTION_TABLE:
            for ins in instrs:
                h = ins.handler
                if h is not None and id(h) not in handler_targets:
                    t = label_at.get(id(h.label))
                    if t is None or t >= n:
                        raise IRError(f"{_where(code, ins)}: exception handler label is not "
                                      "in the instruction list")
                    handler_targets[id(h)] = t

        depths: list = [None] * n
        depth = stack_depth(instrs, targets, handler_targets, code, depths)

        sizes, offsets, args = _layout(instrs, targets)
        total = offsets[n]

        raw = bytearray(total * 2)
        pos = 0
        for idx, ins in enumerate(instrs):
            op = ins.op
            arg = args[idx]
            prefix = sizes[idx] - 1 - _CACHES[op]
            shift = 8 * prefix
            while prefix:
                raw[pos] = _EXT
                raw[pos + 1] = (arg >> shift) & 255
                pos += 2
                prefix -= 1
                shift -= 8
            raw[pos] = op
            raw[pos + 1] = arg & 255
            pos += 2 + 2 * _CACHES[op]

        firstlineno = code.co_firstlineno
        replace = {
            "co_code": bytes(raw),
            "co_consts": tuple(self.consts),
            "co_names": tuple(self.names),
        }
        if V.HAS_POSITIONS:
            replace["co_linetable"] = _tables.build_locations(
                [ins.loc for ins in instrs], sizes, firstlineno, merge_runs=V.PY312)
            entries = []
            cur = None
            start = 0
            for idx, ins in enumerate(instrs):
                h = ins.handler
                if h is not cur:
                    if cur is not None:
                        entries.append((start, offsets[idx],
                                        offsets[handler_targets[id(cur)]], cur.depth,
                                        cur.lasti))
                    cur = h
                    start = offsets[idx]
            if cur is not None:
                entries.append((start, total, offsets[handler_targets[id(cur)]], cur.depth,
                                cur.lasti))
            replace["co_exceptiontable"] = _tables.build_exception_table(_merge(entries))
        else:
            replace["co_linetable"] = _tables.build_linetable_310(
                [ins.loc[0] for ins in instrs], sizes, firstlineno)
        # What did not change stays the same object: CPython shares equal tables and
        # constant tuples between code objects (test_compile's test_merge_code_attrs and
        # test_merge_constants check it with `is`).
        for name in ("co_linetable", "co_exceptiontable") if V.PY311 else (
                "co_code", "co_linetable"):
            if replace.get(name) == getattr(code, name):
                replace[name] = getattr(code, name)
        for name in ("co_consts", "co_names"):
            old = getattr(code, name)
            new = replace[name]
            if len(new) == len(old) and all(a is b for a, b in zip(new, old)):
                replace[name] = old
        replace["co_stacksize"] = max(depth, code.co_stacksize)
        if V.BORROWED_LOADS and (replace["co_code"] != code.co_code or replace[
                "co_exceptiontable"] is not code.co_exceptiontable):
            # Edited code: CPython's proof of its borrowed loads may no longer hold.
            # (Unchanged code is CPython's own: nothing to check.) A plain load has the
            # same size, so only the opcode byte changes.
            starts = set(label_at.values())
            unsafe = _borrow.unsafe_borrows(instrs, starts, depths)
            if unsafe:
                for idx in unsafe:
                    ins = instrs[idx]
                    ins.op = _borrow.PLAIN_OF[ins.op]
                    raw[2 * (offsets[idx] + sizes[idx] - 1 - _CACHES[ins.op])] = ins.op
                replace["co_code"] = bytes(raw)
        try:
            return code.replace(**replace)
        except (ValueError, TypeError) as exc:
            raise IRError(f"{_where(code)}: CPython rejected the encoded code: {exc}") from exc

    def max_stack_depth(self) -> int:
        """The stack depth the instructions need, from the control-flow graph."""
        return self.flow().max_depth()

    def depths(self) -> list[int | None]:
        """Stack depth before each instruction of :meth:`instructions` (None: unreachable)."""
        return self.flow().depths()

    def flow(self) -> Flow:
        """The control-flow graph of the instructions as they are now."""
        return Flow(self.items, self.code)


class TableUses(tuple):
    """Indexes of ``co_consts`` and ``co_names`` entries (see :meth:`Bytecode.table_uses`).
    Build one by hand to name other candidates for :meth:`Bytecode.drop_unused`, e.g.
    ``TableUses(before.consts | {i}, before.names)`` for a constant a pass added itself.
    (A pair with names, as a ``typing.NamedTuple`` would be: typing costs milliseconds at
    every start-up under bchook.)"""

    __slots__ = ()

    def __new__(cls, consts: frozenset = frozenset(), names: frozenset = frozenset()):
        return super().__new__(cls, (consts, names))

    @property
    def consts(self) -> frozenset:
        return self[0]

    @property
    def names(self) -> frozenset:
        return self[1]

    def __repr__(self) -> str:
        return f"TableUses(consts={self[0]!r}, names={self[1]!r})"


def _renumbering(size: int, unused, keep: int = -1) -> list[int] | None:
    """``[new index or -1 if dropped]`` for a table of ``size`` entries without the
    ``unused`` indexes (but for ``keep``); None if none goes."""
    drop = {i for i in unused if type(i) is int and 0 <= i < size and i != keep}
    if not drop:
        return None
    table = []
    n = 0
    for i in range(size):
        if i in drop:
            table.append(-1)
        else:
            table.append(n)
            n += 1
    return table


def _const_key(value):
    t = type(value)
    if t in (int, str, bytes, bool, type(None), type(...)):
        return (t, value)
    if t is float or t is complex:
        return (t, repr(value))  # keeps 0.0 and -0.0, nan, apart
    if t is tuple or t is frozenset:
        try:
            return (t, tuple(_const_key(v) for v in value)) if t is tuple else (
                t, frozenset(_const_key(v) for v in value))
        except TypeError:
            return (t, id(value))
    return (t, id(value))


def _merge(entries):
    """Join touching entries that lead to the same handler (CPython writes them so)."""
    out = []
    for e in entries:
        if out:
            last = out[-1]
            if last[1] == e[0] and last[2:] == e[2:]:
                out[-1] = (last[0], e[1]) + e[2:]
                continue
        out.append(e)
    return out


def _arg_units(arg: int) -> int:
    if arg < 0x100:
        return 1
    if arg < 0x10000:
        return 2
    if arg < 0x1000000:
        return 3
    return 4


def _layout(instrs: list[Instr], targets: list[int]):
    """Sizes (code units, caches included), offsets and final args, to a fixpoint."""
    n = len(instrs)
    caches = _CACHES
    sizes = [0] * n
    args = [0] * n
    jumps = []
    for idx, ins in enumerate(instrs):
        op = ins.op
        if targets[idx] >= 0:
            jumps.append(idx)
            units = max(ins._size, 1)
        else:
            arg = ins.arg
            args[idx] = arg
            units = 1 if arg < 256 else _arg_units(arg)
            if ins._size > units:
                units = ins._size  # keep the prefixes CPython chose
        sizes[idx] = units + caches[op]
    while True:
        offsets = [0] * (n + 1)
        off = 0
        for idx in range(n):
            offsets[idx] = off
            off += sizes[idx]
        offsets[n] = off
        changed = False
        for idx in jumps:
            ins = instrs[idx]
            op = ins.op
            t = offsets[targets[idx]]
            if op in _JABS:
                arg = t
            else:
                after = offsets[idx] + sizes[idx]
                arg = after - t if op in _BACKWARD else t - after
                if arg < 0:
                    raise IRError(f"{_OPNAME[op]} at instruction {idx}: jump target is on "
                                  "the wrong side")
            args[idx] = arg
            units = _arg_units(arg) + caches[op]
            if units > sizes[idx]:
                sizes[idx] = units
                changed = True
        if not changed:
            return sizes, offsets, args
