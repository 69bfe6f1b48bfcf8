"""The pure-Python recorder, used when the C accelerator is not built.

The probes append ``(key, t, thread)`` (entry) or ``(t, thread, key)`` (exit) tuples to
one list through ``list.append``, ``time.perf_counter_ns`` and ``_thread.get_ident``,
all C functions; the tuples are folded into the same calling-context tree as the C
recorder's off the hot path: when the list grows past a limit (checked from a garbage
collector callback, which runs often since every event allocates a tuple), and whenever
results are asked for. Its snapshot has the C recorder's layout.
"""

from __future__ import annotations

import gc
import struct
import threading
import time
from _thread import get_ident
from collections import deque

__all__ = ["PyRecorder", "Proxy", "IterProxy"]

_DRAIN_AT = 100_000
_EVENT = struct.Struct("qii")


class _Thread:
    __slots__ = ("ident", "root", "index", "stack")

    def __init__(self, ident: int, root: int, index: int):
        self.ident = ident
        self.root = root
        self.index = index
        self.stack: list[list] = []  # [node, t0, sub]


class PyRecorder:
    """Same interface as the ``_accel`` module's control functions."""

    def __init__(self):
        self.log: list = []
        self.append = self.log.append
        self.now = time.perf_counter_ns
        self.tid = get_ident
        self._lock = threading.Lock()
        self._enabled = False
        self._timeline = False
        self._handler = None
        self.reset()
        gc.callbacks.append(self._gc_callback)

    # -- the interface -----------------------------------------------------------------
    def configure(self, timeline: bool = False, buffer: int = 1_000_000, handler=None,
                  tsc: bool = True) -> None:
        self._timeline = bool(timeline)
        if self._timeline and (self.ring.maxlen != buffer):
            self.ring = deque(self.ring, maxlen=buffer)
        self._handler = handler

    def set_enabled(self, on: bool) -> None:
        on = bool(on)
        if not on and self._enabled:
            self.flush()
        self._enabled = on

    def enabled(self) -> bool:
        return self._enabled

    def reset(self) -> None:
        self.log.clear()
        self.funcs: list = []
        self.func_index: dict[int, int] = {}
        self.nodes: list[list] = []       # [parent, func, count, own, total]
        self.node_index: dict[tuple, int] = {}
        self.threads: dict[int, _Thread] = {}
        self.ring: deque = deque(maxlen=getattr(self, "ring", deque(maxlen=1)).maxlen)
        self.written = 0

    def flush(self) -> None:
        self.drain()
        t = self.now()
        for th in self.threads.values():
            while th.stack:
                self._pop(th, t)

    def snapshot(self) -> dict:
        self.drain()
        kept = list(self.ring)
        return {
            "funcs": list(self.funcs),
            "nodes": [tuple(n) for n in self.nodes],
            "threads": [(th.ident, th.root) for th in self.threads.values()],
            "events": b"".join(_EVENT.pack(*e) for e in kept),
            "event_format": "qii",
            "events_dropped": self.written - len(kept),
            "ns_per_tick": 1.0,
        }

    def close(self) -> None:
        """Stop folding from the garbage collector (the recorder is not used any more)."""
        try:
            gc.callbacks.remove(self._gc_callback)
        except ValueError:
            pass

    # -- folding the log ---------------------------------------------------------------
    def _gc_callback(self, phase: str, info: dict) -> None:
        if phase == "start" and len(self.log) > _DRAIN_AT:
            self.drain()

    def drain(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is folding; it will take these too
        try:
            log = self.log
            while log:
                n = len(log)
                batch = log[:n]
                del log[:n]
                self._fold(batch)
        finally:
            self._lock.release()

    def _thread(self, ident: int) -> _Thread:
        th = self.threads.get(ident)
        if th is None:
            root = len(self.nodes)
            self.nodes.append([-1, -1, 0, 0, 0])
            th = self.threads[ident] = _Thread(ident, root, len(self.threads))
        return th

    def _fold(self, batch: list) -> None:
        nodes = self.nodes
        node_index = self.node_index
        timeline = self._timeline
        ring = self.ring
        th = None
        last_ident = None
        for event in batch:
            first = event[0]
            if type(first) is tuple:          # entry: (key, t, thread)
                key, t, ident = event
                if ident != last_ident:
                    th = self._thread(ident)
                    last_ident = ident
                stack = th.stack
                parent = stack[-1][0] if stack else th.root
                k = (parent, id(key))
                node = node_index.get(k)
                if node is None:
                    node = node_index[k] = len(nodes)
                    nodes.append([parent, self._func(key), 0, 0, 0])
                stack.append([node, t, 0])
                if timeline:
                    ring.append((t, node, (th.index << 1) | 1))
                    self.written += 1
            else:                             # exit: (t, thread, key)
                t, ident, key = event
                if ident != last_ident:
                    th = self._thread(ident)
                    last_ident = ident
                stack = th.stack
                if not stack:
                    continue
                if self.funcs[nodes[stack[-1][0]][1]] is not key:
                    depth = len(stack) - 1
                    while depth >= 0 and self.funcs[nodes[stack[depth][0]][1]] is not key:
                        depth -= 1
                    if depth < 0:
                        continue
                    while len(stack) > depth + 1:
                        self._pop(th, t)
                self._pop(th, t)

    def _func(self, key) -> int:
        i = self.func_index.get(id(key))
        if i is None:
            i = self.func_index[id(key)] = len(self.funcs)
            self.funcs.append(key)
        return i

    def _pop(self, th: _Thread, t: int) -> None:
        node, t0, sub = th.stack.pop()
        elapsed = t - t0
        n = self.nodes[node]
        n[2] += 1
        n[3] += elapsed - sub
        n[4] += elapsed
        if th.stack:
            th.stack[-1][2] += elapsed
        if self._timeline:
            self.ring.append((t, node, th.index << 1))
            self.written += 1

    # -- what the builtins names point at ------------------------------------------------
    def probe_log(self):
        """The callable the probes append events with."""
        if self._handler is None:
            return self.append
        append, handler = self.append, self._handler

        def log_and_call(event, append=append, handler=handler):
            append(event)
            if type(event[0]) is tuple:
                handler("enter", event[0])
            else:
                handler("exit", event[2])
        return log_and_call

    def wrap(self, iterator, key):
        # like the delegate, have __next__ or not: CPython's traced SEND and YIELD_FROM
        # take another path (send() and a StopIteration) without it
        cls = IterProxy if hasattr(type(iterator), "__next__") else Proxy
        return cls(iterator, key, self)


class Proxy:
    """Stands between a frame on 3.10/3.11 and what it delegates to with ``yield from`` or
    ``await``, reporting the frame's suspensions and resumptions (see ``_accel.c``)."""

    __slots__ = ("delegate", "key", "suspended", "rec")

    def __init__(self, delegate, key, rec: PyRecorder):
        self.delegate = delegate
        self.key = key
        self.suspended = False
        self.rec = rec

    def _resumed(self) -> None:
        if self.suspended:
            self.suspended = False
            rec = self.rec
            if rec._enabled:
                rec.append((self.key, rec.now(), rec.tid()))

    def __iter__(self):
        return self

    def send(self, value):
        self._resumed()
        inner = self.delegate
        if value is None and hasattr(type(inner), "__next__"):
            result = next(inner)
        else:
            result = inner.send(value)
        self.suspended = True
        rec = self.rec
        if rec._enabled:
            rec.append((rec.now(), rec.tid(), self.key))
        return result

    def throw(self, *args):
        meth = getattr(self.delegate, "throw", None)
        try:
            if meth is None:
                typ = args[0] if args else None
                if isinstance(typ, BaseException):
                    raise typ
                raise typ(*args[1:2]) if isinstance(typ, type) else TypeError(
                    "exceptions must derive from BaseException")
            return meth(*args)
        except BaseException:
            self._resumed()
            raise

    def close(self):
        meth = getattr(self.delegate, "close", None)
        try:
            if meth is not None:
                meth()
        finally:
            self._resumed()

    def __repr__(self) -> str:
        return f"<bchook.trace proxy for {self.delegate!r}>"


class IterProxy(Proxy):
    __slots__ = ()

    def __next__(self):
        return self.send(None)
