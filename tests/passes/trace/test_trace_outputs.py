"""Output files of bchook.trace and the views of a recorded profile."""

from __future__ import annotations

import io
import json
import marshal
import pstats

import pytest

import bchook.trace
from bchook.passes.trace.runtime import _runtime
from bchook.passes.trace.runtime import _writers
from bchook.passes.trace.runtime._profile import Event, Function, Node, Profile, Thread
from trace_helpers import traced

SOURCE = (
    "def leaf(n):\n"
    "    return n\n"
    "def mid(n):\n"
    "    return leaf(n) + leaf(n)\n"
    "def fib(n):\n"
    "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
    "def main():\n"
    "    out = []\n"
    "    for i in range(3):\n"
    "        out.append(mid(i))\n"
    "    return out, fib(6)\n"
)


@pytest.fixture(autouse=True)
def fresh_tracer():
    _runtime.discard()
    yield
    _runtime.discard()


def recorded(tmp_path, **options) -> Profile:
    path = tmp_path / "out_sample.py"
    path.write_text(SOURCE)
    module = traced(SOURCE, path, "out_sample", **options)
    bchook.trace.reset()
    module.main()
    return bchook.trace.profile()


def synthetic() -> Profile:
    """main -> a -> a (recursion) and main -> b, on one thread, by hand."""
    f = [Function("x.py", 1, "main", "main"), Function("x.py", 5, "a", "a"),
         Function("x.py", 9, "b", "b")]
    nodes = [
        Node(-1, -1, 0, 0, 0),          # 0 root
        Node(0, 0, 1, 100, 1000),       # 1 main
        Node(1, 1, 2, 200, 600),        # 2 main > a   (2 calls)
        Node(2, 1, 3, 400, 400),        # 3 main > a > a (3 recursive calls)
        Node(1, 2, 1, 300, 300),        # 4 main > b
    ]
    return Profile(functions=f, nodes=nodes, threads=[Thread(1, "MainThread", 0)])


def test_stats_follow_cprofile_recursion_rules():
    stats = synthetic().stats()
    assert stats[("x.py", 1, "main")] == (1, 1, 100e-9, 1000e-9, {})
    cc, nc, tt, ct, callers = stats[("x.py", 5, "a")]
    assert (cc, nc) == (2, 5)
    assert tt == pytest.approx(600e-9)
    assert ct == pytest.approx(600e-9)  # the recursive calls are inside the outer ones
    assert callers[("x.py", 1, "main")][:2] == (2, 2)
    assert callers[("x.py", 5, "a")][:2] == (3, 3)  # (nc, cc): a->a pair not yet active
    assert stats[("x.py", 9, "b")][:4] == (1, 1, 300e-9, 300e-9)


def test_folded_stacks_weigh_own_time():
    lines = dict(synthetic().folded())
    assert lines == {
        "main (x.py:1)": 100,
        "main (x.py:1);a (x.py:5)": 200,
        "main (x.py:1);a (x.py:5);a (x.py:5)": 400,
        "main (x.py:1);b (x.py:9)": 300,
    }


def test_pstats_file_loads(tmp_path):
    prof = recorded(tmp_path)
    out = tmp_path / "o.prof"
    _writers.write(prof, str(out), ".prof")
    st = pstats.Stats(str(out))
    path = str(tmp_path / "out_sample.py")
    assert st.stats[(path, 1, "leaf")][:2] == (6, 6)
    assert st.stats[(path, 5, "fib")][:2] == (1, 25)
    assert st.total_calls == 1 + 3 + 6 + 25
    callers = st.stats[(path, 1, "leaf")][4]
    assert callers[(path, 3, "mid")][:2] == (6, 6)
    buf = io.StringIO()
    pstats.Stats(str(out), stream=buf).sort_stats("cumulative").print_stats()
    assert "out_sample.py:7(main)" in buf.getvalue()
    assert marshal.loads(out.read_bytes()) == st.stats


def test_chrome_trace(tmp_path):
    prof = recorded(tmp_path, mode="timeline")
    out = tmp_path / "t.json"
    _writers.write(prof, str(out), ".json")
    doc = json.loads(out.read_text())
    events = doc["traceEvents"]
    meta = [e for e in events if e["ph"] == "M"]
    assert {e["name"] for e in meta} == {"process_name", "thread_name"}
    begins = [e for e in events if e["ph"] == "B"]
    ends = [e for e in events if e["ph"] == "E"]
    assert len(begins) == len(ends) == 1 + 3 + 6 + 25
    assert begins[0]["name"] == "main" and begins[0]["args"]["line"] == 7
    depth = 0
    last = -1.0
    for e in events:
        if e["ph"] in "BE":
            depth += 1 if e["ph"] == "B" else -1
            assert depth >= 0 and e["ts"] >= last
            last = e["ts"]
    assert depth == 0


def test_chrome_trace_of_a_truncated_ring_is_balanced(tmp_path):
    prof = recorded(tmp_path, mode="timeline", buffer="7")
    doc = _writers.chrome_trace(prof)
    events = [e for e in doc["traceEvents"] if e["ph"] in "BE"]
    depth = 0
    for e in events:
        depth += 1 if e["ph"] == "B" else -1
        assert depth >= 0
    assert depth == 0
    assert int(doc["otherData"]["events_dropped"]) > 0


def test_json_output_records_a_timeline_in_calls_mode(tmp_path):
    path = tmp_path / "cm_sample.py"
    path.write_text(SOURCE)
    traced(SOURCE, path, "cm_sample", output=str(tmp_path / "x.json"))
    assert _runtime.tracer().timeline


def test_speedscope_evented_and_sampled(tmp_path):
    evented = _writers.speedscope(recorded(tmp_path, mode="timeline"))
    _runtime.discard()
    sampled = _writers.speedscope(recorded(tmp_path))
    for doc in (evented, sampled):
        assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
        names = [f["name"] for f in doc["shared"]["frames"]]
        assert {"main", "mid", "leaf", "fib"} <= set(names)
    (profile,) = evented["profiles"]
    assert profile["type"] == "evented" and profile["unit"] == "nanoseconds"
    opened = []
    for ev in profile["events"]:
        if ev["type"] == "O":
            opened.append(ev["frame"])
        else:
            assert opened.pop() == ev["frame"]
    assert not opened
    (profile,) = sampled["profiles"]
    assert profile["type"] == "sampled"
    assert len(profile["samples"]) == len(profile["weights"]) > 0
    assert profile["endValue"] == sum(profile["weights"])


def test_folded_file(tmp_path):
    prof = recorded(tmp_path)
    out = tmp_path / "f.folded"
    _writers.write(prof, str(out), ".folded")
    rows = [line.rsplit(" ", 1) for line in out.read_text().splitlines()]
    assert rows and all(int(w) > 0 for _, w in rows)
    stacks = [s.split(";") for s, _ in rows]
    assert all(s[0].startswith("main ") for s in stacks)
    assert any(len(s) == 3 and s[1].startswith("mid ") and s[2].startswith("leaf ")
               for s in stacks)


def test_lines_file(tmp_path):
    prof = recorded(tmp_path, lines="count")
    out = tmp_path / "l.lines.json"
    _writers.write(prof, str(out), ".lines.json")
    doc = json.loads(out.read_text())
    assert doc["mode"] == "count"
    hits = doc["files"][str(tmp_path / "out_sample.py")]
    assert hits["2"] == 6 and hits["6"] == 25 and hits["8"] == 1
    assert hits["9"] == 4 and hits["10"] == 3  # the for line: 3 iterations and the end


def test_summary_is_one_table_by_cumulative_time(tmp_path):
    buf = io.StringIO()
    _writers.summary(recorded(tmp_path), buf)
    text = buf.getvalue()
    assert text.count("  out_sample.py:5 fib\n") == 1  # one table
    assert "25/1" in text  # fib: calls/primitive calls


def test_summary_of_nothing():
    buf = io.StringIO()
    _writers.summary(Profile(), buf)
    assert buf.getvalue() == "bchook trace: nothing recorded\n"


def test_write_api(tmp_path):
    recorded(tmp_path)
    bchook.trace.write(str(tmp_path / "api.pstats"))
    assert pstats.Stats(str(tmp_path / "api.pstats")).total_calls > 0
    with pytest.raises(ValueError, match="unknown output extension"):
        bchook.trace.write(str(tmp_path / "api.txt"))


def test_outputs_of_child_processes_carry_the_pid(monkeypatch):
    monkeypatch.setenv("BCHOOK_TRACE_PID", "1")
    [(path, kind)] = _runtime.output_paths("out/trace.speedscope.json", child=True)
    import os
    assert path.endswith(f"out/trace.{os.getpid()}.speedscope.json")
    assert kind == ".speedscope.json"
    [(path, kind)] = _runtime.output_paths("t.prof", child=False)
    assert path.endswith("/t.prof") and kind == ".prof"


def test_event_times_are_relative_and_sorted():
    snap = {"funcs": [("x.py", 1, "f", "f")], "nodes": [(-1, -1, 0, 0, 0), (0, 0, 1, 5, 5)],
            "threads": [(7, 0, "T")], "event_format": "qii",
            "events": b"".join(__import__("struct").pack("qii", t, 1, k)
                               for t, k in ((1005, 0), (1000, 1))),
            "events_dropped": 0, "ns_per_tick": 1.0}
    prof = Profile.from_snapshots([snap], {}, "flags", 0, timeline=True)
    assert prof.events == [Event(0, 1, 0, True), Event(5, 1, 0, False)]
    assert prof.threads == [Thread(7, "T", 0)]


def test_discard_forgets_what_the_recorder_holds(tmp_path):
    accel = _runtime.load_accel()
    if accel is None:
        pytest.skip("the C accelerator is not built")
    assert recorded(tmp_path).functions
    assert accel.snapshot()["funcs"]
    _runtime.discard()
    assert accel.snapshot()["funcs"] == [] and not accel.enabled()
