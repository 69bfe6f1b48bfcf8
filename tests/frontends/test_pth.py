"""The start-up autoload: ``bchook pth install | uninstall | status`` and what the start-up
code does, in both forms: the ``.pth`` line (Python 3.10-3.14) and the ``.start`` entry point
with its module (3.15+, PEP 829).

The end-to-end tests work in throwaway virtual environments (``venv --without-pip``) that
see the test interpreter's packages through a ``.pth`` of their own, so the real
environment's site-packages is never written to.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

import bchook
from bchook import UsageError
from bchook.frontends import autoload as _autoload
from bchook.passes.trace.runtime import _readers

TIMEOUT = 120

#: Does this interpreter read ``.start`` files (and deprecate ``import`` lines in ``.pth``)?
START_FILES = sys.version_info >= (3, 15)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "PYTHON", "COVERAGE_PROCESS"))}
    env.update(extra)
    return env


def run(cmd, cwd, **env):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=clean_env(**env),
                          capture_output=True, text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


class Venv:
    """A throwaway environment whose site-packages also reads the test interpreter's."""

    def __init__(self, root: Path, see_bchook: bool = True):
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.python = root / bindir / ("python.exe" if os.name == "nt" else "python")
        self.site = Path(subprocess.check_output(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True).strip())
        if see_bchook:
            parent = sysconfig.get_paths()["purelib"]
            # addsitedir, not a bare path: runs the parent's .pth files too (editable installs)
            (self.site / "00-parent-site.pth").write_text(
                f"import site; site.addsitedir({parent!r})\n")
        self.pth = self.site / _autoload.PTH_NAME
        self.start = self.site / _autoload.START_NAME
        self.start_module = self.site / (_autoload.START_MODULE + ".py")
        #: The file ``bchook pth install`` reports: the ``.start`` file, or the ``.pth``.
        self.autoload = self.start if START_FILES else self.pth

    def files(self) -> dict:
        """The autoload's files in site-packages, by name."""
        return {p.name: p.read_text() for p in (self.pth, self.start, self.start_module)
                if p.exists()}

    def run(self, args, cwd, **env):
        return run([self.python, *args], cwd, **env)

    def bchook(self, args, cwd, **env):
        return self.run(["-m", "bchook", *args], cwd, **env)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return Venv(tmp_path_factory.mktemp("venv") / "env")


@pytest.fixture
def installed(env, tmp_path):
    rc, out, err = env.bchook(["pth", "install"], tmp_path)
    assert rc == 0, err
    yield env
    env.bchook(["pth", "uninstall"], tmp_path)


#: A program that says whether bchook is loaded and whether its imports are rewritten.
PROBE = """\
import sys
import lib
hooked = type(lib.__loader__).__name__ == "BchookLoader"
finders = [f for f in sys.meta_path if type(f).__name__ == "BchookFinder"]
print("bchook" in sys.modules, hooked, len(finders))
"""


def probe_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lib.py").write_text("x = 1\n")
    (folder / "probe.py").write_text(PROBE)
    return folder


# -- the start-up code itself -----------------------------------------------------------

def pth_line() -> str:
    lines = [ln for ln in _autoload.pth_text().splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == 1 and lines[0].startswith("import ")
    return lines[0]


def start_entry_point() -> str:
    lines = [ln for ln in _autoload.start_text().splitlines() if ln and not ln.startswith("#")]
    assert lines == [f"{_autoload.START_MODULE}:start"]
    return lines[0]


@pytest.fixture(params=["pth", "start"])
def startup(request, tmp_path, write):
    """Code that does what ``site`` does with the autoload's file, in one form or the other."""
    if request.param == "pth":
        return f"exec({pth_line()!r})"
    folder = tmp_path / "site"
    write(folder / (_autoload.START_MODULE + ".py"), _autoload.start_module_text())
    module, _, function = start_entry_point().partition(":")
    # what site does with a .start entry point: pkgutil.resolve_name(..., strict=True)()
    return (f"import sys; sys.path.append({str(folder)!r}); import importlib; "
            f"getattr(importlib.import_module({module!r}), {function!r})(); sys.path.pop()")


def test_startup_code_does_not_import_bchook_unless_bchook_passes_is_set(tmp_path, startup):
    code = f"{startup}; import sys; print('bchook' in sys.modules)"
    assert run([sys.executable, "-c", code], tmp_path) == (0, "False\n", "")
    assert run([sys.executable, "-c", code], tmp_path, BCHOOK_PASSES="") == (0, "False\n", "")
    assert run([sys.executable, "-c", code], tmp_path, BCHOOK_PASSES="identity",
               BCHOOK_DISABLE="1") == (0, "False\n", "")
    code = f"{startup}; from bchook.frontends import autoload; print(autoload.active())"
    assert run([sys.executable, "-c", code], tmp_path, BCHOOK_PASSES="identity") == \
        (0, "True\n", "")


def test_startup_code_never_raises_even_without_bchook(tmp_path, startup):
    # -I -S: no site-packages, so bchook cannot be imported, as after `pip uninstall`.
    code = f"{startup}; print('still running')"
    rc, out, err = run([sys.executable, "-I", "-S", "-c", code], tmp_path)
    assert (rc, out, err) == (0, "still running\n", "")
    rc, out, err = run([sys.executable, "-I", "-S", "-c", code], tmp_path,
                       BCHOOK_PASSES="identity")
    assert (rc, out) == (0, "still running\n")
    # issue 17, item 15: what to do about it, not a ModuleNotFoundError
    assert err.startswith("bchook: ") and err.count("\n") == 1, err
    assert "left over from an uninstalled bchook" in err
    assert "run `bchook pth uninstall` before `pip uninstall bchook`" in err


def test_bad_settings_become_one_warning_line(tmp_path, startup):
    code = f"{startup}; print('still running')"
    for bad in ({"BCHOOK_PASSES": "no_such_pass"}, {"BCHOOK_PASSES": "identity",
                                                     "BCHOOK_OPTIONS": "identity.nope=1"},
                {"BCHOOK_PASSES": "identity", "BCHOOK_CACHE": "perhaps"}):
        rc, out, err = run([sys.executable, "-c", code], tmp_path, **bad)
        assert (rc, out) == (0, "still running\n")
        assert err.startswith("bchook: autoload failed, running without the hook: ")
        assert err.count("\n") == 1


def test_site_dir_refuses_folders_site_does_not_read(monkeypatch, tmp_path):
    elsewhere = str(tmp_path / "not-site-packages")
    monkeypatch.setattr(sysconfig, "get_paths", lambda *a, **k: {"purelib": elsewhere})
    with pytest.raises(UsageError, match="not a site-packages folder"):
        _autoload.install_pth()
    assert not os.path.exists(elsewhere)


# -- in a throwaway environment ----------------------------------------------------------

def test_install_is_idempotent_and_uninstall_removes(env, tmp_path):
    rc, out, err = env.bchook(["pth", "status"], tmp_path)
    assert rc == 0 and out.startswith("not installed") and "active: no" in out
    assert f"would go to {env.autoload}" in out

    rc, out, err = env.bchook(["pth", "install"], tmp_path)
    assert (rc, out, err) == (0, f"installed: {env.autoload}\n", "")
    assert env.files() == _autoload.autoload_files()
    stamp = env.autoload.stat().st_mtime_ns
    rc, out, err = env.bchook(["pth", "install"], tmp_path)
    assert (rc, out, err) == (0, f"already installed: {env.autoload}\n", "")
    assert env.autoload.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in env.site.iterdir() if "bchook" in p.name) == \
        sorted(_autoload.autoload_files())  # no temporary file left behind

    rc, out, err = env.bchook(["pth", "uninstall"], tmp_path)
    assert (rc, out) == (0, f"removed: {env.autoload}\n") and env.files() == {}
    rc, out, err = env.bchook(["pth", "uninstall"], tmp_path)
    assert (rc, out) == (0, "not installed: nothing to remove\n")


def test_install_writes_the_form_this_python_reads(env, tmp_path):
    rc, out, err = env.bchook(["pth", "install"], tmp_path)
    assert rc == 0, err
    files = env.files()
    if START_FILES:  # PEP 829: no `import` line in a .pth, a .start entry point instead
        assert sorted(files) == sorted([env.start.name, env.start_module.name])
        assert not any(line.startswith("import") for line in files[env.start.name].splitlines())
    else:
        assert list(files) == [env.pth.name]
    env.bchook(["pth", "uninstall"], tmp_path)


def test_install_replaces_the_other_form_and_uninstall_removes_both(env, tmp_path, write):
    other = {env.start.name: _autoload.start_text(),
             env.start_module.name: _autoload.start_module_text()}
    if START_FILES:
        other = {env.pth.name: _autoload.pth_text()}
    for name, text in other.items():
        write(env.site / name, text)
    rc, out, err = env.bchook(["pth", "status"], tmp_path)
    expected = env.pth if START_FILES else env.start
    assert f"installed: {expected} (outdated: not the start-up file this Python reads" in out
    rc, out, err = env.bchook(["pth", "install"], tmp_path)
    assert (rc, out) == (0, f"installed: {env.autoload}\n")
    assert env.files() == _autoload.autoload_files()

    # every form at once, and the module's compiled copy: uninstall removes them all
    for name, text in other.items():
        write(env.site / name, text)
    cached = env.site / "__pycache__" / f"{_autoload.START_MODULE}.cpython-399.pyc"
    write(cached, "")
    rc, out, err = env.bchook(["pth", "uninstall"], tmp_path)
    assert sorted(out.splitlines()) == sorted(f"removed: {p}" for p in (env.pth, env.start))
    assert env.files() == {} and not cached.exists()


def test_status_says_where_and_whether_active(installed, tmp_path):
    rc, out, err = installed.bchook(["pth", "status"], tmp_path)
    assert rc == 0
    assert f"installed: {installed.autoload} (up to date)" in out
    assert "active: no (BCHOOK_PASSES is not set" in out
    rc, out, err = installed.bchook(["pth", "status"], tmp_path, BCHOOK_PASSES="identity")
    assert "active: yes" in out and "BCHOOK_PASSES=identity" in out
    rc, out, err = installed.bchook(["pth", "status"], tmp_path, BCHOOK_PASSES="identity",
                                    BCHOOK_DISABLE="1")
    assert "active: no (BCHOOK_DISABLE is set)" in out


@pytest.mark.parametrize("which", ["main", "module"])
def test_outdated_file_is_reported_and_replaced(installed, tmp_path, which):
    if which == "module" and not START_FILES:
        pytest.skip("the .pth form is one file")
    (installed.autoload if which == "main" else installed.start_module).write_text("import os\n")
    rc, out, err = installed.bchook(["pth", "status"], tmp_path)
    assert f"installed: {installed.autoload} (outdated: run `bchook pth install`)" in out
    rc, out, err = installed.bchook(["pth", "install"], tmp_path)
    assert out == f"installed: {installed.autoload}\n"
    assert installed.files() == _autoload.autoload_files()


def test_user_site_is_refused_in_a_virtual_environment(env, tmp_path):
    rc, out, err = env.bchook(["pth", "install", "--user"], tmp_path)
    assert (rc, out) == (2, "")
    assert err.startswith("bchook: error: ") and "--user" in err and err.count("\n") == 1
    assert env.files() == {}


def test_nothing_happens_without_bchook_passes(installed, tmp_path):
    probe_project(tmp_path)
    assert installed.run(["probe.py"], tmp_path) == (0, "False False 0\n", "")
    rc, out, err = installed.run(["-X", "importtime", "-c", "pass"], tmp_path)
    # (3.15+: the .start entry point's own module, _bchook_autoload, is imported)
    assert rc == 0 and not re.search(r"\| +bchook(\.|$)", err, re.M), err


def test_processes_with_bchook_passes_are_rewritten_once(installed, tmp_path, write):
    probe_project(tmp_path)
    assert installed.run(["probe.py"], tmp_path, BCHOOK_PASSES="identity") == \
        (0, "True True 1\n", "")
    # site processing the .pth files a second time must not add a second hook
    write(tmp_path / "twice.py", textwrap.dedent("""\
        import site, sysconfig
        site.addsitedir(sysconfig.get_paths()["purelib"])
        """) + PROBE)
    assert installed.run(["twice.py"], tmp_path, BCHOOK_PASSES="identity") == \
        (0, "True True 1\n", "")
    assert installed.run(["probe.py"], tmp_path, BCHOOK_PASSES="identity",
                         BCHOOK_DISABLE="1") == (0, "False False 0\n", "")


def test_child_processes_of_the_runner_are_rewritten(installed, tmp_path, write):
    probe_project(tmp_path)
    write(tmp_path / "parent.py", """\
        import subprocess, sys
        import lib
        print("parent", type(lib.__loader__).__name__)
        sys.stdout.flush()
        subprocess.run([sys.executable, "probe.py"], check=True)
        """)
    rc, out, err = installed.bchook(["-p", "identity", "parent.py"], tmp_path)
    assert (rc, out, err) == (0, "parent BchookLoader\nTrue True 1\n", "")
    rc, out, err = installed.run(["parent.py"], tmp_path)
    assert (rc, out, err) == (0, "parent SourceFileLoader\nFalse False 0\n", "")


SPAWN = """\
import dis, multiprocessing as mp, sys
import lib

def nop_share(func):
    ops = [i.opname for i in dis.get_instructions(func)]
    return ops.count("NOP") / len(ops)

def report(_):
    # runs in the child: its copy of this script and its imports
    return (nop_share(report) > 0.3, type(lib.__loader__).__name__)

if __name__ == "__main__":
    with mp.get_context(sys.argv[1]).Pool(1) as pool:
        print(pool.map(report, [0]), report(0))
"""


# forkserver: the default on Linux from 3.14; its children fork from a server process
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_multiprocessing_spawn_children_are_rewritten(installed, tmp_path, method, write):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    write(tmp_path / "lib.py", "x = 1\n")
    write(tmp_path / "spawner.py", SPAWN)
    rc, out, err = installed.bchook(["-p", "identity", "-o", "identity.pad=1", "spawner.py",
                                     method], tmp_path)
    assert (rc, err) == (0, "")
    assert out == "[(True, 'BchookLoader')] (True, 'BchookLoader')\n"
    rc, out, err = installed.run(["spawner.py", method], tmp_path)
    assert out == "[(False, 'SourceFileLoader')] (False, 'SourceFileLoader')\n", err


FORKER = """\
import multiprocessing as mp, sys
import lib

def job(n):
    return lib.fib(n)

if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    pool = ctx.Pool(2)
    print(pool.map(job, [5, 6]))
    pool.close()
    pool.join()
    child = ctx.Process(target=job, args=(7,))
    child.start()
    child.join()
"""
FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
#: Calls of fib(5), fib(6) and fib(7), counting the recursive ones.
FIB_CALLS = {5: 15, 6: 25, 7: 41}


def calls_by_name(path) -> dict:
    return {name: row[1] for (_, _, name), row in _readers.read(str(path)).stats().items()
            if name in ("job", "fib")}


# fork needs no autoload (the children are copies of the traced parent), forkserver's
# server is started like a spawned child; both end their children with os._exit()
@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_multiprocessing_forked_children_are_traced(installed, tmp_path, method, write):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    write(tmp_path / "lib.py", FIB)
    write(tmp_path / "forker.py", FORKER)
    (tmp_path / "each").mkdir()
    rc, out, err = installed.bchook(["-p", "trace", "-o", "trace.output=each/t.prof",
                                     "forker.py", method], tmp_path)
    assert (rc, out, err) == (0, "[5, 8]\n", "")
    assert calls_by_name(tmp_path / "each" / "t.prof") == {}  # the parent ran no job
    per_pid = [calls_by_name(path) for path in (tmp_path / "each").glob("t.*.prof")]
    assert all(re.fullmatch(r"t\.\d+\.prof", path.name)
               for path in (tmp_path / "each").glob("t.*.prof"))
    jobs = [calls for calls in per_pid if calls]  # a pool worker may have been left idle
    # the Process ran job(7) alone; the pool's workers shared job(5) and job(6)
    assert {"job": 1, "fib": FIB_CALLS[7]} in jobs
    assert sum(calls["job"] for calls in jobs) == 3
    assert sum(calls["fib"] for calls in jobs) == sum(FIB_CALLS.values())

    rc, out, err = installed.bchook(["-p", "trace", "-o", "trace.merge=1", "-o",
                                     "trace.output=one.prof", "forker.py", method], tmp_path)
    assert (rc, out, err) == (0, "[5, 8]\n", "")
    assert [path.name for path in tmp_path.glob("one*")] == ["one.prof"]
    assert calls_by_name(tmp_path / "one.prof") == {"job": 3, "fib": sum(FIB_CALLS.values())}


def test_leftover_files_without_bchook_never_break_start_up(tmp_path_factory, tmp_path, write):
    bare = Venv(tmp_path_factory.mktemp("bare") / "env", see_bchook=False)
    for name, text in _autoload.autoload_files().items():
        write(bare.site / name, text)
    write(tmp_path / "hello.py", "print('hello')\n")
    assert bare.run(["hello.py"], tmp_path) == (0, "hello\n", "")
    rc, out, err = bare.run(["hello.py"], tmp_path, BCHOOK_PASSES="identity")
    assert (rc, out) == (0, "hello\n")
    # issue 17, item 15: the warning names the file to delete and says how to avoid it
    left = bare.start if START_FILES else bare.pth
    assert err == (f"bchook: {left}{' (and _bchook_autoload.py next to it)' * START_FILES} "
                   f"is left over from an uninstalled bchook (bchook cannot be imported): "
                   f"delete it; run `bchook pth uninstall` before `pip uninstall bchook`\n")


def test_user_site_install(tmp_path):
    base = os.path.realpath(sys.executable)  # the interpreter itself, outside any venv
    user_base = tmp_path / "userbase"
    pkg_parent = os.path.dirname(os.path.dirname(bchook.__file__))
    extra = {"PYTHONUSERBASE": str(user_base), "PYTHONPATH": pkg_parent}
    probe = (base, "-c", "import site; print(site.ENABLE_USER_SITE)")
    if run(probe, tmp_path, **extra)[1].strip() != "True":
        pytest.skip("this interpreter has no user site-packages")
    rc, out, err = run([base, "-m", "bchook", "pth", "install", "--user"], tmp_path, **extra)
    assert rc == 0, err
    path = Path(out.split(": ", 1)[1].strip())
    assert path.name == (_autoload.START_NAME if START_FILES else _autoload.PTH_NAME)
    assert user_base in path.parents
    probe_project(tmp_path)
    assert run([base, "probe.py"], tmp_path, BCHOOK_PASSES="identity", **extra)[1] == \
        "True True 1\n"
    rc, out, err = run([base, "-m", "bchook", "pth", "uninstall"], tmp_path, **extra)
    assert out == f"removed: {path}\n" and not path.exists()


MAIN_PROGRAM = """\
import dis, sys
import lib

def nop_share(func):
    ops = [i.opname for i in dis.get_instructions(func)]
    return ops.count("NOP") / len(ops)

print(nop_share(nop_share) > 0.3, type(lib.__loader__).__name__, sys.argv, __file__)
if sys.argv[1:] == ["fail"]:
    lib.fail()
if sys.argv[1:] == ["exit"]:
    sys.exit(5)
"""


@pytest.mark.parametrize("args, status", [([], 0), (["fail"], 1), (["exit"], 5)])
def test_main_script_is_rewritten_under_the_autoload(installed, tmp_path, args, status, write):
    write(tmp_path / "lib.py", "def fail():\n    raise ValueError('from lib')\n")
    write(tmp_path / "main.py", MAIN_PROGRAM)
    plain = installed.run(["main.py", *args], tmp_path)
    rc, out, err = installed.run(["main.py", *args], tmp_path, BCHOOK_PASSES="identity",
                                 BCHOOK_OPTIONS="identity.pad=1")
    assert plain[0] == rc == status
    assert err == plain[2]  # the same traceback, no bchook frame
    assert plain[1].startswith("False SourceFileLoader ['main.py'")
    assert out == plain[1].replace("False SourceFileLoader", "True BchookLoader")


TRACED_MAIN = """\
import sys

events = []

def tracer(frame, event, arg):
    if frame.f_code.co_filename == __file__:
        events.append((event, frame.f_code.co_name))
    return tracer

def work():
    return 1

sys.settrace(tracer)
work()
sys.settrace(None)
print(events)
"""


def test_the_main_script_can_be_traced_under_the_autoload(installed, tmp_path, write):
    """The script runs inside an audit hook, where Python switches tracing off unless the
    hook allows it: debuggers, sys.settrace and sys.monitoring must still see it."""
    write(tmp_path / "main.py", TRACED_MAIN)
    plain = installed.run(["main.py"], tmp_path)
    rewritten = installed.run(["main.py"], tmp_path, BCHOOK_PASSES="identity")
    assert plain[0] == 0 and "('call', 'work')" in plain[1], plain
    assert rewritten == plain


@pytest.mark.parametrize("source", [b"\x89", b"0000\x00\n\x9e\n", b"def f(:\n"],
                         ids=["undecodable", "null byte", "syntax error"])
def test_a_main_script_that_does_not_compile_is_reported_as_python_does(installed, tmp_path,
                                                                          source):
    (tmp_path / "main.py").write_bytes(source)
    plain = installed.run(["main.py"], tmp_path)
    rewritten = installed.run(["main.py"], tmp_path, BCHOOK_PASSES="identity")
    assert plain[0] == 1 and "SyntaxError" in plain[2], plain
    assert rewritten == plain


def test_installed_commands_target_the_current_folder(monkeypatch, tmp_path, write):
    bindir = tmp_path / "bin"
    write(bindir / "tool", "print('a console script')\n")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "argv", [str(bindir / "tool")])
    assert _autoload._program_dir() == str(bindir)
    monkeypatch.setattr(_autoload, "_scripts_dirs", lambda: {_autoload._norm(str(bindir))})
    assert _autoload._program_dir() == str(project)
    monkeypatch.setattr(sys, "argv", ["-c"])
    assert _autoload._program_dir() == str(project)
