"""Run a program under the hook exactly as ``python`` would run it.

``python -m bchook [flags] app.py args`` must be indistinguishable from ``python app.py args``
to the program: the same ``sys.argv``, ``sys.path[0]``, ``__main__`` module (``__file__``,
``__spec__``, ``__loader__``...), output and exit status, so that ``pickle`` and
multiprocessing's ``spawn`` find the main module's functions where they expect them. The
differences are the point: the hook is installed first, and the main script itself goes
through the passes (it is a targeted module like any other).

An uncaught exception is printed by ``sys.excepthook`` with bchook's own frames removed, as
coverage's ``execfile.py`` does, and the exit status is 1.

Everything the runner imports before the hook is installed is a module the hook cannot
rewrite any more, and start-up time: so only what finding the target needs is imported
here (``runpy`` and the hook machinery come when the program is run).
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import io
import marshal
import os
import sys
import types
import zipimport

from .. import config as _config
from ..hook import lazy as _lazy
from ..errors import UsageError
from ..ir import version

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Sequence

    from ..pipeline.api import Pass

__all__ = ["Target", "resolve_target", "run", "run_script_in_place", "compile_main",
           "file_attrs", "ENV_MAIN"]

#: The main script the runner rewrote; multiprocessing children rewrite it too (see
#: ``_autoload``), so that functions of ``__main__`` behave the same in parent and child.
ENV_MAIN = "BCHOOK_MAIN"

_PACKAGE_DIR = os.path.normcase(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The folders of bchook's machinery, whose frames a report leaves out.
_MACHINERY_DIRS = frozenset([_PACKAGE_DIR] + [os.path.join(_PACKAGE_DIR, sub) for sub in
                                              ("frontends", "hook", "pipeline")])


class Target:
    """What to run: ``kind`` is ``script``, ``folder`` (a directory or zip file holding a
    ``__main__`` module), ``module`` (``-m``), ``code`` (``-c``) or ``stdin`` (``-``; the
    value is the source read from stdin)."""

    __slots__ = ("kind", "value", "args")

    def __init__(self, kind: str, value: str, args: Sequence[str] = ()):
        self.kind = kind
        self.value = value
        self.args = list(args)

    def __eq__(self, other) -> bool:
        if type(other) is not Target:
            return NotImplemented
        return (self.kind, self.value, self.args) == (other.kind, other.value, other.args)

    def __repr__(self) -> str:
        return f"Target({self.kind!r}, {self.value!r}, {self.args!r})"

    def main_module(self) -> str:
        """The name the program's main module is imported under: ``__main__``, or for
        ``-m`` the module (or the package's ``__main__``) that runs as ``__main__``."""
        if self.kind != "module":
            return "__main__"
        spec = _find_spec_quietly(self.value, _module_search_path())
        if spec is not None and spec.submodule_search_locations is not None:
            return self.value + ".__main__"
        return self.value

    def root(self) -> str:
        """The folder whose modules the runner targets by default."""
        if self.kind == "script":
            return os.path.dirname(os.path.realpath(self.value))
        if self.kind == "folder":
            return os.path.abspath(self.value)
        return os.getcwd()


# -- finding the target without running anything -----------------------------------------

def _is_module_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _find_spec_quietly(name: str, search_path: list[str]):
    """Like ``importlib.util.find_spec`` but never executes a package's ``__init__``: the
    program's packages must be imported later, through the hook, not now."""
    path = None
    spec = None
    parts = name.split(".")
    for i in range(len(parts)):
        prefix = ".".join(parts[:i + 1])
        module = sys.modules.get(prefix)
        if module is not None and getattr(module, "__spec__", None) is not None:
            spec = module.__spec__
        else:
            spec = _ask_finders(prefix, path, search_path)
        if spec is None:
            return None
        if i < len(parts) - 1:
            path = spec.submodule_search_locations
            if path is None:
                return None  # a module, not a package: it has no submodules
            path = list(path)
    return spec


def _ask_finders(name: str, path, search_path: list[str]):
    saved = sys.path[:]
    sys.path[:] = search_path
    try:
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            try:
                spec = find_spec(name, path, None)
            except Exception:  # a finder that chokes on this name is not an answer
                continue
            if spec is not None:
                return spec
        return None
    finally:
        sys.path[:] = saved


def _module_search_path() -> list[str]:
    """``sys.path`` as ``python -m`` sees it: the current directory first."""
    rest = sys.path[1:] if _launcher_added_path0() else sys.path[:]
    return ([os.getcwd()] if _launcher_added_path0() else []) + rest


def _check_module(name: str) -> None:
    if not _is_module_name(name):
        raise UsageError(f"{name!r} is not a module name")
    spec = _find_spec_quietly(name, _module_search_path())
    if spec is None:
        raise UsageError(f"no module named {name!r}")
    if spec.submodule_search_locations is not None:
        main = _find_spec_quietly(name + ".__main__", _module_search_path())
        if main is None:
            raise UsageError(f"{name!r} is a package and cannot be run: it has no "
                             f"{name}.__main__ module")


def _has_main(folder: str) -> bool:
    return importlib.machinery.PathFinder.find_spec("__main__", [folder]) is not None


def _is_zip(path: str) -> bool:
    """Would Python run ``path`` as a zip application? (zipimport's own test, which reads
    only the end of the file: ``zipfile`` costs milliseconds to import.)"""
    try:
        zipimport.zipimporter(path)
    except (zipimport.ZipImportError, OSError):
        return False
    return True


def _package_here(value: str) -> bool:
    """Is ``value`` a package folder in the current folder, importable as ``value``?
    ``python -m bchook app`` then runs it as ``-m app``: run as a folder, its own modules
    could not import it (``from app import ...``)."""
    if not (_is_module_name(value) and "." not in value and
            os.path.isfile(os.path.join(value, "__init__.py"))):
        return False
    spec = _find_spec_quietly(value, _module_search_path())  # None with -I: not importable
    locations = getattr(spec, "submodule_search_locations", None) or ()
    return any(os.path.realpath(folder) == os.path.realpath(value) for folder in locations)


def resolve_target(kind: str, value: str, args: Sequence[str] = ()) -> Target:
    """Check that the target exists, without running or importing any of it.

    ``kind`` is ``path`` (a bare target: a file, a folder, or else a module name),
    ``module``, ``code`` or ``stdin``. A bare target that names a package folder of the
    current folder (``app/__init__.py``) runs as ``-m app``; another folder, or a zip file,
    runs its ``__main__.py``. Raises UsageError when there is nothing to run.
    """
    args = list(args)
    if kind in ("code", "stdin"):
        return Target(kind, value, args)
    if kind == "module" or (kind == "path" and _package_here(value)):
        _check_module(value)
        return Target("module", value, args)
    if os.path.isdir(value) or (os.path.isfile(value) and _is_zip(value)):
        if not _has_main(value):
            raise UsageError(f"can't find '__main__' module in {value!r}")
        return Target("folder", value, args)
    if os.path.isfile(value):
        return Target("script", value, args)
    if os.path.exists(value):
        raise UsageError(f"can't run {value!r}: not a regular file or folder")
    if not _is_module_name(value):
        raise UsageError(f"can't open file {value!r}: no such file or folder")
    try:
        _check_module(value)
    except UsageError:
        raise UsageError(
            f"can't open {value!r}: no such file, folder or module") from None
    return Target("module", value, args)


# -- the run -----------------------------------------------------------------------------

def _launcher_added_path0() -> bool:
    """Did the interpreter put the launching script's folder (or the current directory,
    for ``python -m bchook``) first on ``sys.path``? Not with ``-I`` or ``-P``."""
    return not (sys.flags.isolated or getattr(sys.flags, "safe_path", False))


def _set_path0(target: Target) -> None:
    if not _launcher_added_path0():
        return
    if target.kind == "script":
        path0 = os.path.dirname(os.path.realpath(target.value))
    elif target.kind == "folder":
        path0 = os.path.abspath(target.value)
    elif target.kind == "module":
        path0 = os.getcwd()
    else:
        path0 = ""
    if sys.path:
        sys.path[0] = path0
    else:
        sys.path.insert(0, path0)


def _fresh_main(**attrs) -> types.ModuleType:
    """A new ``__main__`` module laid out like the interpreter's own (same keys, same
    order: a program may list its globals)."""
    main = types.ModuleType("__main__")
    main.__dict__.update(__loader__=importlib.machinery.BuiltinImporter, __spec__=None,
                         __package__=None)
    if version.MAIN_HAS_ANNOTATIONS:
        main.__annotations__ = {}
    main.__builtins__ = builtins
    main.__dict__.update(attrs)
    sys.modules["__main__"] = main
    return main


def file_attrs(filename: str) -> dict:
    """What the interpreter sets on ``__main__`` when it runs a file (or stdin)."""
    return {"__file__": filename, "__cached__": None} if version.MAIN_HAS_CACHED \
        else {"__file__": filename}


def compile_main(filename: str, hook=None) -> types.CodeType:
    """The code of a main script, rewritten by ``hook`` (an installed ``_install.Hook``)
    when given; a compiled ``.pyc`` runs as it is, as with ``python``."""
    with io.open_code(filename) as f:
        data = f.read()
    if data[:4] == importlib.util.MAGIC_NUMBER:
        return marshal.loads(data[16:])
    if hook is None:
        return compile(data, filename, "exec", dont_inherit=True)
    return hook.compile(data, filename, "__main__")


def _compiles_plainly(filename: str) -> bool:
    try:
        compile_main(filename)
    except (SyntaxError, ValueError):
        return False
    return True


def run(target: Target, passes: Sequence[Pass], settings: _config.Settings) -> int:
    """Install the hook for ``passes`` and run ``target``; returns the exit status.

    SystemExit raised by the program propagates unchanged (the interpreter reports it
    exactly as it would without bchook).
    """
    _set_path0(target)
    roots = settings.roots or [target.root()]
    include = settings.include or None
    os.environ.update(_config.to_environ(settings.replace(roots=roots)))
    os.environ.pop(ENV_MAIN, None)

    autoload = sys.modules.get(f"{__package__}.autoload")
    if autoload is not None:  # a start-up hook from the environment gives way to this run's
        autoload.stop()
    hook = None
    if passes:
        from ..hook import install as _install  # the hook machinery, once there is work

        hook = _install.install(list(passes), include=include, exclude=settings.exclude,
                                cache=settings.cache, roots=roots, main=target.main_module())
        _warn_missed(hook)
    elif not settings.disabled:
        _warn("no pass is active, so the program runs unchanged: give passes with "
              "-p PASS[,PASS], BCHOOK_PASSES or passes = [...] in [tool.bchook] "
              "(`bchook passes` lists them)")
    if settings.cache:
        _config.remember()  # the settings are good: keep what the TOML parser found
    _lazy.release()  # bchook is set up: the program's lazy imports mode from here on
    try:
        _run_target(target, hook)
    except SystemExit as exc:
        _ending(exc.code)
        raise
    except KeyboardInterrupt as exc:
        _report(exc)
        _die_of_interrupt()
    except BaseException as exc:
        _report(exc)
        return _ending(1)
    finally:
        if hook is not None:
            _warn_unmatched(hook)
    return 0


def _warn(message: str) -> None:
    sys.stderr.write(f"bchook: warning: {message}\n")
    sys.stderr.flush()


def _warn_missed(hook) -> None:
    """One line naming the targeted modules imported before the hook (by Python's start-up,
    a ``.pth`` file, or what the passes import): they keep their plain code."""
    own = {type(p).__module__ for p in hook.passes}
    missed = [name for name in hook.already_imported() if name not in own]
    if missed:
        from ..hook.targets import describe_missed

        _warn(describe_missed(missed) + " (imported by Python's start-up or by the passes)")


def _warn_unmatched(hook) -> None:
    """Include patterns that named no module of the whole run are most likely misspelt,
    or name a script's file instead of its module: say so, once, at the end."""
    targets = hook.targets
    if targets.include is None or targets.included:
        return
    main = "nothing was rewritten" if targets.by_name("__main__") is False else \
        "only the main script was rewritten (it is __main__, whatever --include says)"
    _warn(f"the include patterns {', '.join(targets.include)} matched no module imported "
          f"during the run: {main}")


#: The status the program ends with, once it has ended: what a pass that finishes its work
#: at exit (the trace pass's outputs) keeps when that work fails and the status must be
#: non-zero.
exit_status = 0


def _ending(code) -> int:
    global exit_status
    exit_status = 0 if code is None else code if type(code) is int else 1
    return exit_status


def _run_target(target: Target, hook) -> None:
    if target.kind in ("module", "folder"):
        import runpy  # imported by `python -m` already, not by the console script
    if target.kind == "module":
        _fresh_main()
        sys.argv = [target.value, *target.args]  # runpy puts the file name in argv[0]
        runpy._run_module_as_main(target.value, alter_argv=True)
    elif target.kind == "folder":
        _fresh_main()
        sys.argv = [target.value, *target.args]
        runpy._run_module_as_main("__main__", alter_argv=False)
    elif target.kind in ("code", "stdin"):
        if target.kind == "code":
            main = _fresh_main()
            sys.argv, filename = ["-c", *target.args], "<string>"
        else:
            main = _fresh_main(**file_attrs("<stdin>"))
            sys.argv, filename = ["-", *target.args], "<stdin>"
        if hook is not None and hook.targets.by_name("__main__") is not False:
            code = hook.compile(target.value, filename, "__main__")
        else:
            code = compile(target.value, filename, "exec", dont_inherit=True)
        exec(code, main.__dict__)
    else:
        filename = os.path.abspath(target.value)
        main = _fresh_main(**file_attrs(filename))
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", filename)
        sys.argv = [target.value, *target.args]
        if hook is not None and not hook.targets.wants("__main__", filename):
            hook = None
        if hook is not None:
            os.environ[ENV_MAIN] = filename
        exec(compile_main(filename, hook), main.__dict__)


def run_script_in_place(filename: str, hook) -> int | None:
    """Run the main script Python was about to run, rewritten by ``hook``, in the
    interpreter's own ``__main__`` (the ``.pth`` autoload's path; see ``_autoload``).
    Returns the exit status; the program's SystemExit propagates. None when the script
    does not compile even without bchook: Python is then left to run it, so that it
    reports the error in its own words (its file reader's, which ``compile()`` of the
    bytes words differently for a bad encoding or a null byte)."""
    _lazy.release()  # held by the autoload while it loaded this module
    main = sys.modules["__main__"]
    try:
        try:
            code = compile_main(filename, hook)
        except (SyntaxError, ValueError):
            if not _compiles_plainly(filename):
                return None
            raise
        main.__dict__.update(file_attrs(filename))
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", filename)
        os.environ[ENV_MAIN] = filename
        exec(code, main.__dict__)
    except SystemExit as exc:
        _ending(exc.code)
        raise
    except BaseException as exc:
        _report(exc)
        return _ending(130 if isinstance(exc, KeyboardInterrupt) else 1)
    return 0


# -- reporting ---------------------------------------------------------------------------

def _own_frame(tb: types.TracebackType, whole_package: bool = False) -> bool:
    """A frame of bchook's machinery (the runner, the hook...); the passes' and the IR's
    frames stay visible, since a pass author needs them, unless ``whole_package``."""
    filename = tb.tb_frame.f_code.co_filename
    folder = os.path.normcase(os.path.dirname(os.path.abspath(filename)))
    return folder in _MACHINERY_DIRS or (whole_package and
                                         folder.startswith(_PACKAGE_DIR + os.sep))


def strip_own_frames(exc: BaseException, _seen: set[int] | None = None) -> None:
    """Unlink bchook's frames from the tracebacks of ``exc`` and the exceptions chained to
    it, so the report shows the program's frames only, as plain ``python`` would."""
    seen = set() if _seen is None else _seen
    if id(exc) in seen:
        return
    seen.add(id(exc))
    # A SyntaxError is about the program's source, wherever a pass found it (goto's
    # checks): Python shows none of its compiler's frames, and bchook none of its own.
    whole_package = isinstance(exc, SyntaxError)
    kept = []
    tb = exc.__traceback__
    while tb is not None:
        if not _own_frame(tb, whole_package):
            kept.append(tb)
        tb = tb.tb_next
    for before, after in zip(kept, kept[1:]):
        before.tb_next = after
    if kept:
        kept[-1].tb_next = None
    exc.__traceback__ = kept[0] if kept else None
    for linked in (exc.__cause__, exc.__context__, *getattr(exc, "exceptions", ())):
        if isinstance(linked, BaseException):
            strip_own_frames(linked, seen)


def _report(exc: BaseException) -> None:
    strip_own_frames(exc)
    try:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    except BaseException as hook_exc:  # what the interpreter does when the hook fails
        print("Error in sys.excepthook:", file=sys.stderr)
        sys.__excepthook__(type(hook_exc), hook_exc, hook_exc.__traceback__)
        print("\nOriginal exception was:", file=sys.stderr)
        sys.__excepthook__(type(exc), exc, exc.__traceback__)


def _die_of_interrupt() -> None:
    """End like an interrupted ``python``: atexit handlers run, then the process kills itself
    with SIGINT (status 130 in a shell). The interpreter does this for a KeyboardInterrupt
    that reaches the top, so re-raise one with the report already printed."""
    sys.excepthook = lambda *args: None
    raise KeyboardInterrupt
