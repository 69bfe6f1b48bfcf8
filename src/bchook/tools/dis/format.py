"""``bchook dis`` output: the anatomy text, the ``bchook.asm`` listing, JSON and diffs."""

from __future__ import annotations

import difflib
import inspect
import types

from ..syntax import flag_names, render_const, render_name_list
from .listing import CodeView
from ...ir._raw import check_against_dis, decode
from ...ir import _version as V

__all__ = ["anatomy", "asm_block", "to_json", "raw_table", "raw_json", "diff"]

_SKIP_FIELDS = {"co_lnotab"}  # deprecated since 3.12 (its getter warns); co_lines replaces it


_FIELD_ORDER = (
    "co_name", "co_qualname", "co_filename", "co_firstlineno", "co_argcount",
    "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize", "co_flags",
    "co_varnames", "co_cellvars", "co_freevars", "co_names", "co_consts", "co_code",
    "co_linetable", "co_exceptiontable",
)


def _fields(code: types.CodeType) -> list[str]:
    """Every ``co_*`` data attribute of this interpreter's code objects, known ones first."""
    present = {a for a in dir(code) if a.startswith("co_") and a not in _SKIP_FIELDS
               and not callable(getattr(code, a))}
    return [a for a in _FIELD_ORDER if a in present] + sorted(present - set(_FIELD_ORDER))


def _const_text(value, code_names: dict[int, str]) -> str:
    if isinstance(value, types.CodeType):
        return f"<code {code_names.get(id(value), value.co_name)}>"
    return render_const(value, code_names) or repr(value)


def _where(code: types.CodeType) -> str:
    return f"{code.co_filename}:{code.co_firstlineno}"


def anatomy(cv: CodeView, code_names: dict[int, str]) -> list[str]:
    """Every ``co_*`` field, the tables decoded, then the instructions."""
    code = cv.code
    out = [f"=== {cv.ident}  ({_where(code)}) ==="]
    pad = 20
    for name in _fields(code):
        value = getattr(code, name)
        head = f"  {name:<{pad}}"
        if name == "co_consts":
            if not value:
                out.append(head + "()")
            for i, const in enumerate(value):
                out.append((head if i == 0 else " " * len(head)) +
                           f"{i}: {_const_text(const, code_names)}")
        elif name == "co_flags":
            out.append(head + f"{value:#x} {' | '.join(flag_names(value)) or '(none)'}")
        elif name == "co_code":
            out.append(head + f"{len(value)} bytes, {len(cv.rows)} instructions "
                              "(--raw shows them decoded by hand)")
        elif name == "co_linetable":
            out.append(head + f"{len(value)} bytes; line ranges:")
            for line, start, end in cv.lines:
                where = "no line" if line is None else f"line {line}"
                span = f"offset {start}" if end - start == 2 else f"offsets {start}-{end - 2}"
                out.append(" " * (len(head) + 2) + f"{where}: {span}")
        elif name == "co_exceptiontable":
            out.append(head + f"{len(value)} bytes; " +
                       (f"{len(cv.exception_table)} entries:" if cv.exception_table
                        else "no entries"))
            for e in cv.exception_table:
                out.append(" " * (len(head) + 2) + _exception_entry(e))
        else:
            out.append(head + repr(value))
    out.append("  instructions:")
    out.append(f"    {'offset':>6}  {'line':>4}    {'instruction':<36} meaning")
    handler = None
    line: object = object()
    for row in cv.rows:
        for label in row.labels:
            out.append(f"{'':>18}{label}:")
        if row.handler != handler:
            out.append(f"{'':>18}.handler {row.handler or 'none'}")
            handler = row.handler
        shown_line = "" if row.line == line else ("-" if row.line is None else row.line)
        line = row.line
        text = f"    {row.offset:>6}  {shown_line:>4}      {row.asm:<34} {row.meaning}"
        out.append(text.rstrip())
    return out


def _exception_entry(e: dict) -> str:
    target = f"{e['target_label']} (offset {e['target']})" if e["target_label"] else (
        f"offset {e['target']}")
    return (f"offsets {e['start']}-{e['end'] - 2} -> {target}, depth {e['depth']}"
            + (", lasti" if e["lasti"] else ""))


def _signature(code: types.CodeType) -> str:
    names = list(code.co_varnames)
    pos = code.co_argcount
    kwonly = code.co_kwonlyargcount
    parts = names[:code.co_posonlyargcount]
    if code.co_posonlyargcount:
        parts.append("/")
    parts += names[code.co_posonlyargcount:pos]
    index = pos + kwonly
    if code.co_flags & inspect.CO_VARARGS:  # its name follows the keyword-only ones
        parts.append("*" + names[index])
        index += 1
    elif kwonly:
        parts.append("*")
    parts += names[pos:pos + kwonly]
    if code.co_flags & inspect.CO_VARKEYWORDS:
        parts.append("**" + names[index])
    return ", ".join(parts)


def asm_block(cv: CodeView, code_names: dict[int, str]) -> list[str]:
    """The listing :func:`bchook.asm.assemble` reads back into an equivalent code object."""
    code = cv.code
    consts = []
    for value in code.co_consts:
        text = _const_text(value, code_names)
        consts.append(text if render_const(value, code_names) else f"!{text}")
    out = [
        f".code {cv.ident}",
        f"# {_where(code)}",
        f".name {code.co_name}",
        f".qualname {getattr(code, 'co_qualname', None) or cv.ident.split('[')[0]}",
        f".filename {code.co_filename}",
        f".firstlineno {code.co_firstlineno}",
        f".stacksize {code.co_stacksize}",
        f".flags {' '.join(flag_names(code.co_flags)) or '0'}",
        f".args {_signature(code)}".rstrip(),
        f".varnames {render_name_list(code.co_varnames)}".rstrip(),
        f".cellvars {render_name_list(code.co_cellvars)}".rstrip(),
        f".freevars {render_name_list(code.co_freevars)}".rstrip(),
        f".names {render_name_list(code.co_names)}".rstrip(),
        f".consts {', '.join(consts)}".rstrip(),
    ]
    handler = None
    line = object()
    for row in cv.rows:
        for label in row.labels:
            out.append(f"{label}:")
        if row.handler != handler:
            out.append(f"    .handler {row.handler or 'none'}")
            handler = row.handler
        if row.line != line:
            out.append(f"    .line {'none' if row.line is None else row.line}")
            line = row.line
        # a bare EXTENDED_ARG keeps a prefix the argument does not need, as CPython did
        out.extend(["    EXTENDED_ARG"] * row.extra_prefixes)
        out.append(f"    {row.asm}")
    return out


def _jsonable(value, code_names):
    if isinstance(value, types.CodeType):
        return f"<code {code_names.get(id(value), value.co_name)}>"
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (tuple, list, frozenset)):
        return [_jsonable(v, code_names) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)


def to_json(cv: CodeView, code_names: dict[int, str], with_raw: bool = False,
            with_cfg: bool = False) -> dict:
    code = cv.code
    fields = {}
    for name in _fields(code):
        value = getattr(code, name)
        if name == "co_consts":
            fields[name] = [_const_text(v, code_names) for v in value]
        else:
            fields[name] = _jsonable(value, code_names)
    out = {
        "name": cv.ident,
        "filename": code.co_filename,
        "firstlineno": code.co_firstlineno,
        "flags": flag_names(code.co_flags),
        "fields": fields,
        "exception_table": cv.exception_table,
        "lines": [{"line": line, "start": start, "end": end} for line, start, end in cv.lines],
        "labels": cv.label_offsets,
        "instructions": [
            {"offset": r.offset, "line": r.line, "labels": r.labels, "opname": r.opname,
             "opcode": r.opcode, "arg": r.arg, "argument": r.text, "meaning": r.meaning,
             "size": r.size, "target": r.target, "handler": r.handler, "asm": r.asm}
            for r in cv.rows
        ],
        "nested": [code_names[id(c)] for c in code.co_consts
                   if isinstance(c, types.CodeType) and id(c) in code_names],
        "asm": "\n".join(asm_block(cv, code_names)),
    }
    if with_raw:
        out["raw"] = raw_json(cv)
    if with_cfg:
        from .graph import to_json as cfg_json

        out["cfg"] = cfg_json(cv)
    return out


# -- --raw -----------------------------------------------------------------------------

def raw_table(cv: CodeView) -> tuple[list[str], bool]:
    """``co_code`` unit by unit, decoded by hand, beside the listing; and whether the
    self-check against ``dis`` passed."""
    code = cv.code
    rows_by_offset = {r.offset: r for r in cv.rows}
    out = [f"=== {cv.ident}  ({_where(code)}): co_code, {len(code.co_code)} bytes ===",
           "  " + code.co_code.hex(" "),
           f"    {'offset':>6}  {'bytes':<5}  {'decoded by hand':<38} meaning"]
    for unit in decode(code.co_code):
        if unit.kind == "extended_arg":
            decoded = f"EXTENDED_ARG {unit.arg_byte:<4} arg so far {unit.arg:#x}"
            meaning = f"(prefix of offset {unit.owner})"
        elif unit.kind == "cache":
            decoded = unit.name
            meaning = f"(inline cache of offset {unit.owner})"
        else:
            arg = "" if unit.arg is None else f"arg {unit.arg}"
            decoded = f"{unit.name} {arg}".rstrip()
            row = rows_by_offset.get(unit.offset)
            meaning = ""
            if row is not None:
                meaning = row.asm
                if row.meaning and row.meaning != row.text:
                    meaning += f"  ; {row.meaning}"
        out.append(f"    {unit.offset:>6}  {unit.hex}  {decoded:<38} {meaning}".rstrip())
    count, problems = check_against_dis(code)
    if problems:
        out.append(f"  self-check FAILED: the hand decoder disagrees with dis on "
                   f"{len(problems)} of {count} instructions:")
        out.extend("    " + p for p in problems)
    else:
        out.append(f"  self-check: the hand decoder agrees with dis on all {count} "
                   "instructions")
    return out, not problems


def raw_json(cv: CodeView) -> dict:
    count, problems = check_against_dis(cv.code)
    return {
        "co_code": cv.code.co_code.hex(),
        "units": [{"offset": u.offset, "opcode": u.opcode, "arg_byte": u.arg_byte,
                   "kind": u.kind, "name": u.name, "arg": u.arg, "owner": u.owner}
                  for u in decode(cv.code.co_code)],
        "self_check": {"instructions": count, "agrees": not problems, "problems": problems},
    }


# -- -p --------------------------------------------------------------------------------

def diff(before: list[str], after: list[str], ident: str, passes: str) -> list[str]:
    return list(difflib.unified_diff(before, after, fromfile=f"{ident} (before)",
                                     tofile=f"{ident} (after {passes})", lineterm=""))


def version_note() -> str:
    return f"Python {V.PYTHON}"


def asm_listing(code: types.CodeType, qualname: str | None = None) -> str:
    """``code`` and its nested code objects as one ``bchook.asm`` listing (``qualname``
    names ``code`` where the interpreter does not record it, 3.10)."""
    from .listing import code_tree, view

    tree = code_tree(code, qualname)
    names = {id(c): ident for ident, c in tree}
    out: list[str] = []
    for ident, c in tree:
        out.extend(asm_block(view(ident, c, names), names))
        out.append("")
    return "\n".join(out)
