"""The version gate: on an interpreter bchook does not know (a future CPython, the
free-threaded build), ``import bchook`` raises ImportError with one line naming the
supported releases, and the ``bchook`` command prints that line and exits with status 2,
never a traceback from the tables.

Each case fakes the interpreter in a subprocess with a ``sitecustomize`` module, which
``site`` imports before anything else runs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from bchook.frontends import autoload as _autoload

SUPPORTED = "CPython 3.10 to 3.15"

FUTURE = """\
import collections, sys
sys.version_info = collections.namedtuple(
    "version_info", "major minor micro releaselevel serial")(3, 16, 0, "final", 0)
"""

FREE_THREADED = """\
import sys, sysconfig
sys.abiflags = getattr(sys, "abiflags", "") + "t"  # what bchook asks first, where it exists
_real = sysconfig.get_config_var
sysconfig.get_config_var = lambda name: 1 if name == "Py_GIL_DISABLED" else _real(name)
"""

RUNNING = "%d.%d.%d" % sys.version_info[:3]

#: What each faked interpreter is told.
REASONS = {
    "3.16": f"bchook supports {SUPPORTED}, not 3.16.0",
    "free-threaded": f"bchook does not support the free-threaded build of CPython {RUNNING} "
                     f"yet; use the default build of {SUPPORTED}",
}


@pytest.fixture(params=["3.16", "free-threaded"])
def faked(request, tmp_path, run_python):
    """``(run, reason)``: ``run(args)`` runs the interpreter faked as ``request.param``."""
    folder = tmp_path / "fake"
    folder.mkdir()
    text = FUTURE if request.param == "3.16" else FREE_THREADED
    (folder / "sitecustomize.py").write_text(text)
    path = os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    def run(args, env=None):
        return run_python(args, cwd=tmp_path, env={"PYTHONPATH": path, **(env or {})})

    return run, REASONS[request.param]


def test_the_fake_works(faked):
    run, reason = faked
    rc, out, err = run(["-c", "import sys, sysconfig; print(sys.version_info[:2], "
                              "sysconfig.get_config_var('Py_GIL_DISABLED'))"])
    assert rc == 0 and out != f"{tuple(sys.version_info[:2])} None\n", err


def test_import_raises_importerror_with_one_line(faked):
    run, reason = faked
    rc, out, err = run(["-c", "import bchook"])
    assert rc == 1
    assert err.endswith(f"\nImportError: {reason}\n")
    # the traceback is the import's, not the tables' (no frame in bchook.ir or _passes)
    assert not re.search(r"[/\\](ir|_passes\.py)", err), err
    rc, out, err = run(["-c", "try:\n import bchook\nexcept ImportError as e:\n print(e)"])
    assert (rc, out, err) == (0, reason + "\n", "")


def test_python_dash_m_bchook_says_it_in_one_line_and_exits_2(faked):
    run, reason = faked
    for args in (["--version"], ["-p", "identity", "-c", "pass"], ["pth", "status"]):
        assert run(["-m", "bchook", *args]) == (2, "", f"bchook: error: {reason}\n")
    assert run(["-X", "utf8", "-m", "bchook", "--version"]) == \
        (2, "", f"bchook: error: {reason}\n")


def test_the_bchook_script_says_it_in_one_line_and_exits_2(faked):
    run, reason = faked
    script = Path(sys.executable).with_name("bchook")
    if not script.exists():
        pytest.skip("no bchook script next to this interpreter")
    assert run([script, "--version"]) == (2, "", f"bchook: error: {reason}\n")


def test_autoload_runs_the_program_without_the_hook_after_one_warning(faked):
    run, reason = faked
    line = next(ln for ln in _autoload.pth_text().splitlines() if ln.startswith("import"))
    rc, out, err = run(["-c", f"exec({line!r}); print('still running')"],
                       env={"BCHOOK_PASSES": "identity"})
    assert (rc, out) == (0, "still running\n")
    assert err == f"bchook: autoload failed, running without the hook: ImportError: {reason}\n"


def test_the_real_interpreter_is_supported():
    from bchook.ir import version

    assert version.unsupported_reason() is None
