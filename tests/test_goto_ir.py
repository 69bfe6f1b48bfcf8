"""The ir readers the goto pass added: ``ir.jump_if_at`` (a conditional jump with what
belongs to it) and ``ir.exception_regions`` (where an exception goes, per instruction)."""

from __future__ import annotations

import sys

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
