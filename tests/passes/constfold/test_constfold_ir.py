"""The ir pieces constfold reads and builds with, checked against what each release's
compiler writes: ``ir.operation_of``, ``ir.return_const``, ``ir.call_on_copy``,
``ir.fuse``, ``ir.import_from`` (3.15's lazy/eager bits in IMPORT_NAME) and the cheap
``ir.raw.opcodes``."""

from __future__ import annotations

import dis
import textwrap
import types

import pytest

from bchook import ir

V = ir.version


def code_of(src: str, name: str = "f") -> types.CodeType:
    module = compile(textwrap.dedent(src), "<ir>", "exec", dont_inherit=True)
    return next(c for c in ir.walk_code(module) if c.co_name == name)


def operations(src: str) -> list:
    bc = ir.Bytecode.from_code(code_of(src))
    return [op for op in map(ir.operation_of, bc.instructions()) if op is not None]


def run(bc: ir.Bytecode, *args):
    return types.FunctionType(bc.to_code(), {"__builtins__": __builtins__})(*args)


@pytest.mark.parametrize("src,expected", [
    ("def f(a, b):\n    return a - b", ("binary", "-")),
    ("def f(a, b):\n    return a[b]", ("subscript", None)),
    ("def f(a, b):\n    return a < b", ("compare", "<")),
    ("def f(a, b):\n    return a not in b", ("contains", True)),
    ("def f(a, b):\n    return a is b", ("is", False)),
    ("def f(a):\n    return ~a", ("unary", "~")),
    ("def f(a):\n    return not a", ("unary", "not")),
    ("def f(a, b):\n    return (a, b)", ("build_tuple", 2)),
    ("def f(a, b):\n    return [a, b]", ("build_list", 2)),
    ("def f(a):\n    return len(a)", ("call", (1, 2 if V.CALL_NULL else 1))),
    ("def f(a):\n    return a.upper(1)", ("call", (1, 2))),
    ("def f(a):\n    return a.upper", ("attr", False)),
    ("def f(a):\n    return a.upper()", ("attr", True)),
    ("def f():\n    return len", ("global", False)),
    ("def f(a):\n    return [7]", ("constant", None)),
])
def test_operation_of_reads_what_the_compiler_writes(src, expected):
    assert expected in operations(src)


def test_in_place_operators_and_classes_are_no_operation():
    assert not any(op[0] == "binary" for op in operations("def f(a):\n    a += 1\n    return a"))
    # 3.14+ raise AssertionError with LOAD_COMMON_CONSTANT: a class, no constant
    code = code_of("def f(a):\n    assert a\n    return a")
    for ins in ir.Bytecode.from_code(code).instructions():
        if ins.name == "LOAD_COMMON_CONSTANT":
            assert ir.operation_of(ins) is None and not ir.loads_constant(ins)


def test_operation_of_jumps_and_returns():
    ops = operations("def f(a):\n    if a is None:\n        return 1\n    return a")
    assert any(op[0] == "jump_if" for op in ops)
    assert ("return", 1) in ops or ("return", 0) in ops
    senses = {op[1] for op in ops if op[0] in ("jump_if", "jump_if_or_pop")}
    assert senses <= {"true", "false", "none", "not_none"}


@pytest.mark.parametrize("value", [None, True, 0, 7, 255, 256, -1, "", "text", (1, 2), 2.5])
def test_return_const_returns_the_value(value):
    bc = ir.Bytecode.from_code(code_of("def f():\n    pass"))
    start = ir.body_start(list(bc.instructions()))
    items = list(bc.instructions())[:start]
    bc.items = items + ir.return_const(bc, value)
    assert run(bc) == value and type(run(bc)) is type(value)
    assert len(ir.return_const(bc, value)) == (1 if V.CONSTANT_RETURNS else 2)


@pytest.mark.parametrize("name,arg,expected", [("type", "x", str), ("len", "abc", 3)])
def test_call_on_copy_keeps_the_value_below_the_result(name, arg, expected):
    bc = ir.Bytecode.from_code(code_of("def f(a):\n    return a"))
    instrs = list(bc.instructions())
    start = ir.body_start(instrs)
    load = instrs[start]  # the load of a
    bc.items = instrs[:start] + [
        load, *ir.call_on_copy(bc.add_name(name)),      # [a, g(a)]
        ir.Instr("BUILD_TUPLE", 2), *ir.return_value(),
    ]
    assert run(bc, arg) == (arg, expected)


@pytest.mark.skipif(not V.SUPERINSTRUCTIONS, reason="superinstructions are 3.13+")
def test_fuse_makes_the_superinstruction_cpython_writes():
    code = code_of("def f(a, b):\n    return a + b")
    fused = [i for i in ir.Bytecode.from_code(code).instructions() if i.op in V.SUPERINSTRUCTIONS]
    assert fused
    for ins in fused:
        (op1, a), (op2, b) = ir.local_accesses(ins)
        again = ir.fuse(ir.Instr(op1, a), ir.Instr(op2, b))
        assert (again.op, again.arg) == (ins.op, ins.arg)
    load = ir.Instr("LOAD_FAST", 3)
    assert ir.fuse(load, ir.Instr("LOAD_FAST", 16)) is None  # does not fit in 4 bits
    assert ir.fuse(load, ir.Instr("POP_TOP")) is None


def test_fuse_has_nothing_where_there_are_no_superinstructions():
    if not V.SUPERINSTRUCTIONS:
        assert ir.fuse(ir.Instr("LOAD_FAST", 0), ir.Instr("LOAD_FAST", 1)) is None


def test_import_from_names_the_module():
    # 3.15 keeps lazy/eager bits below IMPORT_NAME's name index
    # names already there, so that an index read without its shift names another one
    bc = ir.Bytecode.from_code(code_of("def f():\n    return a, b, c, d, e"))
    instrs = list(bc.instructions())
    start = ir.body_start(instrs)
    loc = instrs[start].loc  # (tracebacks need one)
    bc.items = instrs[:start] + [*ir.import_from(bc, "os.path", "join", loc),
                                 *ir.return_value(loc)]
    import os.path

    assert run(bc) is os.path.join
    module = code_of("import os\nfrom os import path\n", "<module>")
    names = [module.co_names[ir.name_index_of(i)] for i in ir.Bytecode.from_code(module).
             instructions() if i.name == "IMPORT_NAME"]
    assert names == ["os", "os"]
    assert [i.argval for i in dis.get_instructions(module) if i.opname == "IMPORT_NAME"] == names


def test_raw_opcodes_are_the_instructions_opcodes():
    # 300 constants: EXTENDED_ARG prefixes; attributes and calls: inline caches
    src = "def f(a):\n" + "".join(f"    a = a.x + 's{i}' if a else len(a)\n"
                                   for i in range(300)) + "    return a\n"
    for code in ir.walk_code(compile(src, "<ir>", "exec")):
        expected = bytes(i.opcode for i in dis.get_instructions(code)
                         if i.opname not in ("EXTENDED_ARG", "CACHE"))
        assert ir.raw.opcodes(code) == expected
        assert [op for op, _ in ir.raw.instructions_of(code)] == list(expected)


def test_raw_instructions_of_puts_wide_arguments_together():
    # 3 and 2 EXTENDED_ARG prefixes, next to instructions with inline caches
    bc = ir.Bytecode.from_code(code_of("def f(a):\n    return a.x(a)"))
    instrs = list(bc.instructions())
    start = ir.body_start(instrs)
    wide = [ir.Instr("LOAD_CONST", 0x010203), ir.Instr("POP_TOP"),
            ir.Instr("LOAD_CONST", 0x0405), ir.Instr("POP_TOP")]
    bc.items = instrs[:start] + wide + instrs[start:]
    code = bc.to_code()
    walked = [(op, arg) for _, op, arg, _ in ir.raw.walk(code.co_code)]
    assert ir.raw.instructions_of(code) == walked
    assert (V.OPMAP["LOAD_CONST"], 0x010203) in walked and (V.OPMAP["LOAD_CONST"], 0x0405) in walked
    assert ir.raw.opcodes(code) == bytes(op for op, _ in walked)
