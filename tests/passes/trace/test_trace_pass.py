"""The trace pass and its runtime, in process: probes, counts, transparency, switching."""

from __future__ import annotations

import cProfile
import collections
import inspect
import os
import pstats
import signal
import sys
import threading
import traceback
import types

import pytest

import bchook.trace
from bchook import OptionError, ir
from bchook.ir import _version as V
from bchook.passes.trace.instrument import TracePass, untraced
from bchook.passes.trace.runtime import _runtime
from bchook.passes.trace.runtime._names import CALL, ENTER, LINES, PY_LOG
from trace_helpers import BACKENDS, CORPUS, accelerated, load, options_for, own_stats, traced


@pytest.fixture(autouse=True)
def fresh_tracer():
    """Each test starts its own tracer (the runtime keeps one per process)."""
    _runtime.discard()
    yield
    _runtime.discard()


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "c" and not accelerated():
        pytest.skip("the C accelerator is not built")
    return request.param


@pytest.fixture
def corpus_path(tmp_path):
    path = tmp_path / "corpus_sample.py"
    path.write_text(CORPUS)
    return path


def run_corpus(path, passes=(), settrace=None):
    module = load(CORPUS, path, "corpus_sample", passes)
    if settrace is not None:
        sys.settrace(settrace)
    try:
        return module.main()
    finally:
        sys.settrace(None)


# -- options ----------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"mode": "everything"}, "expected one of calls, timeline, lines"),
    ({"lines": "sometimes"}, "expected 1/0"),
    ({"output": "trace.txt"}, "no known extension"),
    ({"handler": "no_colon"}, "package.module:function"),
    ({"handler": "pkg.mod:"}, "package.module:function"),
    ({"buffer": "0"}, "at least one event"),
    ({"buffer": "many"}, "invalid literal"),
    ({"colour": "red"}, "has no option 'colour'"),
])
def test_bad_options_are_option_errors(options, message):
    with pytest.raises(OptionError, match=message):
        TracePass(**options)


def test_options_are_converted():
    p = TracePass(mode="timeline", lines="count", output="a.json, b.prof,c.folded",
                  handler="pkg.mod:func", buffer="10", accel="0")
    assert p.options == {"mode": "timeline", "lines": "count",
                         "output": "a.json,b.prof,c.folded", "handler": "pkg.mod:func",
                         "buffer": 10, "accel": False}
    assert TracePass(lines="1").options["lines"] == "flags"
    assert TracePass(lines="0").options["lines"] == ""


def test_cache_key_names_the_recorder():
    assert TracePass(accel="0").cache_key().endswith("backend=py")
    expected = "c" if accelerated() else "py"
    assert TracePass().cache_key().endswith(f"backend={expected}")
    assert TracePass(mode="timeline").cache_key() != TracePass().cache_key()


# -- the program does what it did -------------------------------------------------------

@pytest.mark.parametrize("extra", [{}, {"mode": "timeline", "lines": "count"},
                                   {"lines": "1"}])
def test_corpus_results_unchanged(corpus_path, backend, extra):
    plain = run_corpus(corpus_path)
    traced_result = run_corpus(corpus_path, [TracePass(**options_for(backend, **extra))])
    assert traced_result == plain


def test_code_metadata_unchanged(corpus_path, backend):
    plain = load(CORPUS, corpus_path, "corpus_sample")
    probed = load(CORPUS, corpus_path, "corpus_sample",
                  [TracePass(**options_for(backend))])
    for name in ("plain", "closure", "gen", "delegate", "co_main", "match_it", "managed"):
        a, b = getattr(plain, name), getattr(probed, name)
        a = getattr(a, "__wrapped__", a)
        b = getattr(b, "__wrapped__", b)
        assert inspect.signature(a) == inspect.signature(b)
        assert inspect.getsourcelines(a) == inspect.getsourcelines(b)
        for attr in ("co_firstlineno", "co_flags", "co_varnames", "co_argcount",
                     "co_freevars", "co_cellvars", "co_name", "co_filename"):
            assert getattr(a.__code__, attr) == getattr(b.__code__, attr), (name, attr)
    assert inspect.isgeneratorfunction(probed.gen)
    assert inspect.iscoroutinefunction(probed.co_main)
    assert inspect.isasyncgenfunction(probed.co_agen)


def _lines(code):
    out = []
    for _, _, line in code.co_lines():
        if line is not None and (not out or out[-1] != line):
            out.append(line)
    return out


@pytest.mark.parametrize("extra", [{}, {"lines": "count", "mode": "calls"}])
def test_co_lines_unchanged(corpus_path, backend, extra):
    from bchook.pipeline.driver import transform_source
    plain = transform_source(CORPUS, str(corpus_path), "m", [])
    probed = transform_source(CORPUS, str(corpus_path), "m",
                              [TracePass(**options_for(backend, **extra))])
    pairs = list(zip(ir.walk_code(plain), ir.walk_code(probed)))
    assert len(pairs) == len(list(ir.walk_code(plain))) > 40
    for a, b in pairs:
        assert (a.co_name, _lines(a)) == (b.co_name, _lines(b))


def _trace_events(path, passes):
    events = []

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == str(path):
            events.append((event, frame.f_code.co_name, frame.f_lineno))
            return tracer
        return None

    run_corpus(path, passes, settrace=tracer)
    return events


@pytest.mark.parametrize("extra", [{}, {"mode": "timeline", "lines": "count"}])
def test_settrace_events_unchanged(corpus_path, backend, extra):
    plain = _trace_events(corpus_path, [])
    probed = _trace_events(corpus_path, [TracePass(**options_for(backend, **extra))])
    assert len(plain) > 500
    assert probed == plain


def _line_at(code, offset):
    for start, end, line in code.co_lines():
        if start <= offset < end:
            return line
    return "?"


def _monitoring_events(path, passes):
    """sys.monitoring's LINE, JUMP and branch events in ``path``, offsets as lines (the
    probes move every offset; the lines they stand for must stay)."""
    mon = sys.monitoring
    events = mon.events
    tool = next(t for t in range(6) if mon.get_tool(t) is None)
    out = []

    def where(kind):
        def callback(code, source, destination):
            if code.co_filename == str(path):
                out.append((kind, code.co_name, _line_at(code, source),
                            _line_at(code, destination)))
        return callback

    callbacks = {events.LINE: lambda code, line: out.append(("line", code.co_name, line))
                 if code.co_filename == str(path) else None,
                 events.JUMP: where("jump")}
    if hasattr(events, "BRANCH_LEFT"):  # 3.14+
        callbacks[events.BRANCH_LEFT] = where("left")
        callbacks[events.BRANCH_RIGHT] = where("right")
    else:
        callbacks[events.BRANCH] = where("branch")
    module = load(CORPUS, path, "corpus_sample", passes)
    mon.use_tool_id(tool, "trace-test")
    try:
        for event, callback in callbacks.items():
            mon.register_callback(tool, event, callback)
        mon.set_events(tool, sum(callbacks))
        module.main()
    finally:
        mon.set_events(tool, 0)
        mon.free_tool_id(tool)
    return out


@pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="sys.monitoring is 3.12+")
@pytest.mark.parametrize("extra", [{}, {"mode": "timeline", "lines": "count"},
                                   {"lines": "1"}])
def test_monitoring_events_unchanged(corpus_path, backend, extra):
    """Line, jump and branch events (3.14: BRANCH_LEFT/BRANCH_RIGHT, what coverage
    measures branches with) are those of the code without probes. 3.13+ report no line
    event for a body on its ``def`` line (``lambda: x``): the probes before it keep that."""
    plain = _monitoring_events(corpus_path, [])
    probed = _monitoring_events(corpus_path, [TracePass(**options_for(backend, **extra))])
    assert len(plain) > 400 and {e[0] for e in plain} > {"line", "jump"}
    assert probed == plain


def test_tracebacks_unchanged(tmp_path, backend):
    source = (
        "def a(x):\n"
        "    return b(x) + 1\n"
        "def b(x):\n"
        "    y = [x]\n"
        "    return c(y)\n"
        "def c(y):\n"
        "    return y[5]\n"
        "def g():\n"
        "    yield 1\n"
        "    a(0)\n"
    )
    path = tmp_path / "tb_sample.py"
    path.write_text(source)

    def failure(module, call):
        with pytest.raises(IndexError) as info:
            call(module)
        tb = info.value.__traceback__
        frames = [(s.name, s.lineno, s.line) for s in traceback.extract_tb(tb)][1:]
        frame_lines = []
        while tb is not None:
            frame_lines.append(tb.tb_frame.f_lineno)
            tb = tb.tb_next
        return frames, frame_lines[1:]

    plain = load(source, path, "tb_sample")
    probed = traced(source, path, "tb_sample", **options_for(backend))
    for call in (lambda m: m.a(0), lambda m: list(m.g())):
        expected = failure(plain, call)
        assert failure(probed, call) == expected
        assert [line for _, line, _ in expected[0]][-1] == 7


BORROWS = """\
import gc
LOG = []


class Tracked:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        gc.collect()  # walks every frame's stack: a freed value still there is a crash
        LOG.append(self.name)


def rebind(n):
    x = Tracked(f"a{n}")
    y = (x,
         x := Tracked(f"b{n}"))
    return [t.name for t in y]


def delete(n):
    x = Tracked(f"c{n}")
    y = [x,
         len(LOG)]
    del x
    return y[0].name


def returned(n):
    x = Tracked(f"d{n}")
    return x


def suspended(n):
    x = Tracked(f"e{n}")
    y = yield x
    x = y
    del y
    yield x.name


def loop(n):
    out = []
    for i in range(n):
        t = Tracked(f"f{i}")
        out.append(t.name if i else
                   t.name.upper())
        t = None
    return out


def handled(n):
    try:
        x = Tracked(f"g{n}")
        return x.name + (
            1 / 0)
    except ZeroDivisionError:
        x = None
        return "caught"


def main():
    out = [rebind(1), delete(2), returned(3).name, loop(3), handled(4)]
    g = suspended(5)
    first = next(g)
    out.append(first.name)
    del first
    out.append(g.send(Tracked("h5")))
    g.close()
    del g
    gc.collect()
    return out, list(LOG)
"""


@pytest.mark.slow
@pytest.mark.parametrize("extra", [{}, {"mode": "timeline", "lines": "count"},
                                   {"lines": "1"}])
def test_borrowed_loads_stay_safe(tmp_path, backend, extra):
    """3.14+ load locals without a reference where CPython proves the local outlives the
    value on the stack. Probes between such a load and its use, the token popped before a
    return, the handlers around the body: none may leave a value on the stack whose local
    was rebound or deleted. Objects that run the collector when freed make such a value a
    crash (the collector walks the frame's stack) or a wrong result."""
    path = tmp_path / "borrow_sample.py"
    path.write_text(BORROWS)
    plain = load(BORROWS, path, "borrow_sample").main()
    probed = traced(BORROWS, path, "borrow_sample", **options_for(backend, **extra))
    assert probed.main() == plain
    assert plain[0] == [["a1", "b1"], "c2", "d3", ["F0", "f1", "f2"], "caught", "e5",
                        "h5"]
    if V.BORROWED_LOADS:  # probes sit next to loads that stay borrowed where it is safe
        names = {ir.version.OPNAME[op] for c in ir.walk_code(probed.suspended.__code__)
                 for op in ir.raw.opcodes(c)}
        assert "LOAD_FAST_BORROW" in names


# -- what is recorded -------------------------------------------------------------------

def test_call_counts_equal_cprofile(corpus_path, backend):
    profiler = cProfile.Profile()
    module = load(CORPUS, corpus_path, "corpus_sample")
    profiler.enable()
    module.main()
    profiler.disable()
    reference = {k: v[:2] for k, v in pstats.Stats(profiler).stats.items()
                 if k[0] == str(corpus_path)}
    probed = traced(CORPUS, corpus_path, "corpus_sample", **options_for(backend))
    bchook.trace.reset()
    probed.main()
    ours = own_stats(corpus_path)
    assert len(reference) > 30
    assert ours == reference


def _counts_with_callers(stats, path):
    return {k: (v[0], v[1], {c: e[:2] for c, e in v[4].items() if c[0] == str(path)})
            for k, v in stats.items() if k[0] == str(path)}


def test_recursion_counts_like_cprofile(tmp_path, backend):
    source = (
        "def fib(n):\n"
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "def even(n):\n"
        "    return True if n == 0 else odd(n - 1)\n"
        "def odd(n):\n"
        "    return False if n == 0 else even(n - 1)\n"
        "def main():\n"
        "    return fib(10), fib(3), even(6)\n"
    )
    path = tmp_path / "rec_sample.py"
    path.write_text(source)
    plain = load(source, path, "rec_sample")
    profiler = cProfile.Profile()
    profiler.runcall(plain.main)
    reference = _counts_with_callers(pstats.Stats(profiler).stats, path)
    module = traced(source, path, "rec_sample", **options_for(backend))
    bchook.trace.reset()
    module.main()
    stats = bchook.trace.profile().stats()
    assert _counts_with_callers(stats, path) == reference
    cc, nc, tt, ct, callers = stats[(str(path), 1, "fib")]
    assert (cc, nc) == (2, 182)          # 177 + 5 calls, 2 of them primitive
    assert callers[(str(path), 1, "fib")][:2] == (180, 4)
    assert 0 <= tt <= ct


def test_generators_count_like_cprofile(tmp_path, backend):
    """A generator expression starts at its first ``next`` (3.15 gets its iterator in
    its own code before the generator exists: that is no call yet); a generator closed or
    collected while suspended outside any try block is resumed to raise GeneratorExit,
    one more call, as cProfile counts it (3.14+ run that frame only when a tool watches,
    as cProfile does, and the probes ask for the same)."""
    source = (
        "def leaf():\n"
        "    return 1\n"
        "def gen(n):\n"
        "    for i in range(n):\n"
        "        yield i\n"
        "def make(n):\n"
        "    g = (x + leaf() for x in range(n))\n"
        "    leaf()\n"
        "    return list(g)\n"
        "def main():\n"
        "    make(3)\n"
        "    g = gen(5)\n"
        "    next(g)\n"
        "    g.close()\n"
        "    next(gen(2))\n"
        "    return any(x > 1 for x in range(9))\n"
    )
    path = tmp_path / "gx_sample.py"
    path.write_text(source)
    plain = load(source, path, "gx_sample")
    profiler = cProfile.Profile()
    profiler.runcall(plain.main)
    reference = _counts_with_callers(pstats.Stats(profiler).stats, path)
    module = traced(source, path, "gx_sample", **options_for(backend))
    bchook.trace.reset()
    module.main()
    ours = _counts_with_callers(bchook.trace.profile().stats(), path)
    # callers only where no C function (next, list, any) stands between, as for cProfile
    leaf = (str(path), 1, "leaf")
    assert ours[leaf] == reference[leaf]
    assert reference[leaf][2] == {(str(path), 6, "make"): (1, 1),
                                  (str(path), 7, "<genexpr>"): (3, 3)}
    assert {k: v[:2] for k, v in ours.items()} == {k: v[:2] for k, v in reference.items()}


def test_exit_by_exception_closes_the_call(tmp_path, backend):
    source = (
        "def boom():\n"
        "    raise ValueError('x')\n"
        "def gen():\n"
        "    yield 1\n"
        "    raise KeyError('y')\n"
        "def catcher():\n"
        "    for f in (boom, lambda: list(gen())):\n"
        "        try:\n"
        "            f()\n"
        "        except (ValueError, KeyError):\n"
        "            pass\n"
        "    return after()\n"
        "def after():\n"
        "    return 1\n"
    )
    path = tmp_path / "exc_sample.py"
    path.write_text(source)
    module = traced(source, path, "exc_sample", **options_for(backend, mode="timeline"))
    module.catcher()
    prof = bchook.trace.profile()
    funcs = prof.functions
    paths = {tuple(funcs[f].name for f in path_) for _, path_ in prof.walk()}
    # after() is called by catcher, not from inside a call that raised
    assert ("catcher", "after") in paths
    assert not any(len(p) > 1 and p[-1] == "after" and p[-2] != "catcher" for p in paths)
    depth = collections.Counter()
    for ev in prof.events:
        depth[ev.thread] += 1 if ev.enter else -1
        assert depth[ev.thread] >= 0
    assert set(depth.values()) == {0}


def test_generator_resumes_count_as_calls(tmp_path, backend):
    source = (
        "def gen(n):\n"
        "    for i in range(n):\n"
        "        yield i\n"
        "def sub():\n"
        "    yield 1\n"
        "    yield 2\n"
        "    return 3\n"
        "def outer():\n"
        "    r = yield from sub()\n"
        "    yield r\n"
        "def closing():\n"
        "    try:\n"
        "        yield 1\n"
        "        yield 2\n"
        "    finally:\n"
        "        pass\n"
        "def unstarted():\n"
        "    yield 1\n"
        "def run():\n"
        "    list(gen(5))\n"
        "    list(outer())\n"
        "    g = closing()\n"
        "    next(g)\n"
        "    g.close()\n"
        "    unstarted().close()\n"
    )
    path = tmp_path / "gen_sample.py"
    path.write_text(source)
    module = traced(source, path, "gen_sample", **options_for(backend))
    bchook.trace.reset()
    module.run()
    ours = own_stats(path)
    assert ours[(str(path), 1, "gen")] == (6, 6)
    assert ours[(str(path), 4, "sub")] == (3, 3)
    assert ours[(str(path), 8, "outer")] == (4, 4)
    assert ours[(str(path), 11, "closing")] == (2, 2)
    # closing a generator that never ran: 3.11 runs its frame (a call, as cProfile
    # counts it), 3.12+ do not, and 3.10 runs it before any instruction (not seen)
    expected = {(3, 11): (1, 1)}.get(V.VERSION)
    assert ours.get((str(path), 17, "unstarted")) == expected


def test_threads_have_their_own_stacks(tmp_path, backend):
    source = (
        "import threading\n"
        "def leaf(n):\n"
        "    return n\n"
        "def work(n):\n"
        "    return sum(leaf(i) for i in range(n))\n"
        "def spawn(n):\n"
        "    t = threading.Thread(target=work, args=(n,), name='worker-after')\n"
        "    t.start()\n"
        "    t.join()\n"
    )
    path = tmp_path / "thr_sample.py"
    path.write_text(source)
    go = threading.Event()
    box = []

    def early_thread():  # started before anything was traced; calls traced code later
        go.wait(10)
        box[0].work(7)

    early = threading.Thread(target=early_thread, name="worker-before")
    early.start()
    module = traced(source, path, "thr_sample", **options_for(backend))
    box.append(module)
    module.spawn(5)
    go.set()
    early.join(10)
    prof = bchook.trace.profile()
    by_thread = {}
    kids = prof.children()
    for thread in prof.threads:
        top = [prof.functions[prof.nodes[c].func].name for c in kids[thread.root]]
        by_thread[thread.name] = top
    assert by_thread["worker-before"] == ["work"]
    assert by_thread["worker-after"] == ["work"]
    assert "<module>" in by_thread[threading.main_thread().name]
    assert own_stats(path)[(str(path), 2, "leaf")] == (12, 12)


def test_stop_gives_functions_their_original_code(tmp_path, backend):
    source = (
        "def fib(n):\n"
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "class C:\n"
        "    def m(self):\n"
        "        return fib(3)\n"
        "def make():\n"
        "    def inner():\n"
        "        return 1\n"
        "    return inner\n"
    )
    path = tmp_path / "stop_sample.py"
    path.write_text(source)
    module = traced(source, path, "stop_sample", **options_for(backend))
    probe = CALL if backend == "c" else PY_LOG
    traced_code = module.fib.__code__
    assert probe in traced_code.co_names
    assert bchook.trace.is_active()

    bchook.trace.stop()
    assert not bchook.trace.is_active()
    for code in (module.fib.__code__, module.C.m.__code__, module.make().__code__):
        assert probe not in code.co_names
        assert not any(n.startswith("__bchook") for n in code.co_names)
    assert module.fib.__code__ is untraced(traced_code)
    bchook.trace.reset()
    assert module.fib(10) == 55 and module.C().m() == 2
    assert own_stats(path) == {}

    bchook.trace.start()
    assert module.fib.__code__ is traced_code
    module.fib(5)
    assert own_stats(path)[(str(path), 1, "fib")] == (1, 15)

    bchook.trace.stop()
    later_path = tmp_path / "later_sample.py"
    later_path.write_text(source)
    later = traced(source, later_path, "later_sample", **options_for(backend))
    assert probe in later.fib.__code__.co_names  # imported while stopped: still probed
    bchook.trace.stop()
    assert probe not in later.fib.__code__.co_names


def test_handler_receives_events(tmp_path, backend, monkeypatch):
    (tmp_path / "my_handler.py").write_text(
        "EVENTS = []\n"
        "def on_event(event, func):\n"
        "    EVENTS.append((event, func[2]))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    source = (
        "def leaf():\n"
        "    return 1\n"
        "def top():\n"
        "    return leaf() + leaf()\n"
        "def gen():\n"
        "    yield 1\n"
    )
    path = tmp_path / "hnd_sample.py"
    path.write_text(source)
    module = traced(source, path, "hnd_sample",
                    **options_for(backend, handler="my_handler:on_event"))
    import my_handler
    del my_handler.EVENTS[:]
    module.top()
    list(module.gen())
    assert my_handler.EVENTS == [
        ("enter", "top"), ("enter", "leaf"), ("exit", "leaf"), ("enter", "leaf"),
        ("exit", "leaf"), ("exit", "top"),
        ("enter", "gen"), ("exit", "gen"), ("enter", "gen"), ("exit", "gen")]


def test_handler_errors_do_not_reach_the_program(tmp_path, backend, monkeypatch, capsys):
    (tmp_path / "bad_handler.py").write_text(
        "def on_event(event, func):\n"
        "    raise RuntimeError('handler broke')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    source = "def leaf():\n    return 1\n"
    path = tmp_path / "bh_sample.py"
    path.write_text(source)
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: seen.append(args.exc_value))
    module = traced(source, path, "bh_sample",
                    **options_for(backend, handler="bad_handler:on_event"))
    assert module.leaf() == 1
    assert module.leaf() == 1
    reported = [str(e) for e in seen] + [capsys.readouterr().err]
    assert sum(text.count("RuntimeError: handler broke") + (text == "handler broke")
               for text in reported) == 1  # then switched off


def test_handler_in_a_traced_module(tmp_path, backend, monkeypatch):
    """The handler's module may be traced itself: it starts the tracer while it is being
    imported, and the handler's own calls are not handed to it."""
    source = (
        "EVENTS = []\n"
        "def helper(func):\n"
        "    return func[2]\n"
        "def on_event(event, func):\n"
        "    EVENTS.append((event, helper(func)))\n"
        "def work():\n"
        "    return 1\n"
    )
    path = tmp_path / "self_handler.py"
    path.write_text(source)
    module = types.ModuleType("self_handler")
    monkeypatch.setitem(sys.modules, "self_handler", module)
    from bchook.pipeline.driver import transform_source
    code = transform_source(source, str(path), "self_handler",
                            [TracePass(**options_for(backend, handler="self_handler:on_event"))])
    module.__spec__ = types.SimpleNamespace(_initializing=True)
    exec(code, module.__dict__)
    module.__spec__._initializing = False
    del module.EVENTS[:]
    module.work()
    assert module.EVENTS == [("enter", "work"), ("exit", "work")]


@pytest.mark.parametrize("handler, message", [
    ("no_such_mod:f", "trace.handler=no_such_mod:f: cannot load the handler: no module "
                      "named 'no_such_mod'"),
    ("os:no_such_function", "module 'os' has no 'no_such_function'"),
    ("os:sep", "trace.handler=os:sep: str object is not callable"),
])
def test_a_handler_that_cannot_be_loaded_stops_the_run_first(tmp_path, capsys, handler,
                                                            message):
    """A usage error as the first traced module starts, before its body: one line,
    status 2, nothing written at exit."""
    path = tmp_path / "h2_sample.py"
    path.write_text("ran = True\n")
    with pytest.raises(SystemExit) as caught:
        traced("ran = True\n", path, "h2_sample", handler=handler)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err == f"bchook: error: {err.split('error: ', 1)[1]}" and err.count("\n") == 1
    assert message in err
    assert _runtime.tracer() is None


MANY_LEAVES = "def leaf(i):\n    return i\ndef many(n):\n    return [leaf(i) for i in range(n)]\n"


def test_timeline_ring_buffer_is_bounded(tmp_path, backend):
    source = MANY_LEAVES
    path = tmp_path / "ring_sample.py"
    path.write_text(source)
    module = traced(source, path, "ring_sample",
                    **options_for(backend, mode="timeline", buffer="100"))
    bchook.trace.reset()
    module.many(1000)
    prof = bchook.trace.profile()
    assert len(prof.events) == 100
    assert prof.events_dropped > 1900
    assert own_stats(path)[(str(path), 1, "leaf")] == (1000, 1000)  # aggregates complete
    assert all(later.t_ns >= earlier.t_ns for earlier, later in zip(prof.events,
                                                                     prof.events[1:]))


def test_pure_python_timeline_keeps_its_events_out_of_the_collectors_way(tmp_path):
    """The kept events are tuples the collector untracks: a full collection does not walk a
    million of them on every run of the program's own garbage."""
    import gc

    source = MANY_LEAVES
    path = tmp_path / "kept_sample.py"
    path.write_text(source)
    module = traced(source, path, "kept_sample",
                    **options_for("py", mode="timeline", buffer="100000"))
    bchook.trace.reset()
    module.many(3000)
    rec = _runtime.tracer().recorders["py"]
    rec.fold()
    gc.collect()  # untracks the events (a list holding them stays tracked regardless)...
    gc.collect()  # ...then the tuple holding them
    assert rec.kept and rec.kept_events >= 6000
    assert not any(gc.is_tracked(batch) for _, batch, _, _ in rec.kept)
    assert len(bchook.trace.profile().events) >= 6000


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_pure_python_recorder_passes_on_what_a_signal_handler_raises_while_it_folds(
        tmp_path, monkeypatch):
    """The main thread runs signal handlers. A Ctrl-C that lands while the pure-Python
    recorder folds (from a collector callback) is raised in the program, at its next traced
    call, and the fold is not cut short: the calls recorded stay exact."""
    import gc

    from bchook.passes.trace.runtime import _pyrecorder

    source = ("CALLS = [0]\ndef fib(n):\n    CALLS[0] += 1\n"
              "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n")
    path = tmp_path / "signal_sample.py"
    path.write_text(source)
    module = traced(source, path, "signal_sample", **options_for("py"))
    bchook.trace.reset()
    rec = _runtime.tracer().recorders["py"]

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted

    original = type(rec).fold
    folds = []

    def fold(self):
        if not folds:
            os.kill(os.getpid(), signal.SIGUSR1)  # lands while this fold runs
        folds.append(threading.get_ident())
        original(self)

    unraisable = []
    previous = signal.signal(signal.SIGUSR1, handler)
    interrupted = 0
    try:
        monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
        monkeypatch.setattr(type(rec), "fold", fold)
        monkeypatch.setattr(_pyrecorder, "_FOLD_AT", 500)
        for _ in range(40):
            try:
                module.fib(12)
                gc.collect()
            except Interrupted:
                interrupted += 1
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGUSR1, previous)
    assert interrupted == 1
    assert not unraisable
    assert len(folds) > 1 and folds[0] != threading.get_ident()  # folded aside
    # the call that raised was entered (and counted) but ran none of its body
    assert own_stats(path)[(str(path), 2, "fib")] == (40, module.CALLS[0] + 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_pure_python_recorder_folds_in_a_child_forked_during_a_fold(tmp_path):
    """A fold in progress in another thread holds the recorder's lock when a thread forks:
    the child, where nothing will release it, gets a lock of its own."""
    import warnings

    path = tmp_path / "fork_sample.py"
    path.write_text(MANY_LEAVES)
    traced(MANY_LEAVES, path, "fork_sample", **options_for("py"))
    rec = _runtime.tracer().recorders["py"]
    with rec._lock:  # as a fold running in another thread would
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
            pid = os.fork()
        if pid == 0:
            os._exit(0 if rec._lock.acquire(blocking=False) else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_timeline_events_nest(tmp_path, backend):
    source = "def leaf():\n    return 1\ndef top():\n    return leaf() + leaf()\n"
    path = tmp_path / "tl_sample.py"
    path.write_text(source)
    module = traced(source, path, "tl_sample", **options_for(backend, mode="timeline"))
    bchook.trace.reset()
    module.top()
    prof = bchook.trace.profile()
    names = [(e.enter, prof.functions[prof.nodes[e.node].func].name) for e in prof.events]
    assert names == [(True, "top"), (True, "leaf"), (False, "leaf"), (True, "leaf"),
                     (False, "leaf"), (False, "top")]


# -- lines -------------------------------------------------------------------------------

def _settrace_line_counts(path):
    counts = collections.Counter()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == str(path):
            if event == "line":
                counts[frame.f_lineno] += 1
            return tracer
        return None

    run_corpus(path, [], settrace=tracer)
    return counts


@pytest.mark.parametrize("mode", ["flags", "count"])
def test_lines_match_the_line_events(corpus_path, mode):
    reference = _settrace_line_counts(corpus_path)
    module = traced(CORPUS, corpus_path, "corpus_sample", lines=mode)
    module.main()
    prof = bchook.trace.profile()
    hits = prof.lines[str(corpus_path)]
    assert prof.line_mode == mode
    if mode == "flags":
        # the module body ran once more in this test (import), which changes no line set
        assert set(hits) == set(reference) | set(hits) and set(reference) <= set(hits)
    else:
        body = {line: n for line, n in hits.items()}
        module_lines = _module_level_lines(corpus_path)
        for line, n in reference.items():
            assert body[line] == n + (1 if line in module_lines else 0), line


def _module_level_lines(path):
    code = compile(CORPUS, str(path), "exec")
    return set(_lines(code))


@pytest.mark.parametrize("options", [{"lines": "1"}, {"mode": "lines"}])
def test_lines_alone_put_no_call_probes(tmp_path, options):
    source = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    path = tmp_path / "lo_sample.py"
    path.write_text(source)
    module = traced(source, path, "lo_sample", **options)
    names = module.f.__code__.co_names
    assert LINES in names and CALL not in names and ENTER not in names
    module.f(0)
    assert bchook.trace.profile().lines[str(path)] == {1: 1, 2: 1, 4: 1}
    assert bchook.trace.profile().total_calls == 0


def test_lines_with_other_globals_go_to_a_sink(tmp_path):
    source = "def f():\n    return 1\n"
    path = tmp_path / "sink_sample.py"
    path.write_text(source)
    module = traced(source, path, "sink_sample", lines="count")
    g = types.FunctionType(module.f.__code__, {})  # no line list in these globals
    assert g() == 1


# -- the pieces ---------------------------------------------------------------------------

def test_untraced_twin_is_the_code_before_the_probes(tmp_path):
    source = "def f():\n    def g():\n        return 2\n    return g() + 1\n"
    from bchook.pipeline.driver import transform_source
    plain = transform_source(source, "t.py", "t", [])
    probed = transform_source(source, "t.py", "t", [TracePass()])
    f_plain = next(c for c in plain.co_consts if isinstance(c, types.CodeType))
    f_probed = next(c for c in probed.co_consts if isinstance(c, types.CodeType))
    twin = untraced(f_probed)
    assert twin.co_code == f_plain.co_code
    g_twin = next(c for c in twin.co_consts if isinstance(c, types.CodeType))
    g_plain = next(c for c in f_plain.co_consts if isinstance(c, types.CodeType))
    assert g_twin.co_code == g_plain.co_code
    assert untraced(f_plain) is f_plain


@pytest.mark.skipif(V.PY312, reason="3.10 and 3.11 only: later versions take probes in "
                                    "the SEND loop")
def test_delegation_proxy_behaves_like_its_delegate(tmp_path, backend):
    source = (
        "def inner():\n"
        "    try:\n"
        "        x = yield 1\n"
        "        yield x\n"
        "    except KeyError:\n"
        "        yield 'caught'\n"
        "    return 'done'\n"
        "def outer():\n"
        "    r = yield from inner()\n"
        "    yield r\n"
        "def over_list():\n"
        "    return (yield from [1, 2])\n"
    )
    path = tmp_path / "px_sample.py"
    path.write_text(source)
    module = traced(source, path, "px_sample", **options_for(backend))
    g = module.outer()
    assert next(g) == 1 and g.send("sent") == "sent"
    assert g.throw(KeyError) == "caught"
    assert next(g) == "done"
    assert g.gi_yieldfrom is None
    assert list(module.over_list()) == [1, 2]
    g = module.outer()
    next(g)
    assert "proxy" in repr(g.gi_yieldfrom)
    g.close()


def test_deeply_nested_blocks(tmp_path, backend):
    """3.10 frames hold at most 20 blocks: a generator already using 19 runs untraced
    rather than overflowing the block stack; everything else is traced as usual."""
    depth = 19
    lines = ["def deep():"]
    for level in range(depth):
        lines.append("    " * (level + 1) + "try:")
    lines.append("    " * (depth + 1) + "yield 1")
    for level in reversed(range(depth)):
        lines.append("    " * (level + 1) + "finally:")
        lines.append("    " * (level + 2) + "pass")
    lines += ["def shallow():", "    yield 2"]
    source = "\n".join(lines) + "\n"
    path = tmp_path / "deep_sample.py"
    path.write_text(source)
    module = traced(source, path, "deep_sample", **options_for(backend))
    assert list(module.deep()) == [1] and list(module.shallow()) == [2]
    g = module.deep()
    next(g)
    g.close()
    assert own_stats(path)[(str(path), len(lines) - 1, "shallow")] == (2, 2)


@pytest.mark.skipif(not hasattr(sys, "set_lazy_imports"), reason="3.15+: lazy imports")
def test_prologue_import_is_eager_where_imports_are_lazy():
    """The module prologue gets ``attach`` with ``ir.import_from`` and calls it at once:
    under ``-X lazy_imports=all`` that import must still bind the function itself, not
    a lazy stand-in for it (3.15 IMPORT_NAME's eager flag)."""
    bc = ir.Bytecode.from_code(compile("x = None", "<lazy>", "exec"))
    items = bc.items
    store = next(k for k, x in enumerate(items) if type(x) is ir.Instr and x.name == "STORE_NAME")
    items[store - 1:store] = ir.import_from(bc, "colorsys", "rgb_to_hsv")
    code = bc.to_code()
    previous = sys.get_lazy_imports()
    saved = sys.modules.pop("colorsys", None)
    sys.set_lazy_imports("all")
    try:
        namespace = {}
        exec(code, namespace)
    finally:
        sys.set_lazy_imports(previous)
        if saved is not None:
            sys.modules["colorsys"] = saved
    assert type(namespace["x"]) is types.FunctionType


@pytest.mark.skipif(V.VERSION < (3, 13) or not accelerated(),
                    reason="3.13+ specialize no call to a function whose code was replaced")
def test_stop_keeps_calls_to_the_original_code_specializable(tmp_path):
    import dis
    source = "def leaf(x):\n    return x + 1\ndef caller():\n    return leaf(1)\n"
    path = tmp_path / "spec_sample.py"
    path.write_text(source)
    module = traced(source, path, "spec_sample")
    bchook.trace.stop()
    for _ in range(2000):
        module.caller()
    names = {i.opname for i in dis.get_instructions(module.caller, adaptive=True)}
    assert "CALL_PY_EXACT_ARGS" in names, names
