"""What a traced run recorded, and the views every output is made from.

The recorders keep a calling-context tree: one node per distinct call path, with the
number of calls and their inclusive and exclusive time. The flat profile (what
``pstats`` shows, with cProfile's recursion rules: a call is *primitive* when the
function was not already running in that thread), the call graph, the collapsed stacks
and speedscope's sampled profile all come from that tree. A timeline run also keeps the
last entry/exit events (``Profile.events``).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, field
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
        for thread in self.threads:
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
        return result

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
        return sum(n.count for n in self.nodes if n.func >= 0)

    # -- moving between processes --------------------------------------------------------------
    def to_data(self) -> dict:
        """Plain lists, tuples and dicts (for marshal, or pytest-xdist's channel)."""
        return {"functions": [tuple(f) for f in self.functions],
                "nodes": [tuple(n) for n in self.nodes],
                "threads": [tuple(t) for t in self.threads],
                "events": [tuple(e) for e in self.events],
                "events_dropped": self.events_dropped, "timeline": self.timeline,
                "lines": self.lines, "line_mode": self.line_mode}

    @classmethod
    def from_data(cls, data: dict) -> "Profile":
        return cls(functions=[Function(*f) for f in data["functions"]],
                   nodes=[Node(*n) for n in data["nodes"]],
                   threads=[Thread(*t) for t in data["threads"]],
                   events=[Event(*e) for e in data["events"]],
                   events_dropped=data["events_dropped"], timeline=data["timeline"],
                   lines={f: dict(hits) for f, hits in data["lines"].items()},
                   line_mode=data["line_mode"])


def merge(profiles: Iterable[Profile], labels: Iterable[str] | None = None) -> Profile:
    """One profile holding all of ``profiles`` (several processes, pytest-xdist's workers).

    The same function is one function; each profile's threads stay threads of their own
    (named ``label: name`` when ``labels`` give them one), since their calls and timelines
    cannot be interleaved; line hits add up (with ``flags``, a line ran or did not).
    """
    out = Profile()
    index: dict[Function, int] = {}
    labels = list(labels) if labels is not None else None
    for n, prof in enumerate(profiles):
        funcs = []
        for f in prof.functions:
            i = index.get(f)
            if i is None:
                i = index[f] = len(out.functions)
                out.functions.append(f)
            funcs.append(i)
        node_base, thread_base = len(out.nodes), len(out.threads)
        out.nodes.extend(Node(node.parent + node_base if node.parent >= 0 else -1,
                              funcs[node.func] if node.func >= 0 else -1,
                              node.count, node.own_ns, node.total_ns) for node in prof.nodes)
        prefix = f"{labels[n]}: " if labels is not None and labels[n] else ""
        out.threads.extend(Thread(t.ident, prefix + t.name, t.root + node_base)
                           for t in prof.threads)
        out.events.extend(Event(e.t_ns, e.node + node_base, e.thread + thread_base, e.enter)
                          for e in prof.events)
        out.events_dropped += prof.events_dropped
        out.timeline = out.timeline or prof.timeline
        count = prof.line_mode == "count"
        if count:
            out.line_mode = "count"
        for filename, hits in prof.lines.items():
            merged = out.lines.setdefault(filename, {})
            for line, value in hits.items():
                merged[line] = merged.get(line, 0) + value if count else max(
                    merged.get(line, 0), value)
    out.events.sort(key=lambda e: e.t_ns)  # each starts at 0: overlaid, in time order
    return out


def _thread_names() -> dict[int, str]:
    names = {}
    for t in list(getattr(threading, "_dangling", ())) + threading.enumerate():
        if t.ident is not None:
            names[t.ident] = t.name
    return names
