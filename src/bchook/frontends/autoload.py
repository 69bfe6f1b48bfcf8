"""Start-up autoload: the hook in every Python process that sets ``BCHOOK_PASSES``.

``bchook pth install`` writes a start-up file into the environment's site-packages (or,
with ``--user``, the user site), which ``site`` reads at every interpreter start-up:

* up to Python 3.14, ``bchook-autoload.pth``, whose one ``import`` line ``site`` runs;
* from 3.15, where ``import`` lines in ``.pth`` files are deprecated (PEP 829),
  ``bchook-autoload.start``, naming the entry point ``_bchook_autoload:start`` that
  ``site`` calls, and next to it the small module ``_bchook_autoload.py`` that holds it.
  The entry point is not in the ``bchook`` package: importing that costs more than a
  start-up should, and a ``.start`` file naming a module that is gone (after
  ``pip uninstall bchook``) would make ``site`` print a traceback at every start-up.

Either way the code only reads ``os.environ`` (already imported), so unless
``BCHOOK_PASSES`` is set, bchook is not even imported. When it is set (and
``BCHOOK_DISABLE`` is not), :func:`start` installs the hook with the settings of
:mod:`bchook.config`, before the program's own imports, once per process, and arranges for
the main script to be rewritten as well (see :func:`_rewrite_main_script`). It never
raises: if bchook was uninstalled, or the settings are wrong, the program runs without the
hook after one warning line on stderr.
"""

from __future__ import annotations

import builtins
import os
import site
import sys
import types

from .. import config as _config
from .launch import launched_by_bchook
from ..ir import version

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Any

__all__ = ["PTH_NAME", "START_NAME", "START_MODULE", "pth_text", "start_text",
           "start_module_text", "autoload_files", "site_dir", "install_pth", "uninstall_pth",
           "status", "start", "stop", "active"]

PTH_NAME = "bchook-autoload.pth"
START_NAME = "bchook-autoload.start"
#: The module ``START_NAME`` names, written next to it.
START_MODULE = "_bchook_autoload"
_START_MODULE_FILE = START_MODULE + ".py"

_HEADER = ("# bchook autoload: installs bchook's import hook in processes where BCHOOK_PASSES "
           "is set; remove with `bchook pth uninstall`\n")
_WANTED = ("os.environ.get('BCHOOK_PASSES') and os.environ.get('BCHOOK_DISABLE', '')"
           ".strip().lower() not in ('1', 'true', 'yes', 'on')")
# The start-up code may run twice in one process (site reads lib/ and its lib64 symlink as
# two folders): start() guards the hook, and the marker on sys keeps a failure to one warning.
#: What the start-up code says when bchook itself is gone (``pip uninstall bchook``, which
#: does not know the autoload's files): the file to delete, and how to avoid it next time.
_LEFTOVER = ("bchook: %s is left over from an uninstalled bchook (bchook cannot be imported): "
             "delete it; run `bchook pth uninstall` before `pip uninstall bchook`\\n")
_GONE = "isinstance(e, ModuleNotFoundError) and e.name in ('bchook', 'bchook.frontends', 'bchook.frontends.autoload')"
_FAILED = ("'bchook: autoload failed, running without the hook: %s: %s\\n' "
           "% (type(e).__name__, e)")
_START = (
    "try:\n"
    " import bchook.frontends.autoload as a\n"
    " a.start()\n"
    "except Exception as e:\n"
    " import sys\n"
    " if not hasattr(sys, '_bchook_autoload_failed'):\n"
    "  sys._bchook_autoload_failed = True\n"
    f"  if {_GONE}:\n"
    # site has put this file's folder on sys.path before reading it
    f"   f = [os.path.join(p, {PTH_NAME!r}) for p in sys.path if os.path.isfile("
    f"os.path.join(p, {PTH_NAME!r}))]\n"
    f"   sys.stderr.write('{_LEFTOVER}' % (f[0] if f else {PTH_NAME!r}))\n"
    "  else:\n"
    f"   sys.stderr.write({_FAILED})\n"
)


def pth_text() -> str:
    """The ``.pth`` file: a comment saying what it is, then the start-up line."""
    return f"{_HEADER}import os; {_WANTED} and exec({_START!r})\n"


def start_text() -> str:
    """The ``.start`` file: the same comment, then the entry point."""
    return f"{_HEADER}{START_MODULE}:start\n"


def start_module_text() -> str:
    """The module the ``.start`` file names: what the ``.pth`` line does, as a function."""
    return f'''"""{_HEADER.lstrip("# ").strip()}."""

import os


def start():
    if not ({_WANTED}):
        return
    try:
        import bchook.frontends.autoload as a
        a.start()
    except Exception as e:
        import sys
        if not hasattr(sys, '_bchook_autoload_failed'):
            sys._bchook_autoload_failed = True
            if {_GONE}:
                left = os.path.join(os.path.dirname(os.path.abspath(__file__)), {START_NAME!r})
                sys.stderr.write('{_LEFTOVER}' % (left + ' (and {_START_MODULE_FILE} next to it)'))
            else:
                sys.stderr.write({_FAILED})
'''


def autoload_files() -> dict[str, str]:
    """File name -> text of the autoload this interpreter reads, in the order to write them
    (the module before the ``.start`` file that names it)."""
    if version.HAS_START_FILES:
        return {_START_MODULE_FILE: start_module_text(), START_NAME: start_text()}
    return {PTH_NAME: pth_text()}


#: Every file an install may have left, for this interpreter or another.
_ALL_FILES = (PTH_NAME, START_NAME, _START_MODULE_FILE)


# -- the files ---------------------------------------------------------------------------

def site_dir(user: bool = False) -> str:
    """Where the files go: the environment's site-packages, or the user site.

    Raises UsageError when that folder is not one ``site`` reads at start-up (a ``.pth``
    anywhere else would do nothing, and bchook writes nowhere else).
    """
    from ..errors import UsageError

    if user:
        if not site.ENABLE_USER_SITE:
            raise UsageError("the user site-packages is disabled for this interpreter "
                             "(a virtual environment, -s or PYTHONNOUSERSITE): "
                             "install without --user")
        return site.getusersitepackages()
    import sysconfig

    folder = sysconfig.get_paths()["purelib"]
    known = {_norm(p) for p in site.getsitepackages()}
    if _norm(folder) not in known:
        raise UsageError(f"{folder} is not a site-packages folder this interpreter reads at "
                         f"start-up; use --user")
    return folder


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _folders() -> list[str]:
    folders = []
    for user in (False, True):
        try:
            folders.append(site_dir(user))
        except Exception:  # that location does not exist for this interpreter
            pass
    return folders


def _main_file() -> str:
    """The file that says the autoload is there: the ``.start`` file, or the ``.pth``."""
    return list(autoload_files())[-1]


def install_pth(user: bool = False) -> tuple[str, bool]:
    """Write the autoload's files; returns ``(path of the .pth or .start file, changed)``.
    Idempotent: up-to-date files are left as they are. Each write is atomic (a temporary
    file, then ``os.replace``). A file of the other form in that folder is removed."""
    folder = site_dir(user)
    files = autoload_files()
    changed = False
    for name, text in files.items():
        path = os.path.join(folder, name)
        if _read(path) != text:
            _write(folder, path, text)
            changed = True
    for name in _ALL_FILES:
        if name not in files:
            changed = _remove(os.path.join(folder, name)) or changed
    return os.path.join(folder, _main_file()), changed


def _write(folder: str, path: str, text: str) -> None:
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.unlink(tmp)  # a leftover of a killed run; "x" below never follows a planted link
    except OSError:
        pass
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _remove(path: str) -> bool:
    """Remove ``path`` (and, for the entry point's module, its compiled copies)."""
    if not os.path.isfile(path):
        return False
    os.unlink(path)
    if path.endswith(_START_MODULE_FILE):
        cache = os.path.join(os.path.dirname(path), "__pycache__")
        try:
            names = os.listdir(cache)
        except OSError:
            names = []
        for name in names:
            if name.startswith(START_MODULE + ".") and name.endswith(".pyc"):
                try:
                    os.unlink(os.path.join(cache, name))
                except OSError:
                    pass
    return True


def uninstall_pth() -> list[str]:
    """Remove the autoload's files, of either form, from every location; returns the paths
    of the ``.pth`` and ``.start`` files removed."""
    removed = []
    for folder in _folders():
        for name in _ALL_FILES:
            path = os.path.join(folder, name)
            if _remove(path) and name != _START_MODULE_FILE:
                removed.append(path)
    return removed


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _state(folder: str) -> tuple[str, str] | None:
    """``(path, state)`` of the autoload in ``folder``, or None if there is none."""
    files = autoload_files()
    main = os.path.join(folder, _main_file())
    found = [name for name in (PTH_NAME, START_NAME) if os.path.isfile(os.path.join(folder, name))]
    if not found:
        return None
    if all(_read(os.path.join(folder, name)) == text for name, text in files.items()) and \
            found == [_main_file()]:
        return main, "up to date"
    if _main_file() not in found:  # only the other form: e.g. a .pth, where .start is read
        return os.path.join(folder, found[0]), \
            "outdated: not the start-up file this Python reads; run `bchook pth install`"
    return main, "outdated: run `bchook pth install`"


def status(environ=None) -> list[str]:
    """Lines for ``bchook pth status``: where the files are, and whether they are active."""
    environ = os.environ if environ is None else environ
    lines = []
    found = [state for state in map(_state, _folders()) if state is not None]
    for path, state in found:
        lines.append(f"installed: {path} ({state})")
    if not found:
        where = ", ".join(os.path.join(f, _main_file()) for f in _folders()) \
            or "(no site-packages)"
        lines.append(f"not installed (would go to {where})")
    passes = environ.get(_config.ENV_PASSES, "")
    if not found:
        lines.append(f"active: no (the {os.path.splitext(_main_file())[1]} file is not "
                     f"installed)")
    elif _config.is_disabled(environ):
        lines.append(f"active: no ({_config.ENV_DISABLE} is set)")
    elif not passes:
        lines.append(f"active: no ({_config.ENV_PASSES} is not set; processes that set it "
                     f"are rewritten)")
    else:
        lines.append(f"active: yes, Python processes started with this environment are "
                     f"rewritten by {_config.ENV_PASSES}={passes}")
    return lines


# -- what the start-up code runs ----------------------------------------------------------

#: The hook installed at start-up (an ``_install.Hook``): one per process, see start().
_started: Any = None
_attempted = False


def active() -> bool:
    """Did the autoload install the hook in this process?"""
    return _started is not None


def start(environ=None) -> None:
    """Install the hook from the environment, once. Never raises: a problem becomes one
    warning line on stderr and the program runs without the hook."""
    global _started, _attempted
    environ = os.environ if environ is None else environ
    if _attempted or _config.is_disabled(environ) or launched_by_bchook():
        return
    _attempted = True
    from ..hook import lazy as _lazy

    _lazy.hold()
    try:
        from ..hook import install as _install

        settings = _config.resolve(environ=environ, start=_program_dir())
        passes = _config.create_chain(settings)
        if not passes:
            return
        roots = settings.roots or [_program_dir()]
        handle = _install.install(passes, include=settings.include or None,
                                  exclude=settings.exclude, cache=settings.cache, roots=roots)
        _started = handle
        if settings.cache:
            _config.remember()
        if _is_multiprocessing_child():
            _rewrite_spawned_main(environ, handle)
        script = _main_script()
        if script is not None and not sys.flags.inspect and \
                handle.targets.wants("__main__", script):
            _rewrite_main_script(script, handle)
    except Exception as exc:
        sys.stderr.write(f"bchook: autoload failed, running without the hook: "
                         f"{type(exc).__name__}: {exc}\n")
    finally:
        _lazy.release()


def stop() -> None:
    """Uninstall the start-up hook (the runner replaces it with its own settings)."""
    global _started
    if _started is not None:
        handle, _started = _started, None
        handle.uninstall()


def _main_script() -> str | None:
    """The script Python is about to run (``python app.py``), or None (``-c``, ``-m``...)."""
    argv0 = sys.argv[0] if getattr(sys, "argv", None) else ""
    if argv0 and argv0 not in ("-c", "-m", "-") and os.path.isfile(argv0):
        return os.path.abspath(argv0)
    return None


def _program_dir() -> str:
    """The folder of the script being started; the current directory for ``-c``, ``-m``,
    or an installed command (``pytest``: the project is where it runs, not ``bin/``)."""
    script = _main_script()
    if script is not None:
        folder = os.path.dirname(os.path.realpath(script))
        # sysconfig costs milliseconds at start-up: asked only about folders named like
        # the scripts folders (bin/, Scripts/)
        if os.path.basename(folder).lower() not in ("bin", "scripts") or \
                _norm(folder) not in _scripts_dirs():
            return folder
    return os.getcwd()


def _scripts_dirs() -> set[str]:
    import sysconfig

    dirs = set()
    for scheme in {sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")}:
        try:
            dirs.add(_norm(sysconfig.get_path("scripts", scheme)))
        except (KeyError, ValueError):
            pass
    return dirs


def _rewrite_main_script(script: str, hook) -> None:
    """Have the main script rewritten too, not only its imports.

    Python compiles the script named on its command line itself, after ``site`` and
    without the import system. Just before, it raises the audit event
    ``cpython.run_file``: this audit hook runs the script there instead, rewritten, exactly
    as the runner does (``bchook.frontends.runner.run_script_in_place``), and ends the run with the
    program's exit status, so Python never runs the original. Audit hooks cannot be
    removed; after that one event this one only compares a string. Python switches
    tracing off while an audit hook runs unless the hook says ``__cantrace__``: this one
    does, or the whole script would run unseen by debuggers, ``sys.settrace`` and
    ``sys.monitoring``. A script that does not compile even without bchook is left to
    Python, which reports it in its own words.
    """
    state = {"done": False}

    def on_audit(event: str, args: tuple) -> None:
        if event != "cpython.run_file" or state["done"]:
            return
        state["done"] = True
        if not args or _norm(os.fspath(args[0])) != _norm(script):
            return
        from ..hook import lazy as _lazy

        _lazy.hold()  # given back by run_script_in_place, before the script runs
        from .runner import run_script_in_place

        status = run_script_in_place(script, hook)
        if status is not None:
            raise SystemExit(status)

    on_audit.__cantrace__ = True
    sys.addaudithook(on_audit)


def _is_multiprocessing_child() -> bool:
    argv = getattr(sys, "argv", None) or []
    if "--multiprocessing-fork" in argv:
        return True
    return any("multiprocessing.forkserver" in a for a in getattr(sys, "orig_argv", ()))


def _rewrite_spawned_main(environ, handle) -> None:
    """Let a spawn/forkserver child rewrite the parent's main script as the parent did.

    multiprocessing re-runs the parent's main script in the child with
    ``runpy.run_path``, which compiles it without the import system, so the hook never sees
    it. Only when the runner rewrote that script (``BCHOOK_MAIN``), this wraps the one
    private function that does it, ``multiprocessing.spawn._fixup_main_from_path``.
    """
    main_file = environ.get("BCHOOK_MAIN")
    if not main_file:
        return
    from multiprocessing import spawn

    original = getattr(spawn, "_fixup_main_from_path", None)
    if original is None or getattr(original, "_bchook", False):
        return

    def fixup_main_from_path(main_path):
        if _norm(main_path) != _norm(main_file):
            return original(main_path)
        current = sys.modules["__main__"]
        if getattr(current, "__file__", None) == main_path:
            return None
        from .runner import compile_main, file_attrs

        try:
            code = compile_main(main_path, handle)
        except Exception as exc:  # the parent reported it already; run it as Python would
            sys.stderr.write(f"bchook: cannot rewrite {main_path} in this child process, "
                             f"running it unchanged: {type(exc).__name__}: {exc}\n")
            return original(main_path)
        # What runpy.run_path(main_path, run_name="__mp_main__") does, with our code.
        spawn.old_main_modules.append(current)
        main_module = types.ModuleType("__mp_main__")
        main_module.__dict__.update(file_attrs(main_path))
        main_module.__dict__.update(__doc__=None, __loader__=None, __package__="", __spec__=None,
                                    __builtins__=builtins)
        sys.modules["__main__"] = sys.modules["__mp_main__"] = main_module
        saved_argv0 = sys.argv[0] if sys.argv else None
        if sys.argv:
            sys.argv[0] = main_path
        try:
            exec(code, main_module.__dict__)
        finally:
            if sys.argv and saved_argv0 is not None:
                sys.argv[0] = saved_argv0
        return None

    fixup_main_from_path._bchook = True
    spawn._fixup_main_from_path = fixup_main_from_path
