"""The running interpreter's standard library as test material for ``bchook.ir``.

Used by the round-trip tests (a deterministic sample), by ``tools/ir_roundtrip_all.py``
(every file) and by ``benchmarks/ir_roundtrip.py``. It only needs the interpreter and an
importable ``bchook``; it is a plain module so that scripts outside pytest can load it.
"""

from __future__ import annotations

import os
import sysconfig
import types
import warnings
from dataclasses import dataclass, field
from typing import Iterator

#: Files in the normal test run: enough to cover every construct the compiler emits,
#: small enough for CI on four interpreters.
CI_SAMPLE_SIZE = 200


def stdlib_dir() -> str:
    return sysconfig.get_paths()["stdlib"]


def stdlib_files(sample: int | None = None) -> list[str]:
    """Every ``.py`` file of the standard library, ``Lib/test`` included, sorted.

    With ``sample=N``, N files spread evenly over that sorted list (deterministic for
    a given interpreter, and covering every package rather than the first few).
    """
    root = stdlib_dir()
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in ("site-packages", "dist-packages", "__pycache__"))
        files.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(".py"))
    files.sort()
    if sample is None or sample >= len(files):
        return files
    step = len(files) / sample
    return [files[int(i * step)] for i in range(sample)]


def compile_file(path: str) -> types.CodeType | None:
    """The module code object of ``path``, or None if this interpreter cannot compile it
    (``Lib/test`` deliberately holds files with bad syntax or encodings)."""
    try:
        with open(path, "rb") as f:
            source = f.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, UnicodeDecodeError, OSError, RecursionError,
            MemoryError):
        return None


def all_code(code: types.CodeType) -> Iterator[types.CodeType]:
    """``code`` and every code object nested in it."""
    yield code
    for const in code.co_consts:
        if type(const) is types.CodeType:
            yield from all_code(const)


def stdlib_code_objects(sample: int | None = None) -> Iterator[types.CodeType]:
    for path in stdlib_files(sample):
        module = compile_file(path)
        if module is not None:
            yield from all_code(module)


def code_name(code: types.CodeType) -> str:
    qualname = getattr(code, "co_qualname", code.co_name)
    return f"{qualname} ({code.co_filename}:{code.co_firstlineno})"


@dataclass
class RoundTripReport:
    """Counts of one round-trip run and a description of every difference found."""

    files: int = 0
    skipped_files: int = 0
    code_objects: int = 0
    #: CPython's co_stacksize above ours, by reason (see :func:`stack_depth_excuse`).
    lower_depth_explained: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def summary(self) -> str:
        explained = sum(self.lower_depth_explained.values())
        return (f"{self.files} files ({self.skipped_files} not compilable, skipped), "
                f"{self.code_objects} code objects, {len(self.failures)} failures, "
                f"{explained} with a documented lower stack depth "
                f"{dict(sorted(self.lower_depth_explained.items())) or ''}").rstrip()


def roundtrip_differences(code: types.CodeType, ir) -> list[str]:
    """What ``ir.Bytecode.from_code(code).to_code()`` changed that it must not change."""
    try:
        new = ir.Bytecode.from_code(code).to_code()
    except Exception as exc:  # report every failure, keep going over the stdlib
        return [f"{type(exc).__name__}: {exc}"]
    problems = []
    if new.co_code != code.co_code:
        problems.append(f"co_code differs at byte {_first_difference(new.co_code, code.co_code)}")
    if hasattr(code, "co_exceptiontable") and new.co_exceptiontable != code.co_exceptiontable:
        problems.append("co_exceptiontable differs")
    if list(new.co_lines()) != list(code.co_lines()):
        problems.append("co_lines() differs")
    if hasattr(code, "co_positions") and list(new.co_positions()) != list(code.co_positions()):
        problems.append("co_positions() differs")
    if new.co_stacksize < code.co_stacksize:
        problems.append(f"co_stacksize {new.co_stacksize} < CPython's {code.co_stacksize}")
    for attr in ("co_consts", "co_names", "co_varnames", "co_cellvars", "co_freevars"):
        if getattr(new, attr) != getattr(code, attr):
            problems.append(f"{attr} differs")
    return problems


def stack_depth_excuse(code: types.CodeType, bc, depth: int, version) -> str | None:
    """Why CPython's ``co_stacksize`` may legitimately exceed the IR's analysis, or None.

    Both cases come from CPython computing the depth at a stage where the code still held
    something the final bytecode no longer has; the IR's figure is the one the final
    instructions need, so neither is a bug (the encoder keeps CPython's larger value when
    it re-encodes unchanged code anyway):

    - ``return-const`` (3.13): ``RETURN_CONST`` is ``LOAD_CONST`` + ``RETURN_VALUE`` fused,
      and CPython's analysis still counts the slot of the constant it pushed.
    - ``dead-code``: CPython's analysis walked blocks that its later clean-up dropped or
      left unreachable: the handler of a ``try`` whose body compiled to nothing that can
      raise (3.11, 3.12: the handler's instructions remain, unreachable), or whatever
      followed a final ``raise`` or endless loop, such as the implicit ``return None``
      (3.13: removed, so the code has no return instruction at all).
    """
    instrs = list(bc.instructions())
    depths = bc.depths()
    if version.PY313:
        peak = max((d + 1 for i, d in zip(instrs, depths)
                    if d is not None and i.name == "RETURN_CONST"), default=-1)
        if peak == code.co_stacksize:
            return "return-const"
        if not any(i.name in ("RETURN_VALUE", "RETURN_CONST") for i in instrs):
            return "dead-code"  # what followed a final raise or endless loop was dropped
    if any(d is None for d in depths):
        return "dead-code"
    return None


def check_stack_depth(code: types.CodeType, ir) -> tuple[str | None, str | None]:
    """(problem, excuse) for the IR's own stack analysis of the unchanged code."""
    bc = ir.Bytecode.from_code(code)
    depth = bc.max_stack_depth()
    if depth >= code.co_stacksize:
        return None, None
    excuse = stack_depth_excuse(code, bc, depth, ir.version)
    if excuse:
        return None, excuse
    return (f"max_stack_depth() {depth} < CPython's co_stacksize {code.co_stacksize}", None)


def roundtrip_stdlib(ir, sample: int | None = None, progress=None) -> RoundTripReport:
    report = RoundTripReport()
    for path in stdlib_files(sample):
        report.files += 1
        module = compile_file(path)
        if module is None:
            report.skipped_files += 1
            continue
        for code in all_code(module):
            report.code_objects += 1
            problems = roundtrip_differences(code, ir)
            problem, excuse = check_stack_depth(code, ir)
            if problem:
                problems.append(problem)
            if excuse:
                report.lower_depth_explained[excuse] = (
                    report.lower_depth_explained.get(excuse, 0) + 1)
            if problems:
                report.failures.append(f"{code_name(code)}: {'; '.join(problems)}")
        if progress is not None:
            progress(report)
    return report


def _first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))
