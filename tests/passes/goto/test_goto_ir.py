"""The ir readers the goto pass added: ``ir.jump_if_at`` (a conditional jump with what
belongs to it), ``ir.exception_regions`` (where an exception goes, per instruction),
``ir.Flow.stack_sources`` (which instruction pushed each stack value) and
``ir.version.stack_reach`` (how deep into the stack an instruction may change values)."""

from __future__ import annotations

import sys

import pytest

from bchook import ir


def _flow(func) -> ir.Flow:
    return ir.Bytecode.from_code(func.__code__).flow()


def test_jump_if_at_reads_back_what_jump_if_builds():
    label = ir.Label()
    for sense in ("true", "false"):
        seq = ir.jump_if(sense, label)
        assert ir.jump_if_at(seq, 0) == (len(seq) - 1 - (sys.version_info >= (3, 14)),
                                         len(seq))
        assert ir.jump_sense(seq[ir.jump_if_at(seq, 0)[0]]) == sense
        assert ir.jump_if_at(seq, len(seq)) is None
    assert ir.jump_if_at(ir.pop_top() + ir.jump(label), 0) is None


def test_jump_if_at_in_compiled_code():
    def f(x):
        if x:
            return 1
        return 2

    instrs = _flow(f).instrs
    found = [ir.jump_if_at(instrs, k) for k in range(len(instrs))]
    (jump, end), = {x for x in found if x is not None}
    assert ir.jump_sense(instrs[jump]) is not None
    names = [ins.name for ins in instrs[jump + 1:end]]
    assert names == (["NOT_TAKEN"] if sys.version_info >= (3, 14) else [])
    assert (instrs[jump - 1].name == "TO_BOOL") is (sys.version_info >= (3, 13))


def test_exception_regions_follow_try_blocks():
    def f(g):
        a = g(1)
        try:
            b = g(2)
        except ValueError:
            b = g(3)
        return a + b

    bc = ir.Bytecode.from_code(f.__code__)
    flow = bc.flow()
    regions = ir.exception_regions(flow)
    at = {ir.constant_of(bc, ins): regions[k] for k, ins in enumerate(flow.instrs)
          if ir.constant_of(bc, ins) in (1, 2, 3)}
    outside, body, handler = at[1], at[2], at[3]
    assert outside != body and body != handler and outside != handler
    again = ir.exception_regions(flow)
    assert again == regions  # keys compare by value, not by object


# -- ir.Flow.stack_sources and ir.version.stack_reach: which values a jump keeps ----------

def _sources_at(func) -> dict:
    """``{constant: stack sources before the LOAD_CONST of it}`` for statements ``x = 'A'``."""
    bc = ir.Bytecode.from_code(func.__code__)
    flow = bc.flow()
    sources = flow.stack_sources()
    return {ir.constant_of(bc, ins): sources[k] for k, ins in enumerate(flow.instrs)
            if isinstance(ir.constant_of(bc, ins), str)}


def test_stack_sources_tell_loops_apart():
    def f(xs):
        for a in xs:
            x = "A"
        for b in xs:
            x = "B"
            for c in xs:
                x = "C"
            x = "B2"
        x = "D"
        return x

    at = _sources_at(f)
    per_loop = len(at["A"])  # 3.15 keeps two values per for loop, earlier releases one
    assert per_loop in (1, 2) and None not in at["A"] + at["B"] + at["C"]
    assert len(at["B"]) == per_loop and at["A"] != at["B"]
    assert at["C"][:per_loop] == at["B"] == at["B2"] and len(at["C"]) == 2 * per_loop
    assert at["D"] == ()


def test_stack_sources_through_an_exception_handler():
    def f(xs, g):
        for a in xs:
            try:
                g()
            except ValueError:
                x = "H"
            x = "AFTER"

    at = _sources_at(f)
    # below the handler's values, the loop's iterator is the one the body has
    assert at["AFTER"] == at["H"][:len(at["AFTER"])] and None not in at["AFTER"]
    if sys.version_info >= (3, 11):
        # the previous exception PUSH_EXC_INFO keeps on the stack
        assert len(at["H"]) == len(at["AFTER"]) + 1


def test_stack_sources_disagree_after_paths_that_push_different_values():
    join, done = ir.Label(), ir.Label()
    items = [ir.Instr("LOAD_CONST", 0), *ir.jump_if("true", join),
             ir.Instr("LOAD_CONST", 0), *ir.jump(done), join,
             ir.Instr("LOAD_CONST", 0), done, *ir.pop_top()]
    flow = ir.Flow(items)
    sources = flow.stack_sources()
    assert sources[flow.index_of(done)] == (None,)
    pushed = [k for k, ins in enumerate(flow.instrs) if ins.name == "LOAD_CONST"]
    assert sources[pushed[0] + 1] == (pushed[0],)


def test_stack_reach_knows_every_instruction():
    unknown = {name for name, op in ir.version.OPMAP.items()
               if ir.version.stack_reach(op, 1) == ir.version.UNKNOWN_REACH
               and not name.startswith("INSTRUMENTED_")}
    # none of these is ever in a code object's co_code
    assert unknown <= {"RESERVED", "ENTER_EXECUTOR"}


#: Instructions that take values from CPython's point of view but leave them in place,
#: the same objects (``COPY 2`` takes two and pushes them back with a third).
_LEAVE_INPUTS = {
    "CHECK_EXC_MATCH", "COPY", "DICT_MERGE", "DICT_UPDATE", "GET_ANEXT", "GET_LEN",
    "IMPORT_FROM", "LIST_APPEND", "LIST_EXTEND", "MAP_ADD", "MATCH_KEYS", "MATCH_MAPPING",
    "MATCH_SEQUENCE", "RERAISE", "SEND", "SET_ADD", "SET_UPDATE", "WITH_EXCEPT_START",
    "RETURN_VALUE",  # 3.14+ count the value it returns as pushed back
}
#: Where the lists describe earlier releases only (bchook uses CPython's numbers there).
_CHANGED = {(3, 15): {"CLEANUP_THROW", "FOR_ITER", "SEND"}}


@pytest.mark.skipif(sys.version_info < (3, 14), reason="CPython's counts: 3.14+")
def test_stack_reach_lists_agree_with_cpythons_counts():
    from bchook.ir import _version
    from bchook.ir._stack_metadata import TABLES

    counts = TABLES[sys.version_info[:2]]
    lists = _version._reach_table({})
    skip = _LEAVE_INPUTS | _CHANGED.get(sys.version_info[:2], set())
    for name, (popped, _) in counts.items():
        op = _version.OPMAP.get(name)
        if op is None or name in skip or op not in lists:
            continue
        for arg in range(1, 6) if op in _version.HASARG else [0]:
            low = min(_version.stack_effects(op, arg))
            assert lists[op](arg, low) >= eval(popped, {"oparg": arg}), (name, arg)
            assert ir.version.stack_reach(op, arg) == eval(popped, {"oparg": arg})
