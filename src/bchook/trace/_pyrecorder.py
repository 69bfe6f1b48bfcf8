"""The pure-Python recorder, used when the C accelerator is not built.

The probes make two C calls per event: ``log((KEY, now()))`` on entry, ``log(now())`` on
exit, ``log`` being ``list.append`` of the thread's event list and ``now``
``time.perf_counter_ns``. While the program has one thread, ``log`` appends to that
thread's list directly; from the moment a second thread starts (the thread-starting
functions of ``_thread`` and ``threading`` are wrapped to notice), ``log`` is a small
function that picks the calling thread's list. The lists are folded into the same
calling-context tree as the C recorder's off the hot path: when they grow past a limit
(checked from a garbage collector callback) and whenever results are asked for. The
snapshot has the C recorder's layout.
"""

from __future__ import annotations

import builtins
import gc
import struct
import sys
import threading
import time
import traceback
import weakref
from _thread import get_ident
from collections import deque

from ._names import PY_LOG

__all__ = ["PyRecorder", "Proxy", "IterProxy"]

_FOLD_AT = 200_000          # events waiting in one thread's list
_EVENT = struct.Struct("qii")
_recorders: weakref.WeakSet = weakref.WeakSet()
_watching = False


def _route_all() -> None:
    for rec in list(_recorders):
        rec.route()


def _watch_thread_starts() -> None:
    """Call _route_all() before any new thread starts: wrap the functions that start
    threads (``threading`` keeps its own reference to the ``_thread`` one). An audit
    hook would see them too on 3.12+, but a Python audit hook also runs on every
    ``id()`` call of the program."""
    import _thread
    for owner in (threading, _thread):
        for name in ("_start_new_thread", "_start_joinable_thread", "start_new_thread",
                     "start_joinable_thread", "start_new"):
            original = getattr(owner, name, None)
            if original is None or getattr(original, "_bchook_watch", False):
                continue

            def start(*args, _original=original, **kwargs):
                _route_all()
                return _original(*args, **kwargs)
            start._bchook_watch = True
            setattr(owner, name, start)


class _Thread:
    __slots__ = ("ident", "root", "index", "stack", "name")

    def __init__(self, ident: int, root: int, index: int, name):
        self.ident = ident
        self.root = root
        self.index = index
        self.name = name
        self.stack: list[list] = []  # [node, t0, sub]


def _thread_name(ident: int):
    thread = threading._active.get(ident)
    return None if thread is None else thread.name


class PyRecorder:
    """Same interface as the ``_accel`` module's control functions."""

    def __init__(self):
        global _watching
        self.now = time.perf_counter_ns
        self.logs: dict[int, list] = {}
        self.names: dict[int, str | None] = {}
        self.routed = threading.active_count() > 1 or len(sys._current_frames()) > 1
        self._lock = threading.Lock()
        self._enabled = False
        self._timeline = False
        self._handler = None
        self.ring: deque = deque(maxlen=1)
        self.reset()
        self.emit = self._probe_log()
        gc.callbacks.append(self._gc_callback)
        _recorders.add(self)
        if not _watching:
            _watch_thread_starts()
            _watching = True

    # -- the interface -----------------------------------------------------------------
    def configure(self, timeline: bool = False, buffer: int = 1_000_000, handler=None,
                  tsc: bool = True) -> None:
        self._timeline = bool(timeline)
        if self.ring.maxlen != buffer:
            self.ring = deque(self.ring, maxlen=buffer)
        self._handler = handler
        self._install()

    def set_enabled(self, on: bool) -> None:
        on = bool(on)
        if not on and self._enabled:
            self.flush()
        self._enabled = on
        self._install()

    def enabled(self) -> bool:
        return self._enabled

    def reset(self) -> None:
        for log in self.logs.values():
            log.clear()
        self.funcs: list = []
        self.func_index: dict[tuple, int] = {}
        self.nodes: list[list] = []       # [parent, func, count, own, total]
        self.children: list[dict] = []    # per node: {key: child node}
        self.threads: dict[int, _Thread] = {}
        self.ring.clear()
        self.written = 0

    def flush(self) -> None:
        self.fold()
        t = self.now()
        for th in self.threads.values():
            while th.stack:
                self._pop(th, t)

    def snapshot(self) -> dict:
        self.fold()
        kept = list(self.ring)
        return {
            "funcs": list(self.funcs),
            "nodes": [tuple(n) for n in self.nodes],
            "threads": [(th.ident, th.root, th.name) for th in self.threads.values()],
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
        _recorders.discard(self)

    def wrap(self, iterator, key):
        # Like the delegate, have __next__ or not: CPython's traced SEND and YIELD_FROM
        # take another path (send() and a StopIteration) without it.
        cls = IterProxy if hasattr(type(iterator), "__next__") else Proxy
        return cls(iterator, key, self)

    # -- where the probes' events go ----------------------------------------------------
    def route(self) -> None:
        """A second thread is starting: from now on, find the calling thread's list."""
        if not self.routed:
            self.routed = True
            self._install()

    def _install(self) -> None:
        self.emit = self._probe_log()
        builtins.__dict__[PY_LOG] = self.emit if self._enabled else id  # id: a C no-op

    def _log_of(self, ident: int) -> list:
        log = self.logs.get(ident)
        if log is None:
            log = self.logs[ident] = []
            self.names[ident] = _thread_name(ident)  # while the thread is alive
        return log

    def _probe_log(self):
        if not self.routed and self._handler is None:
            return self._log_of(get_ident()).append
        logs, log_of, handler = self.logs, self._log_of, self._handler
        if handler is None:
            def log(event):
                try:
                    logs[get_ident()].append(event)
                except KeyError:
                    log_of(get_ident()).append(event)
            return log
        stacks: dict[int, list] = {}
        busy: set[int] = set()  # threads in the handler: its own calls are not handed to it
        failed: list = []

        def log_and_call(event):
            ident = get_ident()
            log_of(ident).append(event)
            stack = stacks.setdefault(ident, [])
            if type(event) is tuple:
                stack.append(event[0])
                name, key = "enter", event[0]
            elif stack:
                name, key = "exit", stack.pop()
            else:
                return
            if ident not in busy and not failed:
                busy.add(ident)
                try:
                    handler(name, key)
                except Exception:  # as the C recorder does: report once, call no more
                    failed.append(True)
                    print(f"Exception ignored in bchook.trace handler {handler!r}:",
                          file=sys.stderr)
                    traceback.print_exc()
                finally:
                    busy.discard(ident)
        return log_and_call

    # -- folding the lists ---------------------------------------------------------------
    def _gc_callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            for log in list(self.logs.values()):
                if len(log) > _FOLD_AT:
                    self.fold()
                    break

    def fold(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is folding; it takes these too
        try:
            for ident, log in list(self.logs.items()):
                while log:
                    n = len(log)
                    batch = log[:n]
                    del log[:n]
                    self._fold(self._thread(ident), batch)
        finally:
            self._lock.release()

    def _thread(self, ident: int) -> _Thread:
        th = self.threads.get(ident)
        if th is None:
            root = self._new_node(-1, -1)
            th = self.threads[ident] = _Thread(ident, root, len(self.threads),
                                               self.names.get(ident))
        return th

    def _new_node(self, parent: int, func: int) -> int:
        self.nodes.append([parent, func, 0, 0, 0])
        self.children.append({})
        return len(self.nodes) - 1

    def _fold(self, th: _Thread, batch: list) -> None:
        nodes = self.nodes
        children = self.children
        stack = th.stack
        timeline = self._timeline
        ring_append = self.ring.append
        enter_info = (th.index << 1) | 1
        leave_info = th.index << 1
        root = th.root
        written = 0
        for event in batch:
            if type(event) is tuple:                 # entry: (key, t)
                key, t = event
                parent = stack[-1][0] if stack else root
                node = children[parent].get(key)
                if node is None:
                    node = children[parent][key] = self._new_node(parent, self._func(key))
                stack.append([node, t, 0])
                if timeline:
                    ring_append((t, node, enter_info))
                    written += 1
            elif stack:                              # exit: t
                node, t0, sub = stack.pop()
                elapsed = event - t0
                n = nodes[node]
                n[2] += 1
                n[3] += elapsed - sub
                n[4] += elapsed
                if stack:
                    stack[-1][2] += elapsed
                if timeline:
                    ring_append((event, node, leave_info))
                    written += 1
        self.written += written

    def _func(self, key) -> int:
        i = self.func_index.get(key)
        if i is None:
            i = self.func_index[key] = len(self.funcs)
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
                rec.emit((self.key, rec.now()))

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
            rec.emit(rec.now())
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

    def __getattr__(self, name):
        # other attributes are the delegate's: gen.gi_yieldfrom.gi_code works as it did
        return getattr(self.delegate, name)

    def __repr__(self) -> str:
        return f"<bchook.trace proxy for {self.delegate!r}>"


class IterProxy(Proxy):
    __slots__ = ()

    def __next__(self):
        return self.send(None)
