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
with a call of ``bchook.trace._runtime.attach``). With ``lines``, each line start also
stores into a per-module list: ``__bchook_lines__[n] = True`` (or ``+= 1`` with
``lines=count``). Without the C recorder the probes are ``__bchook_log__((KEY,
__bchook_now__()))`` and ``__bchook_log__(__bchook_now__())``.

Probes carry the location of the instruction they precede, and the added handlers carry
none, so line numbers, tracebacks and line events stay as they were. Each traced code
object keeps its untraced twin in a constant, so ``bchook.trace.stop()`` can give
functions their original code back.
"""

from __future__ import annotations

import types
from typing import Any

from .. import ir
from .._passes import Context, Pass, flag
from ..ir import Instr, Label
from . import _trace_lines
from ..trace._names import (
    CALL,
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
    return ",".join(names)


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


def accel_available() -> bool:
    """Is the C accelerator of ``bchook.trace`` built?"""
    try:
        from ..trace import _accel  # noqa: F401
    except ImportError:
        return False
    return True


class TracePass(Pass):
    """Probes for ``bchook.trace``: call counts and times, timelines, line hits.

    Options: ``mode`` (``calls``, ``timeline``, or ``lines``: the same as ``lines=1``
    alone), ``lines`` (``0``, ``1`` or ``count``; alone it records lines only),
    ``output`` (files, comma-separated, by extension), ``handler`` (``pkg.mod:func``
    called with each event), ``buffer`` (timeline ring buffer size in events), ``accel``
    (``0`` to use the pure-Python recorder).
    """

    name = "trace"
    version = "1"
    option_types = {
        "mode": _mode,
        "lines": _lines,
        "output": _outputs,
        "handler": _handler,
        "buffer": _buffer,
        "accel": flag,
    }

    def __init__(self, **options: Any):
        super().__init__(**options)
        # The runtime and the modules it uses are imported now, before any hook is
        # installed, so that they are never traced themselves (even with --include '*').
        from ..trace import _runtime  # noqa: F401
        opts = self.options
        mode = opts.get("mode")
        self._lines = opts.get("lines", "flags" if mode == "lines" else "")
        # ``lines`` alone (or ``mode=lines``) records lines only: the flags cost far less
        # than call probes; ``lines`` with ``mode=calls``/``timeline`` records both.
        self._calls = mode in ("calls", "timeline") or not self._lines
        self._backend = "c" if opts.get("accel", True) and accel_available() else "py"

    def cache_key(self) -> str:
        return f"{super().cache_key()};backend={self._backend}"

    def runtime_config(self) -> tuple:
        """What the module prologue hands to ``bchook.trace._runtime.attach``."""
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
_RESUME = V.OPMAP.get("RESUME", -1)
_GEN_START = V.GEN_START
_PROLOGUE = frozenset(V.OPMAP[n] for n in (
    "COPY_FREE_VARS", "MAKE_CELL", "RETURN_GENERATOR", "POP_TOP") if n in V.OPMAP)
_RETURNS = frozenset(V.OPMAP[n] for n in ("RETURN_VALUE", "RETURN_CONST") if n in V.OPMAP)
_RETURN_CONST = V.OPMAP.get("RETURN_CONST", -1)
_RETURN_GENERATOR = V.OPMAP.get("RETURN_GENERATOR", -1)
#: CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_SUSPENDS = 0x20 | 0x80 | 0x100 | 0x200
_YIELD_VALUE = V.OPMAP["YIELD_VALUE"]
_YIELD_FROM = V.OPMAP.get("YIELD_FROM", -1)
_SEND = V.OPMAP.get("SEND", -1)
_LOAD_CONST = V.OPMAP["LOAD_CONST"]
_SETUPS = frozenset(V.OPMAP[n] for n in (
    "SETUP_FINALLY", "SETUP_WITH", "SETUP_ASYNC_WITH") if n in V.OPMAP)
#: 3.10 frames hold at most 20 blocks (CO_MAXBLOCKS); the probes add up to two.
_MAX_BLOCKS = 20
_BACKWARD_UNCONDITIONAL = frozenset(V.OPMAP[n] for n in (
    "JUMP_BACKWARD", "JUMP_ABSOLUTE") if n in V.OPMAP)
#: On 3.10 and 3.11 ``yield from`` and ``await`` go through a proxy that reports the
#: suspensions (3.10's YIELD_FROM suspends inside one instruction; 3.11 glues SEND to
#: YIELD_VALUE and YIELD_VALUE to RESUME).
_PROXY_DELEGATION = not V.PY312


def _add_op() -> tuple[int, int]:
    for (op, arg), symbol in V.BINARY_OPERATORS.items():
        if symbol == "+":
            return op, (0 if arg is None else arg)
    raise ir.IRError("no binary '+' operator in this interpreter's tables")


def _swap(n: int, loc) -> list[Instr]:
    """Exchange the top of the stack with the n-th item (n = 2 or 3)."""
    if V.PY311:
        return [Instr("SWAP", n, loc)]
    return [Instr("ROT_TWO" if n == 2 else "ROT_THREE", 0, loc)]


class _Instrumenter:
    def __init__(self, tracepass: TracePass, bc: ir.Bytecode, ctx: Context):
        self.p = tracepass
        self.bc = bc
        self.ctx = ctx
        self.code = bc.code
        self.is_module = self.code.co_name == "<module>" and not (
            self.code.co_flags & _CO_NEWLOCALS)
        self.key = (self.code.co_filename, self.code.co_firstlineno, self.code.co_name,
                    _qualname(self.code, ctx))
        self.throw_labels: list[Label] = []  # 3.10: exceptions thrown in at each yield

    # -- probe builders ---------------------------------------------------------------
    def _const(self, value, loc) -> Instr:
        return Instr("LOAD_CONST", self.bc.add_const(value), loc)

    def _subscript(self, name: str, loc) -> list[Instr]:
        """``PROBE[KEY]``: the C recorder's probes are subscripts, not calls. A
        BINARY_SUBSCR neither checks for pending signals (CPython checks none on the way
        back into a yield from/await, so that a KeyboardInterrupt reaches the innermost
        generator) nor counts towards the recursion limit (3.10 and 3.11 count C calls),
        so both behave as without the probes."""
        return [*ir.load_global(self.bc.add_name(name), loc=loc), self._const(self.key, loc),
                Instr("BINARY_SUBSCR", 0, loc)]

    def _call_global(self, name: str, nargs: int, args: list[Instr], loc) -> list[Instr]:
        load = ir.load_global(self.bc.add_name(name), push_null=True, loc=loc)
        return [*load, *args, *ir.call(nargs, loc)]

    def _event(self, enter: bool, loc) -> list[Instr]:
        if self.p._backend == "c":
            return [*self._subscript(ENTER if enter else LEAVE, loc),
                    Instr("POP_TOP", 0, loc)]
        # Pure Python: two C calls per event, ``log((KEY, now()))`` on entry and
        # ``log(now())`` on exit; the recorder knows which thread logged (see _pyrecorder).
        now = self._call_global(PY_NOW, 0, [], loc)
        event = [self._const(self.key, loc), *now, Instr("BUILD_TUPLE", 2, loc)] if enter \
            else now
        return [*self._call_global(PY_LOG, 1, event, loc), Instr("POP_TOP", 0, loc)]

    def _wrap_delegate(self, loc) -> list[Instr]:
        """The iterator on top of the stack -> a proxy that reports suspend/resume."""
        key = self._const(self.key, loc)
        if self.p._backend == "c":  # WRAP[(iterator, KEY)] (see _subscript)
            wrap = ir.load_global(self.bc.add_name(WRAP), loc=loc)
            return [*wrap, *_swap(2, loc), key, Instr("BUILD_TUPLE", 2, loc),
                    Instr("BINARY_SUBSCR", 0, loc)]
        name = self.bc.add_name(PY_WRAP)
        if not V.PY311:
            return [*ir.load_global(name, loc=loc), *_swap(2, loc), key, *ir.call(2, loc)]
        # 3.11: [it] -> [NULL, wrap, it, key]
        return [Instr("PUSH_NULL", 0, loc), *_swap(2, loc), *ir.load_global(name, loc=loc),
                *_swap(2, loc), key, *ir.call(2, loc)]

    def _line_probe(self, line: int, loc) -> list[Instr]:
        lines = self.bc.add_name(LINES)
        index = self._const(line, loc)
        if self.p._lines == "flags":
            return [self._const(True, loc), *ir.load_global(lines, loc=loc), index,
                    Instr("STORE_SUBSCR", 0, loc)]
        op, arg = _add_op()
        # [hits, n] -> [hits, n, hits[n] + 1] -> [hits[n] + 1, hits, n] -> STORE_SUBSCR
        if V.PY311:
            dup = [Instr("COPY", 2, loc), Instr("COPY", 2, loc)]
            sink = [Instr("SWAP", 3, loc), Instr("SWAP", 2, loc)]
        else:
            dup = [Instr("DUP_TOP_TWO", 0, loc)]
            sink = [Instr("ROT_THREE", 0, loc)]
        return [*ir.load_global(lines, loc=loc), index, *dup, Instr("BINARY_SUBSCR", 0, loc),
                self._const(1, loc), Instr(op, arg, loc), *sink, Instr("STORE_SUBSCR", 0, loc)]

    def _prologue(self, loc) -> list[Instr]:
        """``bchook.trace._runtime.attach(config)``, importing only from sys.modules once
        the runtime is loaded (no Python-level import machinery runs)."""
        bc = self.bc
        load = [Instr("LOAD_CONST", bc.add_const(0), loc),
                Instr("LOAD_CONST", bc.add_const(("attach",)), loc),
                Instr("IMPORT_NAME", bc.add_name(RUNTIME_MODULE), loc),
                Instr("IMPORT_FROM", bc.add_name("attach"), loc),
                *_swap(2, loc), Instr("POP_TOP", 0, loc)]
        return [*ir.callable_from(load, loc), self._const(self.p.runtime_config(), loc),
                *ir.call(1, loc), Instr("POP_TOP", 0, loc)]

    # -- the transformation -------------------------------------------------------------
    def run(self) -> bool:
        bc = self.bc
        instrs = [x for x in bc.items if type(x) is Instr]
        if not instrs:
            return False
        calls = self.p._calls
        # Code that cannot suspend keeps a token from the C recorder at the bottom of its
        # stack instead of calling a leave probe: popping it (before a return, or by the
        # unwinding of an exception) is the exit event.
        token = calls and self.p._backend == "c" and not self.code.co_flags & _SUSPENDS
        if not V.PY311 and calls and not token:
            setups = sum(1 for x in instrs if x.op in _SETUPS)
            if setups + 2 > _MAX_BLOCKS:
                calls = False  # no room on the block stack: leave the calls of this one out
        twin = None if self.is_module else self._untraced_twin()

        start = self._body_start(instrs)
        # What goes before the body has no location: the first line event then comes after
        # it, where the stack (the token) and the blocks (3.10) are those of the body, so a
        # debugger's jump from the first line lands where the code expects it to be.
        body_loc = NO_LOCATION
        before: dict[int, list[Instr]] = {}
        after: dict[int, list[Instr]] = {}
        leaves: set[int] = set()  # leave probes keep the handler of what they precede

        def add(where: dict, ins: Instr, seq: list[Instr], leave: bool = False) -> None:
            for x in seq:
                x.handler = ins.handler
            where.setdefault(id(ins), []).extend(seq)
            if leave:
                leaves.update(id(x) for x in seq)

        line_probes = self._line_starts(instrs, start) if self.p._lines else {}
        for ins, seq in line_probes.values():
            add(before, ins, seq)
        trampolines = []
        if self.p._lines == "count":
            trampolines = self._loop_backedges(instrs, line_probes, add, before)

        prologue = self._prologue(body_loc) if self.is_module else []
        enter: list[Instr] = []
        exit_label = Label("trace-exit")
        yields: list[Instr] = []
        if token:
            enter = self._subscript(CALL, body_loc)
            self._plan_token(instrs, start, add, before)
        elif calls:
            inherited = instrs[start - 1].handler if start else None
            if not V.PY311:
                enter.append(Instr("SETUP_FINALLY", exit_label, body_loc))
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
            if V.PY311:
                out = self._handlers_311(out, enter[0], leaves, exit_label, yields)
            else:
                out = self._handlers_310(out, exit_label)
        bc.items = out
        if twin is not None:
            bc.add_const((ORIGINAL_MARK, twin))
        return True

    def _plan_token(self, instrs, start, add, before) -> None:
        """Pop the token before each return; exception handlers now start one deeper."""
        bumped = set()
        for ins in instrs:
            h = ins.handler
            if h is not None and id(h) not in bumped:
                bumped.add(id(h))
                h.depth += 1
        for ins in instrs[start:]:
            if ins.op == _RETURN_CONST:
                add(before, ins, [Instr("POP_TOP", 0, ins.loc)], leave=True)
            elif ins.op in _RETURNS:
                add(before, ins, [*_swap(2, ins.loc), Instr("POP_TOP", 0, ins.loc)],
                    leave=True)

    def _plan_events(self, instrs, start, add, before, after, yields) -> None:
        """Leave probes before returns and yields, enter probes after resumptions."""
        consts = self.bc.consts
        for idx in range(start, len(instrs)):
            ins = instrs[idx]
            op = ins.op
            if op in _RETURNS:
                seq = self._event(False, ins.loc)
                if not V.PY311:
                    seq.insert(0, Instr("POP_BLOCK", 0, ins.loc))
                add(before, ins, seq, leave=True)
            elif op == _YIELD_VALUE:
                if _PROXY_DELEGATION and instrs[idx - 1].op == _SEND:
                    continue  # 3.11 yield from / await: the proxy reports
                add(before, ins, self._event(False, ins.loc), leave=True)
                yields.append(ins)
                if not V.PY311:
                    # an exception thrown in at the yield reports the resumption first;
                    # one handler per yield, since the stack depth differs between them
                    label = Label("trace-throw")
                    self.throw_labels.append(label)
                    add(before, ins, [Instr("SETUP_FINALLY", label, ins.loc)])
                    add(after, ins, [Instr("POP_BLOCK", 0, ins.loc),
                                     *self._event(True, ins.loc)])
            elif op == _RESUME and ins.arg & 3:
                if _PROXY_DELEGATION and ins.arg & 3 >= 2:
                    continue
                nxt = instrs[idx + 1] if idx + 1 < len(instrs) else ins
                add(after, ins, self._event(True, nxt.loc))
            elif _PROXY_DELEGATION and op in (_YIELD_FROM, _SEND):
                prev = instrs[idx - 1]
                if prev.op == _LOAD_CONST and consts[prev.arg] is None:
                    add(before, prev, self._wrap_delegate(prev.loc))

    def _body_start(self, instrs: list[Instr]) -> int:
        """Index of the first instruction after CPython's prologue."""
        if V.PY311:
            for idx, ins in enumerate(instrs):
                if ins.op == _RESUME:
                    return idx + 1
                if ins.op not in _PROLOGUE:
                    break
            return 0
        return 1 if instrs[0].op == _GEN_START else 0

    def _line_starts(self, instrs: list[Instr], start: int) -> dict[int, tuple]:
        """{id(instr): (instr, probe)} for the instructions where a line begins."""
        count = self.p._lines == "count"
        return {id(ins): (ins, self._line_probe(line, ins.loc))
                for ins, line in _trace_lines.line_starts(instrs, self.bc.items, start,
                                                          count)}

    def _loop_backedges(self, instrs, line_probes, add, before) -> list:
        """Count mode: a jump back to an instruction that does not begin its line (a
        ``for`` loop's FOR_ITER, a comprehension's) begins it again; count it on the jump.
        A conditional jump back (3.10, 3.11) goes through a trampoline at the end of the
        code instead: [label, probe, JUMP target], without a location so that the line
        events stay as they were. Returns the trampolines."""
        tails: list = []
        for ins, line in _trace_lines.back_edges(instrs, self.bc.items, set(line_probes)):
            if ins.op in _BACKWARD_UNCONDITIONAL:
                add(before, ins, self._line_probe(line, ins.loc))
                continue
            trampoline = Label("trace-line")
            seq = [*self._line_probe(line, NO_LOCATION), Instr("JUMP", ins.arg, NO_LOCATION)]
            for x in seq:
                x.handler = ins.handler
            tails += [trampoline, *seq]
            ins.arg = trampoline
        return tails

    def _handlers_310(self, out, exit_label):
        """3.10: the SETUP_FINALLY blocks are instructions; their handlers go at the end.
        ``RERAISE 1`` puts back the frame's last instruction (kept by the EXCEPT_HANDLER
        block), so the frame reports the line it raised at, as it did without us."""
        tail = []
        for label in self.throw_labels:
            tail += [label, *self._event(True, NO_LOCATION), Instr("RERAISE", 1)]
        tail += [exit_label, *self._event(False, NO_LOCATION), Instr("RERAISE", 1)]
        return out + tail

    def _handlers_311(self, out, first_enter, leaves, exit_label, yields):
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
        if V.CLOSE_RUNS_UNSTARTED_GENERATOR:
            # 3.11 runs a generator that never started when it is closed (or collected),
            # raising at its first instruction: a call, for cProfile; report one
            starts = [x for x in out if type(x) is Instr and x.op == _RETURN_GENERATOR]
            yields = yields + starts
        for y in yields:
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
                    result.append(Instr("JUMP", x, NO_LOCATION, prev.handler))
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
