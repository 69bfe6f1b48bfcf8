"""Code compiled at run time gets probes too: what traced code compiles with exec, eval
and compile, and what untraced modules compile for the classes and modules of traced code
(dataclasses, namedtuple, attrs). cProfile counts these calls; so must trace."""

from __future__ import annotations

import cProfile
import dis
import os
import pstats
import types

import pytest

from bchook.passes.trace.instrument import TracePass
from bchook.passes.trace.runtime import _runtime
from bchook.passes.trace.runtime._names import COMPILERS, SWEEP_CLASS, SWEEP_MODULE
from trace_helpers import accelerated

pytestmark = pytest.mark.skipif(not accelerated(), reason="the C recorder's hooks")

SHAPES = """\
import collections
import dataclasses
import typing

@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int

    def norm(self):
        return abs(self.x) + abs(self.y)

Pair = collections.namedtuple("Pair", "a b")

class Named(typing.NamedTuple):
    z: int

def make(n):
    @dataclasses.dataclass
    class Local:
        v: int
    return [Local(i) for i in range(n)]
"""

PROGRAM = """\
import shapes

SOURCE = "def generated(a):\\n    return a * 2\\n"

def use_exec():
    namespace = {}
    exec(SOURCE, namespace)
    return namespace["generated"](4)

def use_compile():
    code = compile(SOURCE, "<made by use_compile>", "exec")
    namespace = {"__builtins__": {}}  # runs without builtins, probes and all
    exec(code, namespace)
    return namespace["generated"](5)

def use_eval():
    return eval("  (lambda b: b + 1)(6)")

def main():
    points = [shapes.Point(i, -i) for i in range(5)]
    same = points[0] == shapes.Point(0, 0)
    pairs = [shapes.Pair(i, i) for i in range(3)]
    named = shapes.Named(1)
    local = shapes.make(2)
    return (sum(p.norm() for p in points), same, len(pairs), named.z, len(local),
            use_exec(), use_compile(), use_eval())

print(main())
"""


def counts(stats: dict) -> dict:
    """{(file name, function name): calls} of the code compiled at run time."""
    out = {}
    for (filename, _, name), value in stats.items():
        if filename.startswith("<") and not filename.startswith(("<frozen", "<built-in")):
            out[(filename, name)] = out.get((filename, name), 0) + value[1]
    return out


@pytest.fixture
def program(tmp_path):
    (tmp_path / "shapes.py").write_text(SHAPES)
    (tmp_path / "prog.py").write_text(PROGRAM)
    return tmp_path


def test_calls_of_code_compiled_at_run_time_are_counted(program, run_python):
    rc, plain, err = run_python(["prog.py"], cwd=program)
    assert rc == 0, err
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                               "prog.py"], cwd=program)
    assert (rc, out, err) == (0, plain, "")
    traced = counts(pstats.Stats(str(program / "t.prof")).stats)
    assert traced == {
        ("<string>", "__init__"): 5 + 1 + 2,   # Point's (5 + 1), make's Local's (2)
        ("<string>", "__eq__"): 1,
        ("<string>", "<lambda>"): 3 + 1 + 1,   # namedtuple's __new__ (Pair, Named), eval's
        ("<string>", "<module>"): 2,           # exec's and eval's code
        ("<string>", "generated"): 1,
        ("<made by use_compile>", "<module>"): 1,
        ("<made by use_compile>", "generated"): 1,
    }
    # cProfile agrees where its labels are unique (it keeps one of several code objects
    # with the same file, line and name: the others' calls are lost)
    rc, _, err = run_python(["-m", "cProfile", "-o", "c.prof", "prog.py"], cwd=program)
    assert rc == 0, err
    reference = counts(pstats.Stats(str(program / "c.prof")).stats)
    for key in [("<made by use_compile>", "<module>"), ("<made by use_compile>", "generated"),
                ("<string>", "__eq__")]:
        assert traced[key] == reference[key]


@pytest.mark.parametrize("options, shown", [
    (["trace.summary=off"], None),
    (["trace.sort=calls", "trace.limit=1"], "<string>:"),
])
def test_probing_compiled_code_keeps_the_summary_options(program, run_python, options, shown):
    args = [arg for option in options for arg in ("-o", option)]
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", *args, "prog.py"], cwd=program)
    assert rc == 0
    if shown is None:
        assert err == ""
    else:
        rows = [line for line in err.splitlines() if "%" in line and ":" in line]
        assert len(rows) == 1 and shown in rows[0] and "top 1 of" in err


def test_a_script_that_runs_before_its_body_ends(tmp_path, run_python):
    """A namedtuple made at module level of the script that then runs the program: its
    __new__ is probed when the name is given, not at the end of the body."""
    (tmp_path / "script.py").write_text(
        "from collections import namedtuple\n"
        "Pt = namedtuple('Pt', 'x y')\n"
        "def main(n):\n"
        "    return [Pt(i, i) for i in range(n)]\n"
        "assert len(main(50)) == 50\n")
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                             "script.py"], cwd=tmp_path)
    assert rc == 0, err
    assert counts(pstats.Stats(str(tmp_path / "t.prof")).stats)[("<string>", "<lambda>")] == 50


def test_attrs_classes(tmp_path, run_python):
    pytest.importorskip("attrs")
    (tmp_path / "a.py").write_text(
        "import attrs\n"
        "@attrs.define\n"
        "class C:\n"
        "    x: int\n"
        "    y: int = 0\n"
        "items = [C(i) for i in range(4)]\n"
        "print(items[1] == C(1), len(items))\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                               "a.py"], cwd=tmp_path)
    assert (rc, out, err) == (0, "True 4\n", "")
    traced = counts(pstats.Stats(str(tmp_path / "t.prof")).stats)
    assert traced[("<attrs generated methods __main__.C>", "__init__")] == 5
    assert traced[("<attrs generated methods __main__.C>", "__eq__")] == 1


@pytest.mark.slow
def test_networkx_argmap_wrappers(tmp_path, run_python):
    """networkx compiles a wrapper for each decorated function at its first call."""
    pytest.importorskip("networkx")
    (tmp_path / "g.py").write_text(
        "import networkx as nx\n"
        "g = nx.path_graph(5)\n"
        "for _ in range(3):\n"
        "    nx.single_source_dijkstra_path_length(g, 0)\n")
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "--include", "networkx*",
                             "--include", "g", "-o", "trace.output=t.prof", "g.py"],
                            cwd=tmp_path)
    assert rc == 0, err
    wrappers = {name: n for (_, name), n in counts(pstats.Stats(str(tmp_path / "t.prof"))
                                                    .stats).items()
                if name.startswith("argmap_single_source_dijkstra_path_length")}
    assert list(wrappers.values()) == [3]  # named by argmap: the function, a counter


def test_a_module_that_defines_those_names_keeps_them(tmp_path, run_python):
    (tmp_path / "own.py").write_text(
        "from re import compile\n"
        "def exec(text):\n"
        "    return 'own exec ' + text\n"
        "def main():\n"
        "    return compile('a+').pattern, exec('x'), eval('1 + 1')\n"
        "print(main())\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                               "own.py"], cwd=tmp_path)
    assert (rc, out, err) == (0, "('a+', 'own exec x', 2)\n", "")


def test_after_a_pass_that_dropped_names(tmp_path, run_python):
    """constfold before trace folds ``text.index('b')`` and drops the name ``index``: the
    names after it move down one place, and trace must find exec and compile where they
    are now, not where they were (it once hooked compile in exec's place and
    ZeroDivisionError in compile's)."""
    (tmp_path / "d.py").write_text(
        "def f():\n"
        "    text = 'a b'\n"
        "    where = text.index('b')\n"
        "    try:\n"
        "        exec(compile('1 / 0', '<made by f>', 'exec'))\n"
        "    except ZeroDivisionError:\n"
        "        return where\n"
        "print(f())\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "constfold,trace",
                               "-o", "trace.output=t.prof", "d.py"], cwd=tmp_path)
    assert (rc, out, err) == (0, "2\n", "")
    assert counts(pstats.Stats(str(tmp_path / "t.prof")).stats) == {
        ("<made by f>", "<module>"): 1}


def test_the_hooks_look_like_the_builtins(tmp_path, run_python):
    """In traced code the names exec, eval and compile are the recorder's hooks: help(),
    ``__doc__`` and inspect.signature() there say what they say of the builtins (test_inspect
    checks that every callable in builtins, the hooks included, has a signature)."""
    (tmp_path / "sig.py").write_text(
        "import builtins, inspect\n"
        "for f in (exec, eval, compile, builtins.__dict__.get('__bchook_exec__', exec)):\n"
        "    print(f.__name__, inspect.signature(f),\n"
        "          f.__doc__ == getattr(builtins, f.__name__).__doc__)\n")
    rc, plain, err = run_python(["sig.py"], cwd=tmp_path)
    assert rc == 0, err
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                               "sig.py"], cwd=tmp_path)
    assert (rc, out, err) == (0, plain, "")


#: Pickles code objects by value, constants one by one, as cloudpickle does for functions
#: compiled at run time (attrs' test suite pickles attrs classes with it).
PICKLES_CODE = """\
import io, marshal, pickle, types

def rebuild(data, consts):
    return marshal.loads(data).replace(co_consts=consts)

class CodePickler(pickle.Pickler):
    def reducer_override(self, obj):
        if type(obj) is types.CodeType:
            return rebuild, (marshal.dumps(obj.replace(co_consts=())), obj.co_consts)
        return NotImplemented

namespace = {}
exec("def generated(a):\\n    return a * 2\\n", namespace)
code = namespace["generated"].__code__
buffer = io.BytesIO()
CodePickler(buffer).dump(code)
copy = pickle.loads(buffer.getvalue())
print(copy.co_consts == code.co_consts, types.FunctionType(copy, namespace)(4))
"""


def test_code_compiled_at_run_time_pickles_by_value(tmp_path, run_python):
    """Its probes are constants: they pickle by reference, as the recorder's own."""
    (tmp_path / "pick.py").write_text(PICKLES_CODE)
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                               "pick.py"], cwd=tmp_path)
    assert (rc, out, err) == (0, "True 8\n", "")
    stats = counts(pstats.Stats(str(tmp_path / "t.prof")).stats)
    assert stats[("<string>", "generated")] == 1  # the copy ran with its probes


def test_probes_pickle_by_reference():
    import pickle

    accel = _runtime.load_accel()
    for name in ("ENTER", "LEAVE", "WRAP", "CALL"):
        probe = getattr(accel, name)
        assert pickle.loads(pickle.dumps(probe)) is probe


def test_stop_gives_back_the_code_compiled_at_run_time(tmp_path, run_python):
    (tmp_path / "s.py").write_text(
        "import dataclasses, bchook.trace\n"
        "@dataclasses.dataclass\n"
        "class D:\n"
        "    v: int\n"
        "probed = D.__init__.__code__\n"
        "bchook.trace.stop()\n"
        "print(D.__init__.__code__ is not probed, D(1).v)\n"
        "bchook.trace.start()\n"
        "print(D.__init__.__code__ is probed, D(2).v)\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                               "s.py"], cwd=tmp_path)
    assert (rc, out, err) == (0, "True 1\nTrue 2\n", "")
    assert counts(pstats.Stats(str(tmp_path / "t.prof")).stats)[("<string>", "__init__")] == 1


# -- no cost where nothing is compiled at run time ------------------------------------------

def compiled(source: str, path) -> types.CodeType:
    from bchook.pipeline.driver import transform_source
    return transform_source(source, str(path), "cost_sample", [TracePass()])


def all_names(code: types.CodeType) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= all_names(const)
    return names


def test_code_without_classes_or_compilers_gets_no_hooks(tmp_path):
    code = compiled("def f(x):\n    return [g(i) for i in x]\ndef g(i):\n    return i\n",
                    tmp_path / "a.py")
    functions = [c for c in code.co_consts if isinstance(c, types.CodeType)]
    for function in functions:
        assert not all_names(function) & {SWEEP_CLASS, SWEEP_MODULE, *COMPILERS.values()}
    assert SWEEP_MODULE in code.co_names  # once, when the module has run


def test_hooks_where_code_is_compiled_or_classes_made(tmp_path):
    code = compiled("def f(src):\n    exec(src)\n    return eval(src), compile\n"
                    "def k():\n    class A:\n        pass\n    return A\n",
                    tmp_path / "b.py")
    f, k = [c for c in code.co_consts if isinstance(c, types.CodeType)]
    loaded = {ins.argval for ins in dis.get_instructions(f) if "GLOBAL" in ins.opname}
    assert {COMPILERS["exec"], COMPILERS["eval"], COMPILERS["compile"]} <= loaded
    assert not {"exec", "eval", "compile"} & loaded
    assert SWEEP_CLASS in k.co_names


def test_nothing_for_the_pure_python_recorder(tmp_path):
    from bchook.pipeline.driver import transform_source
    code = transform_source("def f(src):\n    exec(src)\nclass A:\n    pass\n",
                            str(tmp_path / "c.py"), "py_sample", [TracePass(accel="0")])
    assert not all_names(code) & {SWEEP_CLASS, SWEEP_MODULE, *COMPILERS.values()}


def test_probed_runtime_code_is_cached(tmp_path):
    _runtime.discard()
    try:
        code = compiled("x = 1\n", tmp_path / "d.py")
        exec(code, {"__name__": "d_sample"})
        tracer = _runtime.tracer()
        made = compile("def h():\n    return 1\n", "<x>", "exec")
        again = compile("def h():\n    return 1\n", "<x>", "exec")
        other_file = compile("def h():\n    return 1\n", "<y>", "exec")
        assert tracer.probe_compiled(made) is tracer.probe_compiled(again)
        assert tracer.probe_compiled(made) is not made
        assert tracer.probe_compiled(other_file).co_filename == "<y>"
    finally:
        _runtime.discard()


def test_cprofile_reference_is_what_the_standard_library_says():
    """The reference above: cProfile sees dataclasses' generated __init__ as <string>."""
    import dataclasses

    @dataclasses.dataclass
    class E:
        v: int

    prof = cProfile.Profile()
    prof.enable()
    E(1)
    prof.disable()
    names = {(os.path.basename(f), n) for f, _, n in pstats.Stats(prof).stats}
    assert ("<string>", "__init__") in names
