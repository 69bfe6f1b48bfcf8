"""Helpers for testing passes: bchook's own tests use them, and so can a plugin's.

Run a program plainly and under a chain, each in a worker process of its own (the chain,
and whatever its runtime does to the interpreter, never touches the test process), and
compare everything a user can observe: stdout and stderr, the value of a call, the
exception that escaped (type, args, traceback line numbers), warnings, the module's final
globals and, for chains that keep them, the ``sys.settrace`` line events:

>>> from bchook import testing
>>> source = "def f(x):\\n    return 2 * x\\n\\nprint(f(21))\\n"
>>> testing.compare(source, "identity")
[]
>>> testing.run(source, "identity", call="f(1)").stdout
'42\\n'
>>> testing.assert_same(source, "trace", call="f(2)").value
4

Look at what a chain did to the code, in this process (nothing runs):

>>> testing.changed_code("x = 1\\ndef f():\\n    return 3\\n", "identity")
[]
>>> before = testing.ir_of(source, "f")
>>> after = testing.ir_of(source, "f", "identity")
>>> [i.name for i in after.instructions()] == [i.name for i in before.instructions()]
True

Load a module through a chain (in this process; it is not left in ``sys.modules``):

>>> module = testing.load_module("def f():\\n    return 'x'\\n", "identity")
>>> module.f()
'x'

Check a chain on bchook's corpus and generated programs, as ``bchook check`` does:

>>> testing.check("identity", programs=2, corpus=False, generator="builtin").ok
True

A chain is what ``bchook.install`` takes: ``"a,b"``, or a list of pass names, ``Pass``
classes and instances; ``options`` maps a pass name to its options. A class (or the class
of an instance) must be importable by its module name in the worker process (a class
defined in a test module is). Installed with bchook; pytest is not needed, but with pytest
the fixtures ``bchook_isolated_imports`` and ``bchook_load`` are there too.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import inspect
import itertools
import os
import shutil
import sys
import tempfile
import types
from typing import Any, Iterable, Iterator, Sequence

from . import ir
from .tools.check import observe as _observe

__all__ = [
    "Outcome", "Difference", "run", "compare", "assert_same",
    "changed_code", "assert_changes", "code_named", "ir_of", "load_module",
    "check", "pass_class", "isolated_imports", "ImportState",
]

Chain = Any  # "a,b", or a list of names, Pass classes and instances
Source = Any  # program text (str), or a path (os.PathLike) to a file


# -- outcomes ---------------------------------------------------------------------------------

class Outcome:
    """What one run of a program did (see :func:`run`)."""

    def __init__(self, data: dict):
        #: Everything recorded, as plain data (the form the worker process sends).
        self.data = data

    @property
    def stdout(self) -> str:
        return self.data.get("output", "")

    @property
    def stderr(self) -> str:
        return self.data.get("stderr", "")

    @property
    def exception(self) -> dict | None:
        """The exception that escaped the module: ``type``, ``args`` (their repr),
        ``frames`` (``[function, line]`` of each traceback entry in the program's file),
        ``cause`` and ``context`` (the same, or None); None if it finished."""
        return self.data.get("exception")

    @property
    def value(self):
        """What the ``call`` expression returned (plain data: ints, strings, None... as
        they are; other values as ``[type name, ...]``), or None."""
        value = self.data.get("value") or {}
        return value.get("returned")

    @property
    def raised(self) -> dict | None:
        """The exception the ``call`` expression raised (as :attr:`exception`), or None."""
        value = self.data.get("value") or {}
        return value.get("raised")

    @property
    def warnings(self) -> list:
        """``[category, message, line]`` of each warning the program caused."""
        return self.data.get("warnings", [])

    @property
    def line_events(self) -> list | None:
        """``[function, line]`` of each ``sys.settrace`` line event, if recorded."""
        return self.data.get("line events")

    @property
    def problem(self) -> str | None:
        """Why there is no outcome: Python does not compile the program (``skip``), the
        chain failed to compile it, the process crashed, or the program did not finish."""
        for key in ("skip", "compile error", "crashed", "timeout"):
            if key in self.data:
                return f"{key}: {self.data[key]}"
        return None

    def __eq__(self, other):
        return isinstance(other, Outcome) and self.data == other.data

    def __repr__(self) -> str:
        return f"Outcome({self.data!r})"


class Difference:
    """One thing a program did differently under the chain: ``field`` (``output``,
    ``exception``, ``value``, ``line events``...), the ``plain`` and ``chained`` values,
    and ``str()`` says it in one line."""

    def __init__(self, field: str, plain, chained, text: str):
        self.field = field
        self.plain = plain
        self.chained = chained
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Difference {self.text}>"


# -- the worker processes ---------------------------------------------------------------------

_workers: dict = {}
_WORKERS_KEPT = 6
_work_dir: str | None = None
_names = itertools.count(1)


def _work() -> str:
    global _work_dir
    if _work_dir is None or not os.path.isdir(_work_dir):
        _work_dir = tempfile.mkdtemp(prefix="bchook-testing-")
    return _work_dir


def _close_workers() -> None:
    """Stop every worker process this module started (also done at exit)."""
    global _work_dir
    while _workers:
        _, worker = _workers.popitem()
        worker.close()
    if _work_dir is not None:
        shutil.rmtree(_work_dir, ignore_errors=True)
        _work_dir = None


atexit.register(_close_workers)


def _spec(chain: Chain, options) -> list[dict]:
    from .tools.check.worker import chain_spec

    return chain_spec(chain, options)


def _worker(spec: list[dict] | None, python: str | None):
    import json

    from .tools.check.worker import Worker, WorkerError

    python = python or sys.executable
    path = list(sys.path) if spec and any("class" in e for e in spec) else []
    key = (python, json.dumps(spec, sort_keys=True), tuple(path))
    worker = _workers.pop(key, None)
    if worker is None or worker.proc is None:
        if worker is not None:
            worker.close()
        worker = Worker(python, spec, cwd=_work(), path=path)
        try:
            worker.setup()
        except WorkerError as exc:
            raise RuntimeError(f"bchook.testing: {exc}") from None
    _workers[key] = worker  # the most recently used last
    while len(_workers) > _WORKERS_KEPT:
        _workers.pop(next(iter(_workers))).close()
    return worker


def _program_file(source: Source, filename: str | None) -> str:
    if isinstance(source, os.PathLike):
        return os.path.abspath(os.fspath(source))
    folder = os.path.join(_work(), f"p{next(_names)}")
    os.makedirs(folder)
    path = os.path.join(folder, filename or "program.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    return path


def _outcome(source_path: str, spec, python, *, call, line_events, name, timeout) -> dict:
    worker = _worker(spec, python)
    if line_events is None:
        line_events = spec is not None and bool(worker.info.get("keeps_lines"))
    return worker.run({"file": source_path, "call": call, "line_events": line_events,
                       "name": name}, timeout)


def run(source: Source, chain: Chain = None, *, options=None, call: str | None = None,
        line_events: bool = False, python: str | None = None, filename: str | None = None,
        name: str = "__main__", timeout: float = 60) -> Outcome:
    """Run a program (source text, or the path of a file) in a worker process, plainly
    (``chain`` None) or under ``chain``, as module ``name`` (``__main__``, as a script
    runs), then evaluate ``call`` (``"f(2)"``) in it if given; returns its :class:`Outcome`.

    ``line_events``: record the ``sys.settrace`` line events too. ``python``: another
    interpreter (bchook must be importable there). ``filename``: the file name a source
    text gets (tracebacks and warnings show it)."""
    spec = _spec(chain, options) if chain is not None else None
    path = _program_file(source, filename)
    return Outcome(_outcome(path, spec, python, call=call, line_events=line_events,
                            name=name, timeout=timeout))


def compare(source: Source, chain: Chain, *, options=None, call: str | None = None,
            line_events: bool | None = None, python: str | None = None,
            filename: str | None = None, name: str = "__main__",
            timeout: float = 60) -> list[Difference]:
    """What the program does differently under ``chain`` than plainly: [] when nothing.

    ``line_events`` None (the default) compares the ``sys.settrace`` line events when every
    pass of the chain says ``keeps_lines``. A program Python does not compile raises
    ValueError; one the chain fails to compile, or that crashes or hangs under it, is one
    difference."""
    return _compare(source, chain, options=options, call=call, line_events=line_events,
                    python=python, filename=filename, name=name, timeout=timeout)[1]


def _compare(source, chain, *, options, call, line_events, python, filename, name, timeout):
    spec = _spec(chain, options)
    path = _program_file(source, filename)
    chained = _outcome(path, spec, python, call=call, line_events=line_events, name=name,
                       timeout=timeout)
    keeps = "line events" in chained
    plain = _outcome(path, None, python, call=call, line_events=keeps, name=name,
                     timeout=timeout)
    if "skip" in plain:
        raise ValueError(f"bchook.testing: {plain['skip']}")
    for key in ("crashed", "timeout"):
        if key in plain:
            raise RuntimeError(f"bchook.testing: the plain run {key}: {plain[key]}")
    found = [Difference(field, plain.get(field), chained.get(field),
                        _observe.describe(field, plain, chained, "chain"))
             for field in _observe.differences(plain, chained)]
    return (path, plain, chained), found


def assert_same(source: Source, chain: Chain, *, options=None, call: str | None = None,
                line_events: bool | None = None, python: str | None = None,
                filename: str | None = None, name: str = "__main__",
                timeout: float = 60) -> Outcome:
    """:func:`compare`, raising AssertionError (the program with line numbers, then one
    line per difference) if anything differs; returns the plain :class:`Outcome`."""
    (path, plain, chained), found = _compare(
        source, chain, options=options, call=call, line_events=line_events, python=python,
        filename=filename, name=name, timeout=timeout)
    if found:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        from .tools.check.worker import spec_label

        label = spec_label(_spec(chain, options))
        raise AssertionError(f"the program does not do the same under {label}:\n" +
                             _observe.explain(text, plain, chained, label))
    return Outcome(plain)


# -- code objects, in this process -----------------------------------------------------------

def _source_text(source: Source) -> tuple[str, str]:
    if isinstance(source, os.PathLike):
        path = os.fspath(source)
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    return source, "<bchook.testing>"


def _chain(chain: Chain, options) -> list:
    from .pipeline.registry import create_passes

    return create_passes(chain, options)


def _compile(source: Source, chain: Chain, options, module: str) -> types.CodeType:
    text, filename = _source_text(source)
    return _compile_text(text, filename, chain, options, module)


def _compile_text(text: str, filename: str, chain: Chain, options, module: str
                  ) -> types.CodeType:
    from .pipeline.driver import transform_source

    if chain is None:
        return compile(text, filename, "exec", dont_inherit=True)
    return transform_source(text, filename, module, _chain(chain, options))


def _qualnames(code: types.CodeType) -> Iterator[tuple[str, types.CodeType]]:
    """``(qualified name, code)`` of ``code`` and every code object nested in it."""
    def walk(co, prefix):
        name = getattr(co, "co_qualname", None)
        if name is None:  # before 3.11: built from the nesting
            name = co.co_name if not prefix else f"{prefix}.{co.co_name}"
        yield name, co
        # a function's children are its <locals>; a class body's are its attributes
        child = "" if co.co_name == "<module>" else \
            f"{name}.<locals>" if co.co_flags & inspect.CO_NEWLOCALS else name
        for const in co.co_consts:
            if isinstance(const, types.CodeType):
                yield from walk(const, child)

    yield from walk(code, "")


def code_named(code: types.CodeType, qualname: str) -> types.CodeType:
    """The code object nested in ``code`` (or ``code`` itself) whose qualified name is
    ``qualname`` (``"f"``, ``"K.method"``, ``"f.<locals>.inner"``, ``"<module>"``), or else
    the only one whose ``co_name`` it is; KeyError if none (or several) match."""
    found = list(_qualnames(code))
    for name, co in found:
        if name == qualname:
            return co
    by_name = [co for _, co in found if co.co_name == qualname]
    if len(by_name) == 1:
        return by_name[0]
    known = ", ".join(sorted({name for name, _ in found}))
    what = "several code objects are" if by_name else "no code object is"
    raise KeyError(f"{what} named {qualname!r} (there are: {known})")


def _own(code: types.CodeType) -> tuple:
    """What makes one code object itself, its nested code objects left out (by name)."""
    consts = tuple(("code", getattr(c, "co_qualname", c.co_name)) if isinstance(
        c, types.CodeType) else (type(c).__name__, repr(c)) for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars,
            code.co_cellvars, code.co_flags, code.co_argcount, code.co_posonlyargcount,
            code.co_kwonlyargcount, code.co_stacksize, code.co_firstlineno,
            code.co_linetable, getattr(code, "co_exceptiontable", b""))


def changed_code(source: Source, chain: Chain, *, options=None,
                 module: str = "__main__") -> list[str]:
    """The qualified names of the code objects ``chain`` changed (their own instructions,
    constants, names, tables... their nested code objects apart), added (``+name``) or
    removed (``-name``), in source order. The source is compiled, never run."""
    before = list(_qualnames(_compile(source, None, None, module)))
    after = list(_qualnames(_compile(source, chain, options, module)))
    old = {}
    for name, co in before:
        old.setdefault(name, []).append(co)
    found = []
    for name, co in after:
        match = old.get(name)
        if not match:
            found.append(f"+{name}")
        elif _own(match.pop(0)) != _own(co):
            found.append(name)
    found += [f"-{name}" for name, codes in old.items() for _ in codes]
    return found


def assert_changes(source: Source, chain: Chain, changed: Iterable[str], *, options=None,
                   module: str = "__main__") -> None:
    """Assert that ``chain`` changes exactly the code objects named in ``changed``
    (qualified names, as :func:`changed_code` gives them) and leaves every other one
    byte-identical."""
    wanted = list(changed)
    found = changed_code(source, chain, options=options, module=module)
    if sorted(found) != sorted(wanted):
        unexpected = [n for n in found if n not in wanted]
        untouched = [n for n in wanted if n not in found]
        parts = []
        if unexpected:
            parts.append(f"changed but should not be: {', '.join(unexpected)}")
        if untouched:
            parts.append(f"left alone but should change: {', '.join(untouched)}")
        raise AssertionError("; ".join(parts))


def ir_of(source: Source, qualname: str, chain: Chain = None, *, options=None,
          module: str = "__main__") -> ir.Bytecode:
    """The IR (:class:`bchook.ir.Bytecode`) of the code object ``qualname`` of a
    program, as Python compiles it (``chain`` None) or after ``chain``."""
    return ir.Bytecode.from_code(code_named(_compile(source, chain, options, module),
                                            qualname))


def load_module(source: Source, chain: Chain = None, *, options=None,
                name: str = "bchook_testing_module", filename: str | None = None
                ) -> types.ModuleType:
    """Compile a program (source text, or the path of a file) through ``chain`` and run it
    as module ``name`` in this process; it stands in ``sys.modules`` only while it runs.
    ``filename``: the file a source text is said to come from (tracebacks and ``inspect``
    read their lines there). The hook is not installed: its imports are not rewritten."""
    text, path = _source_text(source)
    filename = os.fspath(filename) if filename is not None else path
    code = _compile_text(text, filename, chain, options, name)
    module = types.ModuleType(name)
    module.__file__ = filename
    if not filename.startswith("<"):
        import importlib.util

        module.__spec__ = importlib.util.spec_from_file_location(name, filename)
        module.__loader__ = module.__spec__.loader
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    finally:
        sys.modules.pop(name, None)
    return module


def pass_class(name: str) -> type:
    """The pass class registered under ``name`` (in the ``bchook.passes`` entry points):
    how a test checks that a distribution declares its pass."""
    from .pipeline.registry import clear_cache, load_pass_class

    clear_cache()
    return load_pass_class(name)


# -- the check ------------------------------------------------------------------------------

def check(chain: Chain, *, options=None, programs: int = 20, corpus: bool = True,
          pad: bool = False, seed: int = 0, generator: str = "builtin",
          python: str | Sequence[str] | None = None, out: str | None = None,
          timeout: float = 60):
    """What ``bchook check`` does, from Python: returns the report, whose ``ok`` says
    whether every program did the same, ``differences`` lists what did not (each with a
    one-line ``summary`` and a ``reproduction`` file in ``out``, by default a new
    temporary folder) and ``text()`` says it all as the command prints it.

    ``generator``: ``"builtin"`` (the default: bchook's own generator, fast and the same
    programs for the same ``seed``), ``"hypothesis"`` (hypothesis draws the programs,
    with some from hypothesmith's grammar when it is installed) or ``"auto"`` (hypothesis
    when it is installed, as ``bchook check`` does)."""
    from .tools.check import session
    from .tools.check.worker import WorkerError

    spec = _spec(chain, options)
    pythons = [python] if isinstance(python, str) else list(python or [sys.executable])
    settings = session.Settings(
        spec=spec, programs=programs, corpus=corpus, pad=pad, pythons=pythons, seed=seed,
        generator=generator, out=out or tempfile.mkdtemp(prefix="bchook-check-"),
        timeout=timeout, path=list(sys.path) if any("class" in e for e in spec) else [])
    try:
        return session.run(settings)
    except WorkerError as exc:
        raise RuntimeError(f"bchook.testing: {exc}") from None


# -- the import system ----------------------------------------------------------------------

class ImportState:
    """A snapshot of everything an import can change; ``restore()`` puts it back."""

    def __init__(self):
        self.modules = dict(sys.modules)
        self.meta_path = list(sys.meta_path)
        self.path = list(sys.path)
        self.path_hooks = list(sys.path_hooks)
        self.path_importer_cache = dict(sys.path_importer_cache)
        self.dont_write_bytecode = sys.dont_write_bytecode

    def restore(self) -> None:
        # Modules imported meanwhile go away; modules that existed come back as the same
        # objects (a test that reloaded one must not leak its new version).
        for name in list(sys.modules):
            if name not in self.modules:
                del sys.modules[name]
        sys.modules.update(self.modules)
        sys.meta_path[:] = self.meta_path
        sys.path[:] = self.path
        sys.path_hooks[:] = self.path_hooks
        sys.path_importer_cache.clear()
        sys.path_importer_cache.update(self.path_importer_cache)
        sys.dont_write_bytecode = self.dont_write_bytecode
        importlib.invalidate_caches()


@contextlib.contextmanager
def isolated_imports() -> Iterator[ImportState]:
    """Save ``sys.modules``, ``sys.meta_path``, ``sys.path``, ``sys.path_hooks`` and
    ``sys.path_importer_cache``, and restore them at the end of the block (in the spirit
    of CPython's ``test.test_importlib.util.import_state``): install hooks, import
    throw-away modules and edit ``sys.path`` freely inside."""
    state = ImportState()
    importlib.invalidate_caches()
    try:
        yield state
    finally:
        state.restore()
