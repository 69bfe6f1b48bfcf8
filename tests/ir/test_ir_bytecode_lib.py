"""Differential test: ``bchook.ir`` and the ``bytecode`` library (PyPI) decode the same
stdlib sample to the same instruction stream: names, arguments, jump targets (compared as
instruction indexes) and, on 3.11+, the exception-table entry covering each instruction.

Code objects the library cannot decode are skipped and counted (the count is printed in
the test output).
"""

from __future__ import annotations

import pytest

import ir_stdlib
from bchook import ir

bytecode = pytest.importorskip("bytecode")

V = ir.version


def theirs(code):
    """[(name, arg or None, jump target index or None, handler or None)] per instruction,
    from ``bytecode.ConcreteBytecode`` (EXTENDED_ARG folded into the argument)."""
    concrete = bytecode.ConcreteBytecode.from_code(code)
    rows = []  # (offset in code units, instr)
    offset = 0
    for instr in concrete:
        if not isinstance(instr, bytecode.ConcreteInstr):
            continue  # SetLineno pseudo-instructions
        if instr.name != "CACHE":
            rows.append((offset, instr))
        offset += instr.size // 2
    index_at = {off: k for k, (off, _) in enumerate(rows)}
    # an instruction with EXTENDED_ARG prefixes starts at its first prefix; jumps and the
    # exception table may name either the prefix or the instruction itself
    for k, (off, instr) in enumerate(rows):
        for unit in range(off, off + instr.size // 2):
            index_at.setdefault(unit, k)
    entries = getattr(concrete, "exception_table", None) or []
    out = []
    for off, instr in rows:
        target = instr.get_jump_target(off) if instr.has_jump() else None
        handler = None
        for e in entries:
            if e.start_offset <= off <= e.stop_offset:
                handler = (index_at[e.target], e.stack_depth, bool(e.push_lasti))
                break
        out.append((instr.name, instr.arg if instr.require_arg() else None,
                    None if target is None else index_at[target], handler))
    return out


def ours(code):
    bc = ir.Bytecode.from_code(code)
    items = bc.items
    index_of_label = {}
    count = 0
    for item in items:
        if isinstance(item, ir.Label):
            index_of_label[id(item)] = count
        else:
            count += 1
    out = []
    for ins in bc.instructions():
        has_arg = V.has_arg(ins.op)
        target = index_of_label[id(ins.arg)] if isinstance(ins.arg, ir.Label) else None
        arg = None if not has_arg or target is not None else ins.arg
        h = ins.handler
        handler = None if h is None else (index_of_label[id(h.label)], h.depth, bool(h.lasti))
        out.append((ins.name, arg, target, handler))
    return out


def _strip_jump_args(rows):
    """Jump arguments are offsets: compare the targets they resolve to instead."""
    return [(name, None if target is not None else arg, target, handler)
            for name, arg, target, handler in rows]


def first_difference(a, b):
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"instruction {k}: ours {x} vs bytecode {y}"
    return f"lengths {len(a)} vs {len(b)}"


@pytest.mark.slow
def test_same_instruction_stream_as_the_bytecode_library(capsys):
    compared = skipped = 0
    mismatches = []
    library_errors = {}
    for code in ir_stdlib.stdlib_code_objects(ir_stdlib.CI_SAMPLE_SIZE):
        try:
            expected = _strip_jump_args(theirs(code))
        except Exception as exc:  # the library's limits are not ours: count and go on
            skipped += 1
            key = f"{type(exc).__name__}: {str(exc)[:80]}"
            library_errors[key] = library_errors.get(key, 0) + 1
            continue
        compared += 1
        got = ours(code)
        if got != expected:
            mismatches.append(f"{ir_stdlib.code_name(code)}: {first_difference(got, expected)}")
    with capsys.disabled():
        print(f"\nbytecode {bytecode.__version__}: {compared} code objects compared, "
              f"{skipped} skipped (library could not decode them) {library_errors or ''}")
    assert not mismatches, f"{len(mismatches)} differences:\n" + "\n".join(mismatches[:20])
    assert compared > 5000
    assert skipped <= compared // 100, library_errors


def test_comparison_sees_jump_targets_and_handlers():
    """The comparison above is only as good as what it compares: make sure jumps and
    (3.11+) handlers are really resolved on both sides."""
    def sample(xs):
        total = 0
        for x in xs:
            try:
                total += int(x)
            except ValueError:
                continue
        return total

    a, b = ours(sample.__code__), theirs(sample.__code__)
    assert _strip_jump_args(b) == a
    assert sum(t is not None for _, _, t, _ in a) >= 2
    if V.HAS_EXCEPTION_TABLE:
        assert sum(h is not None for _, _, _, h in a) >= 3
    # and a difference is noticed
    broken = list(a)
    k = next(i for i, row in enumerate(a) if row[2] is not None)
    broken[k] = (a[k][0], a[k][1], a[k][2] + 1, a[k][3])
    assert broken != _strip_jump_args(b)
