"""What the goto pass's bytecode looks like where releases differ: a goto loop laid out as
CPython lays out a ``while`` loop, 3.14's NOT_TAKEN kept only after real branches (where
``sys.monitoring`` reports branches from), and results right where 3.14 borrows local
references (``LOAD_FAST_BORROW``) in code the jumps rearrange."""

from __future__ import annotations

import dis
import gc
import sys
import textwrap

import pytest

from bchook import ir
from goto_helpers import MODES, load
from test_goto_nosource import make_function


@pytest.fixture(params=MODES)
def build(request, tmp_path):
    return lambda source: load(tmp_path, source, request.param)


LOOPS = """
    @rewrite
    def count_goto(n):
        i = 0
        label .top
        if i >= n:
            goto .done
        i += 1
        goto .top
        label .done
        return i

    def count_while(n):
        i = 0
        while i < n:
            i += 1
        return i
"""


def _jumps(func) -> list[str]:
    return [i.opname for i in dis.get_instructions(func) if "JUMP" in i.opname]


def test_a_goto_loop_compiles_like_a_while_loop(build):
    m = build(LOOPS)
    assert [m.count_goto(n) for n in range(4)] == [0, 1, 2, 3]
    goto_code = [i for i in dis.get_instructions(m.count_goto) if i.opname != "NOP"]
    while_code = [i for i in dis.get_instructions(m.count_while) if i.opname != "NOP"]
    # ``if i >= n: goto .done`` is one conditional jump, and (3.10, 3.11) the backward
    # goto tests at the bottom as a while loop does: nothing more than the while loop
    # (but a NOP on the goto's line, for line tracers: test_goto_coverage.py)
    assert len(goto_code) <= len(while_code), dis.Bytecode(m.count_goto).dis()
    assert len(_jumps(m.count_goto)) <= len(_jumps(m.count_while))


def test_a_goto_loop_has_the_names_and_constants_of_a_while_loop(build):
    m = build(LOOPS)
    goto_code, while_code = m.count_goto.__code__, m.count_while.__code__
    assert goto_code.co_names == while_code.co_names == ()  # no marker names left
    assert goto_code.co_consts == while_code.co_consts


MARKERS = """
    import contextlib

    @rewrite
    def in_finally(n):
        try:
            pass
        finally:
            i = 0
            label .top
            i += 1
            if i < n:
                goto .top
        return i

    @rewrite
    def exits(items):
        for x in items:
            with contextlib.nullcontext():
                if x == 1:
                    break
                if x == 2:
                    goto .found
        return "none"
        label .found
        return "found"

    @rewrite
    def under_if_false(n):
        for i in range(n):
            if i == 2:
                goto .dead
        if False:
            label .dead
            return i
        return -1

    @rewrite
    def nested(n):
        def inner(k):
            goto .end
            k = -1
            label .end
            return k + n
        return inner(1)
"""


def _markers(code) -> list:
    return [(co.co_name, name) for co in ir.walk_code(code) for name in co.co_names
            if name.startswith("@goto:") or name in ("goto", "label")]


def test_no_marker_name_stays_in_any_code_object(build):
    m = build(MARKERS)
    assert (m.in_finally(3), m.exits([2]), m.exits([1, 2]), m.under_if_false(3),
            m.under_if_false(1), m.nested(4)) == (3, "found", "none", 2, -1, 5)
    for func in (m.in_finally, m.exits, m.under_if_false, m.nested):
        assert not _markers(func.__code__), dis.Bytecode(func).dis()


def test_no_marker_name_stays_in_module_code():
    from bchook.pipeline.driver import transform_source
    from bchook.passes.goto import GotoPass

    source = "skipped = False\ngoto .end\nskipped = True\nlabel .end\n"
    code = transform_source(source, "<markers>", "markers", [GotoPass()])
    assert not _markers(code)
    namespace = {}
    exec(code, namespace)
    assert namespace["skipped"] is False
    plain = compile("skipped = False\n", "<markers>", "exec", dont_inherit=True)
    assert code.co_names == plain.co_names


def test_without_source_goto_and_label_names_go_too():
    func = make_function([
        "x = 0",
        "label .start",
        "if x == 10:",
        "    goto .end",
        "x += 1",
        "goto .start",
        "label .end",
        "return x",
    ])
    assert func() == 10
    assert func.__code__.co_names == ()
    plain = {}
    exec("def func():\n    x = 0\n    while x != 10:\n        x += 1\n    return x\n"
         "    pass\n", plain)
    assert func.__code__.co_consts == plain["func"].__code__.co_consts


DROPPED = """
    @rewrite
    def after_return(flag):
        if flag:
            goto .later
        return "early"
        label .later
        return "later"

    @rewrite
    def under_if_false(n):
        for i in range(n):
            if i == 2:
                goto .dead
        if False:
            label .dead
            return i
        return -1

    @rewrite
    def after_endless_loop(n):
        goto .start
        while True:
            n += 1
        label .start
        return n
"""

NOT_TAKEN = "NOT_TAKEN" in dis.opmap
BRANCHES = ("POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_NONE",
            "POP_JUMP_IF_NOT_NONE", "END_SEND")


@pytest.mark.skipif(not NOT_TAKEN, reason="NOT_TAKEN is new in 3.14")
def test_not_taken_only_right_after_a_branch(build):
    m = build(DROPPED)
    for func in (m.after_return, m.under_if_false, m.after_endless_loop):
        code = list(dis.get_instructions(func))
        for before, ins in zip(code, code[1:]):
            if ins.opname == "NOT_TAKEN":
                assert before.opname in BRANCHES, dis.Bytecode(func).dis()
    assert (m.after_return(True), m.after_return(False)) == ("later", "early")
    assert (m.under_if_false(5), m.under_if_false(1)) == (2, -1)
    assert m.after_endless_loop(4) == 4


@pytest.mark.skipif(not hasattr(getattr(sys, "monitoring", None), "events") or
                    not hasattr(sys.monitoring.events, "BRANCH_LEFT"),
                    reason="sys.monitoring reports BRANCH_LEFT/RIGHT from 3.14")
def test_branch_events_come_from_branches(build):
    m = build(DROPPED)
    mon = sys.monitoring
    tool = mon.PROFILER_ID
    mon.use_tool_id(tool, "test_goto_layout")
    events = []
    try:
        for event in (mon.events.BRANCH_LEFT, mon.events.BRANCH_RIGHT):
            mon.register_callback(tool, event, lambda code, src, dest: events.append(
                (code, src)))
        for func in (m.after_return, m.under_if_false):
            mon.set_local_events(tool, func.__code__,
                                 mon.events.BRANCH_LEFT | mon.events.BRANCH_RIGHT)
        results = [m.after_return(True), m.after_return(False), m.under_if_false(5),
                   m.under_if_false(1)]
    finally:
        for func in (m.after_return, m.under_if_false):
            mon.set_local_events(tool, func.__code__, 0)
        mon.free_tool_id(tool)
    assert results == ["later", "early", 2, -1]
    assert events
    for code, offset in events:
        at = {i.offset: i.opname for i in dis.get_instructions(code)}
        assert at[offset] in BRANCHES + ("FOR_ITER",), (offset, dis.Bytecode(code).dis())


# -- borrowed references (3.14+) -------------------------------------------------------------

RESOURCE = """
        import gc

        class Res:
            def __init__(self, name, log):
                self.name, self.log = name, log
            def __enter__(self):
                self.log.append("enter " + self.name)
                return self
            def __exit__(self, *exc):
                self.log.append("exit " + self.name)
            def __del__(self):
                gc.collect()  # frees whatever a dangling borrowed reference pointed to
                self.log.append("del " + self.name)
"""


@pytest.mark.slow
def test_goto_back_over_code_that_rebinds_the_local_a_with_holds(build):
    m = build(RESOURCE + """
        @rewrite
        def rebind(log, n):
            i = 0
            res = Res("r0", log)
            label .again
            with res:
                log.append("body " + res.name)
                i += 1
                res = Res("r%d" % i, log)  # the with statement still holds the old one
                log.append("rebound")
            if i < n:
                goto .again
            return i

        def reference(log, n):
            i = 0
            res = Res("r0", log)
            while True:
                with res:
                    log.append("body " + res.name)
                    i += 1
                    res = Res("r%d" % i, log)
                    log.append("rebound")
                if not i < n:
                    break
            return i
    """)
    for n in (1, 3):
        got, expected = [], []
        assert m.rebind(got, n) == m.reference(expected, n) == n
        gc.collect()
        assert got == expected
        assert got[:5] == ["enter r0", "body r0", "rebound", "exit r0", "del r0"]
        assert got.count("exit r0") == got.count("del r0") == 1
        assert got[-1] == "del r%d" % n


def test_goto_back_over_a_del_of_the_local_a_with_holds(build):
    m = build(RESOURCE + """
        @rewrite
        def delete(log, n):
            i = 0
            res = Res("r0", log)
            label .again
            with res:
                del res  # the with statement's reference keeps it until __exit__
                log.append("body %d" % i)
            i += 1
            if i < n:
                res = Res("r%d" % i, log)
                goto .again
            return i
    """)
    log = []
    assert m.delete(log, 3) == 3
    assert log == ["enter r0", "body 0", "exit r0", "del r0",
                   "enter r1", "body 1", "exit r1", "del r1",
                   "enter r2", "body 2", "exit r2", "del r2"]


def test_jumps_inside_a_with_whose_manager_cpython_borrowed():
    # Without its source, with_goto keeps CPython's borrows: the with body was straight
    # code (the gotos are attribute loads), so ``res`` may be borrowed while on the stack.
    env = {}
    exec(textwrap.dedent(RESOURCE), env)
    func = make_function([
        "log = []",
        "res = Res('r', log)",
        "with res:",
        "    goto .second",
        "    label .first",
        "    log.append('first')",
        "    goto .done",
        "    label .second",
        "    log.append('second')",
        "    goto .first",
        "    label .done",
        "    log.append('done')",
        "del res",
        "return log",
    ], env=env)
    assert func() == ["enter r", "second", "first", "done", "exit r", "del r"]
