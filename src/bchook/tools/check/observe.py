"""Running one program and recording everything it can observe: the referee of
``bchook check`` and :mod:`bchook.testing`.

:func:`run_program` compiles a source plainly or through a chain of passes, runs it in a
fresh module (``__main__`` by default, as a script runs) and returns its *outcome*, a dict
of plain data (JSON-ready, so that it crosses process boundaries): what it printed on
stdout and stderr, the warnings it caused, the exception that escaped (type, args, the
traceback's ``(function, line)`` frames, its ``__cause__``/``__context__`` chain), the value
of a ``call`` expression evaluated afterwards, its final module globals of plain types,
what releasing its objects printed or could not raise, and on request the
``sys.settrace`` line events of its own frames. :func:`differences` compares two outcomes
field by field; :func:`describe` says one difference in one line.

This module runs the program in the calling process: the worker processes
(:mod:`.worker`) call it, so that the chain never touches the process that compares.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import io
import os
import re
import sys
import types
import warnings

__all__ = ["run_program", "run_limited", "observe", "differences", "describe", "explain",
           "FIELDS", "shape", "clean"]

#: The fields of an outcome, in the order differences are reported.
FIELDS = ("compile error", "exception", "value", "output", "stderr", "warnings", "globals",
          "cleanup", "line events", "crashed", "timeout")

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_BUILTINS = vars(builtins)


def clean(text: str) -> str:
    """``text`` without the object addresses that differ from run to run."""
    return _ADDRESS.sub(" at 0x?", text)


def shape(value, depth: int = 0):
    """A comparable, JSON-ready picture of a value: plain data by value, anything else by
    type."""
    if depth > 4:
        return "..."
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) in (float, bytes, complex):
        return [type(value).__name__, repr(value)]
    if type(value) in (list, tuple):
        return [type(value).__name__, [shape(v, depth + 1) for v in value]]
    if value is _BUILTINS:  # what exec() puts in a namespace: a chain's runtime may add to it
        return ["builtins"]
    if type(value) is dict:
        return ["dict", [[shape(k, depth + 1), shape(v, depth + 1)] for k, v in value.items()]]
    if type(value) in (set, frozenset):
        return [type(value).__name__, sorted(repr(v) for v in value)]
    return ["object", type(value).__name__]


def _exception(exc: BaseException | None, filename: str, depth: int = 0):
    if exc is None or depth > 3:
        return None
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == filename:
            frames.append([code.co_name, tb.tb_lineno])
        tb = tb.tb_next
    return {
        "type": type(exc).__name__,
        "args": clean(repr(exc.args)),
        "frames": frames,
        "cause": _exception(exc.__cause__, filename, depth + 1),
        "context": _exception(exc.__context__, filename, depth + 1),
        "suppress_context": exc.__suppress_context__,
    }


def stop_tracing() -> None:
    """Forget the trace pass's runtime, so that every traced run starts afresh and nothing
    is written at exit."""
    runtime = sys.modules.get("bchook.passes.trace.runtime._runtime")
    if runtime is not None:
        tracer = runtime.tracer()
        runtime.discard()
        if tracer is not None:  # drop the code objects it maps (a long run makes thousands)
            for table in ("twin_of", "traced_of", "line_lists"):
                getattr(tracer, table, {}).clear()


def observe(execute, filename: str, *, line_events: bool = False,
            namespace: dict | None = None) -> dict:
    """Run ``execute(namespace)`` (which runs a module into ``namespace``, a new dict or
    the one given) and return what the module did (see the module docstring). What
    ``execute`` returns is the outcome's ``value``.

    The module's objects are then released (generators left suspended are closed, running
    their ``finally`` blocks): what that prints and any exception it cannot raise (reported
    to ``sys.unraisablehook``) are part of the outcome too.
    """
    namespace = {} if namespace is None else namespace
    out, err = io.StringIO(), io.StringIO()
    events: list = []
    unraisable: list = []

    def tracer(frame, event, arg):
        if event == "line" and frame.f_code.co_filename == filename:
            events.append([frame.f_code.co_name, frame.f_lineno])
        return tracer

    def on_unraisable(info):
        exc = info.exc_value
        unraisable.append([type(exc).__name__, clean(repr(getattr(exc, "args", ()))),
                           clean(str(info.err_msg)), clean(repr(info.object))])

    # Freezing what exists makes the collection below look at the program's objects only.
    gc.freeze()
    old_hook = sys.unraisablehook
    sys.unraisablehook = on_unraisable
    value = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                old_trace = sys.gettrace()
                raised = None
                try:
                    if line_events:
                        sys.settrace(tracer)
                    try:
                        value = execute(namespace)
                    finally:
                        sys.settrace(old_trace)
                except (Exception, SystemExit) as exc:  # the program's own, uncaught
                    raised = _exception(exc, filename)
                output, errors = out.getvalue(), err.getvalue()
                kept = sorted([k, shape(v)] for k, v in namespace.items()
                              if not k.startswith("__") and type(v) in
                              (bool, int, float, str, list, tuple, dict, set, type(None)))
                namespace.clear()
                gc.collect()
                cleanup = out.getvalue()[len(output):] + err.getvalue()[len(errors):]
    finally:
        sys.unraisablehook = old_hook
        stop_tracing()
        gc.unfreeze()
    result = {
        "output": clean(output),
        "stderr": clean(errors),
        "warnings": [[w.category.__name__, str(w.message), w.lineno] for w in caught
                     if w.filename == filename],
        "exception": raised,
        "value": value,
        "globals": kept,
        "cleanup": [clean(cleanup), unraisable],
    }
    if line_events:
        result["line events"] = events
    return result


def compile_source(source: str | bytes, filename: str, passes=None, name: str = "__main__"):
    """Plain ``compile()`` (``passes`` None) or ``transform_source`` through ``passes``;
    compile-time warnings (``is`` with a literal...) are the same for both and ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if passes is None:
            return compile(source, filename, "exec", dont_inherit=True)
        from ...pipeline.driver import transform_source

        return transform_source(source, filename, name, passes)


class _Call:
    """The value of a ``call`` expression, or the exception it raised, as plain data."""

    def __init__(self, call: str | None, filename: str):
        self.call = call
        self.filename = filename

    def __call__(self, namespace: dict):
        if not self.call:
            return None
        try:
            value = eval(self.call, namespace)
        except (Exception, SystemExit) as exc:
            return {"raised": _exception(exc, self.filename)}
        return {"returned": shape(value), "repr": clean(repr(value))}


def run_program(source: str | bytes, filename: str, passes=None, *, name: str = "__main__",
                call: str | None = None, line_events: bool = False) -> dict:
    """Compile ``source`` (as file ``filename``) plainly or through ``passes``, run it as
    module ``name`` and return its outcome (see the module docstring).

    A source that Python does not compile gives ``{"skip": message}``; a chain that fails
    to compile what Python compiles gives ``{"compile error": message}``. ``call``, an
    expression evaluated in the module afterwards (``"f(2)"``): its result is the
    outcome's ``value``. As for a script, the module's folder comes first on ``sys.path``
    and ``sys.argv`` is ``[filename]`` while it runs; a ``__main__`` module stands in
    ``sys.modules`` meanwhile.
    """
    try:
        compile_source(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return {"skip": f"Python does not compile it: {type(exc).__name__}: {exc}"}
    try:
        code = compile_source(source, filename, passes, name)
    except Exception as exc:
        return {"compile error": clean(f"{type(exc).__name__}: {' '.join(str(exc).split())}")}
    evaluate = _Call(call, filename)
    module = types.ModuleType(name)
    if os.path.isfile(filename):
        from importlib.machinery import SourceFileLoader

        module.__loader__ = SourceFileLoader(name, filename)
    module.__file__ = filename

    def execute(namespace: dict):
        saved = sys.modules.get(name), list(sys.path), list(sys.argv)
        sys.modules[name] = module
        sys.path.insert(0, os.path.dirname(os.path.abspath(filename)))
        sys.argv[:] = [filename]
        try:
            exec(code, namespace)
            return evaluate(namespace)
        finally:
            previous, sys.path[:], sys.argv[:] = saved
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous

    return observe(execute, filename, line_events=line_events, namespace=module.__dict__)


# -- grammar-generated programs ---------------------------------------------------------------

#: Builtins a grammar-generated program may use: nothing that reads input, writes files,
#: starts a pager or imports.
SAFE_BUILTINS = ("len", "abs", "min", "max", "int", "str", "float", "bool", "tuple", "list",
                 "dict", "set", "range", "repr", "isinstance", "Exception", "ValueError",
                 "TypeError", "NameError", "ZeroDivisionError", "StopIteration",
                 "AssertionError", "__build_class__", "object", "super", "iter", "next")


class _TooLong(BaseException):  # not caught by the program's own `except Exception`
    pass


def runtime_builtins(passes, before, limit: int = 1000) -> list[str]:
    """The names a chain's runtime puts in ``builtins`` (the trace pass's probes), which a
    program under the chain needs even with builtins of its own: those not in ``before``
    once an empty module has run through the chain (for at most ``limit`` line events: a
    chain may add code that never ends)."""
    filename = "<bchook check: empty module>"
    try:
        code = compile_source("", filename, passes, "bchook_check_empty")
    except Exception:
        return []
    count = [0]

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != filename:
            return None
        if event == "line":
            count[0] += 1
            if count[0] > limit:
                raise _TooLong
        return tracer

    out = io.StringIO()
    old = sys.gettrace()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            sys.settrace(tracer)
            try:
                exec(code, {"__name__": "bchook_check_empty"})
            finally:
                sys.settrace(old)
    except BaseException:  # whatever it does, only the names it left matter
        pass
    finally:
        stop_tracing()
    return sorted(set(vars(builtins)) - before)


def run_limited(source: str, filename: str, passes=None, *, limit: int = 500,
                extra_builtins=()) -> dict:
    """Run a grammar-generated program with harmless builtins and at most ``limit`` line
    events of its own: ``{"result": ["ok", globals] | ["raises", type, args] | ["too
    long"]}``, or ``skip``/``compile error`` as :func:`run_program`. ``extra_builtins``:
    names a chain's runtime put in ``builtins`` (its probes), which the program needs too.
    Imports are refused, but for modules already imported (a chain's runtime)."""
    try:
        compile_source(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return {"skip": f"Python does not compile it: {type(exc).__name__}: {exc}"}
    try:
        code = compile_source(source, filename, passes, "grammar_program")
    except Exception as exc:
        return {"compile error": clean(f"{type(exc).__name__}: {' '.join(str(exc).split())}")}
    count = [0]

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != filename:
            return None
        if event == "line":
            count[0] += 1
            if count[0] > limit:
                raise _TooLong
        return tracer

    def import_loaded(name, *args, **kwargs):
        if name in sys.modules:
            return __import__(name, *args, **kwargs)
        raise ImportError(f"no imports here: {name}")

    allowed = {name: getattr(builtins, name) for name in (*SAFE_BUILTINS, *extra_builtins)
               if hasattr(builtins, name)}
    allowed["__import__"] = import_loaded
    namespace = {"__builtins__": allowed, "__name__": "grammar_program"}
    old = sys.gettrace()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            sys.settrace(tracer)
            try:
                exec(code, namespace)
            finally:
                sys.settrace(old)
        result = ["ok", sorted([k, shape(v)] for k, v in namespace.items()
                               if k != "__builtins__" and not isinstance(
                                   v, (types.FunctionType, type, types.ModuleType)))]
    except _TooLong:
        result = ["too long"]
    except BaseException as exc:  # generated code raises anything
        result = ["raises", type(exc).__name__, clean(repr(exc.args))]
    finally:
        stop_tracing()
    return {"result": result}


# -- comparing ------------------------------------------------------------------------------

def differences(plain: dict, chained: dict) -> list[str]:
    """The fields of two outcomes that differ, in :data:`FIELDS` order (``line events``
    only when both have them)."""
    if "result" in plain:  # grammar programs: passes may only take line events away
        if plain["result"] == ["too long"] or chained.get("result") == plain["result"]:
            return []
        return [f for f in ("compile error", "crashed", "timeout") if f in chained] or \
            ["result"]
    found = []
    for field in FIELDS:
        if field == "line events" and not ("line events" in plain and
                                           "line events" in chained):
            continue
        if field in ("compile error", "crashed", "timeout"):
            if field in chained:
                found.append(field)
            continue
        if plain.get(field) != chained.get(field):
            found.append(field)
    if any(f in found for f in ("compile error", "crashed", "timeout")):
        return [f for f in found if f in ("compile error", "crashed", "timeout")]
    return found


def _short(value, width: int = 70) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split("\n"))
    return text if len(text) <= width else text[:width - 3] + "..."


def _first_line_that_differs(a: str, b: str) -> tuple[str, str]:
    la, lb = a.splitlines(), b.splitlines()
    for x, y in zip(la, lb):
        if x != y:
            return x, y
    n = min(len(la), len(lb))
    if len(la) != len(lb):
        return (la[n] if n < len(la) else ""), (lb[n] if n < len(lb) else "")
    return a, b


def _exception_text(exc) -> str:
    if exc is None:
        return "none"
    where = ", ".join(f"{name}:{line}" for name, line in exc["frames"])
    return f"{exc['type']}{exc['args']}" + (f" at {where}" if where else "")


def _value_text(value) -> str:
    if not value:
        return "nothing"
    if "raised" in value:
        return "raised " + _exception_text(value["raised"])
    return "returned " + value["repr"]


def describe(field: str, plain: dict, chained: dict, label: str = "chain") -> str:
    """One line saying how ``field`` differs: ``output: plain 'x 3' / chain 'x -1'``."""
    if field == "compile error":
        return f"the chain failed to compile it: {_short(chained['compile error'], 200)}"
    if field == "crashed":
        return f"the process running it under the chain crashed: {chained['crashed']}"
    if field == "timeout":
        return f"it did not finish under the chain within {chained['timeout']} s"
    a, b = plain.get(field), chained.get(field)
    if field in ("output", "stderr"):
        a, b = (repr(line) for line in _first_line_that_differs(a or "", b or ""))
    elif field == "exception":
        a, b = _exception_text(a), _exception_text(b)
    elif field == "value":
        a, b = _value_text(a), _value_text(b)
    elif field == "line events":
        a, b = a or [], b or []
        n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        return (f"line events: event {n + 1}: plain "
                f"{_short(a[n] if n < len(a) else 'no more events')} / {label} "
                f"{_short(b[n] if n < len(b) else 'no more events')}")
    return f"{field}: plain {_short(a)} / {label} {_short(b)}"


def explain(source: str, plain: dict, chained: dict, label: str = "chain") -> str:
    """A failure message: the program with line numbers, then one line per difference."""
    numbered = "\n".join(f"{i:4} {line}" for i, line in enumerate(source.splitlines(), 1))
    lines = [numbered, f"--- differences under {label}:"]
    lines += ["  " + describe(field, plain, chained, label)
              for field in differences(plain, chained)]
    return "\n".join(lines)
