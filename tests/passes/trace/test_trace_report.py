"""What bchook.trace reports: the summary on stderr, merged processes, files read back,
``bchook trace merge`` and ``diff``, coverage.py's data file."""

from __future__ import annotations

import io
import json
import marshal
import os
import pstats
import re

import pytest

import bchook.trace
from bchook.passes.trace.runtime import _readers
from bchook.passes.trace.runtime import _runtime
from bchook.passes.trace.runtime import _summary
from bchook.passes.trace.runtime import _writers
from bchook.passes.trace.runtime._names import REWRITE_KEY
from bchook.passes.trace.runtime._profile import Event, Function, Node, Profile, Thread
from trace_helpers import CORPUS, traced

# 30 functions f0..f29: f<i> calls f<i+1>, f29 does the work; and a hot loop of calls.
MANY = "".join(f"def f{i}(n):\n    return f{i + 1}(n) + 1\n" for i in range(29)) + (
    "def f29(n):\n    return sum(range(n))\n"
    "def tiny(k):\n    return k\n"
    "def main():\n"
    "    for _ in range(20):\n"
    "        f0(200000)\n"
    "    for k in range(3000):\n"
    "        tiny(k)\n"
    "main()\n")

CHILD = """\
import subprocess, sys
import kid
CODE = 'import bchook.frontends.autoload as a; a.start(); import kid; kid.work(300)'
for _ in range(2):
    subprocess.run([sys.executable, '-c', CODE], check=True)
kid.work(100)
"""
KID = "def work(n):\n    return sum(leaf(i) for i in range(n))\ndef leaf(i):\n    return i\n"


@pytest.fixture(autouse=True)
def fresh_tracer():
    _runtime.discard()
    yield
    _runtime.discard()


def bchook_trace(run_python, cwd, *options, script="app.py"):
    args = ["-m", "bchook", "-p", "trace"]
    for opt in options:
        args += ["-o", f"trace.{opt}"]
    return run_python([*args, script], cwd=cwd)


def table_names(err: str) -> list[str]:
    """The function column of the summary's table."""
    return [m.group(1) for m in re.finditer(r"^ +\S+ \S+ +\S+% .*  (\S+:\d+ \S+)$", err, re.M)]


# -- the summary ------------------------------------------------------------------------------

def test_durations_are_scaled():
    assert _summary.duration(1_234_000_000) == "1.23 s"
    assert _summary.duration(45_600_000) == "45.6 ms"
    assert _summary.duration(789_000) == "789 µs"
    assert _summary.duration(950) == "950 ns"
    assert _summary.duration(0) == "0 ns"


def test_locations_are_short_and_stable(tmp_path):
    pkg = tmp_path / "lib" / "pkg" / "sub"
    pkg.mkdir(parents=True)
    for folder in (pkg, pkg.parent):
        (folder / "__init__.py").write_text("")
    (tmp_path / "here").mkdir()
    namer = _summary.Namer(str(tmp_path / "here"))
    # in a package: from the folder that holds the top package, wherever that is
    assert namer.path(str(pkg / "mod.py")) == "pkg/sub/mod.py"
    # not in a package: relative to the current folder, or the file name
    assert namer.path(str(tmp_path / "here" / "a" / "b.py")) == "a/b.py"
    assert namer.path(str(tmp_path / "elsewhere.py")) == "elsewhere.py"
    assert namer.path("<string>") == "<string>"
    f = Function(str(pkg / "mod.py"), 12, "run", "Job.run")
    assert namer.function(f) == "pkg/sub/mod.py:12 Job.run"


def test_one_table_top_25_by_cumulative_time(tmp_path, run_python):
    (tmp_path / "app.py").write_text(MANY)
    rc, _, err = bchook_trace(run_python, tmp_path)
    assert rc == 0, err
    names = table_names(err)
    assert len(names) == 25
    assert names[:4] == ["app.py:1 <module>", "app.py:63 main", "app.py:1 f0", "app.py:3 f1"]
    assert "top 25 of 33 by cumtime" in err
    assert "/" + str(tmp_path) not in err  # no absolute paths
    assert re.search(r"\d (s|ms|µs|ns) ", err) and "0.000" not in err


@pytest.mark.parametrize("sort, first", [("tottime", None), ("calls", "app.py:61 tiny"),
                                         ("name", "app.py:1 <module>")])
def test_sort_and_limit(tmp_path, run_python, sort, first):
    (tmp_path / "app.py").write_text(MANY)
    rc, _, err = bchook_trace(run_python, tmp_path, f"sort={sort}", "limit=5")
    assert rc == 0, err
    names = table_names(err)
    assert len(names) == 5 and "top 5 of 33 by " + sort in err
    if sort == "name":  # by the function's name, as pstats sorts: f10 before f2
        functions = [name.split(" ", 1)[1] for name in names]
        assert functions == sorted(functions) and functions[1:3] == ["f0", "f1"]
    elif first:
        assert names[0] == first
    else:  # tottime: f29 (the sum) or main (the loop) own most of the time
        assert names[0] in ("app.py:59 f29", "app.py:63 main")


def test_limit_zero_shows_all(tmp_path, run_python):
    (tmp_path / "app.py").write_text(MANY)
    rc, _, err = bchook_trace(run_python, tmp_path, "limit=0")
    assert len(table_names(err)) == 33 and "top " not in err


def test_callers_and_callees(tmp_path, run_python):
    (tmp_path / "app.py").write_text(MANY)
    rc, _, err = bchook_trace(run_python, tmp_path, "callers=f5")
    assert rc == 0, err
    assert "callers and callees of app.py:11 f5" in err
    assert re.search(r" 20  <- app\.py:9 f4$", err, re.M), err
    assert re.search(r" 20  app\.py:11 f5$", err, re.M)
    assert re.search(r" 20  -> app\.py:13 f6$", err, re.M)
    rc, _, err = bchook_trace(run_python, tmp_path, "callers=nosuch")
    assert rc == 0 and "no traced function matches 'nosuch'" in err


def test_call_tree_with_percentages_folds_small_calls(tmp_path, run_python):
    (tmp_path / "app.py").write_text(MANY)
    rc, _, err = bchook_trace(run_python, tmp_path, "summary=tree")
    assert rc == 0, err
    assert re.search(r"^100\.0% .* └─ app\.py:1 <module>$", err, re.M), err
    assert re.search(r"^ *\d+\.\d% .*   └─ app\.py:63 main$", err, re.M)
    assert re.search(r"└─ … 1 more, each under", err)  # 3000 calls of tiny, < 1 %
    assert "app.py:61 tiny" not in err


def test_tree_view_of_a_synthetic_profile():
    buf = io.StringIO()
    f = [Function("x.py", 1, "main", "main"), Function("x.py", 5, "a", "a"),
         Function("x.py", 9, "b", "b")]
    nodes = [Node(-1, -1, 0, 0, 0), Node(0, 0, 1, 100, 10_000), Node(1, 1, 2, 9_850, 9_850),
             Node(1, 2, 1, 50, 50)]
    prof = Profile(functions=f, nodes=nodes, threads=[Thread(1, "MainThread", 0)])
    _summary.summary(prof, buf, view="tree")
    lines = buf.getvalue().splitlines()
    assert lines[2].split() == ["100.0%", "10.0", "µs", "100", "ns", "1", "└─", "x.py:1",
                                "main"]
    assert lines[3].split()[:2] == ["98.5%", "9.85"] and lines[3].endswith("├─ x.py:5 a")
    assert lines[4].endswith("└─ … 1 more, each under 100 ns")


@pytest.mark.parametrize("accel", ["1", "0"])
def test_rewriting_time_is_kept_apart(tmp_path, run_python, accel):
    (tmp_path / "big.py").write_text("".join(
        f"def g{i}(x):\n    y = x + {i}\n    return [y for _ in range(3)]\n"
        for i in range(800)))
    (tmp_path / "app.py").write_text("def load():\n    import big\n    return big\nload()\n")
    rc, _, err = run_python(["-m", "bchook", "--no-cache", "-p", "trace", "-o",
                             f"trace.accel={accel}", "-o", "trace.output=t.html", "app.py"],
                            cwd=tmp_path)
    assert rc == 0, err
    prof = _readers.read(str(tmp_path / "t.html"))
    assert prof.rewritten == 1 and prof.rewrite_ns > 0
    stats = prof.stats()
    load = stats[(str(tmp_path / "app.py"), 1, "load")]
    # the rewriting (a 2400-line module) is not in load's time, own or cumulative
    assert load[3] * 1e9 < prof.rewrite_ns / 2
    assert all(label[0] != REWRITE_KEY[0] for label in stats)
    rc, _, err = run_python(["-m", "bchook", "--no-cache", "-p", "trace", "app.py"],
                            cwd=tmp_path)
    assert re.search(r"^bchook rewrote 1 module in \S+ (s|ms) \(not counted in any "
                     r"function's time\)$", err, re.M), err


def test_set_apart_takes_the_time_out_of_the_callers():
    f = [Function("x.py", 1, "main", "main"), Function(*REWRITE_KEY),
         Function("x.py", 5, "a", "a")]
    nodes = [Node(-1, -1, 0, 0, 0), Node(0, 0, 1, 10, 1000), Node(1, 1, 1, 700, 700),
             Node(1, 2, 1, 290, 290)]
    prof = Profile(functions=f, nodes=nodes, threads=[Thread(1, "T", 0)],
                   events=[Event(0, 1, 0, True), Event(1, 2, 0, True), Event(2, 2, 0, False),
                           Event(3, 3, 0, True)])
    prof.set_apart(REWRITE_KEY)
    assert prof.nodes == [Node(-1, -1, 0, 0, 0), Node(0, 0, 1, 10, 300),
                          Node(1, 2, 1, 290, 290)]
    assert [e.node for e in prof.events] == [1, 2]
    assert prof.stats()[("x.py", 1, "main")][2:4] == (10e-9, 300e-9)


def test_lines_table_lists_ranges_not_run():
    assert _summary.ranges([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"
    assert _summary.ranges([]) == ""
    prof = Profile(lines={"/x/a.py": {1: 1, 2: 1, 5: 1}, "/x/b.py": {1: 1}},
                   statements={"/x/a.py": [1, 2, 3, 4, 5, 8], "/x/b.py": [1]})
    buf = io.StringIO()
    _summary.summary(prof, buf, cwd="/x")
    text = buf.getvalue()
    assert re.search(r"^a\.py +6 +3 +3 +50% +3-4, 8$", text, re.M), text
    assert re.search(r"^b\.py +1 +1 +0 +100% *$", text, re.M)
    assert re.search(r"^TOTAL +7 +4 +3 +57%$", text, re.M)


def test_lines_count_summary_names_the_hottest_lines(tmp_path, run_python):
    (tmp_path / "app.py").write_text("t = 0\nfor i in range(50):\n    t += i\n")
    rc, _, err = bchook_trace(run_python, tmp_path, "lines=count")
    assert rc == 0, err
    assert "lines run (count)" in err and "hottest lines: app.py:2 ×51, app.py:3 ×50" in err


def lines_table(text: str) -> list[str]:
    """The summary's lines table, from its title to the hottest lines."""
    lines = text.splitlines()
    start = lines.index("bchook trace: lines run (count)")
    return lines[start:next(i for i in range(start, len(lines))
                            if lines[i].startswith("hottest lines:")) + 1]


PARTLY_RUN = ("def used(n):\n    return n + 1\n"
              "def unused(n):\n    if n:\n        return 1\n    return 2\n"
              "print(used(1))\n")


def test_lines_file_read_back_gives_the_live_table(tmp_path, run_python):
    (tmp_path / "app.py").write_text(PARTLY_RUN)
    rc, _, err = bchook_trace(run_python, tmp_path, "lines=count", "output=l.lines.json")
    assert rc == 0, err
    rc, _, live = bchook_trace(run_python, tmp_path, "lines=count")
    assert rc == 0, live
    assert re.search(r"^app\.py +7 +4 +3 +57% +4-6$", live, re.M), live
    rc, back, err = run_python(["-m", "bchook", "trace", "merge", "l.lines.json"], cwd=tmp_path)
    assert rc == 0, err
    assert lines_table(back) == lines_table(live)
    rc, twice, err = run_python(["-m", "bchook", "trace", "merge", "l.lines.json",
                                 "l.lines.json"], cwd=tmp_path)
    assert rc == 0, err
    assert re.search(r"^app\.py +7 +4 +3 +57% +4-6$", twice, re.M), twice
    assert "hottest lines: app.py:1 ×2," in twice


def test_lines_file_without_statements_reads_as_lines_run(tmp_path):
    (tmp_path / "old.lines.json").write_text('{"mode":"flags","files":{"/x/a.py":{"1":1}}}')
    prof = _readers.read(str(tmp_path / "old.lines.json"))
    assert prof.lines == {"/x/a.py": {1: 1}} and prof.statements == {}


def test_child_processes_name_themselves(tmp_path, run_python):
    (tmp_path / "app.py").write_text(CHILD)
    (tmp_path / "kid.py").write_text(KID)
    rc, _, err = bchook_trace(run_python, tmp_path)
    assert rc == 0, err
    headers = re.findall(r"^bchook trace: pid (\d+): (.*)$", err, re.M)
    assert len(headers) == 3, err
    assert all(cmd.startswith("python") and  # the code of -c, shortened
               cmd.endswith(" -c 'import bchook.frontends.autoload as a; a.start(); import ki…'")
               for _, cmd in headers[:2]), headers
    assert headers[2][1].endswith("app.py")  # the first process: last to finish
    assert len({pid for pid, _ in headers}) == 3


def test_a_lone_process_prints_no_header(tmp_path, run_python):
    (tmp_path / "app.py").write_text(KID + "work(5)\n")
    rc, _, err = bchook_trace(run_python, tmp_path)
    assert rc == 0 and "pid" not in err


# -- many processes, one profile ------------------------------------------------------------

def test_merge_option_makes_one_summary(tmp_path, run_python):
    (tmp_path / "app.py").write_text(CHILD)
    (tmp_path / "kid.py").write_text(KID)
    rc, _, err = bchook_trace(run_python, tmp_path, "merge=1")
    assert rc == 0, err
    assert re.search(r"^bchook trace: 3 processes merged: pids \d+ \(first\), \d+, \d+$",
                     err, re.M), err
    assert err.count("calls of") == 1
    assert re.search(r" 700 +\S+ \S+  kid\.py:3 leaf$", err, re.M), err  # 300 + 300 + 100


@pytest.mark.parametrize("ext", [".prof", ".html", ".json", ".speedscope.json"])
def test_merge_option_writes_one_file_in_any_format(tmp_path, run_python, ext):
    (tmp_path / "app.py").write_text(CHILD)
    (tmp_path / "kid.py").write_text(KID)
    rc, _, err = bchook_trace(run_python, tmp_path, "merge=1", f"output=t{ext}")
    assert rc == 0 and err == "", err
    assert [p.name for p in tmp_path.glob("t*")] == [f"t{ext}"]  # no per-process files
    if ext == ".prof":
        stats = pstats.Stats(str(tmp_path / "t.prof")).stats
    else:
        stats = _readers.read(str(tmp_path / f"t{ext}")).stats()
    [leaf] = [v for k, v in stats.items() if k[2] == "leaf"]
    # speedscope's sampled profile keeps the time of each call path, not the calls
    assert leaf[1] == 700 if ext != ".speedscope.json" else leaf[2] > 0


def test_merge_command(tmp_path, run_python):
    (tmp_path / "app.py").write_text(CHILD)
    (tmp_path / "kid.py").write_text(KID)
    rc, _, err = bchook_trace(run_python, tmp_path, "output=t.prof", "output=t.html")
    assert rc == 0, err
    profs = sorted(str(p) for p in tmp_path.glob("t*.prof"))
    htmls = sorted(str(p) for p in tmp_path.glob("t*.html"))
    assert len(profs) == len(htmls) == 3
    rc, out, err = run_python(["-m", "bchook", "trace", "merge", *profs, "-o", "all.prof"],
                              cwd=tmp_path)
    assert rc == 0, err
    st = pstats.Stats(str(tmp_path / "all.prof")).stats
    assert [v[:2] for k, v in st.items() if k[2] == "leaf"] == [(700, 700)]
    for out_name in ("all.html", "all.speedscope.json", "all.folded"):
        rc, _, err = run_python(["-m", "bchook", "trace", "merge", *htmls, "-o", out_name],
                                cwd=tmp_path)
        assert rc == 0, err
    merged = _readers.read(str(tmp_path / "all.html"))
    assert len(merged.processes) == 3
    assert [v[:2] for k, v in merged.stats().items() if k[2] == "leaf"] == [(700, 700)]
    rc, out, err = run_python(["-m", "bchook", "trace", "merge", *htmls], cwd=tmp_path)
    assert rc == 0 and re.search(r" 700 +\S+ \S+  kid\.py:3 leaf$", out, re.M), out


def test_merge_and_diff_usage_errors(tmp_path, run_python):
    (tmp_path / "junk.prof").write_bytes(b"not marshal")
    (tmp_path / "ok.folded").write_text("main (a.py:1) 10\n")
    (tmp_path / "calls.prof").write_bytes(marshal.dumps({("a.py", 1, "f"): (1, 1, 0.1, 0.1, {})}))
    (tmp_path / "hits.lines.json").write_text('{"mode":"flags","files":{"/x/a.py":{"1":1}}}')
    cases = [
        (["merge"], "the following arguments are required: FILE"),
        (["merge", "missing.prof"], "missing.prof: No such file or directory"),
        (["merge", "junk.prof", "-o", "x.html"], "junk.prof: not a .prof profile"),
        (["merge", "ok.folded", "-o", "x.txt"], "-o x.txt: unknown output extension"),
        (["merge", "x.unknown"], "x.unknown: unknown kind of file"),
        (["merge", "calls.prof", "-o", "x.lines.json"],
         "-o x.lines.json: this kind of file holds line hits, and no input has any"),
        (["merge", "calls.prof", "-o", "x.coverage"], "holds line hits, and no input has any"),
        (["merge", "hits.lines.json", "-o", "x.prof"],
         "-o x.prof: this kind of file holds calls, and no input has any"),
        (["merge", "hits.lines.json", "-o", "x.folded"], "holds calls, and no input has any"),
        (["merge", "ok.folded", "--limit", "-3"],
         "argument --limit: expected a number of rows, 0 for all, got '-3'"),
        (["diff", "ok.folded", "ok.folded", "--limit", "-1"],
         "argument --limit: expected a number of rows, 0 for all, got '-1'"),
        (["diff", "ok.folded"], "the following arguments are required: AFTER"),
        (["diff", "ok.folded", "ok.folded", "-o", "d.prof"], "diff writes an HTML page"),
        (["merge", "ok.folded", "-o", "new/m.folded"], "-o new/m.folded: no folder"),
        (["diff", "ok.folded", "ok.folded", "-o", "new/d.html"], "-o new/d.html: no folder"),
        (["nosuch"], "argument {merge,diff}: invalid choice: 'nosuch'"),
        ([], "the following arguments are required: {merge,diff}"),
    ]
    for args, message in cases:
        rc, out, err = run_python(["-m", "bchook", "trace", *args], cwd=tmp_path)
        assert rc == 2 and out == "", (args, err)
        assert err.startswith("bchook: error: ") and message in err, (args, err)
        assert len(err.splitlines()) == 1
    assert not (tmp_path / "new").exists()
    assert not list(tmp_path.glob("x.*"))


# -- files read back -----------------------------------------------------------------------

SOURCE = (
    "def leaf(n):\n    return n\n"
    "def mid(n):\n    return leaf(n) + leaf(n)\n"
    "def main():\n    return [mid(i) for i in range(3)]\n")


def recorded(tmp_path, **options) -> Profile:
    path = tmp_path / "rb_sample.py"
    path.write_text(SOURCE)
    module = traced(SOURCE, path, "rb_sample", **options)
    bchook.trace.reset()
    module.main()
    return bchook.trace.profile()


def calls(prof: Profile) -> dict:
    return {k[2]: v[1] for k, v in prof.stats().items() if k[0].endswith("rb_sample.py")}


@pytest.mark.parametrize("ext", [".html", ".json", ".speedscope.json", ".prof"])
def test_formats_read_back_with_their_calls(tmp_path, ext):
    prof = recorded(tmp_path, mode="timeline")
    path = str(tmp_path / f"out{ext}")
    _writers.write(prof, path, ext)
    back = _readers.read(path)
    assert calls(back) == calls(prof) == {"main": 1, "<listcomp>": 1, "mid": 3, "leaf": 6} \
        or calls(back) == calls(prof) == {"main": 1, "mid": 3, "leaf": 6}  # 3.12+: inlined
    if ext in (".html",):
        assert back.nodes == prof.nodes and back.events == prof.events


def test_folded_reads_back_own_times(tmp_path):
    prof = recorded(tmp_path)
    path = str(tmp_path / "out.folded")
    _writers.write(prof, path, ".folded")
    back = _readers.read(path)
    own = {k[2]: v[2] for k, v in prof.stats().items()}
    assert {k[2]: v[2] for k, v in back.stats().items()} == pytest.approx(own)


RECURSIVE = (
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
    "def even(n):\n    return n == 0 or odd(n - 1)\n"
    "def odd(n):\n    return n != 0 and even(n - 1)\n"
    "fib(12), even(9)\n")


@pytest.mark.parametrize("profiler", ["bchook", "cProfile"])
def test_pstats_read_back_as_pstats_reports_it(tmp_path, run_python, profiler):
    (tmp_path / "app.py").write_text(RECURSIVE)
    if profiler == "bchook":
        rc, _, err = bchook_trace(run_python, tmp_path, "output=t.prof")
    else:
        rc, _, err = run_python(["-m", "cProfile", "-o", "t.prof", "app.py"], cwd=tmp_path)
    assert rc == 0, err
    expected = pstats.Stats(str(tmp_path / "t.prof")).stats
    # every function's calls, primitive calls, times and callers, recursive ones too
    assert _readers.read(str(tmp_path / "t.prof")).stats() == expected
    rc, out, err = run_python(["-m", "bchook", "trace", "merge", "t.prof", "t.prof", "-o",
                               "twice.html"], cwd=tmp_path)
    assert rc == 0, err
    twice = pstats.Stats(str(tmp_path / "t.prof"))
    twice.add(str(tmp_path / "t.prof"))
    assert _readers.read(str(tmp_path / "twice.html")).stats() == twice.stats
    rc, out, err = run_python(["-m", "bchook", "trace", "merge", "t.prof", "--callers", "fib"],
                              cwd=tmp_path)
    assert rc == 0, err
    [fib] = [v for k, v in expected.items() if k[2] == "fib"]
    assert fib[:2] == (1, 465)
    assert re.search(r" 465/1  app\.py:1 fib$", out, re.M), out
    assert re.search(r" 464/\d+  <- app\.py:1 fib$", out, re.M), out
    assert re.search(r" 464/\d+  -> app\.py:1 fib$", out, re.M), out


def test_folded_read_back_shows_no_call_counts(tmp_path, run_python):
    (tmp_path / "app.py").write_text(RECURSIVE)
    rc, _, err = bchook_trace(run_python, tmp_path, "output=t.folded")
    assert rc == 0, err
    rc, out, err = run_python(["-m", "bchook", "trace", "merge", "t.folded"], cwd=tmp_path)
    assert rc == 0, err
    assert out.splitlines()[0].endswith("; calls not counted (the input has call paths and "
                                        "times only)"), out
    assert re.search(r"^ +\S+ \S+ +\S+% +\S+ \S+ +- +-  app\.py:1 fib$", out, re.M), out
    assert " calls of " not in out


def test_pstats_of_cprofile_reads_as_a_tree(tmp_path, run_python):
    (tmp_path / "app.py").write_text(SOURCE + "main()\n")
    rc, _, err = run_python(["-m", "cProfile", "-o", "c.prof", "app.py"], cwd=tmp_path)
    assert rc == 0, err
    prof = _readers.read(str(tmp_path / "c.prof"))
    kids = prof.children()
    names = {prof.functions[prof.nodes[i].func].name: i for i in range(len(prof.nodes))
             if prof.nodes[i].func >= 0}
    assert prof.nodes[names["leaf"]].parent == names["mid"]
    assert {prof.functions[prof.nodes[c].func].name for c in kids[names["mid"]]} == {"leaf"}


def test_combine_adds_calls_and_keeps_threads():
    a = Profile(functions=[Function("x.py", 1, "f", "f")],
                nodes=[Node(-1, -1, 0, 0, 0), Node(0, 0, 2, 5, 5)],
                threads=[Thread(1, "MainThread", 0)], processes=[(11, "python a")],
                lines={"x.py": {1: 2}}, line_mode="count")
    b = Profile(functions=[Function("y.py", 3, "g", "g"), Function("x.py", 1, "f", "f")],
                nodes=[Node(-1, -1, 0, 0, 0), Node(0, 1, 3, 7, 9), Node(1, 0, 1, 2, 2)],
                threads=[Thread(1, "MainThread", 0)], processes=[(12, "python b")],
                lines={"x.py": {1: 1, 2: 1}}, line_mode="count")
    c = Profile.combine([a, b])
    assert [t.name for t in c.threads] == ["MainThread (pid 11)", "MainThread (pid 12)"]
    st = c.stats()
    assert st[("x.py", 1, "f")][:2] == (5, 5)
    assert c.lines == {"x.py": {1: 3, 2: 1}}
    assert c.processes == [(11, "python a"), (12, "python b")]


# -- diff ----------------------------------------------------------------------------------

def test_diff_table(tmp_path, run_python):
    slow = "def work():\n    return sum(range(300000))\ndef main():\n    work()\nmain()\n"
    fast = "def work():\n    return sum(range(3000))\ndef main():\n    work()\nmain()\n"
    for name, src in (("before", slow), ("after", fast)):
        (tmp_path / "app.py").write_text(src)
        rc, _, err = bchook_trace(run_python, tmp_path, f"output={name}.prof")
        assert rc == 0, err
    rc, out, err = run_python(["-m", "bchook", "trace", "diff", "before.prof", "after.prof"],
                              cwd=tmp_path)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("bchook trace diff: ")
    # work got faster: a negative change of its cumulative and own time, listed first
    # with the two functions above it (their changes differ by nanoseconds)
    assert re.search(r" -\S+ \S+ +-\S+ \S+ +1->1  app\.py:1 work$", "\n".join(lines[2:5]),
                     re.M), out
    rc, out, err = run_python(["-m", "bchook", "trace", "diff", "before.prof", "after.prof",
                               "-o", "d.html"], cwd=tmp_path)
    assert rc == 0 and out == "", err
    text = (tmp_path / "d.html").read_text()
    views = json.loads(re.search(r'id="bchook-views">(.*?)</script>', text, re.S).group(1))
    assert views["diff"] is True
    work = views["flame"]["c"][0]["c"][0]["c"][0]
    assert work["n"] == "work" and work["d"] < 0 and work["b"] > work["v"]


# -- coverage.py's data file ------------------------------------------------------------------

def test_coverage_file_equals_coverage_run(tmp_path, run_python):
    pytest.importorskip("coverage")
    (tmp_path / "sample.py").write_text(CORPUS + "\nmain()\n")
    rc, _, err = run_python(["-m", "coverage", "run", "--data-file=plain.coverage",
                             "sample.py"], cwd=tmp_path)
    assert rc == 0, err
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.lines=1",
                             "-o", "trace.output=.coverage", "sample.py"], cwd=tmp_path)
    assert rc == 0 and err == "", err
    lines = {}
    for name in ("plain.coverage", ".coverage"):
        rc, out, err = run_python(["-c", (
            "import coverage, json\n"
            f"d = coverage.CoverageData({name!r}); d.read()\n"
            "[f] = d.measured_files()\n"
            "print(json.dumps([f, sorted(d.lines(f))]))\n")], cwd=tmp_path)
        assert rc == 0, err
        lines[name] = json.loads(out)
    assert len(lines[".coverage"][1]) > 150
    assert lines[".coverage"] == lines["plain.coverage"]
    rc, out, err = run_python(["-m", "coverage", "report", "-m"], cwd=tmp_path)
    assert rc == 0, err
    assert re.search(r"^sample\.py +\d+ +\d+ +\d+%", out, re.M), out


def test_an_empty_module_is_measured_as_coverage_run_measures_it(tmp_path, run_python):
    """An empty __init__.py: in coverage's report with no statements, as coverage run
    puts it, and in the summary with no lines on every version (3.10 and 3.11 give its
    code a line 1)."""
    pytest.importorskip("coverage")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    return 1\nf()\n")
    (tmp_path / "run.py").write_text("import pkg.m\n")
    reports = []
    for run in (["-m", "coverage", "run", "run.py"],
                ["-m", "bchook", "-p", "trace", "-o", "trace.lines=1", "-o",
                 "trace.output=.coverage", "run.py"]):
        rc, _, err = run_python(run, cwd=tmp_path)
        assert rc == 0, err
        rc, out, err = run_python(["-m", "coverage", "report"], cwd=tmp_path)
        assert rc == 0, err
        reports.append(out)
    assert reports[0] == reports[1]
    assert re.search(r"^pkg/__init__\.py +0 +0 +100%$", reports[1], re.M), reports[1]
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.lines=1", "run.py"],
                            cwd=tmp_path)
    assert re.search(r"^pkg/__init__\.py +0 +0 +0 +- *$", err, re.M), err


def test_coverage_files_of_child_processes_combine(tmp_path, run_python):
    pytest.importorskip("coverage")
    (tmp_path / "app.py").write_text(CHILD)
    (tmp_path / "kid.py").write_text(KID)
    rc, _, err = bchook_trace(run_python, tmp_path, "lines=1", "output=.coverage")
    assert rc == 0, err
    parts = sorted(p.name for p in tmp_path.glob(".coverage.*"))
    assert len(parts) == 2 and all(re.fullmatch(r"\.coverage\.\d+", p) for p in parts)
    rc, out, err = run_python(["-m", "coverage", "combine", "--keep"], cwd=tmp_path)
    assert rc == 0, err
    merged = _readers.read(str(tmp_path / ".coverage"))
    assert set(merged.lines[os.path.realpath(tmp_path / "kid.py")]) == {1, 2, 3, 4}


def test_coverage_output_needs_lines(tmp_path, run_python):
    (tmp_path / "app.py").write_text("x = 1\n")
    rc, out, err = bchook_trace(run_python, tmp_path, "output=.coverage")
    assert rc == 2 and out == ""
    assert err == "bchook: error: trace.output=.coverage: this kind of file holds line hits: " \
        "add -o trace.lines=1 (which lines ran) or -o trace.lines=count\n"


def test_merge_says_which_children_left_nothing(tmp_path, run_python):
    (tmp_path / "app.py").write_text(CHILD.replace(
        "kid.work(300)'", "kid.work(300); import os; os._exit(0)'"))
    (tmp_path / "kid.py").write_text(KID)
    rc, _, err = bchook_trace(run_python, tmp_path, "merge=1", "output=t.prof")
    assert rc == 0, err
    assert re.fullmatch(r"bchook trace: 2 child process\(es\) left nothing to merge \(still "
                        r"running, killed, or ended by os\._exit; a multiprocessing Pool kills "
                        r"its workers when it ends by terminate\(\) or a with block: close\(\) "
                        r"and join\(\) it instead\): pid \d+, \d+\n", err), err
    assert pstats.Stats(str(tmp_path / "t.prof")).total_calls > 0


def test_cover_is_rounded_as_coverage_report_rounds():
    assert [_summary._cover(run, known) for run, known in
            [(6, 9), (24, 27), (0, 5), (1, 1000), (999, 1000), (5, 5), (0, 0)]] == \
        ["67%", "89%", "0%", "1%", "99%", "100%", "-"]


def test_hints_name_the_options_as_the_front_end_takes_them(tmp_path, run_python):
    (tmp_path / "app.py").write_text(MANY)
    _, _, err = bchook_trace(run_python, tmp_path, "limit=3")
    assert "-o trace.limit=N for more" in err and "-o trace.summary=tree" in err
    _, out, _ = run_python(["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
                            "--bchook-pass", "trace", "-q", "--bchook-option", "trace.limit=3",
                            "test_app.py"], cwd=_with_test(tmp_path))
    assert "--bchook-option trace.limit=N for more" in out
    assert "--bchook-option trace.sort=cumtime|tottime|calls|name" in out and " -o " not in out
    rc, _, _ = bchook_trace(run_python, tmp_path, "output=app.json")
    rc, out, _ = run_python(["-m", "bchook", "trace", "merge", "app.json", "--limit", "3"],
                            cwd=tmp_path)
    assert rc == 0 and "--limit N for more" in out and "--tree" in out and " -o " not in out


def _with_test(folder):
    (folder / "test_app.py").write_text("import app\ndef test_app():\n    app.f0(10)\n")
    return folder


def test_callers_takes_a_module_path(tmp_path, run_python):
    (tmp_path / "app.py").write_text(MANY)
    rc, _, err = bchook_trace(run_python, tmp_path, "callers=app.f1")
    assert rc == 0
    assert "callers and callees of app.py:3 f1" in err and "<- app.py:1 f0" in err


def test_diff_matches_methods_across_formats(tmp_path, run_python):
    """A pstats file names a method ``area``, the other formats ``S.area``: the same
    function on both sides, not one gone and one new."""
    (tmp_path / "sq.py").write_text(
        "class S:\n    def area(self):\n        return 4\n"
        "def main():\n    return sum(S().area() for _ in range(200))\nmain()\n")
    for out in ("a.prof", "b.json"):
        rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", f"trace.output={out}",
                                 "sq.py"], cwd=tmp_path)
        assert rc == 0, err
    rc, out, err = run_python(["-m", "bchook", "trace", "diff", "a.prof", "b.json"],
                              cwd=tmp_path)
    assert rc == 0, err
    rows = [line for line in out.splitlines() if "area" in line]
    assert len(rows) == 1 and "200->200" in rows[0] and "S.area" in rows[0]


def test_callers_by_name_does_not_take_a_file_of_that_name(tmp_path, run_python):
    (tmp_path / "fib.py").write_text(
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "def main():\n    return fib(10)\nmain()\n")
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.callers=fib",
                             "fib.py"], cwd=tmp_path)
    assert rc == 0
    assert re.findall(r"callers and callees of (.*)", err) == ["fib.py:1 fib"]


HALF_MERGED = """\
import subprocess, sys
import kid
CODE = '''
import os, sys
import bchook.frontends.autoload as a; a.start()
import kid
kid.work(300)
if sys.argv[1] == "quit":
    os._exit(0)
'''
for how in ("quit", "end"):
    subprocess.run([sys.executable, '-c', CODE, how], check=True)
kid.work(100)
"""


def test_merge_counts_only_the_processes_it_merged(tmp_path, run_python):
    (tmp_path / "app.py").write_text(HALF_MERGED)
    (tmp_path / "kid.py").write_text(KID)
    rc, _, err = bchook_trace(run_python, tmp_path, "merge=1")
    assert rc == 0, err
    quit_pid = re.search(r"left nothing to merge .*: pid (\d+)$", err, re.M)[1]
    header = re.search(r"^bchook trace: 2 processes merged: pids \d+ \(first\), (\d+)$",
                       err, re.M)
    assert header and header[1] != quit_pid, err
    assert re.search(r" 400 +\S+ \S+  kid\.py:3 leaf$", err, re.M), err  # 300 + 100


OUTLIVES = """\
import os, subprocess, sys
import kid
CODE = '''
import os, sys, time
import bchook.frontends.autoload as a; a.start()
import kid
print("traced", flush=True)
while os.getppid() == int(sys.argv[1]):  # until the first process has ended
    time.sleep(0.01)
kid.work(10)
'''
child = subprocess.Popen([sys.executable, '-c', CODE, str(os.getpid())],
                         stdout=subprocess.PIPE)
child.stdout.readline()
kid.work(100)
"""


def test_a_child_that_outlives_the_first_process_leaves_no_folder(tmp_path, run_python):
    """The first process removes the run's folder once it has reported; a child still
    running then (multiprocessing's fork server always is) must not make it again."""
    (tmp_path / "app.py").write_text(OUTLIVES)
    (tmp_path / "kid.py").write_text(KID)
    (tmp_path / "tmp").mkdir()
    rc, _, err = run_python(["-m", "bchook", "-p", "trace", "-o", "trace.merge=1", "-o",
                             "trace.output=t.prof", "app.py"], cwd=tmp_path,
                            env={"TMPDIR": tmp_path / "tmp"})
    # run_python returns once the child, which shares its output, has ended too
    assert rc == 0 and "1 child process(es) left nothing to merge" in err, err
    assert list((tmp_path / "tmp").iterdir()) == []
