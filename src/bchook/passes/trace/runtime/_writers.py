"""Output files of ``bchook.trace``, chosen by extension, and the summary on stderr.

``.json``             Chrome Trace Event Format (Perfetto, chrome://tracing): B/E events
``.prof``/``.pstats`` what ``cProfile`` dumps: ``pstats.Stats(FILE)``, snakeviz, gprof2dot
``.folded``           collapsed stacks, own nanoseconds per stack (flamegraph.pl, speedscope)
``.speedscope.json``  speedscope's format: evented with a timeline, sampled otherwise
``.lines.json``       line hits: {"mode": ..., "files": {file: {line: hits}},
                      "statements": {file: [lines that could run]}}
``.html``             one self-contained page: flame graph, function table, call tree,
                      timeline per thread (see :mod:`._html`); it keeps the whole profile
``.coverage``         coverage.py's data file (lines mode), written with coverage's API

The whole profile, losslessly, is :func:`profile_data` (a JSON document): the HTML page
carries it, and child processes hand it to the first one with ``trace.merge=1``.
"""

from __future__ import annotations

import json
import marshal
import os
import pstats
import sys
from typing import IO, Callable

from ._profile import Profile

__all__ = ["write", "summary", "chrome_trace", "speedscope", "WRITERS", "NEEDS", "needs",
           "profile_data", "write_data", "DATA_FORMAT"]

#: Names the version of the JSON document :func:`profile_data` makes.
DATA_FORMAT = "bchook.trace.profile/1"


def _atomic(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def chrome_trace(profile: Profile) -> dict:
    pid = os.getpid()
    funcs = profile.functions
    nodes = profile.nodes
    out = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
            "args": {"name": " ".join([os.path.basename(sys.executable)] + sys.argv)}}]
    for index, thread in enumerate(profile.threads):
        out.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": index + 1,
                    "args": {"name": thread.name}})
    open_frames: dict[int, list] = {}
    last = 0
    for ev in profile.events:
        stack = open_frames.setdefault(ev.thread, [])
        ts = ev.t_ns / 1000
        last = ts
        if ev.enter:
            f = funcs[nodes[ev.node].func]
            stack.append(ev.node)
            out.append({"name": f.qualname, "cat": "python", "ph": "B", "ts": ts,
                        "pid": pid, "tid": ev.thread + 1,
                        "args": {"file": f.filename, "line": f.lineno}})
        elif stack:  # an exit whose entry fell out of the ring buffer is left out
            stack.pop()
            out.append({"ph": "E", "ts": ts, "pid": pid, "tid": ev.thread + 1})
    for thread, stack in open_frames.items():
        for _ in stack:
            out.append({"ph": "E", "ts": last, "pid": pid, "tid": thread + 1})
    meta = {"generator": "bchook.trace", "events_dropped": str(profile.events_dropped)}
    if not profile.timeline:
        meta["note"] = "no timeline recorded: run with -o trace.mode=timeline"
    return {"traceEvents": out, "displayTimeUnit": "ms", "otherData": meta}


def speedscope(profile: Profile, name: str = "bchook.trace") -> dict:
    frames = [{"name": f.qualname, "file": f.filename, "line": f.lineno}
              for f in profile.functions]
    profiles = []
    if profile.timeline and profile.events:
        per_thread: dict[int, list] = {}
        for ev in profile.events:
            per_thread.setdefault(ev.thread, []).append(ev)
        for index, events in sorted(per_thread.items()):
            out, stack = [], []
            for ev in events:
                frame = profile.nodes[ev.node].func
                if ev.enter:
                    stack.append(frame)
                    out.append({"type": "O", "frame": frame, "at": ev.t_ns})
                elif stack:
                    out.append({"type": "C", "frame": stack.pop(), "at": ev.t_ns})
            end = events[-1].t_ns
            while stack:
                out.append({"type": "C", "frame": stack.pop(), "at": end})
            profiles.append({
                "type": "evented", "name": profile.threads[index].name,
                "unit": "nanoseconds", "startValue": events[0].t_ns, "endValue": end,
                "events": out})
    else:
        samples, weights = [], []
        for index, path in profile.walk():
            own = profile.nodes[index].own_ns
            if own > 0:
                samples.append(list(path))
                weights.append(own)
        profiles.append({
            "type": "sampled", "name": name, "unit": "nanoseconds", "startValue": 0,
            "endValue": sum(weights), "samples": samples, "weights": weights})
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames}, "profiles": profiles, "name": name,
        "activeProfileIndex": 0, "exporter": "bchook.trace",
    }


def _json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _write_json(profile: Profile, path: str) -> None:
    _atomic(path, _json(chrome_trace(profile)))


def _write_pstats(profile: Profile, path: str) -> None:
    _atomic(path, marshal.dumps(profile.stats()))


def _write_folded(profile: Profile, path: str) -> None:
    text = "".join(f"{stack} {weight}\n" for stack, weight in profile.folded())
    _atomic(path, text.encode())


def _write_speedscope(profile: Profile, path: str) -> None:
    _atomic(path, _json(speedscope(profile, os.path.basename(path))))


def _write_lines(profile: Profile, path: str) -> None:
    files = {name: {str(k): v for k, v in sorted(hits.items())}
             for name, hits in sorted(profile.lines.items())}
    statements = {name: lines for name, lines in sorted(profile.statements.items())}
    _atomic(path, _json({"mode": profile.line_mode, "files": files,
                         "statements": statements}))


def profile_data(profile: Profile) -> dict:
    """The whole profile as JSON-ready data, columns as lists (compact to parse)."""
    nodes = profile.nodes
    events = profile.events
    return {
        "format": DATA_FORMAT,
        "functions": [list(f) for f in profile.functions],
        "nodes": {"parent": [n.parent for n in nodes], "func": [n.func for n in nodes],
                  "count": [n.count for n in nodes], "own": [n.own_ns for n in nodes],
                  "total": [n.total_ns for n in nodes]},
        "threads": [[t.ident, t.name, t.root] for t in profile.threads],
        "events": {"t": [e.t_ns for e in events], "node": [e.node for e in events],
                   "thread": [e.thread for e in events],
                   "enter": [1 if e.enter else 0 for e in events]},
        "events_dropped": profile.events_dropped,
        "timeline": profile.timeline,
        "lines": {name: {str(k): v for k, v in sorted(hits.items())}
                  for name, hits in sorted(profile.lines.items())},
        "line_mode": profile.line_mode,
        "statements": {name: lines for name, lines in sorted(profile.statements.items())},
        "rewrite_ns": profile.rewrite_ns,
        "rewritten": profile.rewritten,
        "processes": [list(p) for p in profile.processes],
        # [file, line, name, cc, nc, tt, ct, [[file, line, name, nc, cc, tt, ct] per caller]]
        "flat": [[*label, cc, nc, tt, ct, [[*caller, *edge] for caller, edge in callers.items()]]
                 for label, (cc, nc, tt, ct, callers) in profile.flat.items()],
        "sketched": profile.sketched,
        "calls_counted": profile.calls_counted,
    }


def write_data(profile: Profile, path: str) -> None:
    _atomic(path, _json(profile_data(profile)))


def _write_html(profile: Profile, path: str) -> None:
    from . import _html
    _atomic(path, _html.page(profile, title=os.path.basename(path)).encode())


def _write_coverage(profile: Profile, path: str) -> None:
    """coverage.py's data file, through its public API: ``coverage report`` and
    ``coverage html`` read it as if ``coverage run`` had measured the lines."""
    try:
        from coverage import CoverageData
    except ImportError:
        raise RuntimeError(f"{path}: writing a .coverage file needs coverage.py "
                           "(pip install coverage)") from None
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    data = CoverageData(basename=tmp)
    # every traced file, as coverage run measures it: an empty __init__.py too
    measured = {os.path.realpath(name): [] for name in profile.statements}
    measured.update({os.path.realpath(name): sorted(n for n, v in hits.items() if v)
                     for name, hits in profile.lines.items()})
    data.add_lines(measured)
    data.write()
    os.replace(tmp, path)


WRITERS: dict[str, Callable[[Profile, str], None]] = {
    ".json": _write_json,
    ".prof": _write_pstats,
    ".pstats": _write_pstats,
    ".folded": _write_folded,
    ".speedscope.json": _write_speedscope,
    ".lines.json": _write_lines,
    ".html": _write_html,
    ".coverage": _write_coverage,
}


#: What each kind of output is made from: "calls" (the call probes) or "lines" (the line
#: probes). A run that records only the other cannot fill it (a usage error before the run).
NEEDS: dict[str, str] = {".lines.json": "lines", ".coverage": "lines", ".html": "any"}


def needs(kind: str) -> str:
    return NEEDS.get(kind, "calls")


def write(profile: Profile, path: str, kind: str) -> None:
    WRITERS[kind](profile, path)


class _StatsSource:
    """What ``pstats.Stats`` accepts besides a file: an object with ``create_stats``."""

    def __init__(self, stats: dict):
        self.stats = stats

    def create_stats(self) -> None:
        pass


def stats_object(profile: Profile, stream: IO[str] | None = None) -> pstats.Stats:
    return pstats.Stats(_StatsSource(profile.stats()), stream=stream or sys.stderr)


def summary(profile: Profile, stream: IO[str], limit: int = 25, **options) -> None:
    """The summary on stderr (see :mod:`._summary`)."""
    from . import _summary
    _summary.summary(profile, stream, limit=limit, **options)
