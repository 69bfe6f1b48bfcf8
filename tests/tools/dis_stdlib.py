"""The running interpreter's standard library as test material for ``bchook dis`` and
``bchook.asm``.

Three checks per file (``Lib/test`` included), each reported per code object:

- ``raw``: the ``--raw`` view's hand decoder agrees with the standard library's ``dis`` on
  every instruction (offset, opcode, argument);
- ``listing``: the listing's rows are ``dis``'s instructions (offsets, opcodes, arguments,
  jump targets), the sizes add up to ``co_code`` and the control-flow graph has an edge for
  every jump;
- ``asm``: the ``bchook.asm`` listing of the module assembles back into the same code
  objects (``co_code``, exception table, lines, constants, names, variables, flags, stack
  size).

Used by the normal tests (a sample) and by ``tools/dis_stdlib_all.py`` (every file). It
only needs the interpreter and an importable ``bchook``.
"""

from __future__ import annotations

import dis
import time
import types
from dataclasses import dataclass, field

import ir_stdlib

CHECKS = ("raw", "listing", "asm")


@dataclass
class Report:
    files: int = 0
    skipped_files: int = 0
    code_objects: int = 0
    instructions: int = 0
    failures: list = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.files} files ({self.skipped_files} not compilable, skipped), "
                f"{self.code_objects} code objects, {self.instructions} instructions, "
                f"{len(self.failures)} failures")


def raw_problems(code: types.CodeType) -> tuple[int, list[str]]:
    from bchook.ir import _raw

    return _raw.check_against_dis(code)


def listing_problems(ident: str, code: types.CodeType, names: dict) -> list[str]:
    from bchook.tools.dis import graph as _cfg
    from bchook.tools.dis import listing as _listing

    view = _listing.view(ident, code, names)
    theirs = [i for i in dis.get_instructions(code) if i.opname != "EXTENDED_ARG"]
    problems = []
    ours = [(r.offset, r.opcode, r.arg) for r in view.rows]
    if ours != [(i.offset, i.opcode, i.arg) for i in theirs]:
        problems.append("rows differ from dis's instructions")
    for row, ins in zip(view.rows, theirs):
        if row.target is not None and view.label_offsets[row.target] != ins.argval:
            problems.append(f"offset {row.offset}: {row.opname} names {row.target} at "
                            f"{view.label_offsets[row.target]}, dis says {ins.argval}")
    if sum(r.size for r in view.rows) != len(code.co_code):
        problems.append("row sizes do not add up to co_code")
    blocks = _cfg.basic_blocks(view)
    if sum(len(b.rows) for b in blocks) != len(view.rows):
        problems.append("the control-flow graph's blocks lose rows")
    graph = _cfg.to_json(view)
    if [i["offset"] for b in graph["blocks"] for i in b["instructions"]] != [
            r.offset for r in view.rows]:
        problems.append("the JSON graph's blocks do not hold the instructions in order")
    if any(not 0 <= e[end] < len(graph["blocks"]) for e in graph["edges"]
           for end in ("from", "to")):
        problems.append("a JSON graph edge names no block")
    return problems


def asm_problems(module: types.CodeType) -> list[str]:
    """What assembling the listing of ``module`` changed, one line per code object."""
    from bchook import asm

    try:
        rebuilt = asm.assemble(asm.listing(module))
    except Exception as exc:  # report every failure, keep going over the stdlib
        return [f"{type(exc).__name__}: {exc}"]
    before = list(ir_stdlib.all_code(module))
    after = list(ir_stdlib.all_code(rebuilt))
    if len(before) != len(after):
        return [f"{len(before)} code objects, {len(after)} after assembling"]
    problems = []
    for a, b in zip(before, after):
        differ = [name for name in (
            "co_code", "co_exceptiontable", "co_names", "co_varnames", "co_cellvars",
            "co_freevars", "co_flags", "co_stacksize", "co_argcount", "co_posonlyargcount",
            "co_kwonlyargcount", "co_firstlineno", "co_name", "co_qualname")
            if getattr(a, name, None) != getattr(b, name, None)]
        if list(a.co_lines()) != list(b.co_lines()):
            differ.append("co_lines()")
        if not _same_consts(a.co_consts, b.co_consts):
            differ.append("co_consts")
        if differ:
            problems.append(f"{ir_stdlib.code_name(a)}: {', '.join(differ)} differ")
    return problems


def _same_consts(a: tuple, b: tuple) -> bool:
    from bchook.tools.syntax import same_const

    return len(a) == len(b) and all(
        (x.co_name == y.co_name) if isinstance(x, types.CodeType) else same_const(x, y)
        for x, y in zip(a, b))


def check_file(path: str, report: Report, checks=CHECKS) -> None:
    from bchook.tools.dis import listing as _listing

    report.files += 1
    module = ir_stdlib.compile_file(path)
    if module is None:
        report.skipped_files += 1
        return
    tree = _listing.code_tree(module)
    names = {id(c): ident for ident, c in tree}
    for ident, code in tree:
        report.code_objects += 1
        problems = []
        if "raw" in checks:
            count, raw = raw_problems(code)
            report.instructions += count
            problems += raw
        if "listing" in checks:
            try:
                problems += listing_problems(ident, code, names)
            except Exception as exc:
                problems.append(f"listing: {type(exc).__name__}: {exc}")
        if problems:
            report.failures.append(f"{ir_stdlib.code_name(code)}: {'; '.join(problems)}")
    if "asm" in checks:
        report.failures += [f"{path}: {p}" for p in asm_problems(module)]


def check_stdlib(sample: int | None = None, checks=CHECKS, progress=None) -> Report:
    report = Report()
    start = time.perf_counter()
    for path in ir_stdlib.stdlib_files(sample):
        check_file(path, report, checks)
        if progress is not None:
            progress(report, time.perf_counter() - start)
    return report
