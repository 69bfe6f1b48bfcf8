"""The traced program's side of ``bchook.trace``: one tracer per process.

Every traced module body starts with ``attach(config)`` (the trace pass puts it there,
``config`` being the pass's options as compiled in). The first call sets up the tracer:
the recorder (C or pure Python) whose functions the probes find in ``builtins``, the
output files, the exit handler that writes them. Each call registers the module's code
objects (with their untraced twins, for ``stop()``) and, with ``lines``, gives the module
its line-hit list.

Output files of a child process carry its pid (``trace.json`` -> ``trace.4242.json``): the
first traced process puts its pid in ``BCHOOK_TRACE_PID``, which child processes inherit.
A child that multiprocessing forks (``fork``, ``forkserver``) ends with ``os._exit()``, so
its tracer finishes from a multiprocessing finalizer instead of ``atexit``.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import gc
import importlib
import os
import shlex
import shutil
import sys
import tempfile
import threading
import types
from collections import Counter
from typing import IO, Any, Callable, Iterable, NoReturn

# Everything the runtime will need is imported here: TracePass imports this module before
# any hook is installed, so none of it is ever traced, even with --include '*'.
from ....hook import loader as _hook
from . import _profile
from . import _pyrecorder
from . import _readers
from . import _summary
from . import _writers
from ._names import (
    CALL,
    COMPILERS,
    DEFAULT_BUFFER,
    ENTER,
    ENV_ROOT_PID,
    ENV_RUN_DIR,
    LEAVE,
    LINES,
    ORIGINAL_MARK,
    OUTPUT_SUFFIXES,
    PY_LOG,
    PY_NOW,
    PY_WRAP,
    REWRITE_KEY,
    SWEEP_CLASS,
    SWEEP_MODULE,
    WRAP,
)

__all__ = ["attach", "tracer", "discard", "Tracer", "HandlerError", "report", "report_options"]

#: How the results are reported (summary view, sort, limit, callers, merge, per_test): set
#: by the TracePass of this process, not compiled into the modules (they change no bytecode).
report_options: dict[str, Any] = {}

_FunctionType = types.FunctionType
_CodeType = types.CodeType
_lock = threading.RLock()
_tracer: Tracer | None = None
#: True in a process forked from one that had imported this module.
_forked = False
#: The exit priority of the finalizer that finishes a forked multiprocessing child: the
#: lowest, so that it runs last and the calls of the program's own finalizers are recorded.
_FINISH_LAST = -sys.maxsize


def attach(config: Iterable[tuple[str, Any]]) -> None:
    """Called by each traced module body before anything else runs in it."""
    global _tracer
    frame = sys._getframe(1)
    with _lock:
        first = _tracer is None
        if first:
            _tracer = Tracer(dict(config))
        _tracer.add_module(frame.f_code, frame.f_globals, dict(config))
    if first:
        # Last: importing the handler's module may trace it, and attach again.
        try:
            _tracer.load_handler()
        except HandlerError as exc:
            # A usage error, found as the first traced module starts (the handler's
            # module may only be importable once the program's sys.path is set up):
            # nothing is written at exit.
            discard()
            stop_for_usage_error(str(exc))


def _exit_for_usage_error(message: str) -> NoReturn:
    sys.stderr.write(f"bchook: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(2)


#: How a usage error found while the program runs stops it: one line and status 2. The
#: pytest plugin replaces it with one that returns (the program goes on, recording
#: nothing) and reports the error once pytest has collected the tests.
stop_for_usage_error: Callable[[str], None] = _exit_for_usage_error


#: How the hints of the summary write an option: ``-o trace.sort=tottime`` for the runner
#: and the autoload (whose BCHOOK_OPTIONS take the same ``trace.sort=tottime``); the
#: pytest plugin sets its own.
option_spelling: _summary.Spelling = _summary.as_option


def check_handler(spec: str) -> None:
    """Load the handler ``trace.handler=spec`` names; HandlerError if it cannot be."""
    _load_handler(spec)


def tracer() -> Tracer | None:
    """The process's tracer, once a traced module has started."""
    return _tracer


# -- regions and marks ----------------------------------------------------------------------

_regions_wanted = False
_frame_keys: dict[tuple[str, str], tuple] = {}


def frame_key(kind: str, name: str) -> tuple:
    """The key of a frame that is not a function's: a region (``<region>``) or a pytest
    test kept as a root (``<test>``). One object per name: the C recorder knows keys by
    address."""
    key = _frame_keys.get((kind, name))
    if key is None:
        key = _frame_keys[(kind, name)] = (kind, 0, name, name)
    return key


def use_regions() -> None:
    """Record only inside regions from now on (what was recorded so far is forgotten)."""
    global _regions_wanted
    _regions_wanted = True
    t = _tracer
    if t is not None:
        t.use_regions()


def region_enter(name: str) -> None:
    t = _tracer
    if t is not None:
        t.region_enter(frame_key("<region>", name))


def region_exit(name: str) -> None:
    t = _tracer
    if t is not None:
        t.region_exit(frame_key("<region>", name))


def discard() -> None:
    """Forget the tracer without writing anything (for tests that trace several
    configurations in one process); the next traced module starts a new one."""
    global _tracer, _regions_wanted
    with _lock:
        t, _tracer = _tracer, None
        _regions_wanted = False
    if t is not None:
        t.finished = True
        atexit.unregister(t._at_exit)
        if _hook.on_rewrite == t.rewriting:
            _hook.on_rewrite = None
        if t.owns_env:
            os.environ.pop(ENV_ROOT_PID, None)
        if not t.child and t.run_dir:
            if os.environ.get(ENV_RUN_DIR) == t.run_dir:
                del os.environ[ENV_RUN_DIR]
            shutil.rmtree(t.run_dir, ignore_errors=True)
        for rec in t.recorders.values():
            rec.set_enabled(False)
            rec.set_region_mode(False)
            if hasattr(rec, "set_profiled_regions"):
                rec.set_profiled_regions(False)
            rec.reset()
            close = getattr(rec, "close", None)
            if close is not None:
                close()
        if t.monitoring_tool is not None:
            _release_monitoring(t.monitoring_tool)


def load_accel():
    """The C recorder module, or None when it was not built."""
    try:
        from . import _accel
    except ImportError:
        return None
    return _accel


class Tracer:
    def __init__(self, config: dict):
        self.config = config
        self.mode = config.get("mode", "calls")
        pid = str(os.getpid())
        self.owns_env = ENV_ROOT_PID not in os.environ
        self.child = os.environ.setdefault(ENV_ROOT_PID, pid) != pid
        self.outputs = output_paths(config.get("output", ""), self.child)
        self.timeline = self.mode == "timeline" or any(
            kind == ".json" for _, kind in self.outputs)
        self.buffer = int(config.get("buffer", DEFAULT_BUFFER))
        self.handler = None
        self.recorders: dict[str, Any] = {}
        self.active = True
        self.finished = False
        self.regions = _regions_wanted
        #: Regions recorded by a profile function while the functions run their untraced
        #: twins (C recorder, no line probes): code outside regions runs without probes.
        self.profiled_regions = False
        self.unswapped = False  # modules imported since: functions still probed
        self.monitoring_tool = None  # the sys.monitoring tool id that records them (3.12+)
        self.twin_of: dict[int, tuple] = {}     # id(traced code) -> (traced, untraced)
        self.traced_of: dict[int, tuple] = {}   # id(untraced code) -> (untraced, traced)
        #: in region mode, the twin_of entries whose code runs untraced: code that hands
        #: what it compiles at run time to the runtime keeps its probes (its twin would not)
        self.quiet_of: dict[int, tuple] = {}
        self.line_lists: list[tuple[str, list, str]] = []   # (file, hits, "flags"/"count")
        self.statements: dict[str, set[int]] = {}            # lines mode: lines with code
        self.rewrite_ns = 0
        self.rewritten = 0
        self.compiled: dict[tuple, _CodeType] = {}  # code compiled at run time: probed
        self.runtime_pass = None
        self.start_ns = _now_ns()
        self.run_dir = self._join_run()
        _hook.on_rewrite = self.rewriting
        builtins.__dict__.setdefault(LINES, Counter())  # for code run with other globals
        atexit.register(self._at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    # -- modules ------------------------------------------------------------------------
    def add_module(self, code: _CodeType, module_globals: dict, config: dict) -> None:
        if config.get("calls", True):
            self._recorder(config.get("backend", "c"))
        codes = self._register(code)
        lines = config.get("lines", "")
        if lines:
            last = max((line for c in codes for _, _, line in c.co_lines() if line), default=0)
            hits = [0] * (last + 1)
            module_globals[LINES] = hits
            statements = self.statements.setdefault(code.co_filename, set())
            # 3.10/3.11 give an empty module a line 1; only such code is worth the look
            if last > 1 or not _source_is_empty(code.co_filename):
                self.line_lists.append((code.co_filename, hits, lines))
                statements.update(line for c in codes for _, _, line in c.co_lines() if line)

    # -- the import hook's time -----------------------------------------------------------
    @contextlib.contextmanager
    def rewriting(self, fullname: str):
        """Around the rewriting of a module: its time is recorded as a call of
        REWRITE_KEY, which the profile then sets apart from the importing functions."""
        t0 = _now_ns()
        calls = []
        if self.active and not self.finished:
            for backend, rec in self.recorders.items():
                if backend == "c":
                    rec.enter(REWRITE_KEY)
                    calls.append(rec.leave)
                else:
                    log = builtins.__dict__.get(PY_LOG)
                    if log is not None:
                        log((REWRITE_KEY, rec.now()))
                        calls.append(lambda _key, log=log, now=rec.now: log(now()))
        try:
            yield
        finally:
            for leave in reversed(calls):
                leave(REWRITE_KEY)
            self.rewrite_ns += _now_ns() - t0
            self.rewritten += 1

    # -- other processes of the run -------------------------------------------------------
    def _join_run(self) -> str:
        """The run's folder: made by the first traced process; a child process leaves a
        file there saying it ran (the parent's summary then names its process too)."""
        folder = os.environ.get(ENV_RUN_DIR, "")
        if self.child:
            # multiprocessing's fork server ends only after the first process has: the
            # first process must not count it among those whose results it merges
            if folder and not _is_fork_server():
                self._mark_child(folder)
            return folder
        try:
            folder = tempfile.mkdtemp(prefix="bchook-trace-")
        except OSError:
            return ""
        os.environ[ENV_RUN_DIR] = folder
        return folder

    def _mark_child(self, folder: str) -> None:
        try:
            with open(os.path.join(folder, f"{os.getpid()}.ran"), "w") as f:
                f.write(_command_line())
        except OSError:
            pass

    def other_processes(self) -> list[str]:
        """Pids of the child processes that said they ran (root process only)."""
        if not self.run_dir or self.child:
            return []
        try:
            names = os.listdir(self.run_dir)
        except OSError:
            return []
        return sorted({n.split(".")[0] for n in names if n.endswith(".ran")}, key=int)

    def _register(self, code: _CodeType) -> list[_CodeType]:
        """Know the untraced twins of ``code`` and its nested code (for stop/start)."""
        codes = list(_traced_codes(code))
        accel = self.recorders["c"] if self.profiled_regions else None
        for traced in codes:
            twin = _twin(traced)
            if twin is not None:
                self.twin_of[id(traced)] = (traced, twin)
                self.traced_of[id(twin)] = (twin, traced)
                if accel is not None:
                    self.unswapped = True
                    self._quiet(accel, traced, twin)
        return codes

    # -- code compiled at run time ---------------------------------------------------------
    def probe_compiled(self, code: _CodeType) -> _CodeType:
        """``code``, compiled while the program runs, with the probes of the module code
        (none for lines), or ``code`` itself if it cannot have them. Called by the C
        recorder's exec/eval/compile of traced modules and by :meth:`sweep`."""
        try:
            # code objects that differ only in their file or qualified name are equal
            key = (code, code.co_filename, getattr(code, "co_qualname", None))
            with _lock:
                probed = self.compiled.get(key)
                if probed is None:
                    if len(self.compiled) >= _COMPILED_KEPT:
                        self.compiled.clear()
                        if self.profiled_regions:  # forget their keys too: the same bound
                            self._forget_run_time_code_keys()
                    probed = self.compiled[key] = self._probe(code)
            return probed
        except Exception:  # never let the profiler break the program's own compile
            return code

    def _probe(self, code: _CodeType) -> _CodeType:
        if _twin(code) is not None:
            return code
        if self.profiled_regions:  # the profile function reports it, with no probes
            accel = load_accel()
            for each in _traced_codes(code):
                accel.set_code_key(each, _key(each))
            return code
        from ....pipeline.api import Context
        from ....pipeline.driver import transform_code_tree
        from ..instrument import TracePass

        p = self.runtime_pass
        if p is None:
            p = self.runtime_pass = TracePass(_for_runtime_code=True, mode=self.mode,
                                              accel=True)
            accel = load_accel()
            p._probes = {CALL: accel.CALL, ENTER: accel.ENTER, LEAVE: accel.LEAVE,
                         WRAP: accel.WRAP}
        ctx = Context("<compiled at run time>", code.co_filename, p.options)
        probed = transform_code_tree(code, [p], [ctx])
        self._register(probed)
        return probed

    def sweep(self, what) -> None:
        """Give the probes to the functions a class, or a module's namespace (its
        functions, and its own classes'), got from code compiled at run time by modules
        that are not traced (dataclasses, namedtuple, attrs). The C recorder calls it
        after class statements and module bodies of traced code that have any."""
        if isinstance(what, dict):
            module = what.get("__name__")
            for value in list(what.values()):
                if type(value) is _FunctionType:
                    self._sweep_function(value)
                elif isinstance(value, type) and value.__dict__.get("__module__") == module:
                    self.sweep(value)
        elif isinstance(what, type):
            for attr in list(what.__dict__.values()):
                for func in _functions_of(attr):
                    self._sweep_function(func)

    def _sweep_function(self, func) -> None:
        code = func.__code__
        if _compiled_at_run_time(code):
            probed = self.probe_compiled(code)
            if probed is not code:
                _set_function_code(func, probed)

    def _recorder(self, backend: str):
        rec = self.recorders.get(backend)
        if rec is not None:
            return rec
        accel = load_accel() if backend == "c" else None
        if backend == "c" and accel is None:
            raise ImportError(
                "bchook.trace: this module was compiled for the C recorder, which is not "
                "built here; clear the cache or run with -o trace.accel=0")
        if accel is not None:
            accel.configure(timeline=self.timeline, buffer=self.buffer, handler=self.handler)
            b = builtins.__dict__
            b[CALL], b[ENTER], b[LEAVE], b[WRAP] = accel.CALL, accel.ENTER, accel.LEAVE, accel.WRAP
            for name, hooked in COMPILERS.items():
                b[hooked] = getattr(accel, name)
            b[SWEEP_CLASS], b[SWEEP_MODULE] = accel.sweep_class, accel.sweep_module
            accel.set_compile_hook(self.probe_compiled)
            accel.set_sweep_hook(self.sweep)
            rec = accel
        else:
            rec = _pyrecorder.PyRecorder()
            rec.configure(timeline=self.timeline, buffer=self.buffer, handler=self.handler)
            b = builtins.__dict__
            b[PY_NOW], b[PY_WRAP] = rec.now, rec.wrap  # and PY_LOG, set by the recorder
        rec.set_enabled(self.active)
        rec.set_region_mode(self.regions)
        self.recorders[backend] = rec
        self._profile_regions()
        return rec

    def load_handler(self) -> None:
        handler = _load_handler(self.config.get("handler", ""))
        if handler is not None:
            with _lock:
                self.handler = handler
                for rec in self.recorders.values():
                    rec.configure(timeline=self.timeline, buffer=self.buffer,
                                  handler=handler)

    # -- switching -----------------------------------------------------------------------
    def start(self) -> None:
        with _lock:
            if self.active or self.finished:
                return
            self.active = True
            if self.profiled_regions:  # only the code that must keep its probes
                self._swap({id(twin): (twin, traced) for key, (traced, twin)
                            in self.twin_of.items() if key not in self.quiet_of})
            else:
                self._swap(self.traced_of)
            for rec in self.recorders.values():
                rec.set_enabled(True)

    def stop(self) -> None:
        with _lock:
            if self.active:
                self.active = False
                for rec in self.recorders.values():
                    rec.set_enabled(False)  # frames still running call no-ops
            # again when already stopped: modules imported since then get switched off
            self._swap(self.twin_of)

    def _swap(self, mapping: dict) -> None:
        """Give every function of the traced modules the other variant of its code."""
        if not mapping:
            return
        accel = load_accel()
        set_code = accel.set_code if accel is not None else _set_code
        for obj in gc.get_objects():
            if type(obj) is _FunctionType:
                pair = mapping.get(id(obj.__code__))
                if pair is not None and pair[0] is obj.__code__:
                    set_code(obj, pair[1])

    def reset(self, lines: bool = True) -> None:
        with _lock:
            for rec in self.recorders.values():
                rec.reset()
            if lines:
                for _, hits, _ in self.line_lists:
                    hits[:] = [0] * len(hits)

    # -- regions and marks ---------------------------------------------------------------
    def use_regions(self) -> None:
        """Region mode: calls are recorded inside regions only, so the calls recorded so
        far (outside any) are forgotten; line hits cover the whole run."""
        with _lock:
            if self.regions:
                return
            self.regions = True
            for rec in self.recorders.values():
                rec.set_region_mode(True)  # first: nothing runs in a region yet
            self.reset(lines=False)
            self._profile_regions()

    def _profile_regions(self) -> None:
        """Regions without probes, where the C recorder alone records and no line probe
        needs the traced code: every function gets its untraced twin (one walk over the
        heap, at the first region), and the recorder reports the twins' calls made inside
        regions through a profile function."""
        accel = self.recorders.get("c")
        if (self.profiled_regions or not self.regions or accel is None
                or len(self.recorders) > 1 or self.config.get("lines")):
            return
        self.profiled_regions = True
        for traced, twin in self.twin_of.values():
            self._quiet(accel, traced, twin)
        self.monitoring_tool = _monitor_with(accel)
        accel.set_profiled_regions(True)
        self._swap(self.quiet_of)

    def _quiet(self, accel, traced: _CodeType, twin: _CodeType) -> None:
        """In region mode: the recorder knows ``twin`` by ``traced``'s KEY, and ``twin``
        replaces ``traced`` unless it would lose the hand-over of run-time code."""
        _give_key(accel, twin, traced)
        if not _hands_over_compiled_code(traced):
            self.quiet_of[id(traced)] = (traced, twin)

    def _forget_run_time_code_keys(self) -> None:
        """Forget every KEY the recorder knows, and give the twins theirs again."""
        accel = self.recorders["c"]
        accel.forget_code_keys()
        for traced, twin in self.twin_of.values():
            _give_key(accel, twin, traced)

    def region_enter(self, key: tuple) -> None:
        if self.unswapped:  # modules imported since the last walk
            with _lock:
                self.unswapped = False
                self._swap(self.quiet_of)
        for rec in self.recorders.values():
            rec.region_enter(key)

    def region_exit(self, key: tuple) -> None:
        for rec in self.recorders.values():
            rec.region_exit(key)

    def mark_enter(self, key: tuple) -> None:
        """A frame of its own for ``key`` on the current thread (a test kept as a root)."""
        for rec in self.recorders.values():
            rec.enter(key)

    def mark_exit(self, key: tuple) -> None:
        for rec in self.recorders.values():
            rec.leave(key)

    # -- results -------------------------------------------------------------------------
    def profile(self):
        snaps = [rec.snapshot() for rec in self.recorders.values()]
        lines = {}
        for filename, hits, kind in self.line_lists:
            per_file = lines.setdefault(filename, {})
            for n, value in enumerate(hits):
                if value:
                    per_file[n] = per_file.get(n, 0) + (1 if value is True else value)
        line_mode = "count" if any(k == "count" for _, _, k in self.line_lists) else "flags"
        prof = _profile.Profile.from_snapshots(snaps, lines, line_mode, self.start_ns,
                                               timeline=self.timeline)
        prof.set_apart(REWRITE_KEY)
        prof.rewrite_ns, prof.rewritten = self.rewrite_ns, self.rewritten
        prof.statements = {name: sorted(lines) for name, lines in self.statements.items()}
        prof.processes = [(os.getpid(), _command_line())]
        return prof

    def finish(self, stream: IO[str] | None = None,
               others: Iterable[tuple[str, Any]] = ()) -> bool:
        """Stop recording, then write the outputs (or the summary on ``stream``, stderr
        by default), with the ``(label, profile)`` pairs of ``others`` merged in (those
        of pytest-xdist's workers). False when an output could not be written (said on
        stderr)."""
        profile = self.hand_over()
        if profile is None:
            return True
        try:
            others = list(others)
            if others:
                profile = _profile.merge([profile, *(p for _, p in others)],
                                         ["", *(label for label, _ in others)])
            return self._report(profile, stream)
        finally:
            if not self.child and self.run_dir:
                shutil.rmtree(self.run_dir, ignore_errors=True)

    def hand_over(self):
        """Stop recording and return the profile, which nothing else will write (None
        when it was handed over or written already)."""
        with _lock:
            if self.finished:
                return None
            self.finished = True
            for rec in self.recorders.values():
                rec.set_enabled(False)
            _keep_probes_at_exit()
        if _hook.on_rewrite == self.rewriting:
            _hook.on_rewrite = None
        try:
            return self.profile()
        except Exception as exc:  # never turn a finished program into a crash at exit
            _say(f"bchook trace: could not collect the results: {type(exc).__name__}: {exc}")
            return _profile.Profile()

    def _at_exit(self) -> None:
        if not self.finish():
            exit_nonzero()

    def _report(self, profile, stream: IO[str] | None) -> bool:
        """Write the outputs, or the summary. With ``merge``, a child process leaves its
        data in the run's folder and the first process reports everything as one."""
        options = report_options
        merge = options.get("merge", False) and self.run_dir
        if merge and self.child:
            if not os.path.isdir(self.run_dir):
                # the first process has reported (naming this one as still running) and
                # removed the folder: writing would only make it again and leave it behind
                return True
            part = os.path.join(self.run_dir, f"{os.getpid()}.part")
            try:
                _writers.write_data(profile, part)
            except Exception as exc:
                _say(f"bchook trace: could not hand the results to the first process "
                     f"({part}): {_reason(exc)}")
                return False
            return True
        others = self.other_processes()
        merged = self._parts(others) if merge and others else {}
        if merged:
            profile = _profile.Profile.combine([profile, *merged.values()])
        header = ""
        if self.child or (others and not merge):
            header = f"pid {os.getpid()}: {_command_line()}"
        elif merged:
            header = f"{len(merged) + 1} processes merged: pids {os.getpid()} (first), " + \
                ", ".join(merged)
        if self.regions:
            options = {**options, "empty_because": "the program made a bchook.trace.region, "
                       "so only what runs inside regions is recorded, and none was entered"}
        return report(profile, self.outputs, self.buffer, stream, options, header,
                      child=self.child)

    def _parts(self, pids: list[str]) -> dict:
        """{pid: profile} of the child processes ``pids`` that left their results; says
        on stderr which left none."""
        found, missing = {}, []
        for pid in pids:
            path = os.path.join(self.run_dir, f"{pid}.part")
            if os.path.exists(path):
                found[pid] = _readers.read(path, ".part")
            else:
                missing.append(pid)
        if missing:
            _say(f"bchook trace: {len(missing)} child process(es) left nothing to merge "
                 f"(still running, killed, or ended by os._exit; a multiprocessing Pool "
                 f"kills its workers when it ends by terminate() or a with block: close() "
                 f"and join() it instead): pid {', '.join(missing)}")
        return found

    def _after_fork(self) -> None:
        # The child starts with nothing recorded and writes files of its own.
        for rec in self.recorders.values():
            rec.reset()
        self.child = True
        self.outputs = output_paths(self.config.get("output", ""), child=True)
        self.start_ns = _now_ns()
        self.rewrite_ns = self.rewritten = 0
        if self.run_dir:
            self._mark_child(self.run_dir)


# -- children that multiprocessing forks --------------------------------------------------

def _in_forked_child() -> None:
    """The child's side of every fork. A child that multiprocessing forks (``fork``, and
    ``forkserver``'s children, forked by its server) runs the program's target in
    ``BaseProcess._bootstrap``, then ``multiprocessing.util._exit_function()`` (its
    finalizers) and ends with ``os._exit()``: atexit handlers never run there (3.13+ even
    clears them at the fork). ``_bootstrap`` drops the finalizers inherited from the parent
    and then runs the after-fork callbacks: the one registered here gives the child a
    finalizer of its own that finishes the tracer. A child forked by ``os.fork()`` runs no
    callback, and a program that never imported multiprocessing cannot have started its
    children: it is not imported here."""
    global _forked
    _forked = True
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(util, _finish_at_multiprocessing_exit)


def _finish_at_multiprocessing_exit(util) -> None:
    util.Finalize(None, _finish_multiprocessing_child, exitpriority=_FINISH_LAST)


def _finish_multiprocessing_child() -> None:
    # The tracer is looked up now: it may have started after the fork. It finishes once:
    # after its atexit handler (3.13+ runs those registered since the fork) this does
    # nothing. What cannot be written is said on stderr; the status stays the child's.
    t = _tracer
    if t is not None:
        t.finish()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_forked_child)


def _is_fork_server() -> bool:
    """This process is multiprocessing's fork server (started like a spawned child, it
    forks the ``forkserver`` children and ends when the first process has)."""
    return not _forked and any("multiprocessing.forkserver" in arg for arg in sys.orig_argv)


# -- the end of a run -------------------------------------------------------------------

_PSTATS_KINDS = (".prof", ".pstats")


def report(profile, outputs: list[tuple[str, str]], buffer: int,
           stream: IO[str] | None = None, options: dict | None = None,
           header: str = "", child: bool = False) -> bool:
    """Write ``profile`` to ``outputs`` ((path, kind) pairs), or its summary on ``stream``
    when there are none; say in one line on stderr what could not be written (False then)
    and, on ``stream``, how many timeline events the ring buffer dropped."""
    stream = sys.stderr if stream is None else stream
    ok = True
    try:
        if outputs:
            for path, kind in outputs:
                if kind in _PSTATS_KINDS and not profile.stats():
                    # pstats refuses a file without functions: no file rather than one
                    # no reader takes; a child process (a pool's idle worker) says nothing
                    if not child:
                        _say(f"bchook trace: nothing recorded, so {path} was not written")
                    continue
                try:
                    _writers.write(profile, path, kind)
                except Exception as exc:
                    ok = False
                    _say(f"bchook trace: could not write {path}: {_reason(exc)}")
        else:
            options = report_options if options is None else options
            if options.get("summary", "table") != "off":
                _summary.summary(profile, stream, sort=options.get("sort", "cumtime"),
                                 limit=options.get("limit", _summary.DEFAULT_LIMIT),
                                 callers=options.get("callers", ""),
                                 view=options.get("summary", "table"), header=header,
                                 spell=option_spelling, dropped_note=False,
                                 empty_because=options.get("empty_because", ""))
    except Exception as exc:
        _say(f"bchook trace: could not write the summary: {_reason(exc)}")
        return False
    dropped = profile.events_dropped
    if dropped:
        stream.write(f"bchook trace: the timeline's ring buffer dropped the {dropped:,} oldest "
                     f"events (it keeps the last {buffer:,}): "
                     f"{option_spelling('buffer', str(buffer + dropped))} keeps them all\n")
        stream.flush()
    return ok


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc)  # [Errno 17] File exists: '/the/folder'
    return f"{type(exc).__name__}: {exc}"


def _say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def exit_nonzero() -> None:
    """Make the process end with a non-zero status although the program ended well: an
    output could not be written at exit. atexit handlers cannot change the status, so
    the C recorder ends the process with it once the interpreter has finalized
    (everything else still runs and is flushed); without it, the process ends here."""
    status = _program_status() or 1
    accel = load_accel()
    if accel is not None:
        accel.exit_status_at_end(status)
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(status)


def _program_status() -> int:
    """The status the program is ending with, when bchook's runner ran it."""
    runner = sys.modules.get("bchook.frontends.runner")
    status = getattr(runner, "exit_status", 0)
    return status if type(status) is int else 1


class HandlerError(Exception):
    """``trace.handler`` names something that cannot be imported or called."""


# -- helpers ------------------------------------------------------------------------------

def _now_ns() -> int:
    import time
    return time.monotonic_ns()


_PROBE_NAMES = (CALL, ENTER, LEAVE, WRAP, PY_LOG, PY_NOW, PY_WRAP, LINES, SWEEP_CLASS,
                SWEEP_MODULE, *COMPILERS.values())
#: Probed code compiled at run time kept at most (a program that evaluates ever new
#: strings must not grow the cache without end).
_COMPILED_KEPT = 4096


def _keep_probes_at_exit() -> None:
    """Make the probes outlive the restoring of the builtins at interpreter exit.

    CPython 3.10-3.12 put back the builtins of start-up (a copy taken before any import)
    before the last objects die, and a generator still suspended then is closed, running
    its probes: without this they raise NameError ("Exception ignored ..."). The copy is
    the other dict that holds builtins' own ``__build_class__`` and ``__name__``; adding
    the (by now inert) probes to it is all this changes."""
    real = builtins.__dict__
    probes = {name: real[name] for name in _PROBE_NAMES if name in real}
    if PY_LOG in probes:
        probes[PY_LOG] = id  # the pure-Python recorder's log: a C no-op from now on
    marker = real.get("__build_class__")
    for ref in gc.get_referrers(marker):
        if (type(ref) is dict and ref is not real and ref.get("__name__") == "builtins"
                and ref.get("__build_class__") is marker):
            for name, value in probes.items():
                ref.setdefault(name, value)


def _source_is_empty(filename: str) -> bool:
    """No statement in the file (an empty ``__init__.py``): blank lines and comments only."""
    import linecache
    return all(not text.strip() or text.lstrip().startswith("#")
               for text in linecache.getlines(filename))


def _command_line() -> str:
    """How the process was started, as a shell would show it: the code of ``-c`` too
    (which ``sys.argv`` leaves out), long arguments shortened."""
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return shlex.join([os.path.basename(argv[0])] +
                      [a if len(a) <= 60 else a[:59] + "…" for a in argv[1:]])


def _set_code(function, code) -> None:
    function.__code__ = code


def _set_function_code(function, code) -> None:
    accel = load_accel()
    (accel.set_code if accel is not None else _set_code)(function, code)


def _compiled_at_run_time(code: _CodeType) -> bool:
    """Code from ``exec``/``eval``/``compile`` of a string: its file name is made up
    (``<string>``, ``<attrs generated init ...>``); frozen modules' are too, but name
    themselves."""
    name = code.co_filename
    return name.startswith("<") and not name.startswith("<frozen")


def _functions_of(attr):
    """The functions behind a class attribute: itself, a static/class method's, a
    property's accessors."""
    if type(attr) is _FunctionType:
        return (attr,)
    if isinstance(attr, (staticmethod, classmethod)):
        func = attr.__func__
        return (func,) if type(func) is _FunctionType else ()
    if isinstance(attr, property):
        return tuple(f for f in (attr.fget, attr.fset, attr.fdel) if type(f) is _FunctionType)
    return ()


def _traced_codes(code: _CodeType):
    yield code
    for const in code.co_consts:
        if type(const) is _CodeType:
            yield from _traced_codes(const)


#: sys.monitoring tool ids bchook.trace may take, in order (0-2 and 5 are named for
#: debuggers, coverage, profilers such as cProfile, and optimizers; 6 and 7 are taken).
_FREE_TOOL_IDS = (4, 3)


def _monitor_with(accel) -> int | None:
    """Register the C recorder as a sys.monitoring tool (3.12+) for regions without
    probes; None where there is no sys.monitoring or no free tool id (the recorder is
    then each region's thread's profile function)."""
    mon = getattr(sys, "monitoring", None)
    if mon is None:
        return None
    for tool in _FREE_TOOL_IDS:
        try:
            mon.use_tool_id(tool, "bchook.trace")
        except ValueError:
            continue
        E = mon.events
        wanted = 0
        for event, callback in ((E.PY_START, accel.monitor_start),
                                (E.PY_RESUME, accel.monitor_start),
                                (E.PY_THROW, accel.monitor_throw),
                                (E.PY_RETURN, accel.monitor_return),
                                (E.PY_YIELD, accel.monitor_return),
                                (E.PY_UNWIND, accel.monitor_unwind)):
            mon.register_callback(tool, event, callback)
            wanted |= event
        accel.set_monitoring(tool, wanted, mon.set_events, mon.DISABLE)
        return tool
    return None


def _release_monitoring(tool: int) -> None:
    mon = sys.monitoring
    mon.set_events(tool, 0)
    mon.free_tool_id(tool)


_RUN_TIME_CODE_HOOKS = frozenset((*COMPILERS.values(), SWEEP_CLASS, SWEEP_MODULE))


def _hands_over_compiled_code(code: _CodeType) -> bool:
    """Does ``code`` or code nested in it call exec/eval/compile or sweep a class through
    the runtime (what its untraced twin does not)?"""
    return any(not _RUN_TIME_CODE_HOOKS.isdisjoint(c.co_names) for c in _traced_codes(code))


def _key(code: _CodeType) -> tuple:
    """The KEY the probes of ``code`` would hand to the recorder."""
    return (code.co_filename, code.co_firstlineno, code.co_name,
            getattr(code, "co_qualname", code.co_name))


def _give_key(accel, twin: _CodeType, traced: _CodeType) -> None:
    """Let the recorder report calls of ``twin`` as those of ``traced`` (the same KEY
    object: the recorder knows keys by address)."""
    for const in traced.co_consts:
        if (type(const) is tuple and len(const) == 4 and const[0] == traced.co_filename
                and const[1] == traced.co_firstlineno and const[2] == traced.co_name):
            accel.set_code_key(twin, const)
            return


def _twin(code: _CodeType) -> _CodeType | None:
    for const in reversed(code.co_consts):
        if type(const) is tuple and len(const) == 2 and const[0] == ORIGINAL_MARK:
            return const[1]
    return None


def output_kind(path: str) -> str | None:
    lower = path.lower()
    for suffix in OUTPUT_SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    return None


def output_paths(spec: str, child: bool = False) -> list[tuple[str, str]]:
    """``"a.json,b.prof"`` -> [(absolute path, kind)], with the pid in child processes."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    pid = str(os.getpid())
    result = []
    for name in names:
        kind = output_kind(name) or ".json"
        path = os.path.abspath(name)
        if child and kind == ".coverage":  # coverage's own naming: `coverage combine`
            path = f"{path}.{pid}"
        elif child:
            path = f"{path[:len(path) - len(kind)]}.{pid}{kind}"
        result.append((path, kind))
    return result


def _resolve(spec: str):
    module_name, _, attr = spec.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise HandlerError(f"trace.handler={spec}: {type(obj).__name__} object is not callable")
    return obj


class _PendingHandler:
    """The handler of a module that is being imported (a traced handler module starts the
    tracer itself): found at the first event after its function exists."""

    def __init__(self, spec: str):
        self.spec = spec
        self.func = None

    def __call__(self, event, func):
        if self.func is None:
            try:
                self.func = _resolve(self.spec)
            except (AttributeError, ImportError, HandlerError):
                return
        self.func(event, func)


def _load_handler(spec: str):
    if not spec:
        return None
    module_name = spec.partition(":")[0]
    try:
        return _resolve(spec)
    except HandlerError:
        raise
    except Exception as exc:
        module = sys.modules.get(module_name)
        spec_ = getattr(module, "__spec__", None)
        if module is not None and getattr(spec_, "_initializing", False):
            return _PendingHandler(spec)
        if isinstance(exc, ModuleNotFoundError) and exc.name and \
                f"{module_name}.".startswith(f"{exc.name}."):
            why = f"no module named {exc.name!r}"
        elif isinstance(exc, AttributeError) and module is not None:
            why = f"module {module_name!r} has no {spec.partition(':')[2]!r}"
        else:
            why = f"importing it raised {type(exc).__name__}: {exc}"
        raise HandlerError(f"trace.handler={spec}: cannot load the handler: {why}") from None
