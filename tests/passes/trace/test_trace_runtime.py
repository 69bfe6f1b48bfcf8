"""The trace pass's run-time contract, through the real command: usage errors before the
program runs, an output that cannot be written at exit, the ring buffer's losses said,
regions, and merging profiles."""

from __future__ import annotations

import os
import pstats
import re

import pytest

from bchook.passes.trace.runtime._profile import Event, Function, Node, Profile, Thread, merge
from trace_helpers import accelerated

RUNS = "open('ran.txt', 'w').write('ran')\nprint('ran')\n"


@pytest.fixture(params=["c", "py"])
def backend_args(request):
    if request.param == "c" and not accelerated():
        pytest.skip("the C accelerator is not built")
    return [] if request.param == "c" else ["-o", "trace.accel=0"]


def trace_run(run_python, cwd, *args):
    return run_python(["-m", "bchook", "-p", "trace", *args], cwd=cwd)


def stats_of(path) -> dict:
    """{name: (primitive calls, calls, callers' names)} of a pstats file."""
    return {name: (v[0], v[1], sorted(c[2] for c in v[4]))
            for (_, _, name), v in pstats.Stats(str(path)).stats.items()}


def calls_by_caller(path) -> dict:
    """{name: (calls, {caller's name: calls from it})} of a pstats file."""
    return {name: (v[1], {caller[2]: counts[1] for caller, counts in v[4].items()})
            for (_, _, name), v in pstats.Stats(str(path)).stats.items()}


# -- every bad combination is a usage error before the program runs ----------------------

USAGE_ERRORS = [
    (["-o", "trace.output=/nonexistent/dir/a.prof"], "no folder /nonexistent/dir"),
    (["-o", "trace.output=not_a_folder.txt/a.prof"], "no folder"),
    (["-o", "trace.output=a_folder.prof"], "cannot write 'a_folder.prof': it is a folder"),
    (["-o", "trace.output=/proc/a.prof"], "the folder /proc is not writable"),
    (["-o", "trace.lines=1", "-o", "trace.summary=tree"],
     "trace.summary=tree: shows calls, and trace.lines=flags alone records lines only"),
    (["-o", "trace.lines=1", "-o", "trace.callers=f"], "trace.callers=f: shows calls"),
    (["-o", "trace.output=a.txt"], "'a.txt' has no known extension"),
    (["-o", "trace.lines=count", "-o", "trace.output=c.prof"],
     "trace.output=c.prof: this kind of file holds calls"),
    (["-o", "trace.lines=1", "-o", "trace.output=c.folded"], "add -o trace.mode=calls"),
    (["-o", "trace.mode=lines", "-o", "trace.output=c.json"], "add -o trace.mode=calls"),
    (["-o", "trace.output=x.lines.json"], "holds line hits: add -o trace.lines=1"),
    (["-o", "trace.handler=nosuchmod:fn"], "no module named 'nosuchmod'"),
    (["-o", "trace.handler=os:no_such_function"], "module 'os' has no 'no_such_function'"),
    (["-o", "trace.handler=os:sep"], "trace.handler=os:sep: str object is not callable"),
    (["-o", "trace.handler=failing_handler:on_event"],
     "importing it raised RuntimeError: broken on import"),
]


@pytest.mark.parametrize("args, message", USAGE_ERRORS, ids=[" ".join(a) for a, _ in
                                                             USAGE_ERRORS])
def test_bad_combinations_stop_before_the_program_runs(tmp_path, run_python, args, message):
    (tmp_path / "prog.py").write_text(RUNS)
    (tmp_path / "not_a_folder.txt").write_text("")
    (tmp_path / "failing_handler.py").write_text("raise RuntimeError('broken on import')\n")
    (tmp_path / "a_folder.prof").mkdir()
    if "/proc/" in " ".join(args) and not os.path.isdir("/proc"):
        pytest.skip("no /proc here")
    rc, out, err = trace_run(run_python, tmp_path, *args, "prog.py")
    assert (rc, out) == (2, "")
    assert err.startswith("bchook: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "ran.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["a_folder.prof", "failing_handler.py",
                                            "not_a_folder.txt", "prog.py"]


def test_a_handler_next_to_the_program_is_found(tmp_path, run_python):
    """The handler is loaded once the program's sys.path is set up (its own folder)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "prog.py").write_text("def f():\n    return 1\nf()\n")
    (tmp_path / "sub" / "seen.py").write_text(
        "def on_event(event, func):\n    print(event, func[2])\n")
    rc, out, err = trace_run(run_python, tmp_path, "-o", "trace.handler=seen:on_event",
                             "-o", "trace.output=t.prof", "sub/prog.py")
    assert rc == 0, err
    assert "enter f\nexit f\n" in out


# -- a write that fails at exit ----------------------------------------------------------

FAILS_AT_EXIT = """\
import atexit, shutil, sys
atexit.register(lambda: print("the program's atexit handler ran"))
kept = open("data.txt", "w")
kept.write("flushed by the interpreter's finalization")
def work():
    return 1
work()
shutil.rmtree("out")
open("out", "w").close()  # where the folder was: the profile cannot be written
print("done")
sys.exit(STATUS)
"""


@pytest.mark.parametrize("status", [0, 3])
def test_a_write_that_fails_at_exit_makes_the_status_non_zero(tmp_path, run_python,
                                                              backend_args, status):
    (tmp_path / "out").mkdir()
    (tmp_path / "prog.py").write_text(FAILS_AT_EXIT.replace("STATUS", str(status)))
    rc, out, err = trace_run(run_python, tmp_path, *backend_args,
                             "-o", "trace.output=out/a.prof", "prog.py")
    assert rc == (status or 1)
    assert out == "done\nthe program's atexit handler ran\n"
    (line,) = err.splitlines()
    assert line.startswith(f"bchook trace: could not write {tmp_path / 'out' / 'a.prof'}: ")
    # everything else still ran: the program's files were flushed at finalization
    assert (tmp_path / "data.txt").read_text() == "flushed by the interpreter's finalization"


def test_written_outputs_leave_the_status_alone(tmp_path, run_python):
    (tmp_path / "prog.py").write_text("import sys\nsys.exit(4)\n")
    rc, _, err = trace_run(run_python, tmp_path, "-o", "trace.output=a.prof", "prog.py")
    assert (rc, err) == (4, "")
    assert (tmp_path / "a.prof").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_ring_buffer_losses_are_said_with_the_option_that_keeps_them(tmp_path, run_python,
                                                                    backend_args):
    (tmp_path / "many.py").write_text(
        "def leaf(i):\n    return i\nfor i in range(5000):\n    leaf(i)\n")
    rc, _, err = trace_run(run_python, tmp_path, *backend_args, "-o", "trace.mode=timeline",
                           "-o", "trace.buffer=1000", "-o", "trace.output=m.json",
                           "many.py")
    assert rc == 0
    (line,) = err.splitlines()
    dropped = int(re.search(r"dropped the ([\d,]+) oldest", line)[1].replace(",", ""))
    assert dropped >= 9000
    assert f"-o trace.buffer={1000 + dropped} keeps them all" in line
    rc, _, err = trace_run(run_python, tmp_path, *backend_args, "-o", "trace.mode=timeline",
                           "-o", f"trace.buffer={1000 + dropped}", "-o",
                           "trace.output=m.json", "many.py")
    assert (rc, err) == (0, "")
    # with the summary instead of a file: said once too
    rc, _, err = trace_run(run_python, tmp_path, *backend_args, "-o", "trace.mode=timeline",
                           "-o", "trace.buffer=1000", "many.py")
    assert rc == 0
    assert [line for line in err.splitlines() if "dropped" in line] == [line]


# -- regions -----------------------------------------------------------------------------

REGIONS = """\
import threading
import bchook.trace

def outside(n):
    return n

def inside(n):
    return n

def work():
    return sum(inside(i) for i in range(10))

for i in range(100):
    outside(i)
with bchook.trace.region("load"):
    work()
    with bchook.trace.region("inner"):
        inside(1)
for i in range(100):
    outside(i)

@bchook.trace.region
def decorated():
    return inside(2)

@bchook.trace.region("named")
def other():
    return inside(3)

decorated()
decorated()
other()
print(decorated.__name__, other.__name__)
"""


def test_regions_profile_only_what_runs_inside(tmp_path, run_python, backend_args):
    (tmp_path / "reg.py").write_text(REGIONS)
    rc, out, err = trace_run(run_python, tmp_path, *backend_args, "-o", "trace.output=r.prof",
                             "reg.py")
    assert (rc, out, err) == (0, "decorated other\n", "")
    stats = stats_of(tmp_path / "r.prof")
    assert stats == {
        "load": (1, 1, []),
        "inner": (1, 1, ["load"]),
        "work": (1, 1, ["load"]),
        "<genexpr>": (11, 11, ["work"]),
        "inside": (14, 14, ["<genexpr>", "decorated", "inner", "other"]),
        "decorated": (2, 2, ["decorated"]),  # the region, then the function inside it
        "named": (1, 1, []),
        "other": (1, 1, ["named"]),
    }


@pytest.mark.skipif(not accelerated(), reason="the C recorder keeps regions per thread")
def test_a_region_covers_its_own_thread(tmp_path, run_python):
    (tmp_path / "thr.py").write_text(
        "import threading, bchook.trace\n"
        "def busy(stop):\n"
        "    while not stop.is_set():\n"
        "        tick()\n"
        "def tick():\n"
        "    return 1\n"
        "def mine():\n"
        "    return 2\n"
        "stop = threading.Event()\n"
        "t = threading.Thread(target=busy, args=(stop,))\n"
        "t.start()\n"
        "with bchook.trace.region('main'):\n"
        "    for i in range(1000):\n"
        "        mine()\n"
        "stop.set()\n"
        "t.join()\n")
    rc, _, err = trace_run(run_python, tmp_path, "-o", "trace.output=t.prof", "thr.py")
    assert rc == 0, err
    assert stats_of(tmp_path / "t.prof") == {"main": (1, 1, []), "mine": (1000, 1000, ["main"])}


def test_entering_and_leaving_a_region_is_cheap(tmp_path, run_python, backend_args):
    (tmp_path / "cost.py").write_text(
        "import time, bchook.trace\n"
        "def f():\n"
        "    return 1\n"
        "region = bchook.trace.region('r')\n"
        "best = 1.0\n"
        "for _ in range(5):\n"
        "    t = time.perf_counter()\n"
        "    for i in range(2000):\n"
        "        with region:\n"
        "            f()\n"
        "    best = min(best, (time.perf_counter() - t) / 2000)\n"
        "print(best * 1e6)\n")
    rc, out, err = trace_run(run_python, tmp_path, *backend_args, "-o", "trace.output=c.prof",
                             "cost.py")
    assert rc == 0, err
    assert float(out) < 2 * 50  # entry + exit (and a call): each within 50 us
    assert stats_of(tmp_path / "c.prof")["r"][1] == 10000


def test_stop_and_start_still_switch_regions_off_and_on(tmp_path, run_python):
    (tmp_path / "both.py").write_text(
        "import bchook.trace\n"
        "def f():\n"
        "    return 1\n"
        "with bchook.trace.region('a'):\n"
        "    f()\n"
        "bchook.trace.stop()\n"
        "with bchook.trace.region('b'):\n"
        "    f()\n"
        "bchook.trace.start()\n"
        "with bchook.trace.region('c'):\n"
        "    f()\n")
    rc, _, err = trace_run(run_python, tmp_path, "-o", "trace.output=s.prof", "both.py")
    assert rc == 0, err
    stats = stats_of(tmp_path / "s.prof")
    assert stats == {"a": (1, 1, []), "c": (1, 1, []), "f": (2, 2, ["a", "c"])}


# -- merging profiles --------------------------------------------------------------------

def one_process(calls: int, name: str = "MainThread", lines=None) -> Profile:
    f = [Function("x.py", 1, "main", "main"), Function("x.py", 5, "leaf", "leaf")]
    nodes = [Node(-1, -1, 0, 0, 0), Node(0, 0, 1, 100, 100 + calls * 10),
             Node(1, 1, calls, calls * 10, calls * 10)]
    events = [Event(0, 1, 0, True), Event(100, 1, 0, False)]
    return Profile(functions=f, nodes=nodes, threads=[Thread(7, name, 0)], events=events,
                   timeline=True, events_dropped=2, lines=lines or {},
                   line_mode="count" if lines else "flags")


def test_merge_sums_what_each_process_recorded():
    a = one_process(3, lines={"x.py": {1: 1, 2: 3}})
    b = one_process(4, lines={"x.py": {2: 1, 9: 2}})
    b.functions.reverse()  # the same functions, in another order
    b.nodes[1:] = [Node(0, 1, 1, 100, 140), Node(1, 0, 4, 40, 40)]
    merged = merge([a, b], ["gw0", "gw1"])
    assert len(merged.functions) == 2
    assert [t.name for t in merged.threads] == ["gw0: MainThread", "gw1: MainThread"]
    stats = merged.stats()
    assert stats[("x.py", 5, "leaf")][:2] == (7, 7)
    assert stats[("x.py", 1, "main")][:2] == (2, 2)
    assert merged.lines == {"x.py": {1: 1, 2: 4, 9: 2}} and merged.line_mode == "count"
    assert (merged.events_dropped, len(merged.events), merged.timeline) == (4, 4, True)
    assert {e.thread for e in merged.events} == {0, 1}
    assert Profile.from_data(merged.to_data()) == merged


def test_merge_of_line_flags_keeps_flags():
    a, b = one_process(1), one_process(1)
    a.lines, b.lines = {"x.py": {1: 1, 2: 1}}, {"x.py": {2: 1, 3: 1}}
    merged = merge([a, b])
    assert merged.lines == {"x.py": {1: 1, 2: 1, 3: 1}} and merged.line_mode == "flags"
    assert [t.name for t in merged.threads] == ["MainThread", "MainThread"]


def test_a_region_never_entered_says_why_nothing_was_recorded(tmp_path, run_python):
    (tmp_path / "never.py").write_text(
        "import bchook.trace\n"
        "@bchook.trace.region()\n"
        "def never():\n"
        "    pass\n"
        "def f():\n"
        "    return 1\n"
        "f()\n")
    rc, _, err = trace_run(run_python, tmp_path, "never.py")
    assert rc == 0
    assert err == ("bchook trace: nothing recorded (the program made a bchook.trace.region, "
                   "so only what runs inside regions is recorded, and none was entered)\n")


def test_the_renderer_refresh_writes_into_the_package():
    """Into the checkout's package folder the wheel takes its files from (not the
    installed copy, which the tests may run against)."""
    import runpy

    from bchook.passes.trace.runtime import _runtime

    root = os.path.join(os.path.dirname(__file__), "..", "..", "..")
    tool = os.path.join(root, "tools", "refresh_flamegraph.py")
    vendor = runpy.run_path(tool, run_name="refresh_flamegraph")["VENDOR"]
    installed = os.path.join(os.path.dirname(_runtime.__file__), "vendor")
    assert os.path.samefile(vendor, os.path.join(root, "src", "bchook", "passes", "trace",
                                                 "runtime", "vendor"))
    assert sorted(os.listdir(vendor)) == sorted(os.listdir(installed))


def test_a_generator_function_in_a_region_runs_each_step_inside(tmp_path, run_python):
    (tmp_path / "gen.py").write_text(
        "import bchook.trace\n"
        "def fib(n):\n"
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "def outside():\n"
        "    return 0\n"
        "@bchook.trace.region()\n"
        "def numbers(k):\n"
        "    for i in range(k):\n"
        "        got = yield fib(i)\n"
        "        assert got is None\n"
        "    return 'done'\n"
        "def main():\n"
        "    total = 0\n"
        "    for x in numbers(5):\n"
        "        total += x + outside()\n"
        "    g = numbers(5)\n"
        "    next(g)\n"
        "    try:\n"
        "        g.throw(KeyError('k'))\n"
        "    except KeyError:\n"
        "        pass\n"
        "    return total\n"
        "assert main() == 7\n")
    rc, _, err = trace_run(run_python, tmp_path, "-o", "trace.output=g.prof", "gen.py")
    assert rc == 0, err
    stats = stats_of(tmp_path / "g.prof")
    assert stats["fib"][1] == 1 + 1 + 3 + 5 + 9 + 1   # fib(0..4), then fib(0) once more
    assert stats["numbers"][1] >= 6 + 2                 # steps: 5 items and the end; 2 more
    assert "outside" not in stats and "main" not in stats


def test_an_async_generator_function_in_a_region_runs_each_step_inside(tmp_path,
                                                                       run_python):
    (tmp_path / "agen.py").write_text(
        "import asyncio, bchook.trace\n"
        "def fib(n):\n"
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "def outside():\n"
        "    return 0\n"
        "@bchook.trace.region()\n"
        "async def numbers(k):\n"
        "    for i in range(k):\n"
        "        await asyncio.sleep(0)\n"
        "        got = yield fib(i)\n"
        "        assert got is None\n"
        "    cleanup()\n"
        "def cleanup():\n"
        "    pass\n"
        "async def main():\n"
        "    total = 0\n"
        "    async for x in numbers(5):\n"
        "        total += x + outside()\n"
        "    g = numbers(5)\n"
        "    assert await g.asend(None) == 0\n"
        "    try:\n"
        "        await g.athrow(KeyError('k'))\n"
        "    except KeyError:\n"
        "        pass\n"
        "    h = numbers(5)\n"
        "    await h.__anext__()\n"
        "    await h.aclose()\n"
        "    return total\n"
        "assert asyncio.run(main()) == 7\n")
    rc, _, err = trace_run(run_python, tmp_path, "-o", "trace.output=g.prof", "agen.py")
    assert rc == 0, err
    stats = stats_of(tmp_path / "g.prof")
    assert stats["fib"][1] == 1 + 1 + 3 + 5 + 9 + 1 + 1   # fib(0..4), then fib(0) twice
    assert stats["cleanup"][1] == 1
    assert stats["numbers"][1] >= 6 + 2 + 2
    # main is resumed inside when a step's await resumes (as for a coroutine in a region)
    assert "outside" not in stats


MID_RUN = """\
import bchook.trace
def leaf():
    return 1
def look():
    prof = bchook.trace.profile()
    for thread in range(len(prof.threads)):
        events = [e for e in prof.events if e.thread == thread]
        assert sum(e.enter for e in events) * 2 == len(events), events
    return {k[2]: v[:2] for k, v in prof.stats().items()}
def main():
    leaf()
    seen = look()
    assert seen["leaf"] == (1, 1) and seen["main"] == (1, 1), seen
    leaf()
def in_region():
    with bchook.trace.region("r"):
        leaf()
        look()
        leaf()
main()
if REGION:
    in_region()
"""


@pytest.mark.parametrize("accel", ["0", "1"])
@pytest.mark.parametrize("region", [False, True])
def test_results_asked_for_while_running_leave_the_recording_as_it_was(
        tmp_path, run_python, accel, region):
    """Calls still running are in a profile asked for mid-run as if they ended then, and
    go on being recorded where they are (not at the thread's root)."""
    (tmp_path / "mid.py").write_text(f"REGION = {region}\n" + MID_RUN)
    rc, _, err = trace_run(run_python, tmp_path, "-o", f"trace.accel={accel}",
                           "-o", "trace.mode=timeline", "-o", "trace.output=m.prof", "mid.py")
    assert rc == 0, err
    calls = calls_by_caller(tmp_path / "m.prof")
    if region:
        assert calls["leaf"] == (2, {"r": 2}) and "main" not in calls
    else:
        assert calls["leaf"] == (2, {"main": 2}) and calls["look"] == (1, {"main": 1})


SWITCHED_IN_A_REGION = """\
import bchook.trace
def leaf():
    return 1
def main():
    with bchook.trace.region("r"):
        leaf()
        bchook.trace.stop()
        leaf()                    # not recorded
        bchook.trace.start()
        leaf()
        bchook.trace.reset()      # forgets the leaf before
        leaf()
        with bchook.trace.region("inner"):
            bchook.trace.stop()
            bchook.trace.start()
            leaf()
    leaf()                        # outside
main()
"""


@pytest.mark.parametrize("accel", ["0", "1"])
@pytest.mark.parametrize("lines", ["0", "count"])
def test_calls_in_a_region_stay_under_it_across_stop_start_and_reset(
        tmp_path, run_python, accel, lines):
    (tmp_path / "switched.py").write_text(SWITCHED_IN_A_REGION)
    rc, _, err = trace_run(run_python, tmp_path, "-o", f"trace.accel={accel}",
                           "-o", f"trace.lines={lines}", "-o", "trace.mode=calls",
                           "-o", "trace.output=s.prof", "switched.py")
    assert rc == 0, err
    # a region open across start() or reset() is reopened from the thread's root
    assert calls_by_caller(tmp_path / "s.prof") == {"leaf": (2, {"r": 1, "inner": 1}), "inner": (2, {"r": 2}),
                        "r": (2, {})}


def test_nothing_recorded_writes_no_pstats_file_pstats_cannot_read(tmp_path, run_python):
    (tmp_path / "idle.py").write_text("import bchook.trace\nbchook.trace.region('never')\n")
    rc, _, err = trace_run(run_python, tmp_path, "-o", "trace.output=t.prof,t.json",
                           "idle.py")
    assert rc == 0
    assert err == f"bchook trace: nothing recorded, so {tmp_path / 't.prof'} was not written\n"
    assert not (tmp_path / "t.prof").exists() and (tmp_path / "t.json").exists()


# -- regions recorded without probes (C recorder) ----------------------------------------

LATER = """\
def later(n):
    return n + 1
"""

EVERY_KIND_OF_CALL = """\
import asyncio, sys, dataclasses
import bchook.trace

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def fails(n):
    if n:
        return fails(n - 1)
    raise KeyError(n)

def catches():
    try:
        fails(3)
    except KeyError:
        return 1

def numbers(k):
    for i in range(k):
        yield fib(i)

async def leaf(x):
    await asyncio.sleep(0)
    return x

async def gather():
    return sum(await asyncio.gather(*(leaf(i) for i in range(3))))

@dataclasses.dataclass
class Point:
    x: int
    y: int

    def norm(self):
        return abs(self.x) + abs(self.y)

class Shape:
    def area(self):
        return helper(2)

def helper(n):
    return (lambda k: k * k)(n)

def evaluates():
    def local(k):
        return eval("fib(k)")  # compiled at run time, calls traced code
    Pair = __import__("collections").namedtuple("Pair", "a b")
    return local(3) + Pair(1, 2).a

def outside():
    return 0

def everything():
    fib(6)
    catches()
    sum(numbers(4))
    asyncio.run(gather())
    Point(1, 2).norm()
    Shape().area()
    evaluates()
    import later_mod
    return later_mod.later(1)

for i in range(50):
    outside()
with bchook.trace.region("all"):
    everything()
for i in range(50):
    outside()
with bchook.trace.region("again"):
    everything()
bchook.trace.stop()
bchook.trace.start()
with bchook.trace.region("after start()"):
    everything()
from bchook.passes.trace.runtime._names import ORIGINAL_MARK
print("untraced outside:", not any(type(c) is tuple and c and c[0] == ORIGINAL_MARK
                                     for c in outside.__code__.co_consts))
"""


@pytest.mark.skipif(not accelerated(), reason="the C recorder records regions without probes")
def test_regions_without_probes_record_what_the_probes_record(tmp_path, run_python):
    """The same program, its regions recorded by the profile function (calls only) and by
    the probes (line probes keep the traced code): the same calls, from the same callers."""
    (tmp_path / "every.py").write_text(EVERY_KIND_OF_CALL)
    (tmp_path / "later_mod.py").write_text(LATER)
    rc, out, err = trace_run(run_python, tmp_path, "--include", "every,later_mod",
                             "-o", "trace.output=fast.prof", "every.py")
    assert (rc, out, err) == (0, "untraced outside: True\n", "")
    rc, out, err = trace_run(run_python, tmp_path, "--include", "every,later_mod",
                             "-o", "trace.output=probed.prof", "-o", "trace.lines=1",
                             "-o", "trace.mode=calls", "every.py")
    assert (rc, out, err) == (0, "untraced outside: False\n", "")
    fast, probed = stats_of(tmp_path / "fast.prof"), stats_of(tmp_path / "probed.prof")
    assert fast == probed
    assert fast["fails"] == (3, 12, ["catches", "fails"])
    assert fast["later"] == (3, 3, ["everything"])
    assert fast["__init__"][1] == 3       # dataclasses' generated code, compiled at run time
    assert fast["leaf"][1] >= 9 and fast["<lambda>"][1] == 3
    assert "outside" not in fast


@pytest.mark.skipif(not accelerated(), reason="the C recorder records regions without probes")
def test_a_region_gives_back_the_profile_function_it_found(tmp_path, run_python):
    (tmp_path / "prof.py").write_text(
        "import sys, bchook.trace\n"
        "seen = []\n"
        "def mine(frame, event, arg):\n"
        "    if event == 'call':\n"
        "        seen.append(frame.f_code.co_name)\n"
        "def f():\n"
        "    return 1\n"
        "def g():\n"
        "    return 2\n"
        "sys.setprofile(mine)\n"
        "with bchook.trace.region('r'):\n"
        "    f()\n"
        "g()\n"
        "print(sys.getprofile() is mine, 'g' in seen)\n")
    rc, out, err = trace_run(run_python, tmp_path, "-o", "trace.output=p.prof", "prof.py")
    assert (rc, out, err) == (0, "True True\n", "")
    assert stats_of(tmp_path / "p.prof") == {"r": (1, 1, []), "f": (1, 1, ["r"])}


@pytest.mark.skipif(not accelerated(), reason="the C recorder records regions without probes")
def test_regions_keep_recording_after_the_run_time_code_cache_is_emptied(tmp_path, run_python):
    from bchook.passes.trace.runtime._runtime import _COMPILED_KEPT

    (tmp_path / "many.py").write_text(
        "import bchook.trace\n"
        "def f(i):\n"
        "    return i\n"
        "def compute(i):\n"
        "    return eval(f'f({i})')\n"
        "with bchook.trace.region('r'):\n"
        f"    total = sum(compute(i) for i in range({_COMPILED_KEPT + 10}))\n"
        "    f(0)\n")
    rc, _, err = trace_run(run_python, tmp_path, "-o", "trace.output=m.prof", "many.py")
    assert rc == 0, err
    stats = stats_of(tmp_path / "m.prof")
    assert stats["f"][1] == _COMPILED_KEPT + 11
    assert stats["compute"][1] == _COMPILED_KEPT + 10
    assert stats["<module>"][1] == _COMPILED_KEPT + 10  # each eval'd string's code
