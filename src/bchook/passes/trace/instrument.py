"""The ``trace`` pass: probes at entry and exit of every code object, and on lines.

Every function, method, lambda, comprehension, class body, generator, coroutine and the
module body gets an *enter* probe after CPython's prologue and a *leave* probe before each
``return``; an exception leaving the code runs the leave probe from a handler added around
the body (an exception-table entry on 3.11+, a ``SETUP_FINALLY`` block on 3.10) that then
re-raises. Generators and coroutines also report each suspension (before ``yield``) and
each resumption (after the ``RESUME`` that follows it, or from a handler when an exception
is thrown in); on 3.10 and 3.11 ``yield from``/``await`` delegate through a small proxy
that reports them, since nothing may be put inside their loops there.

A probe hands a constant key to the C recorder: ``__bchook_enter__[KEY]`` (a subscript,
which unlike a call neither checks for pending signals nor counts towards the recursion
limit). Code that cannot suspend gets ``__bchook_call__[KEY]``, a token kept at the bottom
of its stack whose release is the exit. The probes live in ``builtins``;
``bchook.trace`` installs them when the first traced module starts (the module body begins
with a call of ``bchook.passes.trace.runtime._runtime.attach``). With ``lines``, each line start also
stores into a per-module list: ``__bchook_lines__[n] = True`` (or ``+= 1`` with
``lines=count``). Without the C recorder the probes are ``__bchook_log__((KEY,
__bchook_now__()))`` and ``__bchook_log__(__bchook_now__())``.

Probes carry the location of the instruction they precede, and the added handlers carry
none, so line numbers, tracebacks and line events stay as they were. Each traced code
object keeps its untraced twin in a constant, so ``bchook.trace.stop()`` can give
functions their original code back.
"""

from __future__ import annotations

import os
import types
from typing import Any

from ... import ir
from ...errors import OptionError
from ...pipeline.api import Context, Option, Pass, flag
from ...ir import Instr, Label
from . import lines as _trace_lines
from .runtime._summary import DEFAULT_LIMIT, SORTS, SUMMARIES
from .runtime._names import (
    CALL,
    COMPILERS,
    DEFAULT_BUFFER,
    ENTER,
    LEAVE,
    LINES,
    MODES,
    ORIGINAL_MARK,
    OUTPUT_SUFFIXES,
    PY_LOG,
    PY_NOW,
    PY_WRAP,
    RUNTIME_MODULE,
    SWEEP_CLASS,
    SWEEP_MODULE,
    WRAP,
)

__all__ = ["TracePass"]

V = ir.version
NO_LOCATION = ir.NO_LOCATION


def _mode(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in MODES:
        raise ValueError(f"expected one of {', '.join(MODES)}")
    return text


def _lines(value: Any) -> str:
    text = str(value).strip().lower()
    if text == "count":
        return "count"
    if text == "flags":
        return "flags"
    return "flags" if flag(value) else ""


def _outputs(value: Any) -> str:
    names = [part.strip() for part in str(value).split(",") if part.strip()]
    for name in names:
        if not name.lower().endswith(OUTPUT_SUFFIXES):
            raise ValueError(
                f"{name!r} has no known extension (use one of {', '.join(OUTPUT_SUFFIXES)})")
        if name.lower().endswith(".coverage") and not _importable("coverage"):
            raise ValueError(f"{name!r}: writing coverage.py's data file needs coverage "
                             "installed (pip install coverage)")
        # Checked now, not at exit: a program must not run for an hour to lose its profile.
        folder = os.path.dirname(os.path.abspath(name))
        if not os.path.isdir(folder):
            raise ValueError(f"cannot write {name!r}: no folder {folder}")
        if os.path.isdir(name):
            raise ValueError(f"cannot write {name!r}: it is a folder")
        if not _can_create_in(folder):
            raise ValueError(f"cannot write {name!r}: the folder {folder} is not writable")
    return ",".join(names)


def _can_create_in(folder: str) -> bool:
    """Whether a file can be made there: permissions alone (os.access) do not say so for
    root, a read-only mount or a pseudo file system such as /sys."""
    import tempfile
    try:
        fd, path = tempfile.mkstemp(prefix=".bchook-trace-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(path)
    return True


def _importable(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def _handler(value: Any) -> str:
    text = str(value).strip()
    module, sep, attr = text.partition(":")
    parts = module.split(".") + attr.split(".")
    if not sep or not all(p.isidentifier() for p in parts):
        raise ValueError("expected 'package.module:function'")
    return text


def _buffer(value: Any) -> int:
    size = int(value)
    if size < 1:
        raise ValueError("the ring buffer needs room for at least one event")
    return size


def _sort(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in SORTS:
        raise ValueError(f"expected one of {', '.join(SORTS)}")
    return text


def _limit(value: Any) -> int:
    n = int(value)
    if n < 0:
        raise ValueError("expected a number of rows, 0 for all")
    return n


def _summary_view(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in SUMMARIES:
        raise ValueError(f"expected one of {', '.join(SUMMARIES)}")
    return text


def _name(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("expected a function name")
    return text


def accel_available() -> bool:
    """Is the C accelerator of ``bchook.trace`` built?"""
    try:
        from .runtime import _accel  # noqa: F401
    except ImportError:
        return False
    return True


class TracePass(Pass):
    """Probes for ``bchook.trace``: call counts and times, timelines, line hits.

    Options: ``mode`` (``calls``, ``timeline``, or ``lines``: the same as ``lines=1``
    alone), ``lines`` (``0``, ``1`` or ``count``; alone it records lines only),
    ``output`` (files, comma-separated, by extension), ``handler`` (``pkg.mod:func``
    called with each event), ``buffer`` (timeline ring buffer size in events), ``accel``
    (``0`` to use the pure-Python recorder), ``per_test`` (under pytest, each test is a
    root of the call tree).
    """

    name = "trace"
    version = "3"
    option_specs = (
        Option("mode", _mode, "calls", "calls: call counts and times per function; "
               "timeline: also every entry and exit; lines: the same as lines=1 alone",
               type="|".join(MODES)),
        Option("lines", _lines, 0, "1: which lines ran; count: how many times each line "
               "began (alone: lines only, no call probes)", type="0|1|count"),
        Option("output", _outputs, None, "files to write instead of the summary on stderr, "
               "comma-separated or repeated; the extension picks the format: "
               + " ".join(OUTPUT_SUFFIXES), type="files"),
        Option("handler", _handler, None, "called as function(event, func) for every "
               "event", type="module:function"),
        Option("buffer", _buffer, DEFAULT_BUFFER, "size of the timeline's ring buffer, in "
               "events: the last ones are kept", type="int"),
        Option("accel", flag, True, "0: the pure-Python recorder even where the C one is "
               "built"),
        # How the results are reported; they change no bytecode (not in the cache key):
        Option("summary", _summary_view, "table", "the summary on stderr: table, tree (the "
               "call tree with percentages; calls under 1 % fold into one line) or off",
               type="|".join(SUMMARIES)),
        Option("sort", _sort, "cumtime", "the table's order", type="|".join(SORTS)),
        Option("limit", _limit, DEFAULT_LIMIT, "rows of the table (0: all)", type="int"),
        Option("callers", _name, None, "a function's name (or qualified name, or "
               "file:line): its callers and callees instead of the table", type="name"),
        Option("merge", flag, False, "1: child processes hand their data to the first "
               "process, which writes one profile (or one summary) of all"),
        Option("per_test", flag, False, "under pytest, 1 makes each test (its fixtures "
               "included) a root of the call tree, named by its node id"),
    )
    #: The options above that only choose how results are reported.
    report_options = ("summary", "sort", "limit", "callers", "merge", "per_test")

    def __init__(self, _for_runtime_code: bool = False, **options: Any):
        """``_for_runtime_code``: the pass the runtime makes for code compiled while the
        program runs, which leaves the run's report options as the front end set them."""
        super().__init__(**options)
        # The runtime and the modules it uses are imported now, before any hook is
        # installed, so that they are never traced themselves (even with --include '*').
        from .runtime import _runtime
        opts = self.options
        mode = opts.get("mode")
        self._lines = opts.get("lines", "flags" if mode == "lines" else "")
        # ``lines`` alone (or ``mode=lines``) records lines only: the flags cost far less
        # than call probes; ``lines`` with ``mode=calls``/``timeline`` records both.
        self._calls = mode in ("calls", "timeline") or not self._lines
        self._backend = "c" if opts.get("accel", True) and accel_available() else "py"
        #: True for the pass that probes code compiled at run time (see _runtime): no
        #: module prologue, no line probes, no compile hooks of its own
        self._runtime_code = _for_runtime_code
        self._probes: dict[str, Any] = {}  # for it: the probe objects, by name
        self._check_outputs()
        self._check_views()
        if not _for_runtime_code:
            _runtime.report_options.clear()
            _runtime.report_options.update(
                (k, v) for k, v in opts.items() if k in self.report_options)

    def _check_outputs(self) -> None:
        """Refuse an output this run's probes cannot fill (before anything runs)."""
        from .runtime import _runtime
        from .runtime import _writers
        for name in filter(None, self.options.get("output", "").split(",")):
            needed = _writers.needs(_runtime.output_kind(name))
            if needed == "calls" and not self._calls:
                raise OptionError(
                    f"trace.output={name}: this kind of file holds calls, and "
                    f"trace.lines={self.options.get('lines') or '1'} alone records lines "
                    f"only: add -o trace.mode=calls to record both")
            if needed == "lines" and not self._lines:
                raise OptionError(
                    f"trace.output={name}: this kind of file holds line hits: add "
                    f"-o trace.lines=1 (which lines ran) or -o trace.lines=count")

    def _check_views(self) -> None:
        """Refuse a view of calls when only lines are recorded (it would show nothing)."""
        if self._calls:
            return
        lines = self.options.get("lines") or "1"
        for option, value in (("summary", "tree"), ("callers", self.options.get("callers"))):
            if value and self.options.get(option) == value:
                raise OptionError(
                    f"trace.{option}={value}: shows calls, and trace.lines={lines} alone "
                    f"records lines only: add -o trace.mode=calls to record both")

    def cache_key(self) -> str:
        opts = ",".join(f"{k}={v!r}" for k, v in sorted(self.options.items())
                        if k not in self.report_options)
        return f"{self.name}:{self.version}:{opts};backend={self._backend}"

    def runtime_config(self) -> tuple:
        """What the module prologue hands to ``bchook.passes.trace.runtime._runtime.attach``."""
        opts = self.options
        return (
            ("mode", opts.get("mode", "calls") if self._calls else "lines"),
            ("calls", self._calls),
            ("lines", self._lines),
            ("output", opts.get("output", "")),
            ("handler", opts.get("handler", "")),
            ("buffer", opts.get("buffer", DEFAULT_BUFFER)),
            ("backend", self._backend),
        )

    def transform_ir(self, bytecode: ir.Bytecode, ctx: Context) -> bool:
        return _Instrumenter(self, bytecode, ctx).run()


# -- instrumentation of one code object ---------------------------------------------------

_CO_NEWLOCALS = 0x0002
#: CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_SUSPENDS = 0x20 | 0x80 | 0x100 | 0x200
_YIELD_VALUE = V.OPMAP["YIELD_VALUE"]
_LOAD_GLOBAL = V.OPMAP["LOAD_GLOBAL"]
_LOAD_NAME = V.OPMAP["LOAD_NAME"]
_LOAD_BUILD_CLASS = V.OPMAP["LOAD_BUILD_CLASS"]
#: Where a resumption gets an enter probe: after every yield, and after the suspensions of
#: ``yield from``/``await`` unless their proxy reports those (3.10, 3.11).
_PROBED_RESUMPTIONS = ("yield",) if V.SEALED_DELEGATION else ("yield", "yield from", "await")


class _Instrumenter:
    def __init__(self, tracepass: TracePass, bc: ir.Bytecode, ctx: Context):
        self.p = tracepass
        self.bc = bc
        self.ctx = ctx
        self.code = bc.code
        self.is_module = self.code.co_name == "<module>" and not (
            self.code.co_flags & _CO_NEWLOCALS) and not tracepass._runtime_code
        self.key = (self.code.co_filename, self.code.co_firstlineno, self.code.co_name,
                    _qualname(self.code, ctx))
        self.throw_labels: list[Label] = []  # 3.10: exceptions thrown in at each yield

    # -- probe builders ---------------------------------------------------------------
    def _const(self, value, loc) -> Instr:
        return ir.load_const(self.bc, value, loc)

    def _global(self, name: str, loc, push_null: bool = False) -> list[Instr]:
        probe = self.p._runtime_code and not push_null and self.p._probes.get(name)
        if probe:
            # Code compiled at run time is never cached: its probes are constants, so it
            # needs nothing from builtins (namedtuple runs its code with none).
            return [self._const(probe, loc)]
        return ir.load_global(self.bc.add_name(name), push_null=push_null, loc=loc)

    def _subscript(self, name: str, loc) -> list[Instr]:
        """``PROBE[KEY]``: the C recorder's probes are subscripts, not calls. A
        subscript neither checks for pending signals (CPython checks none on the way
        back into a yield from/await, so that a KeyboardInterrupt reaches the innermost
        generator) nor counts towards the recursion limit (3.10 and 3.11 count C calls),
        so both behave as without the probes."""
        return [*self._global(name, loc), self._const(self.key, loc), *ir.subscript(loc)]

    def _event(self, enter: bool, loc) -> list[Instr]:
        if self.p._backend == "c":
            return [*self._subscript(ENTER if enter else LEAVE, loc), *ir.pop_top(loc)]
        # Pure Python: two C calls per event, ``log((KEY, now()))`` on entry and
        # ``log(now())`` on exit; the recorder knows which thread logged (see _pyrecorder).
        now = [*self._global(PY_NOW, loc, push_null=True), *ir.call(0, loc)]
        event = [self._const(self.key, loc), *now, Instr("BUILD_TUPLE", 2, loc)] if enter \
            else now
        return [*self._global(PY_LOG, loc, push_null=True), *event, *ir.call(1, loc),
                *ir.pop_top(loc)]

    def _wrap_delegate(self, loc) -> list[Instr]:
        """The iterator on top of the stack -> a proxy that reports suspend/resume."""
        key = self._const(self.key, loc)
        if self.p._backend == "c":  # WRAP[(iterator, KEY)] (see _subscript)
            return [*self._global(WRAP, loc), *ir.swap(2, loc), key,
                    Instr("BUILD_TUPLE", 2, loc), *ir.subscript(loc)]
        return ir.call_on_top(self._global(PY_WRAP, loc), [key], 1, loc)

    def _line_probe(self, line: int, loc) -> list[Instr]:
        hits = self._global(LINES, loc)
        index = self._const(line, loc)
        if self.p._lines == "flags":
            return [self._const(True, loc), *hits, index, Instr("STORE_SUBSCR", 0, loc)]
        # [hits, n] -> [hits, n, hits[n] + 1] -> [hits[n] + 1, hits, n] -> STORE_SUBSCR
        return [*hits, index, *ir.dup_top_two(loc), *ir.subscript(loc), self._const(1, loc),
                *ir.binary_op("+", loc), *ir.sink(3, loc), Instr("STORE_SUBSCR", 0, loc)]

    def _prologue(self, loc) -> list[Instr]:
        """``bchook.passes.trace.runtime._runtime.attach(config)``, importing only from sys.modules once
        the runtime is loaded (no Python-level import machinery runs)."""
        attach = ir.import_from(self.bc, RUNTIME_MODULE, "attach", loc)
        return [*ir.callable_from(attach, loc), self._const(self.p.runtime_config(), loc),
                *ir.call(1, loc), *ir.pop_top(loc)]

    # -- the transformation -------------------------------------------------------------
    def run(self) -> bool:
        bc = self.bc
        flow = ir.Flow(bc.items, self.code)
        instrs = flow.instrs
        if not instrs:
            return False
        calls = self.p._calls
        # Code that cannot suspend keeps a token from the C recorder at the bottom of its
        # stack instead of calling a leave probe: popping it (before a return, or by the
        # unwinding of an exception) is the exit event.
        token = calls and self.p._backend == "c" and not self.code.co_flags & _SUSPENDS
        if V.MAX_BLOCKS and calls and not token:
            setups = sum(1 for x in instrs if x.op in V.BLOCK_SETUPS)
            if setups + 2 > V.MAX_BLOCKS:
                calls = False  # no room on the block stack: leave the calls of this one out
        twin = None if self.is_module else self._untraced_twin()

        start = ir.body_start(instrs)
        body_loc = self._head_location(instrs, start)
        before: dict[int, list[Instr]] = {}
        after: dict[int, list[Instr]] = {}
        leaves: set[int] = set()  # leave probes keep the handler of what they precede

        def add(where: dict, ins: Instr, seq: list[Instr], leave: bool = False) -> None:
            for x in seq:
                x.handler = ins.handler
            where.setdefault(id(ins), []).extend(seq)
            if leave:
                leaves.update(id(x) for x in seq)

        lines = "" if self.p._runtime_code else self.p._lines
        line_probes = self._line_starts(flow, start) if lines else {}
        for ins, seq in line_probes.values():
            add(before, ins, seq)
        trampolines = []
        if lines == "count":
            trampolines = self._loop_backedges(flow, line_probes, add, before)

        prologue = self._prologue(body_loc) if self.is_module else []
        if calls and self.p._backend == "c" and not self.p._runtime_code:
            self._hook_compilers(instrs)
            self._plan_sweeps(instrs, start, add, before)
        enter: list[Instr] = []
        exit_label = Label("trace-exit")
        yields: list[Instr] = []
        if token:
            enter = self._subscript(CALL, body_loc)
            self._plan_token(instrs, start, add, before)
        elif calls:
            inherited = instrs[start - 1].handler if start else None
            if not V.HAS_EXCEPTION_TABLE:
                enter += ir.block_setup(exit_label, body_loc)
            enter += self._event(True, body_loc)
            for x in enter:
                x.handler = inherited
            self._plan_events(instrs, start, add, before, after, yields)

        head = prologue + enter
        out: list = list(head) if start == 0 else []
        for item in bc.items:
            if type(item) is not Instr:
                out.append(item)
                continue
            out += before.get(id(item), ())
            out.append(item)
            out += after.get(id(item), ())
            if start and item is instrs[start - 1]:
                out += head  # after the prologue, before the labels of the first line
        out += trampolines
        if calls and not token:
            if V.HAS_EXCEPTION_TABLE:
                out = self._table_handlers(out, enter[0], leaves, exit_label, yields)
            else:
                out = self._block_handlers(out, exit_label)
        bc.items = out
        if twin is not None:
            bc.add_const((ORIGINAL_MARK, twin))
        return True

    def _head_location(self, instrs: list[Instr], start: int) -> tuple:
        """Where the probes before the body are. Nowhere, as a rule: the first line event
        then comes after them, where the stack (the token) and the blocks (3.10) are
        those of the body, so a debugger's jump from the first line lands where the code
        expects it to be. But where the body begins on the line of the RESUME before it,
        3.13+ report no line there (``lambda: x``) unless something without a location
        comes between them: there the probes are on that line too."""
        if start and start < len(instrs) and V.RESUME_LINE_IS_CURRENT:
            resume = instrs[start - 1]
            if resume.loc[0] is not None and resume.loc[0] == instrs[start].loc[0]:
                return resume.loc
        return NO_LOCATION

    def _hook_compilers(self, instrs: list[Instr]) -> None:
        """Code compiled at run time by this code gets probes too: its globals exec, eval
        and compile become the C recorder's (which call the builtins, unless the module
        defines those names itself). Code that never names them is left as it was.
        The names are the IR's, not ``co_names``: a pass before this one in the chain
        may have dropped some and renumbered the rest."""
        names = self.bc.names
        if not any(name in COMPILERS for name in names):
            return
        for ins in instrs:
            if ins.op == _LOAD_GLOBAL or (ins.op == _LOAD_NAME and self.is_module):
                hooked = COMPILERS.get(names[ir.name_index_of(ins)])
                if hooked is not None:
                    ins.arg = ir.name_arg(ins.op, self.bc.add_name(hooked),
                                          ir.name_flags_of(ins))

    def _plan_sweeps(self, instrs, start, add, before) -> None:
        """After each class statement, each name a module body gives a call's result,
        and at the end of the module body, probe what the class or the module got from
        code compiled at run time by modules that are not traced (dataclasses' __init__,
        namedtuple's __new__): the C recorder looks, and hands over only what has such
        functions."""
        stores = []
        for k in range(start, len(instrs)):
            if instrs[k].op == _LOAD_BUILD_CLASS:
                store = self._class_store(instrs, k)
                if store is not None:  # the class, decorated, on top
                    stores.append(store)
            elif self.is_module and instrs[k].op in V.NAME_STORES and k > start \
                    and instrs[k - 1].op in V.CALL_RESULTS:
                # a module's name given what a call made: Pt = namedtuple(...), which a
                # script may use before its body ends
                stores.append(instrs[k])
        for store in dict.fromkeys(stores):  # SWEEP_CLASS(the value on top)
            loc = store.loc
            add(before, store, [*ir.copy(1, loc),
                                *ir.call_on_top(self._global(SWEEP_CLASS, loc), [], 0, loc),
                                *ir.pop_top(loc)])
        if self.is_module:
            for ins in instrs[start:]:
                if ir.returns_values(ins) >= 0:
                    add(before, ins, [*self._global(SWEEP_MODULE, ins.loc, push_null=True),
                                      *ir.call(0, ins.loc), *ir.pop_top(ins.loc)])

    @staticmethod
    def _class_store(instrs: list[Instr], k: int) -> Instr | None:
        """Where the class statement whose LOAD_BUILD_CLASS is ``instrs[k]`` stores its
        class: the first store after it, unless control flow comes first (a conditional
        base, or 3.12's generic class, whose function returns the class)."""
        for x in instrs[k + 1:]:
            if x.op in V.VARIABLE_STORES:
                return x
            if x.op in V.JUMPS or ir.returns_values(x) >= 0:
                return None
        return None

    def _plan_token(self, instrs, start, add, before) -> None:
        """Pop the token before each return; exception handlers now start one deeper."""
        bumped = set()
        for ins in instrs:
            h = ins.handler
            if h is not None and id(h) not in bumped:
                bumped.add(id(h))
                h.depth += 1
        for ins in instrs[start:]:
            returned = ir.returns_values(ins)
            if returned >= 0:  # [token, value] -> [value]; or [token] -> []
                drop = ir.swap(2, ins.loc) if returned else []
                add(before, ins, [*drop, *ir.pop_top(ins.loc)], leave=True)

    def _plan_events(self, instrs, start, add, before, after, yields) -> None:
        """Leave probes before returns and yields, enter probes after resumptions."""
        sealed = V.SEALED_DELEGATION
        for idx in range(start, len(instrs)):
            ins = instrs[idx]
            if ir.returns_values(ins) >= 0:
                seq = self._event(False, ins.loc)
                if not V.HAS_EXCEPTION_TABLE:
                    seq[:0] = ir.block_pop(ins.loc)
                add(before, ins, seq, leave=True)
            elif ins.op == _YIELD_VALUE:
                if sealed and instrs[idx - 1].op in V.DELEGATES:
                    continue  # 3.11 yield from / await: the proxy reports
                add(before, ins, self._event(False, ins.loc), leave=True)
                yields.append(ins)
                if not V.HAS_EXCEPTION_TABLE:
                    # an exception thrown in at the yield reports the resumption first;
                    # one handler per yield, since the stack depth differs between them
                    label = Label("trace-throw")
                    self.throw_labels.append(label)
                    add(before, ins, ir.block_setup(label, ins.loc))
                    add(after, ins, [*ir.block_pop(ins.loc), *self._event(True, ins.loc)])
            elif ir.resumes_after(ins) in _PROBED_RESUMPTIONS:
                if V.WATCHED_CLOSE_RUNS_FRAME:
                    # as for the profilers, that are sys.monitoring tools: closing the
                    # generator here resumes it (to raise GeneratorExit), one more call
                    ir.run_frame_on_close(ins)
                nxt = instrs[idx + 1] if idx + 1 < len(instrs) else ins
                add(after, ins, self._event(True, nxt.loc))
            elif sealed and ins.op in V.DELEGATES:
                prev = instrs[idx - 1]
                if ir.constant_of(self.bc, prev) is None:  # the delegation starts
                    add(before, prev, self._wrap_delegate(prev.loc))

    def _line_starts(self, flow: ir.Flow, start: int) -> dict[int, tuple]:
        """{id(instr): (instr, probe)} for the instructions where a line begins."""
        count = self.p._lines == "count"
        return {id(ins): (ins, self._line_probe(line, ins.loc))
                for ins, line in _trace_lines.line_starts(flow, start, count)}

    def _loop_backedges(self, flow: ir.Flow, line_probes, add, before) -> list:
        """Count mode: a jump back to an instruction that does not begin its line (a
        ``for`` loop's FOR_ITER, a comprehension's) begins it again; count it on the jump.
        A conditional jump back (3.10, 3.11) goes through a trampoline at the end of the
        code instead: [label, probe, JUMP target], without a location so that the line
        events stay as they were. Returns the trampolines."""
        tails: list = []
        for ins, line in _trace_lines.back_edges(flow, set(line_probes)):
            if ins.op in V.UNCONDITIONAL_JUMPS:
                add(before, ins, self._line_probe(line, ins.loc))
                continue
            trampoline = Label("trace-line")
            seq = [*self._line_probe(line, NO_LOCATION), *ir.jump(ins.arg)]
            for x in seq:
                x.handler = ins.handler
            tails += [trampoline, *seq]
            ins.arg = trampoline
        return tails

    def _block_handlers(self, out, exit_label):
        """3.10: the SETUP_FINALLY blocks are instructions; their handlers go at the end.
        ``RERAISE 1`` puts back the frame's last instruction (kept by the EXCEPT_HANDLER
        block), so the frame reports the line it raised at, as it did without us."""
        tail = []
        for label in self.throw_labels:
            tail += [label, *self._event(True, NO_LOCATION), Instr("RERAISE", 1)]
        tail += [exit_label, *self._event(False, NO_LOCATION), Instr("RERAISE", 1)]
        return out + tail

    def _table_handlers(self, out, first_enter, leaves, exit_label, yields):
        """Cover the body with the exit handler (an exception-table entry whose code
        reports the exit and re-raises); give each yield a handler that reports the
        resumption when an exception is thrown in, then goes where it went before."""
        exit_handler = ir.Handler(exit_label, 0, True)
        covering = False
        for x in out:
            if x is first_enter:
                covering = True
            if covering and type(x) is Instr and x.handler is None and id(x) not in leaves:
                x.handler = exit_handler
        inserts: dict[int, list[ir.Handler]] = {}
        throw_handlers: dict[tuple, ir.Handler] = {}
        # 3.11 runs a generator that never started when it is closed (or collected),
        # raising where it was created: a call, for cProfile; report one
        starts = [x for x in out if type(x) is Instr and x.op in V.UNSTARTED_CLOSE_RAISES_AT]
        for y in yields + starts:
            original = y.handler
            if original is None or original is exit_handler:
                target, depth, lasti = exit_label, 0, True
            else:
                target, depth, lasti = original.label, original.depth, original.lasti
            k = (id(target), depth, lasti)
            h = throw_handlers.get(k)
            if h is None:
                h = throw_handlers[k] = ir.Handler(Label("trace-throw"), depth, lasti)
                inserts.setdefault(id(target), []).append(h)
            y.handler = h
        body = out + [exit_label, *self._event(False, NO_LOCATION), Instr("RERAISE", 1)]
        if not inserts:
            return body
        result: list = []
        for pos, x in enumerate(body):
            if type(x) is Label and id(x) in inserts:
                # The throw handler's code goes just before the handler it leads to and
                # falls into it, with its location, so line events stay as they were.
                nxt = next((i for i in body[pos + 1:] if type(i) is Instr), None)
                loc = NO_LOCATION if x is exit_label or nxt is None else nxt.loc
                prev = next((i for i in reversed(result) if type(i) is Instr), None)
                if prev is not None and prev.op not in V.NO_FALLTHROUGH:
                    result += ir.jump(x)
                    result[-1].handler = prev.handler
                for h in inserts[id(x)]:
                    result.append(h.label)
                    result += self._event(True, loc)
            result.append(x)
        return result

    def _untraced_twin(self) -> types.CodeType:
        """This code object as it was before the probes, nested code objects included."""
        code = self.bc.to_code()
        consts = list(code.co_consts)
        changed = False
        for i, const in enumerate(consts):
            if type(const) is types.CodeType:
                original = untraced(const)
                if original is not const:
                    consts[i] = original
                    changed = True
        return code.replace(co_consts=tuple(consts)) if changed else code


def untraced(code: types.CodeType) -> types.CodeType:
    """The untraced twin of a traced code object (``code`` itself if it has none)."""
    for const in reversed(code.co_consts):
        if type(const) is tuple and len(const) == 2 and const[0] == ORIGINAL_MARK:
            return const[1]
    return code


def _qualname(code: types.CodeType, ctx: Context) -> str:
    qualname = getattr(code, "co_qualname", None)
    if qualname is not None:
        return qualname
    names = ctx.state.get("trace-qualnames")
    if names is None:
        names = ctx.state["trace-qualnames"] = {}
        root = ctx.module_code
        if root is not None:
            _collect_qualnames(root, "", False, names)
    return names.get((code.co_name, code.co_firstlineno, code.co_code), code.co_name)


def _collect_qualnames(code: types.CodeType, prefix: str, in_function: bool,
                       names: dict) -> None:
    """3.10 has no co_qualname: rebuild it from the nesting (functions add '<locals>')."""
    for const in code.co_consts:
        if type(const) is not types.CodeType:
            continue
        qualname = f"{prefix}{const.co_name}"
        names[(const.co_name, const.co_firstlineno, const.co_code)] = qualname
        is_function = bool(const.co_flags & _CO_NEWLOCALS)
        inner = f"{qualname}.<locals>." if is_function else f"{qualname}."
        _collect_qualnames(const, inner, is_function, names)
