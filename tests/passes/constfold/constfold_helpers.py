"""Helpers for the constfold tests: compile a snippet with and without the pass, run both,
compare what they do, and look at which operations the folded bytecode lost."""

from __future__ import annotations

import dis
import sys
import textwrap
import types

from bchook import ir
from bchook.testing import code_named
from bchook.pipeline.driver import transform_source
from bchook.passes.constfold import ConstFoldPass

#: Families of opcodes, so tests can say "the comparison is gone" on every version.
FAMILIES = {
    "compare": {"COMPARE_OP"},
    "contains": {"CONTAINS_OP"},
    "is": {"IS_OP"},
    "binary": {"BINARY_OP", "BINARY_ADD", "BINARY_SUBTRACT", "BINARY_MULTIPLY",
               "BINARY_TRUE_DIVIDE", "BINARY_FLOOR_DIVIDE", "BINARY_MODULO", "BINARY_POWER",
               "BINARY_LSHIFT", "BINARY_RSHIFT", "BINARY_AND", "BINARY_OR", "BINARY_XOR"},
    "subscr": {"BINARY_SUBSCR", "BINARY_SLICE", "BINARY_OP []"},  # 3.14+: BINARY_OP []
    "call": {"CALL", "CALL_FUNCTION", "CALL_METHOD", "PRECALL"},
    "global": {"LOAD_GLOBAL"},
    "name": {"LOAD_NAME"},
    "attr": {"LOAD_ATTR", "LOAD_METHOD"},
    "local": {"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW",
              "LOAD_FAST_BORROW_LOAD_FAST_BORROW"},
    "branch": {"POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_FORWARD_IF_FALSE",
               "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE",
               "POP_JUMP_BACKWARD_IF_TRUE", "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP"},
    "unary": {"UNARY_NEGATIVE", "UNARY_NOT", "UNARY_INVERT", "UNARY_POSITIVE"},
    "list": {"BUILD_LIST", "LIST_EXTEND"},
    "tobool": {"TO_BOOL"},
}


def compile_both(src: str, **options) -> tuple[types.CodeType, types.CodeType]:
    """The module compiled without and with the pass; the folded one has no constant or
    name the pass left unused (see :func:`assert_no_dead_entries`)."""
    src = textwrap.dedent(src)
    plain = compile(src, "<snippet>", "exec", dont_inherit=True)
    folded = transform_source(src, "<snippet>", "snippet", [ConstFoldPass(**options)])
    # guard=1 keeps a nested code object it may have to undo, even where a fold made its
    # only load dead
    assert_no_dead_entries(plain, folded, kept=is_code if options.get("guard") else None)
    return plain, folded


def is_code(value) -> bool:
    return isinstance(value, types.CodeType)


def table_uses(code: types.CodeType) -> tuple[set, set]:
    """Indexes of the constants, and the names, that the instructions of ``code`` use."""
    consts, names = set(), set()
    for i in dis.get_instructions(code):
        if i.opcode in dis.hasconst:
            consts.add(i.arg)
        elif i.opcode in dis.hasname:
            names.add(i.argval)
    return consts, names


def const_key(value):
    """Equal constants of one type are one entry; code objects go by name and line."""
    if isinstance(value, types.CodeType):
        return ("code", value.co_name, value.co_firstlineno)
    return (type(value), repr(value))


def dead_entries(code: types.CodeType) -> tuple[dict, set]:
    """The constants (by :func:`const_key`) and the names of ``code`` that no instruction
    uses, but for a function's docstring place (``co_consts[0]``)."""
    consts, names = table_uses(code)
    docstring = 0 if ir.version.first_const_is_docstring_slot(code.co_flags) else -1
    return ({const_key(c): c for i, c in enumerate(code.co_consts)
             if i not in consts and i != docstring},
            set(code.co_names) - names)


def assert_no_dead_entries(plain: types.CodeType, folded: types.CodeType, kept=None) -> None:
    """Every constant and name of every code object of ``folded`` is used by one of its
    instructions, or was unused in ``plain`` already, or is a constant ``kept(value)``
    says a pass keeps on purpose: the pass drops what its folds left dead, as CPython's
    optimizer would have."""
    plain_codes = {const_key(c): c for c in ir.walk_code(plain)}
    for code in ir.walk_code(folded):
        before = plain_codes.get(const_key(code))
        was_consts, was_names = dead_entries(before) if before is not None else ({}, set())
        consts, names = dead_entries(code)
        consts = [v for k, v in consts.items()
                  if k not in was_consts and not (kept and kept(v))]
        names -= was_names
        assert not consts and not names, (
            f"{code.co_name}: unused after the pass: constants {consts!r}, "
            f"names {sorted(names)}")


def assert_tables_like_cpython(folded: types.CodeType, by_hand: str) -> None:
    """The constants and names of each function of ``folded`` are those CPython gives
    the source folded by hand (``by_hand``), in any order. A ``co_consts[0]`` that nothing
    loads is left out on both sides: CPython 3.14+ keeps whatever it first added there
    (it may be a docstring), and on 3.10-3.13 it is a function's docstring place."""
    cpython = {c.co_name: c for c in ir.walk_code(
        compile(textwrap.dedent(by_hand), "<by hand>", "exec", dont_inherit=True))}

    def consts(code):
        used = table_uses(code)[0]
        return sorted(repr(const_key(c)) for i, c in enumerate(code.co_consts)
                      if i or i in used)

    for code in ir.walk_code(folded):
        if code.co_name in cpython and code.co_name != "<module>":
            theirs = cpython[code.co_name]
            assert consts(code) == consts(theirs), (
                f"{code.co_name}: {code.co_consts} but CPython has {theirs.co_consts}")
            assert sorted(code.co_names) == sorted(theirs.co_names), (
                f"{code.co_name}: {code.co_names} but CPython has {theirs.co_names}")


def outcome(code: types.CodeType, call: str):
    """What running the module then evaluating ``call`` does: a value (with its type) or
    an exception (type and message)."""
    ns = {"__name__": "snippet"}
    try:
        exec(code, ns)
        value = eval(call, ns) if call else None
    except Exception as exc:  # the point is to compare exceptions too
        return ("raises", type(exc), str(exc))
    return ("returns", type(value), repr(value))


#: A code object of a module by (qualified) name.
find_code = code_named


def opnames(code: types.CodeType) -> list[str]:
    """Opcode names; 3.14's subscript is ``"BINARY_OP []"``, apart from the operators."""
    return [f"{i.opname} []" if i.opname == "BINARY_OP" and i.argrepr == "[]" else i.opname
            for i in dis.get_instructions(code)]


#: The instructions that load constants (3.14+: small ints; 3.15: None, True, ...).
CONSTANT_LOADS = ("LOAD_CONST", "LOAD_SMALL_INT", "LOAD_COMMON_CONSTANT")


def loaded_constants(code: types.CodeType) -> list:
    """The values the constant loads of ``code`` push (or 3.12/3.13's RETURN_CONST
    returns), in order."""
    return [i.argval for i in dis.get_instructions(code)
            if i.opname in CONSTANT_LOADS or i.opname == "RETURN_CONST"]


def _members(names) -> set:
    out = set()
    for n in names:
        out |= FAMILIES.get(n, {n})
    return out


def count_ops(code, names) -> int:
    wanted = _members(names)
    return sum(1 for op in opnames(code) if op in wanted)


def assert_folds(src: str, call: str = "f()", gone=(), kept=(), in_code: str = "f",
                 **options):
    """Same behaviour with and without the pass; the operations in ``gone`` (opcode names
    or FAMILIES keys) were in ``in_code`` and are not any more, those in ``kept`` stay."""
    plain, folded = compile_both(src, **options)
    before, after = outcome(plain, call), outcome(folded, call)
    assert before == after, f"behaviour changed: {before} -> {after}"
    p, f = find_code(plain, in_code), find_code(folded, in_code)
    for name in gone:
        assert count_ops(p, [name]), f"{name}: nothing to fold in the plain code"
        assert not count_ops(f, [name]), (
            f"{name} still in folded {in_code}:\n" + "\n".join(opnames(f)))
    for name in kept:
        assert count_ops(f, [name]) == count_ops(p, [name]) > 0, (
            f"{name} should stay in {in_code}:\n" + "\n".join(opnames(f)))
    return before


def assert_unchanged(src: str, call: str = "f()", in_code: str = "f", **options):
    """The pass leaves ``in_code`` exactly as CPython compiled it."""
    plain, folded = compile_both(src, **options)
    assert outcome(plain, call) == outcome(folded, call)
    p, f = find_code(plain, in_code), find_code(folded, in_code)
    assert p.co_code == f.co_code, "\n".join(opnames(f))


def line_events(func, *args) -> list:
    """Relative line numbers of the 'line' events of one call of ``func``."""
    events = []
    code = func.__code__

    def tracer(frame, event, arg):
        if frame.f_code is code:
            if event == "line":
                events.append(frame.f_lineno - code.co_firstlineno)
            return tracer
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        func(*args)
    except Exception:
        pass
    finally:
        sys.settrace(old)
    return events


def functions(code: types.CodeType, name: str = "f"):
    ns = {"__name__": "snippet"}
    exec(code, ns)
    return ns[name]
