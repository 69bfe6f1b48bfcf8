"""What ``bchook dis`` shows about a code object: its fields, tables and instructions.

Instructions come from ``bchook.ir`` (jump targets become labels ``L1``, ``L2``... in
layout order, inline caches and EXTENDED_ARG prefixes are folded into their instruction);
offsets come from the hand decoder in :mod:`bchook.ir._raw`, and the meaning column
reuses the standard library's ``dis`` wording where it has one.
"""

from __future__ import annotations

import dis
import inspect
import types
from dataclasses import dataclass, field

from ... import ir
from ..syntax import (
    Names, flag_names, flags_from_names, operand_kind, render_arg, render_const,
)
from ...ir._raw import decode as raw_decode
from ...ir import _tables
from ...ir import _version as V

__all__ = ["Row", "CodeView", "code_tree", "view", "flag_names", "flags_from_names"]


@dataclass
class Row:
    """One instruction as listed."""

    offset: int
    line: int | None
    labels: list[str]
    opname: str
    opcode: int
    arg: int | None
    text: str
    meaning: str
    size: int
    target: str | None = None
    handler: str | None = None
    #: EXTENDED_ARG prefixes to keep: beyond what the argument needs, or any of a jump
    extra_prefixes: int = 0

    @property
    def asm(self) -> str:
        return f"{self.opname} {self.text}" if self.text else self.opname


@dataclass
class CodeView:
    """One code object ready to print: ``ident`` names it in listings (its qualified name,
    with ``[2]``, ``[3]``... for repeats)."""

    ident: str
    code: types.CodeType
    rows: list[Row] = field(default_factory=list)
    label_offsets: dict[str, int] = field(default_factory=dict)
    exception_table: list[dict] = field(default_factory=list)
    lines: list[tuple[int | None, int, int]] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)
    #: the control-flow graph; its instructions are ``rows``, in order
    flow: ir.Flow | None = None


# -- names -----------------------------------------------------------------------------

def code_tree(code: types.CodeType, root_qualname: str | None = None
              ) -> list[tuple[str, types.CodeType]]:
    """``code`` and every nested code object, outermost first in source order, each with
    its listing name: ``co_qualname`` (worked out from the nesting on 3.10), with ``[2]``,
    ``[3]``... for repeats."""
    out: list[tuple[str, types.CodeType]] = []
    seen: dict[str, int] = {}

    def visit(co: types.CodeType, prefix: str) -> None:
        qual = getattr(co, "co_qualname", None) or (
            root_qualname if co is code and root_qualname else prefix + co.co_name)
        count = seen[qual] = seen.get(qual, 0) + 1
        out.append((qual if count == 1 else f"{qual}[{count}]", co))
        if co.co_name == "<module>" and not prefix:
            inner_prefix = ""
        elif co.co_flags & inspect.CO_NEWLOCALS:
            inner_prefix = qual + ".<locals>."
        else:
            inner_prefix = qual + "."
        for inner in ir.nested_code(co):
            visit(inner, inner_prefix)

    visit(code, "")
    return out


# -- the view --------------------------------------------------------------------------

def _label_names(bc: ir.Bytecode) -> dict[int, str]:
    names: dict[int, str] = {}
    for item in bc.items:
        if type(item) is ir.Label and id(item) not in names:
            names[id(item)] = f"L{len(names) + 1}"
    return names


def _meanings(code: types.CodeType) -> dict[int, str]:
    return {ins.offset: ins.argrepr for ins in dis.get_instructions(code)}


def _meaning(ins: ir.Instr, arg: int, code: types.CodeType, ns: Names, dis_repr: str,
             code_names: dict[int, str]) -> str:
    kind = operand_kind(ins.op)
    try:
        if kind == "const":
            value = code.co_consts[arg]
            shown = render_const(value, code_names) or repr(value)
            return f"co_consts[{arg}] = {_short(shown)}"
        if kind == "name":
            index, flags = ir.name_index_of(ins), ir.name_flags_of(ins)
            how = f" (arg {arg}: flag bits {flags:#x} below the index)" if flags else ""
            return f"co_names[{index}] = {code.co_names[index]!r}{how}"
        if kind in ("local", "free", "pair"):
            table = ns.deref_table() if kind == "free" else ns.local_table()
            where = "localsplus" if V.LOCALSPLUS else (
                "cells+frees" if kind == "free" else "co_varnames")
            return ", ".join(f"{where}[{index}] = {table[index]!r}"
                             for _, index in ir.local_accesses(ins))
    except IndexError:
        return f"out of range: {arg}"
    return dis_repr


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def view(ident: str, code: types.CodeType, code_names: dict[int, str]) -> CodeView:
    """Decode ``code`` into rows, tables and line ranges."""
    bc = ir.Bytecode.from_code(code)
    label_names = _label_names(bc)
    ns = Names.of(code)
    raw = raw_decode(code.co_code)
    units = [u for u in raw if u.kind == "op"]
    sizes: dict[int, int] = {}
    starts: dict[int, int] = {}  # where an instruction begins: its first EXTENDED_ARG
    for u in raw:
        sizes[u.owner] = sizes.get(u.owner, 0) + 2
        starts.setdefault(u.owner, u.offset)
    dis_reprs = _meanings(code)
    out = CodeView(ident, code, flow=bc.flow())
    pending: list[str] = []
    index = 0
    for item in bc.items:
        if type(item) is ir.Label:
            pending.append(label_names[id(item)])
            continue
        unit = units[index]
        index += 1
        for name in pending:
            out.label_offsets[name] = starts[unit.offset]
        op = item.op
        arg = unit.arg
        text = render_arg(item, code, ns, label_names, code_names)
        target = label_names[id(item.arg)] if op in V.JUMPS else None
        if target is not None or arg is None:
            meaning = ""  # a target's offset is known once every label is placed
        else:
            meaning = _meaning(item, arg, code, ns, dis_reprs.get(unit.offset, ""),
                               code_names)
        handler = None
        if item.handler is not None:
            h = item.handler
            handler = f"{label_names[id(h.label)]} depth={h.depth}" + (" lasti" if h.lasti
                                                                       else "")
        size = sizes[unit.offset]
        prefixes = (unit.offset - starts[unit.offset]) // 2
        # a jump's argument depends on the layout, which the prefixes are part of: when
        # one fits either way, CPython may have chosen the longer one
        needed = 0 if arg is None or op in V.JUMPS else (max(arg, 1).bit_length() - 1) // 8
        out.rows.append(Row(unit.offset, item.loc[0], pending, V.OPNAME[op], op, arg, text,
                            meaning, size, target, handler, max(prefixes - needed, 0)))
        pending = []
    for row in out.rows:
        if row.target is not None:
            # 3.14's END_ASYNC_FOR names the END_SEND it came from: no jump goes there
            where = "from" if row.opcode in V.NOT_CONTROL_FLOW else "to"
            row.meaning = f"{where} {row.target} (offset {out.label_offsets[row.target]})"
    out.exception_table = _exception_table(code, out)
    out.lines = _line_ranges(code)
    return out


def _exception_table(code: types.CodeType, out: CodeView) -> list[dict]:
    if not V.HAS_EXCEPTION_TABLE:
        return []
    label_at = {offset: name for name, offset in out.label_offsets.items()}
    entries = []
    for start, end, target, depth, lasti in _tables.parse_exception_table(
            code.co_exceptiontable):
        entries.append({
            "start": start * 2, "end": end * 2, "target": target * 2,
            "target_label": label_at.get(target * 2), "depth": depth, "lasti": lasti,
        })
    return entries


def _line_ranges(code: types.CodeType) -> list[tuple[int | None, int, int]]:
    """``(line, start offset, end offset)`` with neighbours of the same line merged."""
    ranges: list[tuple[int | None, int, int]] = []
    for start, end, line in code.co_lines():
        if start == end:
            continue
        if ranges and ranges[-1][0] == line and ranges[-1][2] == start:
            ranges[-1] = (line, ranges[-1][1], end)
        else:
            ranges.append((line, start, end))
    return ranges
