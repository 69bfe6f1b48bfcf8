"""constfold against what each CPython release compiles: the folds CPython leaves to us on
every release, constants loaded the way CPython loads them (3.14's LOAD_SMALL_INT, 3.15's
LOAD_COMMON_CONSTANT), 3.14's NOT_TAKEN and borrowed loads, 3.14's deferred annotations
(PEP 649), 3.15's two-value for loops, and the run-time guard's dict watchers."""

from __future__ import annotations

import dis
import sys
import textwrap
import types

import pytest

from bchook.pipeline.driver import transform_source
from bchook.passes.constfold import ConstFoldPass
from constfold_helpers import (
    CONSTANT_LOADS, assert_folds, compile_both, count_ops, find_code, functions,
    loaded_constants, opnames, outcome,
)

PY314 = sys.version_info >= (3, 14)
ALL_OPTIONS = {"builtins": 1, "stdlib": 1, "caps": 1, "membership_sets": 1}


def all_code(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from all_code(const)


# -- what CPython does not fold, on any release, and we do ---------------------------------

@pytest.mark.parametrize("body,gone,value,options", [
    ("return 1 < 2", "compare", True, {}),
    ("return None is None", "is", True, {}),
    ("return 'x' in 'xyz'", "contains", True, {}),
    ("return [1, 2, 3][0]", "subscr", 1, {}),
    ("return 'abc'.upper()", "call", "ABC", {}),
    ("return len('abc')", "call", 3, {"builtins": 1}),
    ("x = 3\n    return x * 2", "binary", 6, {}),
], ids=["compare", "is", "in", "subscript", "method", "builtin", "local"])
def test_cpython_leaves_it_and_constfold_folds_it(body, gone, value, options):
    # assert_folds checks that the plain code still has the operation (CPython did not
    # fold it) and the folded code has not
    assert assert_folds(f"def f():\n    {body}\n", gone=[gone], **options) == (
        "returns", type(value), repr(value))
    plain, folded = compile_both(f"def f():\n    {body}\n", **options)
    loaded = loaded_constants(find_code(folded, "f"))
    assert any(v == value and type(v) is type(value) for v in loaded), loaded


def cpython_load_of(value) -> str:
    """The instruction CPython compiles ``y = <value>`` with."""
    code = compile(f"def g():\n    y = {value!r}\n", "<cpython>", "exec").co_consts[0]
    names = opnames(code)
    return names[names.index("STORE_FAST") - 1]


@pytest.mark.parametrize("expr,value", [
    ("x < 2", False), ("(None, x)[0]", None), ("x * 2", 6), ("x * 100", 300),
    ("-x // 3", -1), ("'abc'[x:]", ""), ("'abc'[:x]", "abc"), ("(x, x)", (3, 3)),
    ("x - 3", 0), ("x * 85", 255), ("x * 86", 258),
])
def test_folded_constants_are_loaded_as_cpython_loads_them(expr, value):
    # (stored, not returned: 3.12 and 3.13 return a constant with RETURN_CONST)
    src = f"def f():\n    x = 3\n    y = {expr}\n    return [y]\n"
    plain, folded = compile_both(src)
    assert outcome(folded, "f()") == outcome(plain, "f()")
    f = find_code(folded, "f")
    loads = [(i.opname, i.argval) for i in dis.get_instructions(f)
             if i.opname in CONSTANT_LOADS]
    used = {op for op, v in loads if v == value and type(v) is type(value)}
    assert used == {cpython_load_of(value)}, loads


# -- 3.14: a decided branch takes its NOT_TAKEN with it ------------------------------------

BRANCHES = """
from typing import Final
ON: Final = True
OFF: Final = False
def f(x):
    if ON:
        x += 1
    if OFF:
        x += 100
    while OFF:
        x -= 1
    y = 'a' if ON else 'b'
    if x > 3:
        y += '!'
    return x, y
"""


def test_no_not_taken_is_left_without_its_branch():
    assert_folds(BRANCHES, "f(3)", gone=["global"])
    plain, folded = compile_both(BRANCHES)
    names = opnames(find_code(folded, "f"))
    assert count_ops(find_code(folded, "f"), ["branch"]) == 1  # only `if x > 3`
    for k, name in enumerate(names):
        if name == "NOT_TAKEN":
            assert names[k - 1].startswith("POP_JUMP_IF"), names
    if PY314:
        assert names.count("NOT_TAKEN") == 1


@pytest.mark.skipif(not PY314, reason="sys.monitoring reports branches from NOT_TAKEN on 3.14+")
def test_branch_events_come_from_the_branches_that_are_left():
    plain, folded = compile_both(BRANCHES)
    f = functions(folded)
    jumps = {i.offset for i in dis.get_instructions(f) if i.opname.startswith("POP_JUMP_IF")}
    mon = sys.monitoring
    tool = mon.PROFILER_ID
    events = []

    def record(code, source, destination):
        if code is f.__code__:
            events.append(source)

    mon.use_tool_id(tool, "constfold-test")
    try:
        mon.register_callback(tool, mon.events.BRANCH_LEFT, record)
        mon.register_callback(tool, mon.events.BRANCH_RIGHT, record)
        mon.set_local_events(tool, f.__code__, mon.events.BRANCH_LEFT | mon.events.BRANCH_RIGHT)
        assert f(3) == (4, "a!") and f(1) == (2, "a")
    finally:
        mon.set_local_events(tool, f.__code__, 0)
        mon.free_tool_id(tool)
    assert events and set(events) <= jumps, (events, jumps)


# -- borrowed loads and superinstructions ------------------------------------------------------

def loaded_locals(code) -> list[str]:
    out = []
    for i in dis.get_instructions(code):
        if i.opname.startswith("LOAD_FAST"):
            out += list(i.argval) if isinstance(i.argval, tuple) else [i.argval]
    return out


def fused_loads(code) -> int:
    return sum(1 for name in opnames(code)
               if name in ("LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW_LOAD_FAST_BORROW"))


def test_propagation_through_fused_and_borrowed_loads():
    assert_folds("def f():\n    a = 2\n    b = 3\n    return a * b\n", gone=["local", "binary"])
    # a pair that holds no constant local stays fused; one that does is split
    src = "def f(p, q):\n    a = 2\n    return (p + q) * a, a + p\n"
    assert_folds(src, "f(1, 2)")
    plain, folded = compile_both(src)
    p, f = find_code(plain, "f"), find_code(folded, "f")
    assert fused_loads(f) == fused_loads(p) - (1 if fused_loads(p) == 2 else 0)
    assert 2 in loaded_constants(f)
    assert loaded_locals(f) == ["p", "q", "p"]


DELETIONS = """
import gc
events = []
class Noisy:
    def __init__(self, n):
        self.n = n
    def __del__(self):
        events.append(('del', self.n))
        gc.collect()
def f(flag):
    k = 3
    d = Noisy(1)
    r = d.n * k
    d = Noisy(2)
    events.append('rebound')
    x = 'abc'
    s = [d.n, k * 2, x.upper()]
    x = Noisy(3)
    t = x.n + k
    del d
    events.append('deleted')
    y = 5
    u = y + 1
    del y
    try:
        y
    except UnboundLocalError:
        events.append('unbound')
    x = None
    events.append('end')
    return r, s, t, u
def g():
    return f(1), events
"""


def test_folds_next_to_rebinding_and_del_of_locals():
    # every store, rebinding and del stays, and the objects die when they did; a local
    # stored twice or deleted is never propagated (x.n on 'abc', or y after del)
    assert assert_folds(DELETIONS, "g()", in_code="f", **ALL_OPTIONS)[0] == "returns"
    plain, folded = compile_both(DELETIONS)
    f = find_code(folded, "f")
    assert count_ops(f, ["binary"]) < count_ops(find_code(plain, "f"), ["binary"])


@pytest.mark.skipif(not PY314, reason="borrowed loads are 3.14+")
def test_borrowed_loads_in_folded_code_follow_cpythons_rules():
    # the frozenset rewrite puts branches between `d` and the list that consumes it: a
    # borrowed `d` would outlive its basic block, which CPython's proof rules out
    from bchook import ir
    from bchook.ir import _borrow

    src = DELETIONS + textwrap.dedent("""
        def h(x):
            d = Noisy(4)
            out = [d, x in ('alpha', 'beta', 'gamma', 'delta', 'epsilon'), d.n]
            d = None
            return out[1:]
        def k():
            return h('beta'), h('omega'), events
    """)
    assert_folds(src, "k()", in_code="h", **ALL_OPTIONS)
    plain, folded = compile_both(src, **ALL_OPTIONS)
    assert count_ops(find_code(folded, "h"), ["contains"]) == 2  # the rewrite happened
    for code in all_code(folded):
        bc = ir.Bytecode.from_code(code)
        flow = bc.flow()
        instrs = flow.instrs
        starts = flow.entries()
        assert _borrow.unsafe_borrows(instrs, starts, flow.depths()) == [], code.co_name


# -- 3.14: deferred annotations (PEP 649) ----------------------------------------------------

def run_module(code, name="annotated"):
    module = types.ModuleType(name)
    exec(code, module.__dict__)
    return module


@pytest.mark.skipif(not PY314, reason="annotations are deferred on 3.14+")
def test_annotations_stay_deferred():
    src = textwrap.dedent("""
        from typing import Final
        X: Final = 3
        Z: undefined_name = 5
        def f():
            return X * 2
    """)
    plain, folded = compile_both(src)
    assert count_ops(find_code(folded, "f"), ["global"]) == 0
    modules = [run_module(plain), run_module(folded)]
    for module in modules:
        assert module.f() == 6
        assert "__annotations__" not in module.__dict__  # nothing evaluated them
        with pytest.raises(NameError, match="undefined_name"):
            module.__annotations__
    import annotationlib

    forward = [annotationlib.get_annotations(m, format=annotationlib.Format.FORWARDREF)
               for m in modules]
    assert repr(forward[0]) == repr(forward[1])


@pytest.mark.parametrize("src,folds", [
    ("X: Final = 3", True),
    ("X: Final\nX = 3", False),                  # the annotation is not the store's
    ("X: Final\nX: int = 3", False),             # the store's own annotation is int
    ("X: int\nX: Final = 3", True),
    ("X: Final[int] = 3\nY: int = 4", True),
    ("if True:\n    X: Final = 3", True),
    ("X: Final = 3\nX: Final = 4", False),       # stored twice
    ("class C:\n    X: Final = 3\nX = 3", False),  # a class's annotation, not the module's
])
def test_which_annotation_makes_a_final(src, folds):
    # the same on every release, whether annotations are evaluated at once or deferred
    src = "from typing import Final\n" + src + "\ndef f():\n    return X * 2\n"
    if folds:
        assert_folds(src, gone=["global"])
    else:
        assert_folds(src, kept=["global"])


# -- loops (3.15 keeps two values on the stack for a for loop) --------------------------

def test_folds_inside_loops_and_comprehensions():
    src = """
        from typing import Final
        DEBUG: Final = False
        def f(items):
            out = []
            for i in items:
                for c in 'abz':
                    if DEBUG:
                        out.append('debug')
                    if c in ('a', 'b', 'c', 'd', 'e', 'f'):
                        out.append((i, c, 'ab'.upper(), len('xyz')))
                    elif c == 'z':
                        break
                else:
                    out.append(None)
            else:
                out.append([k * 2 for k in (1, 2) if not DEBUG])
            return out
    """
    assert_folds(src, "f([1, 2])", gone=["global"], builtins=1)  # DEBUG and len
    assert_folds(src, "f([1, 2])", **ALL_OPTIONS)


# -- the guard when the interpreter has no dict watcher left -------------------------------

def test_guard_without_a_dict_watcher_slot_runs_unfolded(tmp_path, run_python):
    (tmp_path / "conf.py").write_text("LEVEL = 1\ndef level():\n    return LEVEL * 10\n")
    (tmp_path / "main.py").write_text(textwrap.dedent("""
        import ctypes, dis
        api = ctypes.pythonapi
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                         ctypes.c_void_p, ctypes.c_void_p)
        taken = []
        if hasattr(api, "PyDict_AddWatcher"):  # 3.12+: take every free slot
            api.PyDict_AddWatcher.argtypes = [callback_type]
            api.PyDict_AddWatcher.restype = ctypes.c_int
            while True:
                callback = callback_type(lambda *args: 0)
                try:
                    api.PyDict_AddWatcher(callback)
                except RuntimeError:
                    break
                taken.append(callback)
        import conf
        folded = 'LOAD_GLOBAL' not in [i.opname for i in dis.get_instructions(conf.level)]
        conf.__dict__['LEVEL'] = 2
        print(bool(taken), folded, conf.level())
    """))
    rc, out, err = run_python(["-m", "bchook", "-p", "constfold", "-o", "constfold.guard=1",
                               "--no-cache", "main.py"], cwd=tmp_path)
    assert rc == 0, err
    watchers, folded, level = out.split()
    if watchers == "True":  # a write through __dict__ could not be seen: nothing folded
        assert (folded, level) == ("False", "20")
    else:  # 3.10/3.11: no dict watchers; the attribute guard alone, as documented
        assert folded == "True"
