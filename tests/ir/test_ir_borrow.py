"""3.14's borrowed local loads stay safe in edited code (``bchook/ir/_borrow.py``).

CPython 3.14 loads a local without a new reference (``LOAD_FAST_BORROW``) where it proves
the local outlives the value on the stack. These tests edit code so that the proof breaks
(a store, a ``del``, a jump between the load and its use) and check that the encoder gives
the load its reference back, and that the code then behaves: an object whose ``__del__``
runs ``gc.collect()`` is not freed while the stack still uses it. On 3.10-3.13 every load
takes a reference already; the same edits must behave the same there.
"""

from __future__ import annotations

import gc
import types

import pytest

from bchook import ir
from bchook.passes.identity import IdentityPass
from bchook.pipeline.api import Context

V = ir.version
BORROWS = {n for n in ("LOAD_FAST_BORROW", "LOAD_FAST_BORROW_LOAD_FAST_BORROW") if n in V.OPMAP}
needs_borrows = pytest.mark.skipif(not V.BORROWED_LOADS, reason="3.14+: borrowed loads")


class Tracked:
    """Logs its use and its end; its ``__del__`` runs a full collection, as a finalizer
    that allocates would, so memory it leaves behind is reused at once."""

    def __init__(self, log, name):
        self.log = log
        self.name = name

    def use(self):
        self.log.append(f"use {self.name}")
        return self.name

    def __del__(self):
        self.log.append(f"del {self.name}")
        gc.collect()


def use(obj):
    return obj.use()


def through_use(x):
    return use(x)


def loads_of(code):
    return [i for i in ir.Bytecode.from_code(code).instructions()
            if i.name.startswith("LOAD_FAST")]


def rebuilt(func, code):
    return types.FunctionType(code, func.__globals__, func.__name__)


def edit_after_first_local_load(func, make):
    """Put ``make(bc, loc)`` right after the first load of a local of ``func``."""
    bc = ir.Bytecode.from_code(func.__code__)
    k = next(k for k, x in enumerate(bc.items) if type(x) is ir.Instr and (
        x.op in V.LOCAL_LOADS or x.name.startswith("LOAD_FAST")))
    bc.items[k + 1:k + 1] = make(bc, bc.items[k].loc)
    return bc.to_code()


@needs_borrows
def test_compiled_code_borrows_the_local_here():
    assert [i.name for i in loads_of(through_use.__code__)] == ["LOAD_FAST_BORROW"]


def test_a_store_between_load_and_use_takes_a_reference():
    def rebind(bc, loc):  # x = None while x's value waits on the stack
        return [ir.load_const(bc, None, loc), ir.Instr("STORE_FAST", 0, loc)]

    code = edit_after_first_local_load(through_use, rebind)
    assert [i.name for i in loads_of(code)] == ["LOAD_FAST"]
    log = []
    assert rebuilt(through_use, code)(Tracked(log, "a")) == "a"
    gc.collect()
    assert log == ["use a", "del a"]  # used before its end, though the local let go


def test_a_del_between_load_and_use_takes_a_reference():
    def delete(bc, loc):
        return [ir.Instr("DELETE_FAST", 0, loc)]

    code = edit_after_first_local_load(through_use, delete)
    assert [i.name for i in loads_of(code)] == ["LOAD_FAST"]
    log = []
    assert rebuilt(through_use, code)(Tracked(log, "b")) == "b"
    gc.collect()
    assert log == ["use b", "del b"]


@needs_borrows
def test_a_value_carried_over_a_jump_target_takes_a_reference():
    def new_block(bc, loc):  # a label others may jump to: the value outlives its block
        target = ir.Label()
        return [*ir.jump(target, loc), target]

    code = edit_after_first_local_load(through_use, new_block)
    assert [i.name for i in loads_of(code)] == ["LOAD_FAST"]
    log = []
    assert rebuilt(through_use, code)(Tracked(log, "c")) == "c"


@needs_borrows
def test_code_that_keeps_the_proof_keeps_its_borrows():
    def harmless(bc, loc):  # a NOP and a push/pop of a constant change nothing
        return [ir.Instr("NOP", 0, loc), ir.load_const(bc, 7, loc), *ir.pop_top(loc)]

    code = edit_after_first_local_load(through_use, harmless)
    assert [i.name for i in loads_of(code)] == ["LOAD_FAST_BORROW"]


@needs_borrows
def test_only_the_load_an_edit_reaches_loses_its_borrow():
    def two(a, b):
        x = use(a)
        return x + use(b)

    def rebind_a(bc, loc):
        return [ir.load_const(bc, None, loc), ir.Instr("STORE_FAST", 0, loc)]

    before = [i.name for i in loads_of(two.__code__)]
    assert before.count("LOAD_FAST_BORROW") >= 2
    after = [i.name for i in loads_of(edit_after_first_local_load(two, rebind_a))]
    assert after[0] == "LOAD_FAST"
    assert after[1:] == before[1:]


@needs_borrows
def test_a_borrowed_pair_with_a_store_between_becomes_a_plain_pair():
    def pair(a, b):
        return a + b

    names = [i.name for i in loads_of(pair.__code__)]
    assert names == ["LOAD_FAST_BORROW_LOAD_FAST_BORROW"]

    def rebind(bc, loc):
        return [ir.load_const(bc, 0, loc), ir.Instr("STORE_FAST", 1, loc)]

    code = edit_after_first_local_load(pair, rebind)
    assert [i.name for i in loads_of(code)] == ["LOAD_FAST_LOAD_FAST"]
    assert rebuilt(pair, code)(1, 2) == 3  # b's value was taken before the store


def test_padding_every_instruction_keeps_every_borrow():
    src = (
        "def f(items, key):\n"
        "    total = 0\n"
        "    for item in items:\n"
        "        if item[key] > total:\n"
        "            total = item[key]\n"
        "    with open(__file__) as fh:\n"
        "        first = fh.readline()\n"
        "    return total, [x for x in items if x], first\n")
    module = compile(src, __file__, "exec")
    code = next(ir.nested_code(module))
    bc = ir.Bytecode.from_code(code)
    IdentityPass(pad=1).transform_ir(bc, Context("m", __file__, {}))
    padded = bc.to_code()
    count = sum(1 for i in loads_of(code) if i.name in BORROWS)
    assert sum(1 for i in loads_of(padded) if i.name in BORROWS) == count
    namespace = {"__file__": __file__}
    exec(compile(src, __file__, "exec"), namespace)
    expected = namespace["f"]([{"k": 3}, {"k": 5}], "k")
    f = types.FunctionType(padded, namespace)
    assert f([{"k": 3}, {"k": 5}], "k") == expected
