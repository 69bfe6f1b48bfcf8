"""``Bytecode.table_uses`` / ``Bytecode.drop_unused``: the ``co_consts`` and ``co_names``
entries an edit stopped using go, renumbered as CPython would have numbered them, and
nothing else does (never-loaded constants, a function's docstring place)."""

from __future__ import annotations

import dis
import types

from bchook import ir

V = ir.version


def function(source: str, name: str = "f", env: dict | None = None):
    namespace = dict(env or {})
    exec(compile(source, "<tables>", "exec", dont_inherit=True), namespace)
    return namespace[name]


def rebuild(func, code):
    return types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__,
                              func.__closure__)


def without(bc, first: int, count: int) -> None:
    """Remove ``count`` instructions of ``bc.items`` from the ``first`` instruction of the
    body (after CPython's prologue) on."""
    instrs = list(bc.instructions())
    start = ir.body_start(instrs) + first
    gone = {id(ins) for ins in instrs[start:start + count]}
    bc.items = [x for x in bc.items if id(x) not in gone]


def test_constants_an_edit_stops_loading_go_as_if_never_compiled():
    f = function("def f(flag):\n    a = 'one'\n    b = 'two'\n    return b\n")
    bc = ir.Bytecode.from_code(f.__code__)
    uses = bc.table_uses()
    without(bc, 0, 2)  # a = 'one'
    assert bc.drop_unused(uses)
    code = bc.to_code()
    assert "one" not in code.co_consts
    assert rebuild(f, code)(1) == "two"
    plain = function("def f(flag):\n    b = 'two'\n    return b\n")
    assert code.co_consts == plain.__code__.co_consts
    assert [i.argval for i in dis.get_instructions(code) if i.opcode in V.HASCONST] == \
        [i.argval for i in dis.get_instructions(plain) if i.opcode in V.HASCONST]


def test_nothing_to_drop_keeps_cpythons_own_tuples():
    f = function("def f(x):\n    return x.real + 2.5\n")
    bc = ir.Bytecode.from_code(f.__code__)
    uses = bc.table_uses()
    assert not bc.drop_unused(uses)
    code = bc.to_code()
    assert code.co_consts is f.__code__.co_consts
    assert code.co_names is f.__code__.co_names


def test_entries_no_instruction_loaded_stay():
    f = function("def f():\n    x = 'gone'\n    return 1.5\n")
    bc = ir.Bytecode.from_code(f.__code__)
    uses = bc.table_uses()
    kept = types.CodeType.replace(f.__code__)  # as the trace pass keeps its twin: unloaded
    twin = bc.add_const(kept)
    unloaded_name = bc.add_name("never_loaded")
    assert twin not in uses.consts and unloaded_name not in uses.names
    without(bc, 0, 2)  # x = 'gone'
    assert bc.drop_unused(uses)
    code = bc.to_code()
    assert "gone" not in code.co_consts
    assert code.co_consts[-1] is kept and "never_loaded" in code.co_names
    assert rebuild(f, code)() == 1.5


def test_nested_code_objects_no_longer_made_go():
    f = function("def f():\n    def inner():\n        pass\n    return 7.5\n")
    bc = ir.Bytecode.from_code(f.__code__)
    uses = bc.table_uses()
    instrs = list(bc.instructions())
    store = next(k for k, ins in enumerate(instrs) if ins.name.startswith("STORE"))
    start = ir.body_start(instrs)
    without(bc, 0, store - start + 1)  # def inner(): ...
    bc.drop_unused(uses)
    code = bc.to_code()
    assert not any(isinstance(c, types.CodeType) for c in code.co_consts)
    plain = function("def f():\n    return 7.5\n")
    assert code.co_consts == plain.__code__.co_consts
    assert rebuild(f, code)() == 7.5


def test_a_docstring_loaded_elsewhere_stays_the_docstring():
    f = function("def f():\n    'doc'\n    return 'doc'\n")
    bc = ir.Bytecode.from_code(f.__code__)
    uses = bc.table_uses()
    instrs = list(bc.instructions())
    ret = instrs[ir.body_start(instrs)]  # LOAD_CONST, or 3.12/3.13's RETURN_CONST
    assert ret.op in V.HASCONST and bc.consts[ret.arg] == "doc"  # loaded: a candidate
    ret.arg = bc.add_const(2.5)
    assert not bc.drop_unused(uses)
    code = bc.to_code()
    assert code.co_consts[0] == "doc"
    g = rebuild(f, code)
    assert g() == 2.5 and g.__doc__ == "doc"


def test_no_string_moves_into_the_docstring_place():
    # 3.10-3.13: None at co_consts[0] says "no docstring"; were it dropped, 'text' would
    # be there and become __doc__. 3.14+ read the docstring only with CO_HAS_DOCSTRING.
    f = function("def f():\n    x = None\n    return 'text'\n")
    bc = ir.Bytecode.from_code(f.__code__)
    uses = bc.table_uses()
    without(bc, 0, 2)  # x = None
    bc.drop_unused(uses)
    g = rebuild(f, bc.to_code())
    assert g() == "text" and g.__doc__ is None
    if 0 in uses.consts:  # 3.15 loads None without co_consts: CPython's None stays
        plain = function("def f():\n    return 'text'\n")
        assert g.__code__.co_consts == plain.__code__.co_consts


def test_module_code_has_no_docstring_place():
    code = compile("x = 'gone'\ny = 'kept'\n", "<tables>", "exec", dont_inherit=True)
    bc = ir.Bytecode.from_code(code)
    uses = bc.table_uses()
    without(bc, 0, 2)  # x = 'gone'
    bc.drop_unused(uses)
    new = bc.to_code()
    plain = compile("y = 'kept'\n", "<tables>", "exec", dont_inherit=True)
    assert new.co_consts == plain.co_consts and new.co_names == plain.co_names
    namespace = {}
    exec(new, namespace)
    assert namespace["y"] == "kept" and "x" not in namespace


METHOD = """
class K(int):
    def m(self):
        dropped_name
        return len(str(self)), self.bit_length(), super().bit_length(), self.real
"""


def test_names_keep_their_flag_bits_when_renumbered():
    K = function(METHOD, "K")
    f = K.m
    bc = ir.Bytecode.from_code(f.__code__)
    # an import bchook adds: 3.15's IMPORT_NAME keeps its flags below the index
    instrs = list(bc.instructions())
    at = bc.items.index(instrs[ir.body_start(instrs) + 2])
    bc.items[at:at] = [*ir.import_from(bc, "os", "sep"), *ir.pop_top()]
    uses = bc.table_uses()

    def named(instrs):
        return [(ins.name, bc.names[ir.name_index_of(ins)], ir.name_flags_of(ins))
                for ins in instrs if ins.op in V.HASNAME]

    assert bc.names[0] == "dropped_name"
    without(bc, 0, 2)  # dropped_name (a LOAD_GLOBAL and its POP_TOP)
    before = named(bc.instructions())
    assert bc.drop_unused(uses)
    after = named(bc.instructions())
    assert after == before and "dropped_name" not in bc.names
    g = rebuild(f, bc.to_code())
    assert g(K(5)) == (1, 3, 3, 5)
    plain = function(METHOD.replace("        dropped_name\n", ""), "K").m
    assert g.__code__.co_names[:len(plain.__code__.co_names)] == plain.__code__.co_names


def test_smaller_indexes_lose_their_extended_arg():
    source = "def f():\n" + "".join(f"    n{i}\n" for i in range(300)) + "    return last\n"
    f = function(source)
    assert any(i.opname == "EXTENDED_ARG" for i in dis.get_instructions(f))
    bc = ir.Bytecode.from_code(f.__code__)
    uses = bc.table_uses()
    without(bc, 0, 600)  # n0 ... n299
    bc.drop_unused(uses)
    code = bc.to_code()
    assert code.co_names == ("last",)
    assert code.co_code == function("def f():\n    return last\n").__code__.co_code
    assert types.FunctionType(code, {"last": 42})() == 42


def test_candidates_can_name_what_a_pass_added_itself():
    f = function("def f():\n    return 1.5\n")
    bc = ir.Bytecode.from_code(f.__code__)
    before = bc.table_uses()
    instrs = list(bc.instructions())
    ret_load = instrs[ir.body_start(instrs)]
    old_arg = ret_load.arg
    ret_load.arg = bc.add_const(9.5)   # a pass's own constant, loaded a while ...
    added = ret_load.arg
    ret_load.arg = old_arg             # ... then not any more
    assert not bc.drop_unused(before)  # not a candidate: it stays
    assert 9.5 in bc.consts
    assert bc.drop_unused(ir.TableUses(before.consts | {added}, before.names))
    code = bc.to_code()
    assert 9.5 not in code.co_consts and code.co_consts == f.__code__.co_consts
    assert rebuild(f, code)() == 1.5


def test_add_const_and_add_name_know_the_new_numbers():
    # a pass after the one that dropped entries shares the Bytecode (one decode per chain)
    f = function("def f(o):\n    o.gone = 'gone'\n    return o.kept, 'kept'\n")
    bc = ir.Bytecode.from_code(f.__code__)
    assert bc.add_const("kept") == bc.consts.index("kept")  # builds the lookup tables
    assert bc.add_name("kept") == bc.names.index("kept")
    uses = bc.table_uses()
    without(bc, 0, 3)  # o.gone = 'gone'
    assert bc.drop_unused(uses)
    assert "gone" not in bc.consts and "gone" not in bc.names
    assert bc.consts[bc.add_const("kept")] == "kept"
    assert bc.names[bc.add_name("kept")] == "kept"
    assert bc.names[bc.add_name("new")] == "new"
    assert len(bc.names) == len(set(bc.names))
