"""Fixtures shared by the whole test suite.

``isolated_imports``: the import system's state is saved before the test and restored after
it (``bchook.testing.isolated_imports``, through the pytest plugin's fixture), so a test may
install hooks, import throw-away modules and edit ``sys.path`` freely.

``run_python``: run the interpreter under test in a subprocess and get ``(rc, out, err)``.

``write`` and ``write_tree``: put dedented source text into files, making folders as needed.

No ``BCHOOK_*`` variable of the developer's environment is set while a test runs (a test
sets the ones it means to), so their own settings never leak into a test.

For the whole session, ``XDG_CACHE_HOME`` names a folder of the session's own: bchook keeps
its cache in the user cache folder when Python writes no bytecode (and the environment the
suite runs in may say so), and the suite's files must not land in the developer's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: Seconds a subprocess may take before the test fails instead of hanging CI.
SUBPROCESS_TIMEOUT = 120


@pytest.fixture(autouse=True, scope="session")
def private_user_cache(tmp_path_factory):
    """``XDG_CACHE_HOME`` is a folder of this session's for every test and the processes
    they start; pip's cache stays where it was (``PIP_CACHE_DIR``)."""
    folder = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as mp:
        if "PIP_CACHE_DIR" not in os.environ:
            mp.setenv("PIP_CACHE_DIR", os.path.join(
                os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pip"))
        mp.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def no_bchook_settings(monkeypatch):
    """Every test starts without the ``BCHOOK_*`` variables of the outer environment."""
    for key in list(os.environ):
        if key.startswith("BCHOOK_"):
            monkeypatch.delenv(key)


def _write(path, text: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def write():
    """``write(path, text="") -> path``: ``text``, dedented, into ``path`` (its folders are
    made)."""
    return _write


@pytest.fixture(scope="session")
def write_tree():
    """``write_tree(root, {relative path: text}) -> root``: several files at once, each as
    ``write`` writes it."""

    def write_tree(root, files: dict):
        for name, text in files.items():
            _write(Path(root) / name, text)
        return root

    return write_tree


@pytest.fixture
def isolated_imports(bchook_isolated_imports):
    """Save and restore sys.modules, sys.meta_path, sys.path, sys.path_hooks and
    sys.path_importer_cache around the test (the pytest plugin's fixture, from
    ``bchook.testing``); yields the saved ``ImportState``."""
    return bchook_isolated_imports


@pytest.fixture
def run_python():
    """``run_python(args, cwd=None, env=None, input=None, timeout=...) -> (rc, out, err)``.

    Runs ``sys.executable *args`` with text output. ``env`` entries are added to (not
    substituted for) the current environment; a value of ``None`` removes that variable.
    ``BCHOOK_*`` variables of the outer process are removed unless given explicitly, so a
    developer's own settings never leak into a test.
    """

    def run(args, cwd=None, env=None, input=None, timeout=SUBPROCESS_TIMEOUT):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
        full_env.setdefault("PYTHONIOENCODING", "utf-8")
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        proc = subprocess.run(
            [sys.executable, *map(str, args)],
            cwd=None if cwd is None else str(cwd),
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
        )
        return proc.returncode, proc.stdout, proc.stderr

    return run


@pytest.fixture(autouse=True)
def no_bchook_hook_leaks():
    """After every test: no installed hook, and no uninstalled finder on sys.meta_path.

    A test that restores a saved ``sys.meta_path`` can put back a finder that was
    uninstalled meanwhile; it would then sit in front of every later test's imports.
    Only modules already loaded are consulted, so tests that check what an inactive
    bchook does not import are not disturbed.
    """
    yield
    install_module = sys.modules.get("bchook.hook.install")
    if install_module is not None:
        hook = install_module.installed()
        if hook is not None:
            hook.uninstall()
    hook_module = sys.modules.get("bchook.hook.finder")
    if hook_module is not None:
        finder_type = hook_module.BchookFinder
        sys.meta_path[:] = [f for f in sys.meta_path
                            if not (isinstance(f, finder_type) and not f.active)]
