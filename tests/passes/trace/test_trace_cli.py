"""The trace pass through the real command: ``python -m bchook -p trace ...``."""

from __future__ import annotations

import importlib.util
import json
import os
import pstats
import re

import pytest

from trace_helpers import CORPUS, accelerated

APP = """\
import sys
import threading

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def gen(n):
    for i in range(n):
        yield fib(i)

class Shape:
    def __init__(self, n):
        self.n = n

    def area(self):
        return sum(gen(self.n))

def main():
    shapes = [Shape(k) for k in range(8)]
    total = sum(s.area() for s in shapes)
    t = threading.Thread(target=fib, args=(12,), name="helper")
    t.start()
    t.join()
    print("total", total)

main()
"""


@pytest.fixture
def app(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


@pytest.fixture(params=["c", "py"])
def backend_args(request):
    if request.param == "c" and not accelerated():
        pytest.skip("the C accelerator is not built")
    return [] if request.param == "c" else ["-o", "trace.accel=0"]


def test_summary_on_stderr_and_output_unchanged(app, run_python, backend_args):
    rc, plain_out, plain_err = run_python(["app.py"], cwd=app)
    assert rc == 0 and plain_err == ""
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", *backend_args, "app.py"],
                              cwd=app)
    assert rc == 0, err
    assert out == plain_out
    assert "cumtime" in err.splitlines()[1]
    assert "  app.py:4 fib\n" in err and "  app.py:18 main\n" in err


def test_outputs_by_extension_with_cprofile_counts(app, run_python, backend_args):
    rc, _, err = run_python(["-m", "cProfile", "-o", "ref.prof", str(app / "app.py")],
                            cwd=app)
    assert rc == 0, err
    outputs = ["t.json", "t.prof", "t.pstats", "t.folded", "t.speedscope.json"]
    args = ["-m", "bchook", "-p", "trace", *backend_args]
    for name in outputs:
        args += ["-o", f"trace.output={name}"]
    rc, out, err = run_python([*args, "app.py"], cwd=app)
    assert rc == 0, err
    assert err == ""  # with outputs, no summary
    for name in outputs:
        assert (app / name).stat().st_size > 0, name
    mine = str(app / "app.py")
    reference = {k: v[:2] for k, v in pstats.Stats(str(app / "ref.prof")).stats.items()
                 if k[0] == mine}
    fib = (mine, 4, "fib")
    ref_fib = reference.pop(fib)
    assert len(reference) >= 7  # 3.10 and 3.11 add the <listcomp>
    for name in ("t.prof", "t.pstats"):
        ours = {k: v[:2] for k, v in pstats.Stats(str(app / name)).stats.items()}
        # cProfile sees the helper thread's 465 calls of fib only from 3.12 (monitoring)
        assert ours.pop(fib)[1] - ref_fib[1] in (0, 465)
        assert ours == reference
    trace = json.loads((app / "t.json").read_text())
    threads = {e["args"]["name"] for e in trace["traceEvents"]
               if e.get("name") == "thread_name"}
    assert threads == {"MainThread", "helper"}
    speedscope = json.loads((app / "t.speedscope.json").read_text())
    assert speedscope["profiles"][0]["type"] == "evented"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


@pytest.mark.skipif(not _has_module("profiling.tracing"),
                    reason="3.15+: profiling.tracing is cProfile's new home")
def test_prof_counts_equal_profiling_tracing(tmp_path, run_python, backend_args):
    """The same calls as the standard library's tracing profiler, over the corpus of
    closures, generators driven by send/throw/close, coroutines and async generators."""
    script = tmp_path / "sample.py"
    script.write_text(CORPUS + "\nmain()\n")
    rc, _, err = run_python(["-m", "profiling.tracing", "-o", "ref.prof", str(script)],
                            cwd=tmp_path)
    assert rc == 0, err
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", *backend_args,
                             "-o", "trace.output=t.prof", "sample.py"], cwd=tmp_path)
    assert rc == 0, err
    counts = {}
    for name in ("ref.prof", "t.prof"):
        stats = pstats.Stats(str(tmp_path / name)).stats
        counts[name] = {k: v[:2] for k, v in stats.items() if k[0] == str(script)}
    assert len(counts["ref.prof"]) > 30
    assert counts["t.prof"] == counts["ref.prof"]


def test_child_processes_write_files_with_their_pid(tmp_path, run_python):
    (tmp_path / "child_mod.py").write_text(
        "def work(n):\n"
        "    return sum(i * i for i in range(n))\n"
        "def main():\n"
        "    import os\n"
        "    print('child', os.getpid(), work(10))\n"
    )
    (tmp_path / "app.py").write_text(
        "import subprocess, sys\n"
        "import child_mod\n"
        "child_mod.main()\n"
        "code = 'import bchook.frontends.autoload as a; a.start(); import child_mod; child_mod.main()'\n"
        "subprocess.run([sys.executable, '-c', code], check=True)\n"
    )
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=t.prof",
                               "-o", "trace.output=t.lines.json", "-o", "trace.mode=calls",
                               "-o", "trace.lines=1", "app.py"], cwd=tmp_path)
    assert rc == 0, err
    pids = [line.split()[1] for line in out.splitlines()]
    assert len(pids) == 2 and pids[0] != pids[1]
    assert (tmp_path / "t.prof").exists()
    child_prof = tmp_path / f"t.{pids[1]}.prof"
    assert child_prof.exists()
    assert (tmp_path / f"t.{pids[1]}.lines.json").exists()
    stats = pstats.Stats(str(child_prof)).stats
    assert {name for _, _, name in stats} == {"<module>", "main", "work", "<genexpr>"}


def test_bad_option_is_a_usage_error(app, run_python):
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.mode=fast",
                               "app.py"], cwd=app)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "mode" in err and "calls, timeline, lines" in err


def test_program_errors_keep_their_traceback_and_status(tmp_path, run_python):
    (tmp_path / "bad.py").write_text(
        "def inner():\n"
        "    raise RuntimeError('boom')\n"
        "def outer():\n"
        "    inner()\n"
        "outer()\n"
    )
    rc, _, plain_err = run_python(["bad.py"], cwd=tmp_path)
    rc2, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=b.prof",
                              "bad.py"], cwd=tmp_path)
    assert rc == rc2 == 1
    assert err == plain_err
    stats = pstats.Stats(str(tmp_path / "b.prof")).stats
    assert {name: v[1] for (_, _, name), v in stats.items()} == {
        "<module>": 1, "outer": 1, "inner": 1}


def test_stop_and_start_around_a_region(tmp_path, run_python):
    (tmp_path / "region.py").write_text(
        "import bchook.trace\n"
        "def f(n):\n"
        "    return n\n"
        "bchook.trace.stop()\n"
        "for i in range(50):\n"
        "    f(i)\n"
        "assert not bchook.trace.is_active()\n"
        "bchook.trace.start()\n"
        "for i in range(7):\n"
        "    f(i)\n"
        "bchook.trace.stop()\n"
        "f(0)\n"
    )
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.output=r.prof",
                             "region.py"], cwd=tmp_path)
    assert rc == 0, err
    stats = pstats.Stats(str(tmp_path / "r.prof")).stats
    assert {name: v[1] for (_, _, name), v in stats.items()}["f"] == 7


def test_lines_count_output(tmp_path, run_python):
    (tmp_path / "loop.py").write_text(
        "total = 0\n"
        "for i in range(10):\n"
        "    total += i\n"
        "if total > 100:\n"
        "    print('big')\n"
    )
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.lines=count",
                             "-o", "trace.output=l.lines.json", "loop.py"], cwd=tmp_path)
    assert rc == 0, err
    doc = json.loads((tmp_path / "l.lines.json").read_text())
    assert doc["mode"] == "count"
    (hits,) = doc["files"].values()
    assert hits == {"1": 1, "2": 11, "3": 10, "4": 1}


def test_lines_summary_without_outputs(tmp_path, run_python):
    (tmp_path / "one.py").write_text("x = 0\nif x:\n    y = 2\n    y = 3\nz = 4\n")
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.lines=1",
                             "one.py"], cwd=tmp_path)
    assert rc == 0
    assert "lines run (flags)" in err
    assert re.search(r"^one\.py +5 +3 +2 +60% +3-4$", err, re.M), err
    assert "cumtime" not in err  # lines alone: no call probes


def test_coverage_measures_the_same_lines_and_arcs(tmp_path, run_python):
    pytest.importorskip("coverage")
    script = tmp_path / "sample.py"
    script.write_text(CORPUS + "\nmain()\n")
    runs = {"plain": ["sample.py"], "traced": ["-m", "bchook", "-p", "trace", "sample.py"]}
    data = {}
    for name, args in runs.items():
        rc, _, err = run_python(["-m", "coverage", "run", "--branch",
                                 f"--data-file=.cov.{name}", *args], cwd=tmp_path)
        assert rc == 0, err
        rc, out, err = run_python(["-c", (
            "import coverage, json, sys\n"
            f"c = coverage.Coverage(data_file='.cov.{name}'); c.load()\n"
            "d = c.get_data()\n"
            f"f = [m for m in d.measured_files() if m.endswith('sample.py')][0]\n"
            "print(json.dumps([sorted(d.lines(f)), sorted(d.arcs(f))]))\n")], cwd=tmp_path)
        assert rc == 0, err
        data[name] = json.loads(out)
    assert len(data["plain"][0]) > 150
    assert data["traced"] == data["plain"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_timeline_buffer_option(tmp_path, run_python):
    (tmp_path / "many.py").write_text(
        "def leaf(i):\n    return i\nfor i in range(5000):\n    leaf(i)\n")
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.mode=timeline",
                             "-o", "trace.buffer=1000", "-o", "trace.output=m.json",
                             "-o", "trace.output=m.prof", "many.py"], cwd=tmp_path)
    assert rc == 0, err
    doc = json.loads((tmp_path / "m.json").read_text())
    assert sum(1 for e in doc["traceEvents"] if e["ph"] == "B") <= 1000
    assert int(doc["otherData"]["events_dropped"]) >= 9000
    stats = pstats.Stats(str(tmp_path / "m.prof")).stats
    assert {name: v[1] for (_, _, name), v in stats.items()}["leaf"] == 5000


@pytest.mark.slow
def test_everything_traced_including_the_standard_library(tmp_path, run_python,
                                                          backend_args):
    """With --include '*' the modules the runtime itself uses are not traced (they are
    imported before the hook), while the program's standard-library modules are."""
    (tmp_path / "std.py").write_text(
        "import asyncio, dataclasses, json, textwrap, difflib, copy, pickle\n"
        "@dataclasses.dataclass\n"
        "class P:\n"
        "    x: int\n"
        "async def main():\n"
        "    await asyncio.sleep(0)\n"
        "    return json.loads(json.dumps({'a': [1, 2]}))\n"
        "print(asyncio.run(main()), textwrap.shorten('a b c d e f', 7),\n"
        "      len(list(difflib.ndiff(['a'], ['b']))), copy.deepcopy(P(1)),\n"
        "      pickle.loads(pickle.dumps(P(2))))\n"
    )
    rc, plain, _ = run_python(["std.py"], cwd=tmp_path)
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", *backend_args, "--include", "*",
                               "--no-cache", "-o", "trace.output=s.prof", "std.py"],
                              cwd=tmp_path)
    assert rc == 0, err
    assert out == plain
    # what was imported before the hook is named in one line (issue 17, item 1)
    assert err.startswith("bchook: warning: ") and err.count("\n") == 1, err
    assert "imported before the hook was installed, not rewritten" in err
    files = {os.path.basename(f) for f, _, _ in pstats.Stats(str(tmp_path / "s.prof")).stats}
    assert {"std.py", "difflib.py", "tasks.py"} <= files  # imported after the hook
    assert not {"_runtime.py", "_pyrecorder.py", "_writers.py", "pstats.py"} & files


def test_code_running_during_interpreter_exit(tmp_path, run_python, backend_args):
    """Generators left suspended and __del__ methods run while the interpreter shuts
    down, after 3.10-3.12 have put back the builtins of start-up: the probes are still
    there (no "Exception ignored ... NameError")."""
    (tmp_path / "late.py").write_text(
        "def gen():\n"
        "    try:\n"
        "        yield 1\n"
        "    finally:\n"
        "        print('closed')\n"
        "class Late:\n"
        "    def __del__(self):\n"
        "        print('deleted', helper())\n"
        "def helper():\n"
        "    return 2\n"
        "g = gen()\n"
        "print(next(g))\n"
        "keep = Late()\n"
    )
    rc, plain_out, plain_err = run_python(["late.py"], cwd=tmp_path)
    rc2, out, err = run_python(["-m", "bchook", "-p", "trace", *backend_args,
                                "-o", "trace.output=l.prof", "late.py"], cwd=tmp_path)
    assert (rc2, out, err) == (rc, plain_out, plain_err) == (0, "1\nclosed\ndeleted 2\n", "")
