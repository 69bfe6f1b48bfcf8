"""The pure-Python recorder, used when the C accelerator is not built.

The probes make two C calls per event: ``log((KEY, now()))`` on entry, ``log(now())`` on
exit, ``log`` being ``list.append`` of the thread's event list and ``now``
``time.perf_counter_ns``. While the program has one thread, ``log`` appends to that
thread's list directly; from the moment a second thread starts (the thread-starting
functions of ``_thread`` and ``threading`` are wrapped to notice), ``log`` is a small
function that picks the calling thread's list. The lists are folded into the same
calling-context tree as the C recorder's off the hot path: when they grow past a limit
(checked from a garbage collector callback) and whenever results are asked for. The
snapshot has the C recorder's layout. Signal handlers run in the main thread, wherever
Python code starts or loops, so the collector callback is a generator that catches what
they raise, and the main thread has a helper thread fold while it waits: a fold is never
cut short, and a KeyboardInterrupt is raised at the program's next traced call.

Folding is the price of the pure-Python recorder, so it does as little per event as it
can: an entry finds its node and pushes the caller's node and the entry time; an exit
adds its elapsed time to its node's total and count and pops. Own times are totals minus
the children's totals, worked out once per snapshot. In ``timeline`` mode the folded
events themselves are the ring buffer: each folded list is kept as a tuple (the newest
``buffer`` events, with the stack each started from) and turned into timeline events only
when asked for.
"""

from __future__ import annotations

import _thread
import builtins
import functools
import gc
import os
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
_start_thread = _thread.start_new_thread   # before _watch_thread_starts wraps it


def _route_all() -> None:
    for rec in list(_recorders):
        rec.route()


def _after_fork_in_child() -> None:
    # A fold running in another thread of the parent holds a lock that no thread of the
    # child will release.
    for rec in list(_recorders):
        rec._lock = threading.Lock()


def _in_main_thread() -> bool:
    """The thread that runs signal handlers."""
    return get_ident() == threading.main_thread().ident


def _watch_collections(recorder_ref):
    """The body of a recorder's garbage collector callback, a generator: resumed, it
    carries on inside its ``try``, so what a signal handler raises there (the main thread
    runs them wherever Python code starts or loops) is caught and raised again later in
    the program (see PyRecorder._defer). A callback that is a function cannot do that:
    an exception raised as it starts, before any of its code, would be printed and
    dropped by the collector."""
    while True:
        try:
            while True:
                phase = yield 0
                rec = recorder_ref()
                if phase == "start" and rec is not None:
                    rec._collection_starts()
        except GeneratorExit:  # the callback is gone (the interpreter is exiting)
            return
        except BaseException as exc:
            rec = recorder_ref()
            if rec is not None and _in_main_thread():
                rec._defer(exc)
            else:  # not a signal handler's: report it as the collector would have
                print("Exception ignored in bchook.trace's garbage collector callback:",
                      file=sys.stderr)
                traceback.print_exception(type(exc), exc, exc.__traceback__)


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
    __slots__ = ("ident", "root", "index", "stack", "name", "node")

    def __init__(self, ident: int, root: int, index: int, name):
        self.ident = ident
        self.root = root
        self.index = index
        self.name = name
        self.node = root             # the node of the innermost open call
        self.stack: list[int] = []   # per open call: the caller's node, the entry time


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
        self.raised: BaseException | None = None
        self.buffer = 1
        self._region_mode = False   # record only while a region is open (in any thread)
        self._regions_open = 0
        self._region_keys: dict[int, list] = {}   # per thread: the regions it is in
        self.reset()
        self.emit = self._probe_log()
        watcher = _watch_collections(weakref.ref(self))
        next(watcher)
        # The collector calls callback(phase, info): max() hands both to watcher.send
        # and runs no Python code of its own to start with.
        self._gc_callback = functools.partial(max, key=watcher.send)
        gc.callbacks.append(self._gc_callback)
        _recorders.add(self)
        if not _watching:  # once per process, and only where this recorder is used
            _watch_thread_starts()
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
            _watching = True

    # -- the interface -----------------------------------------------------------------
    def configure(self, timeline: bool = False, buffer: int = 1_000_000, handler=None,
                  tsc: bool = True) -> None:
        self._timeline = bool(timeline)
        self.buffer = max(1, int(buffer))
        self._trim()
        self._handler = handler
        self._install()

    def set_enabled(self, on: bool) -> None:
        on = bool(on)
        was = self._enabled
        if not on and was:
            self._end_open_calls()
        self._enabled = on
        self._install()
        if on and not was:
            self._reopen_regions()

    def enabled(self) -> bool:
        return self._enabled

    def set_region_mode(self, on: bool) -> None:
        self._region_mode = bool(on)
        self._install()

    def region_enter(self, key) -> None:
        """A region starts: every thread records until it ends (the C recorder keeps
        to the region's own thread)."""
        self._regions_open += 1
        self._region_keys.setdefault(get_ident(), []).append(key)
        self._install()
        if self._recording():
            self.emit((key, self.now()))

    def region_exit(self, key) -> None:
        if self._recording():
            self.emit(self.now())
        keys = self._region_keys.get(get_ident())
        if keys:  # regions of tasks sharing a thread need not end in the order they began
            del keys[max((i for i, k in enumerate(keys) if k is key), default=-1)]
        self._regions_open = max(0, self._regions_open - 1)
        self._install()

    def _reopen_regions(self) -> None:
        """A region still open when recording starts again (start() after stop(),
        reset()) is a frame again, from its thread's root: the calls made in it stay
        under it."""
        if not self._recording():
            return
        now = self.now()
        for ident, keys in self._region_keys.items():
            log = self._log_of(ident)
            for key in keys:
                log.append((key, now))

    def enter(self, key) -> None:
        """A frame of its own for KEY (a pytest test kept as a root), as the C recorder's."""
        if self._recording():
            self.emit((key, self.now()))

    def leave(self, key) -> None:
        if self._recording():
            self.emit(self.now())

    def _recording(self) -> bool:
        return self._enabled and (not self._region_mode or self._regions_open > 0)

    def reset(self) -> None:
        for log in self.logs.values():
            log.clear()
        self.funcs: list = []
        self.func_index: dict[tuple, int] = {}
        self.parents: list[int] = []      # per node
        self.node_funcs: list[int] = []   # per node
        self.counts: list[int] = []       # per node: finished calls
        self.totals: list[int] = []       # per node: their time, callees included
        self.children: list[dict] = []    # per node: {key: child node}
        self.threads: dict[int, _Thread] = {}
        self.kept: deque = deque()        # timeline: (thread, events, node, stack)
        self.kept_events = 0
        self.dropped = 0
        self._reopen_regions()

    def _end_open_calls(self) -> None:
        """Fold, then end every open call now (recording stops)."""
        self.fold()
        t = self.now()
        with self._lock:
            for th in list(self.threads.values()):
                if th.stack:
                    self._fold(th, [t] * (len(th.stack) // 2))

    def snapshot(self) -> dict:
        """Calls still running are in it as if they ended now (with their exit events),
        and go on being recorded."""
        self.fold()
        with self._lock:
            now = self.now()  # after every event folded, so no open call began later
            counts, totals = list(self.counts), list(self.totals)
            closing = []
            for th in self.threads.values():
                node, stack = th.node, th.stack
                for i in range(len(stack) - 1, 0, -2):   # (caller's node, entry time)
                    totals[node] += now - stack[i]
                    counts[node] += 1
                    closing.append((now, node, th.index << 1))
                    node = stack[i - 1]
            own = list(totals)
            for node, parent in enumerate(self.parents):
                if parent >= 0:
                    own[parent] -= totals[node]
            nodes = list(zip(self.parents, self.node_funcs, counts, own, totals))
            events = self._timeline_events()
            dropped = self.dropped + self.kept_events - len(events)
            if self._timeline:
                events += closing
            return {
                "funcs": list(self.funcs),
                "nodes": nodes,
                "threads": [(th.ident, th.root, th.name) for th in self.threads.values()],
                "events": b"".join([_EVENT.pack(*e) for e in events]),
                "event_format": "qii",
                "events_dropped": dropped,
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
        log = self.emit if self.raised is None else self._raising_log()
        builtins.__dict__[PY_LOG] = log if self._recording() else id  # id: a C no-op

    def _raising_log(self):
        """The probes' log until the main thread's next traced call, which raises what a
        signal handler raised while that thread waited for a fold (see _fold_aside). The
        call's entry is logged first, and the exit handler of every traced function
        reports its exit, so the recorded calls stay balanced."""
        emit = self.emit

        def log(event):
            emit(event)
            if type(event) is tuple and _in_main_thread():
                exc, self.raised = self.raised, None
                self._install()
                raise exc.with_traceback(None)  # not the fold's frames: the program's
        return log

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
    def _collection_starts(self) -> None:
        for log in list(self.logs.values()):
            if len(log) > _FOLD_AT:
                if _in_main_thread():
                    self._fold_aside()
                else:
                    self.fold()
                break

    def _fold_aside(self) -> None:
        """Fold in a helper thread while the main thread waits for it.

        The main thread is where Python runs signal handlers: folding there, a
        KeyboardInterrupt could stop the fold halfway and leave the tree out of step
        with the stacks. What a handler raises while the main thread waits here is
        raised again at its next traced call (see _defer)."""
        done = _thread.allocate_lock()
        done.acquire()
        finished = []

        def fold():
            try:
                self.fold()
            finally:
                finished.append(True)
                done.release()
        try:
            _start_thread(fold, ())
        except RuntimeError:  # no new threads now (the interpreter is shutting down)
            return
        while not finished:
            try:
                done.acquire()
            except BaseException as exc:  # raised by a signal handler (maybe once acquired)
                self._defer(exc)

    def _defer(self, exc: BaseException) -> None:
        """Raise ``exc``, which a signal handler raised while this recorder folded, at
        the main thread's next traced call (a later one is dropped)."""
        if self.raised is None:
            self.raised = exc
            self._install()

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
        self.parents.append(parent)
        self.node_funcs.append(func)
        self.counts.append(0)
        self.totals.append(0)
        self.children.append({})
        return len(self.parents) - 1

    def _fold(self, th: _Thread, batch: list) -> None:
        """Fold one thread's events (the lock is held). The hot loop of this recorder."""
        if self._timeline:
            # Kept as tuples: the collector untracks a tuple of untracked objects, so a full
            # collection does not walk a million kept events.
            self.kept.append((th, tuple(batch), th.node, tuple(th.stack)))
            self.kept_events += len(batch)
            self._trim()
        children = self.children
        counts = self.counts
        totals = self.totals
        stack = th.stack
        push = stack.append
        pop = stack.pop
        node = th.node
        kind, entry = type, tuple                    # locals: 3.10 looks globals up slowly
        for event in batch:
            if kind(event) is entry:                 # entry: (key, t)
                key, t = event
                callee = children[node].get(key)
                if callee is None:
                    callee = children[node][key] = self._new_node(node, self._func(key))
                push(node)
                push(t)
                node = callee
            elif stack:                              # exit: t (none left: already ended)
                totals[node] += event - pop()
                counts[node] += 1
                node = pop()
        th.node = node

    def _func(self, key) -> int:
        i = self.func_index.get(key)
        if i is None:
            i = self.func_index[key] = len(self.funcs)
            self.funcs.append(key)
        return i

    def _trim(self) -> None:
        """Forget the oldest kept lists that the newest ``buffer`` events do not need."""
        kept = self.kept
        while kept and self.kept_events - len(kept[0][1]) >= self.buffer:
            n = len(kept.popleft()[1])
            self.kept_events -= n
            self.dropped += n

    def _timeline_events(self) -> list[tuple[int, int, int]]:
        """The newest ``buffer`` (t, node, thread << 1 | entering) events, from the kept
        lists, replayed from the stack each started from."""
        events = []
        append = events.append
        children = self.children
        for th, batch, node, stack in self.kept:
            stack = list(stack)
            enter = (th.index << 1) | 1
            leave = th.index << 1
            for event in batch:
                if type(event) is tuple:
                    key, t = event
                    stack.append(node)
                    stack.append(t)
                    node = children[node][key]
                    append((t, node, enter))
                elif stack:
                    append((event, node, leave))
                    stack.pop()
                    node = stack.pop()
        if len(events) > self.buffer:
            del events[:len(events) - self.buffer]
        return events


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
            if rec._recording():
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
        if rec._recording():
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
