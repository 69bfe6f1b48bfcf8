"""What a traced run recorded, and the views every output is made from.

The recorders keep a calling-context tree: one node per distinct call path, with the
number of calls and their inclusive and exclusive time. The flat profile (what
``pstats`` shows, with cProfile's recursion rules: a call is *primitive* when the
function was not already running in that thread), the call graph, the collapsed stacks
and speedscope's sampled profile all come from that tree. A timeline run also keeps the
last entry/exit events (``Profile.events``).

A pstats file has no tree, only each function's totals and its callers: read back, its
figures are kept as they are (``Profile.flat``) and the tree rebuilt from them only
draws the flame graph and the call tree.
"""

from __future__ import annotations

import pstats
import struct
import threading
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, NamedTuple

__all__ = ["Function", "Node", "Thread", "Event", "Profile", "merge"]


class Function(NamedTuple):
    filename: str
    lineno: int
    name: str
    qualname: str

    @property
    def label(self) -> tuple[str, int, str]:
        """The key pstats and cProfile use: (file, first line, name)."""
        return (self.filename, self.lineno, self.name)

    def display(self) -> str:
        return f"{self.qualname} ({self.filename}:{self.lineno})"


class Node(NamedTuple):
    parent: int        # -1 for a thread's root
    func: int          # index into Profile.functions, -1 for a root
    count: int
    own_ns: int
    total_ns: int


class Thread(NamedTuple):
    ident: int
    name: str
    root: int          # node index


class Event(NamedTuple):
    t_ns: int          # since the start of tracing
    node: int
    thread: int        # index into Profile.threads
    enter: bool


@dataclass
class Profile:
    functions: list[Function] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    events_dropped: int = 0
    timeline: bool = False
    #: {filename: {line: hits}}; with ``line_mode == "flags"`` a hit counts once.
    lines: dict[str, dict[int, int]] = field(default_factory=dict)
    line_mode: str = "flags"
    #: {filename: sorted lines that have code}: what ``lines`` could have hit, for the
    #: lines run / not run of the summary.
    statements: dict[str, list[int]] = field(default_factory=dict)
    #: Time bchook spent rewriting modules while the program ran, and how many: kept
    #: apart from the functions that imported them (see :meth:`set_apart`).
    rewrite_ns: int = 0
    rewritten: int = 0
    #: The processes this profile comes from: [(pid, command line)].
    processes: list[tuple[int, str]] = field(default_factory=list)
    #: A flat profile read from a pstats file, as pstats keeps it: {label: (cc, nc, tt,
    #: ct, {caller label: (nc, cc, tt, ct)})}, times in seconds. :meth:`stats` adds it to
    #: what the tree gives.
    flat: dict[tuple, tuple] = field(default_factory=dict)
    #: Threads whose tree was rebuilt from ``flat``: a guess at the call paths, good for
    #: the flame graph and the call tree but not for counting, so :meth:`stats` skips them.
    sketched: list[int] = field(default_factory=list)
    #: False when the calls were not counted (a .folded file, speedscope's sampled
    #: profile: call paths and times only); the tree then holds one call per path.
    calls_counted: bool = True

    # -- building --------------------------------------------------------------------------
    @classmethod
    def from_snapshots(cls, snapshots: list[dict], lines: dict, line_mode: str,
                       start_ns: int, timeline: bool = False) -> "Profile":
        prof = cls(lines=lines, line_mode=line_mode, timeline=timeline)
        names = _thread_names()
        raw_events = []
        for snap in snapshots:
            func_base = len(prof.functions)
            node_base = len(prof.nodes)
            thread_base = len(prof.threads)
            for key in snap["funcs"]:
                prof.functions.append(Function(*key))
            for parent, func, count, own, total in snap["nodes"]:
                prof.nodes.append(Node(
                    parent + node_base if parent >= 0 else -1,
                    func + func_base if func >= 0 else -1,
                    count, own, total))
            for n, (ident, root, *known) in enumerate(snap["threads"]):
                name = (known and known[0]) or names.get(ident) or f"Thread-{thread_base + n}"
                prof.threads.append(Thread(ident, name, root + node_base))
            scale = snap.get("ns_per_tick", 1.0)
            tick_base = snap.get("tick_base", 0)
            ns_base = snap.get("ns_base", 0)
            fmt = struct.Struct(snap.get("event_format", "qii"))
            for t, node, info in fmt.iter_unpack(snap["events"]):
                t_ns = int((t - tick_base) * scale) + ns_base
                raw_events.append((t_ns, node + node_base, (info >> 1) + thread_base,
                                   bool(info & 1)))
            prof.events_dropped += snap.get("events_dropped", 0)
        if raw_events:
            raw_events.sort(key=lambda e: e[0])
            first = raw_events[0][0]
            prof.events = [Event(t - first, node, th, enter)
                           for t, node, th, enter in raw_events]
        return prof

    # -- the tree --------------------------------------------------------------------------
    def children(self) -> list[list[int]]:
        kids: list[list[int]] = [[] for _ in self.nodes]
        for i, node in enumerate(self.nodes):
            if node.parent >= 0:
                kids[node.parent].append(i)
        return kids

    def walk(self) -> Iterator[tuple[int, tuple[int, ...]]]:
        """(node index, function indexes from the thread's root down to it), depth first."""
        kids = self.children()
        for thread in self.threads:
            stack = [(child, ()) for child in reversed(kids[thread.root])]
            while stack:
                index, above = stack.pop()
                path = above + (self.nodes[index].func,)
                yield index, path
                for child in reversed(kids[index]):
                    stack.append((child, path))

    # -- flat profile ------------------------------------------------------------------------
    def stats(self) -> dict:
        """``pstats``' dictionary: {label: (cc, nc, tt, ct, {caller label: (nc, cc, tt, ct)})}
        with times in seconds, the layout ``cProfile.Profile.dump_stats`` writes."""
        acc: dict[tuple, list] = {}
        for func in self.functions:
            acc.setdefault(func.label, [0, 0, 0, 0, {}])
        labels = [f.label for f in self.functions]
        kids = self.children()
        for thread in self.counted_threads():
            active_f: dict[int, int] = {}
            active_e: dict[tuple, int] = {}
            # (node, entering?) pairs; on the way out the activity counters go down again
            stack = [(c, True) for c in reversed(kids[thread.root])]
            while stack:
                index, entering = stack.pop()
                node = self.nodes[index]
                parent = self.nodes[node.parent]
                edge = (parent.func, node.func)
                if not entering:
                    active_f[node.func] -= 1
                    active_e[edge] -= 1
                    continue
                entry = acc[labels[node.func]]
                entry[1] += node.count
                entry[2] += node.own_ns
                if not active_f.get(node.func):
                    entry[0] += node.count
                    entry[3] += node.total_ns
                if parent.func >= 0:
                    callers = entry[4]
                    e = callers.get(labels[parent.func])
                    if e is None:
                        e = callers[labels[parent.func]] = [0, 0, 0, 0]
                    e[0] += node.count
                    e[2] += node.own_ns
                    if not active_e.get(edge):
                        e[1] += node.count
                        e[3] += node.total_ns
                active_f[node.func] = active_f.get(node.func, 0) + 1
                active_e[edge] = active_e.get(edge, 0) + 1
                stack.append((index, False))
                for child in reversed(kids[index]):
                    stack.append((child, True))
        result = {}
        for label, (cc, nc, tt, ct, callers) in acc.items():
            if not nc:
                continue
            result[label] = (cc, nc, tt / 1e9, ct / 1e9, {
                k: (v[0], v[1], v[2] / 1e9, v[3] / 1e9) for k, v in callers.items()})
        return add_stats(result, self.flat) if self.flat else result

    def counted_threads(self) -> list[Thread]:
        """The threads whose nodes count calls and time (all but those in ``sketched``)."""
        sketched = set(self.sketched)
        return [t for i, t in enumerate(self.threads) if i not in sketched]

    def folded(self) -> list[tuple[str, int]]:
        """Collapsed stacks: ("outer;inner;leaf", own nanoseconds), one per call path."""
        names = [f.display().replace(";", ":") for f in self.functions]
        merged: dict[str, int] = {}
        for index, path in self.walk():
            own = self.nodes[index].own_ns
            if own > 0:
                key = ";".join(names[f] for f in path)
                merged[key] = merged.get(key, 0) + own
        return list(merged.items())

    @property
    def total_calls(self) -> int:
        kids = self.children()
        below = [c for t in self.counted_threads() for c in kids[t.root]]
        calls = 0
        while below:
            index = below.pop()
            calls += self.nodes[index].count
            below += kids[index]
        return calls + sum(v[1] for v in self.flat.values())

    def thread_total_ns(self, thread: Thread) -> int:
        """Time inside the traced functions of a thread (its roots have no time)."""
        return sum(self.nodes[c].total_ns for c in self.children()[thread.root])

    @property
    def traced_ns(self) -> int:
        """Time inside the traced functions, all threads; of a flat profile, the sum of
        its functions' own times (what pstats reports as the total)."""
        return (sum(self.thread_total_ns(t) for t in self.counted_threads())
                + round(sum(v[2] for v in self.flat.values()) * 1e9))

    # -- rewriting time ----------------------------------------------------------------------
    def set_apart(self, key: tuple) -> None:
        """Take the calls of the pseudo-function ``key`` (the import hook's rewriting of a
        module, reported like a call) out of the tree: their time leaves the cumulative
        time of everything above them and is added to ``rewrite_ns``. Their own time was
        never any function's own time."""
        apart = {i for i, f in enumerate(self.functions) if tuple(f) == tuple(key)}
        if not apart:
            return
        nodes = list(self.nodes)
        dropped = [False] * len(nodes)
        for i, node in enumerate(nodes):
            if node.parent >= 0 and dropped[node.parent]:
                dropped[i] = True
            elif node.func in apart:
                dropped[i] = True
                self.rewrite_ns += node.total_ns
                up = node.parent
                while up >= 0 and nodes[up].func >= 0:  # a thread's root has no time
                    n = nodes[up]
                    nodes[up] = n._replace(total_ns=n.total_ns - node.total_ns)
                    up = n.parent
        self._keep([not d for d in dropped], nodes)

    def _keep(self, keep: list[bool], nodes: list[Node]) -> None:
        """Keep only the nodes marked (parents come before children, as recorded)."""
        new_index = [-1] * len(nodes)
        kept: list[Node] = []
        for i, node in enumerate(nodes):
            if keep[i]:
                new_index[i] = len(kept)
                kept.append(node._replace(
                    parent=new_index[node.parent] if node.parent >= 0 else -1))
        self.nodes = kept
        self.threads = [t._replace(root=new_index[t.root]) for t in self.threads]
        self.events = [e._replace(node=new_index[e.node]) for e in self.events
                       if new_index[e.node] >= 0]

    # -- combining -----------------------------------------------------------------------------
    @classmethod
    def combine(cls, profiles: list["Profile"]) -> "Profile":
        """One profile of several (processes, runs): the same function (file, line, name,
        qualified name) is one function; each thread stays a thread, named after its
        process when there are several; line hits add up; timelines are kept side by
        side, each from its own start."""
        out = cls()
        index: dict[Function, int] = {}
        many = len(profiles) > 1
        out.calls_counted = all(p.calls_counted for p in profiles)
        for prof in profiles:
            fmap = []
            for f in prof.functions:
                if f not in index:
                    index[f] = len(out.functions)
                    out.functions.append(f)
                fmap.append(index[f])
            base = len(out.nodes)
            for n in prof.nodes:
                out.nodes.append(Node(n.parent + base if n.parent >= 0 else -1,
                                      fmap[n.func] if n.func >= 0 else -1,
                                      n.count, n.own_ns, n.total_ns))
            tbase = len(out.threads)
            pid = prof.processes[0][0] if len(prof.processes) == 1 else None
            for t in prof.threads:
                name = f"{t.name} (pid {pid})" if many and pid else t.name
                out.threads.append(Thread(t.ident, name, t.root + base))
            out.events += [Event(e.t_ns, e.node + base, e.thread + tbase, e.enter)
                           for e in prof.events]
            out.sketched += [t + tbase for t in prof.sketched]
            if prof.flat:
                out.flat = add_stats(out.flat, prof.flat)
            out.events_dropped += prof.events_dropped
            out.timeline = out.timeline or prof.timeline
            for name, hits in prof.lines.items():
                mine = out.lines.setdefault(name, {})
                for line, n in hits.items():
                    mine[line] = mine.get(line, 0) + n
            for name, lines in prof.statements.items():
                out.statements[name] = sorted(set(out.statements.get(name, ())) | set(lines))
            if prof.line_mode == "count":
                out.line_mode = "count"
            out.rewrite_ns += prof.rewrite_ns
            out.rewritten += prof.rewritten
            out.processes += prof.processes
        out.events.sort(key=lambda e: e.t_ns)  # stable: each thread keeps its order
        if out.line_mode == "flags":
            out.lines = {name: {k: 1 for k in hits} for name, hits in out.lines.items()}
        return out

    # -- moving between processes --------------------------------------------------------------
    def to_data(self) -> dict:
        """Plain lists, tuples and dicts (for marshal, or pytest-xdist's channel)."""
        return {"functions": [tuple(f) for f in self.functions],
                "nodes": [tuple(n) for n in self.nodes],
                "threads": [tuple(t) for t in self.threads],
                "events": [tuple(e) for e in self.events],
                "events_dropped": self.events_dropped, "timeline": self.timeline,
                "lines": self.lines, "line_mode": self.line_mode,
                "statements": self.statements, "rewrite_ns": self.rewrite_ns,
                "rewritten": self.rewritten, "processes": [tuple(p) for p in self.processes],
                "flat": self.flat, "sketched": self.sketched,
                "calls_counted": self.calls_counted}

    @classmethod
    def from_data(cls, data: dict) -> "Profile":
        return cls(functions=[Function(*f) for f in data["functions"]],
                   nodes=[Node(*n) for n in data["nodes"]],
                   threads=[Thread(*t) for t in data["threads"]],
                   events=[Event(*e) for e in data["events"]],
                   events_dropped=data["events_dropped"], timeline=data["timeline"],
                   lines={f: dict(hits) for f, hits in data["lines"].items()},
                   line_mode=data["line_mode"],
                   statements={f: list(v) for f, v in data.get("statements", {}).items()},
                   rewrite_ns=data.get("rewrite_ns", 0), rewritten=data.get("rewritten", 0),
                   processes=[tuple(p) for p in data.get("processes", ())],
                   flat=dict(data.get("flat", {})), sketched=list(data.get("sketched", ())),
                   calls_counted=data.get("calls_counted", True))


def add_stats(a: dict, b: dict) -> dict:
    """Two pstats dictionaries added up, as ``pstats.Stats.add`` does: the same function's
    counts and times add, and so do those of the same caller."""
    out = dict(a)
    for label, entry in b.items():
        out[label] = pstats.add_func_stats(out[label], entry) if label in out else \
            (*entry[:4], dict(entry[4]))
    return out


def merge(profiles: Iterable[Profile], labels: Iterable[str] | None = None) -> Profile:
    """One profile holding all of ``profiles`` (several processes, pytest-xdist's workers):
    :meth:`Profile.combine`, with each profile's threads named ``label: name`` when
    ``labels`` give them one."""
    profiles = list(profiles)
    if labels is not None:
        profiles = [replace(prof, threads=[t._replace(name=f"{label}: {t.name}")
                                           for t in prof.threads]) if label else prof
                    for prof, label in zip(profiles, labels)]
    return Profile.combine(profiles)


def _thread_names() -> dict[int, str]:
    names = {}
    for t in list(getattr(threading, "_dangling", ())) + threading.enumerate():
        if t.ident is not None:
            names[t.ident] = t.name
    return names
