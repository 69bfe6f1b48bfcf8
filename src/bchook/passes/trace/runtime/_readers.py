"""Reading profiles back: every file ``bchook.trace`` writes, and cProfile's pstats files.

``bchook trace merge`` and ``bchook trace diff`` take any of them. What a format keeps
decides what comes back:

``.html``, merge parts  everything (the page carries :func:`._writers.profile_data`)
``.json``              the calls of the timeline (Chrome's B/E events), per thread
``.speedscope.json``   evented: as ``.json``; sampled: as ``.folded``
``.folded``            the call paths and own times, no call counts
``.prof``/``.pstats``  the flat profile exactly (``Profile.flat``); a tree rebuilt from the
                       call graph for the flame graph and the call tree (each call edge
                       shares its caller's time as pstats reports it)
``.lines.json``        line hits, and the lines that could run
``.coverage``          line hits only
"""

from __future__ import annotations

import json
import marshal
import os
import re

from ._profile import Event, Function, Node, Profile, Thread

__all__ = ["read", "kind_of", "ReadError", "READABLE"]

READABLE = (".part", ".html", ".speedscope.json", ".lines.json", ".json", ".prof", ".pstats",
            ".folded", ".coverage")


#: A pstats file's call graph unrolled into a tree stops growing at this many nodes.
PSTATS_MAX_NODES = 200_000


class ReadError(Exception):
    """A file that is not a profile this module can read (the message says why)."""


def kind_of(path: str) -> str | None:
    lower = os.path.basename(path).lower()
    for suffix in READABLE:
        if lower.endswith(suffix):
            return suffix
    if re.fullmatch(r"\.coverage(\..+)?", lower):  # coverage's parallel files
        return ".coverage"
    if re.search(r"\.(prof|pstats)\.\d+$", lower):
        return ".prof"
    return None


def read(path: str, kind: str | None = None) -> Profile:
    kind = kind or kind_of(path)
    if kind is None:
        raise ReadError(f"{path}: unknown kind of file (expected one of {', '.join(READABLE)})")
    try:
        if kind == ".coverage":
            return _read_coverage(path)
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ReadError(f"{path}: {exc.strerror or exc}") from None
    try:
        return _READERS[kind](raw)
    except ReadError as exc:
        raise ReadError(f"{path}: {exc}") from None
    except (ValueError, KeyError, TypeError, IndexError, EOFError) as exc:
        raise ReadError(f"{path}: not a {kind} profile ({type(exc).__name__}: {exc})") \
            from None


# -- the whole profile ---------------------------------------------------------------------

def from_data(doc: dict) -> Profile:
    from ._writers import DATA_FORMAT
    if not isinstance(doc, dict) or doc.get("format") != DATA_FORMAT:
        raise ReadError(f"not a {DATA_FORMAT} document")
    n = doc["nodes"]
    e = doc["events"]
    return Profile(
        functions=[Function(*f) for f in doc["functions"]],
        nodes=[Node(*row) for row in zip(n["parent"], n["func"], n["count"], n["own"],
                                         n["total"])],
        threads=[Thread(*t) for t in doc["threads"]],
        events=[Event(t, node, th, bool(en)) for t, node, th, en in
                zip(e["t"], e["node"], e["thread"], e["enter"])],
        events_dropped=doc["events_dropped"],
        timeline=doc["timeline"],
        lines={name: {int(k): v for k, v in hits.items()} for name, hits in doc["lines"].items()},
        line_mode=doc["line_mode"],
        statements=doc["statements"],
        rewrite_ns=doc["rewrite_ns"],
        rewritten=doc["rewritten"],
        processes=[tuple(p) for p in doc["processes"]],
        flat={tuple(row[:3]): (*row[3:7], {tuple(e[:3]): tuple(e[3:]) for e in row[7]})
              for row in doc.get("flat", ())},
        sketched=doc.get("sketched", []),
        calls_counted=doc.get("calls_counted", True),
    )


def _read_part(raw: bytes) -> Profile:
    return from_data(json.loads(raw))


def _read_html(raw: bytes) -> Profile:
    from ._html import DATA_ID
    text = raw.decode("utf-8")
    m = re.search(r'<script type="application/json" id="%s">(.*?)</script>' % DATA_ID, text,
                  re.S)
    if m is None:
        raise ReadError("an HTML page without bchook's profile in it")
    return from_data(json.loads(m.group(1).replace("<\\/", "</")))


# -- building a tree from call paths --------------------------------------------------------

class _Tree:
    """Accumulates call paths into a Profile (one thread per key)."""

    def __init__(self):
        self.prof = Profile()
        self.func_index: dict[tuple, int] = {}
        self.child_index: dict[tuple[int, int], int] = {}
        self.thread_index: dict[object, int] = {}

    def func(self, filename: str, lineno: int, qualname: str, name: str = "") -> int:
        key = (filename, int(lineno), name or qualname.rsplit(".", 1)[-1], qualname)
        i = self.func_index.get(key)
        if i is None:
            i = self.func_index[key] = len(self.prof.functions)
            self.prof.functions.append(Function(*key))
        return i

    def thread(self, key, name: str, ident: int = 0) -> int:
        """The root node of a thread."""
        t = self.thread_index.get(key)
        if t is None:
            t = self.thread_index[key] = len(self.prof.threads)
            self.prof.nodes.append(Node(-1, -1, 0, 0, 0))
            self.prof.threads.append(Thread(ident, name, len(self.prof.nodes) - 1))
        return self.prof.threads[t].root

    def child(self, parent: int, func: int) -> int:
        i = self.child_index.get((parent, func))
        if i is None:
            i = self.child_index[(parent, func)] = len(self.prof.nodes)
            self.prof.nodes.append(Node(parent, func, 0, 0, 0))
        return i

    def add(self, node: int, count: int = 0, own: int = 0, total: int = 0) -> None:
        n = self.prof.nodes[node]
        self.prof.nodes[node] = n._replace(count=n.count + count, own_ns=n.own_ns + own,
                                           total_ns=n.total_ns + total)

    def path(self, root: int, funcs: list[int], own: int, count: int = 1) -> None:
        node = root
        for f in funcs:
            node = self.child(node, f)
            self.add(node, total=own)
        self.add(node, count=count, own=own)

    def done(self) -> Profile:
        return self.prof


def _label(name: str) -> tuple[str, int, str]:
    """'qualname (file:line)' (bchook's folded names) -> (file, line, qualname)."""
    m = re.fullmatch(r"(.*) \((.*):(\d+)\)", name)
    if m is None:
        return ("", 0, name)
    return (m.group(2), int(m.group(3)), m.group(1))


def _read_folded(raw: bytes) -> Profile:
    tree = _Tree()
    root = tree.thread("all", "all threads")
    for line in raw.decode("utf-8").splitlines():
        if not line.strip():
            continue
        stack, _, weight = line.rpartition(" ")
        funcs = [tree.func(*_label(name)) for name in stack.split(";")]
        tree.path(root, funcs, int(float(weight)))
    tree.prof.calls_counted = False
    return tree.done()


def _events_to_tree(tree: _Tree, root: int, thread: int, events, prof: Profile) -> None:
    """(t_ns, func or None for an exit) of one thread, in order -> nodes and events."""
    stack: list[tuple[int, int, int]] = []  # (node, start, time in children)
    for t, func in events:
        if func is not None:
            parent = stack[-1][0] if stack else root
            node = tree.child(parent, func)
            stack.append((node, t, 0))
            prof.events.append(Event(t, node, thread, True))
        elif stack:
            node, start, inner = stack.pop()
            spent = t - start
            tree.add(node, count=1, own=spent - inner, total=spent)
            if stack:
                above = stack[-1]
                stack[-1] = (above[0], above[1], above[2] + spent)
            prof.events.append(Event(t, node, thread, False))


def _read_chrome(raw: bytes) -> Profile:
    doc = json.loads(raw)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    tree = _Tree()
    prof = tree.prof
    names: dict[tuple, str] = {}
    per_thread: dict[tuple, list] = {}
    for ev in events:
        key = (ev.get("pid", 0), ev.get("tid", 0))
        ph = ev.get("ph")
        if ph == "M" and ev.get("name") == "thread_name":
            names[key] = ev.get("args", {}).get("name", "")
        elif ph in ("B", "E"):
            per_thread.setdefault(key, []).append(ev)
    pids = {k[0] for k in per_thread}
    for key, evs in per_thread.items():
        name = names.get(key) or f"thread {key[1]}"
        if len(pids) > 1:
            name = f"{name} (pid {key[0]})"
        root = tree.thread(key, name, key[1])
        thread = len(prof.threads) - 1
        seq = []
        for ev in evs:
            t = round(float(ev["ts"]) * 1000)
            if ev["ph"] == "B":
                args = ev.get("args", {})
                seq.append((t, tree.func(args.get("file", ""), args.get("line", 0),
                                         ev.get("name", "?"))))
            else:
                seq.append((t, None))
        _events_to_tree(tree, root, thread, seq, prof)
    prof.events.sort(key=lambda e: e.t_ns)
    prof.timeline = bool(prof.events)
    other = doc.get("otherData", {}) if isinstance(doc, dict) else {}
    prof.events_dropped = int(other.get("events_dropped", 0) or 0)
    return tree.done()


def _read_speedscope(raw: bytes) -> Profile:
    doc = json.loads(raw)
    frames = doc["shared"]["frames"]
    tree = _Tree()
    prof = tree.prof
    fmap = [tree.func(f.get("file", ""), f.get("line", 0), f["name"]) for f in frames]
    for n, p in enumerate(doc["profiles"]):
        root = tree.thread(n, p.get("name", f"profile {n}"))
        if p["type"] == "evented":
            seq = [(round(e["at"]), fmap[e["frame"]] if e["type"] == "O" else None)
                   for e in p["events"]]
            _events_to_tree(tree, root, n, seq, prof)
            prof.timeline = True
        else:
            for sample, weight in zip(p["samples"], p["weights"]):
                tree.path(root, [fmap[i] for i in sample], round(weight))
            prof.calls_counted = False
    prof.events.sort(key=lambda e: e.t_ns)
    return tree.done()


def _read_pstats(raw: bytes) -> Profile:
    stats = marshal.loads(raw)
    if not isinstance(stats, dict):
        raise ReadError("not a pstats dump")
    flat = {}
    for label, (cc, nc, tt, ct, callers) in stats.items():
        # the profile module keeps only how often each caller called, cProfile more
        flat[tuple(label)] = (cc, nc, tt, ct, {
            tuple(caller): tuple(edge) if isinstance(edge, tuple) else (edge, edge, 0.0, 0.0)
            for caller, edge in callers.items()})
    prof = _sketch(flat)
    prof.flat = flat
    prof.sketched = [0]
    return prof


def _sketch(flat: dict) -> Profile:
    """A call tree drawn from a flat profile's call graph, for the flame graph and the
    call tree: each call edge gets the part of its caller's time pstats reports for it.
    A graph does not say which path a call came by, so the figures are a guess."""
    tree = _Tree()
    root = tree.thread("main", "MainThread")
    # pstats names a function as it is: "<built-in method builtins.exec>" is no qualname
    funcs = {label: tree.func(label[0], label[1], label[2], label[2]) for label in flat}
    callees: dict[tuple, list] = {}
    for label, (cc, nc, tt, ct, callers) in flat.items():
        for caller, edge in callers.items():
            if caller in flat and caller != label:
                callees.setdefault(caller, []).append((label, edge))
    prof = tree.prof

    def expand(label, node, share, path, depth):
        cc, nc, tt, ct = flat[label][:4]
        tree.add(node, count=max(1, round(nc * share)), own=round(tt * share * 1e9),
                 total=round(ct * share * 1e9))
        if depth > 60 or len(prof.nodes) > PSTATS_MAX_NODES:
            return
        for callee, edge in callees.get(label, ()):
            if callee in path:
                continue
            callee_ct = flat[callee][3]
            # the callee's node stands for the part of its time this edge had, times
            # the part of the caller's time this node stands for
            if callee_ct > 0:
                part = share * edge[3] / callee_ct
            else:  # no time measured: share the calls instead
                part = share * edge[0] / max(1, flat[callee][1])
            child = tree.child(node, funcs[callee])
            expand(callee, child, min(part, 1.0), path | {callee}, depth + 1)

    for label in sorted(flat, key=lambda lb: -flat[lb][3]):
        share = _called_from_outside(flat, label)
        if share > 0:
            expand(label, tree.child(root, funcs[label]), share, {label}, 0)
    # own time left over: a node's own time can't be more than its total minus children
    kids = prof.children()
    for i, n in enumerate(prof.nodes):
        if n.func >= 0:
            inner = sum(prof.nodes[c].total_ns for c in kids[i])
            prof.nodes[i] = n._replace(own_ns=max(0, min(n.own_ns, n.total_ns - inner)))
    return tree.done()


def _called_from_outside(flat: dict, label: tuple) -> float:
    """The part of a function's time spent in calls that no function of the profile made
    (the program's first call, the profiler's own calls): 0 when every call has a caller
    in the profile. ``exec`` under cProfile is both: the first call and the imports'."""
    cc, nc, tt, ct, callers = flat[label]
    known = {caller: edge for caller, edge in callers.items() if caller in flat}
    outside = nc - sum(edge[0] for edge in known.values())
    if outside <= 0:
        return 0.0
    by_calls = outside / nc
    if ct <= 0:
        return by_calls
    # a caller's edge time lies within this function's time only when the caller is
    # not itself (a recursive call's time is already in the outer call's)
    inside = sum(edge[3] for caller, edge in known.items() if caller != label)
    return min(1.0, max(by_calls, (ct - inside) / ct))


def _read_lines(raw: bytes) -> Profile:
    doc = json.loads(raw)
    # files written before "statements" was kept name the lines that ran only
    return Profile(lines={name: {int(k): v for k, v in hits.items()}
                          for name, hits in doc["files"].items()},
                   line_mode=doc.get("mode", "flags"),
                   statements={name: sorted(int(n) for n in lines)
                               for name, lines in doc.get("statements", {}).items()})


def _read_coverage(path: str) -> Profile:
    try:
        from coverage import CoverageData
    except ImportError:
        raise ReadError(f"{path}: reading a .coverage file needs coverage.py") from None
    if not os.path.exists(path):
        raise ReadError(f"{path}: no such file")
    data = CoverageData(basename=path)
    try:
        data.read()
    except Exception as exc:  # coverage's own DataError and sqlite3's errors
        raise ReadError(f"{path}: not a coverage data file ({exc})") from None
    lines = {}
    for name in data.measured_files():
        hits = data.lines(name) or []
        lines[name] = {n: 1 for n in hits}
    return Profile(lines=lines, line_mode="flags")


_READERS = {
    ".part": _read_part,
    ".html": _read_html,
    ".json": _read_chrome,
    ".speedscope.json": _read_speedscope,
    ".folded": _read_folded,
    ".prof": _read_pstats,
    ".pstats": _read_pstats,
    ".lines.json": _read_lines,
}
