"""Fixtures shared by the whole test suite.

``isolated_imports``: the import system's state is saved before the test and restored after
it (``bchook.testing.isolated_imports``, through the pytest plugin's fixture), so a test may
install hooks, import throw-away modules and edit ``sys.path`` freely.

``run_python``: run the interpreter under test in a subprocess and get ``(rc, out, err)``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: Seconds a subprocess may take before the test fails instead of hanging CI.
SUBPROCESS_TIMEOUT = 120


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
