"""The ``.pth`` autoload: ``bchook pth install | uninstall | status`` and what the line does.

The end-to-end tests work in throwaway virtual environments (``venv --without-pip``) that
see the test interpreter's packages through a ``.pth`` of their own, so the real
environment's site-packages is never written to.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

import bchook
from bchook import UsageError, _autoload

TIMEOUT = 120


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


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
            write(self.site / "00-parent-site.pth", f"import site; site.addsitedir({parent!r})\n")
        self.pth = self.site / _autoload.PTH_NAME

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
    write(folder / "lib.py", "x = 1\n")
    write(folder / "probe.py", PROBE)
    return folder


# -- the line itself ---------------------------------------------------------------------

def pth_line() -> str:
    lines = [ln for ln in _autoload.pth_text().splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == 1 and lines[0].startswith("import ")
    return lines[0]


def test_line_does_not_import_bchook_unless_bchook_passes_is_set(tmp_path):
    code = f"exec({pth_line()!r}); import sys; print('bchook' in sys.modules)"
    assert run([sys.executable, "-c", code], tmp_path) == (0, "False\n", "")
    assert run([sys.executable, "-c", code], tmp_path, BCHOOK_PASSES="") == (0, "False\n", "")
    assert run([sys.executable, "-c", code], tmp_path, BCHOOK_PASSES="identity",
               BCHOOK_DISABLE="1") == (0, "False\n", "")
    code = f"exec({pth_line()!r}); from bchook import _autoload; print(_autoload.active())"
    assert run([sys.executable, "-c", code], tmp_path, BCHOOK_PASSES="identity") == \
        (0, "True\n", "")


def test_line_never_raises_even_without_bchook(tmp_path):
    # -I -S: no site-packages, so bchook cannot be imported, as after `pip uninstall`.
    code = f"exec({pth_line()!r}); print('still running')"
    rc, out, err = run([sys.executable, "-I", "-S", "-c", code], tmp_path)
    assert (rc, out, err) == (0, "still running\n", "")
    rc, out, err = run([sys.executable, "-I", "-S", "-c", code], tmp_path,
                       BCHOOK_PASSES="identity")
    assert (rc, out) == (0, "still running\n")
    assert err.startswith("bchook: autoload failed") and err.count("\n") == 1
    assert "ModuleNotFoundError" in err


def test_bad_settings_become_one_warning_line(tmp_path):
    code = f"exec({pth_line()!r}); print('still running')"
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

    rc, out, err = env.bchook(["pth", "install"], tmp_path)
    assert (rc, out, err) == (0, f"installed: {env.pth}\n", "")
    assert env.pth.read_text() == _autoload.pth_text()
    stamp = env.pth.stat().st_mtime_ns
    rc, out, err = env.bchook(["pth", "install"], tmp_path)
    assert (rc, out, err) == (0, f"already installed: {env.pth}\n", "")
    assert env.pth.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in env.site.iterdir() if p.name.startswith("bchook")) == \
        [_autoload.PTH_NAME]  # no temporary file left behind

    rc, out, err = env.bchook(["pth", "uninstall"], tmp_path)
    assert (rc, out) == (0, f"removed: {env.pth}\n") and not env.pth.exists()
    rc, out, err = env.bchook(["pth", "uninstall"], tmp_path)
    assert (rc, out) == (0, "not installed: nothing to remove\n")


def test_status_says_where_and_whether_active(installed, tmp_path):
    rc, out, err = installed.bchook(["pth", "status"], tmp_path)
    assert rc == 0
    assert f"installed: {installed.pth} (up to date)" in out
    assert "active: no (BCHOOK_PASSES is not set" in out
    rc, out, err = installed.bchook(["pth", "status"], tmp_path, BCHOOK_PASSES="identity")
    assert "active: yes" in out and "BCHOOK_PASSES=identity" in out
    rc, out, err = installed.bchook(["pth", "status"], tmp_path, BCHOOK_PASSES="identity",
                                    BCHOOK_DISABLE="1")
    assert "active: no (BCHOOK_DISABLE is set)" in out


def test_outdated_file_is_reported_and_replaced(installed, tmp_path):
    installed.pth.write_text("import os\n")
    rc, out, err = installed.bchook(["pth", "status"], tmp_path)
    assert "outdated" in out
    rc, out, err = installed.bchook(["pth", "install"], tmp_path)
    assert out == f"installed: {installed.pth}\n"
    assert installed.pth.read_text() == _autoload.pth_text()


def test_user_site_is_refused_in_a_virtual_environment(env, tmp_path):
    rc, out, err = env.bchook(["pth", "install", "--user"], tmp_path)
    assert (rc, out) == (2, "")
    assert err.startswith("bchook: error: ") and "--user" in err and err.count("\n") == 1
    assert not env.pth.exists()


def test_nothing_happens_without_bchook_passes(installed, tmp_path):
    probe_project(tmp_path)
    assert installed.run(["probe.py"], tmp_path) == (0, "False False 0\n", "")
    rc, out, err = installed.run(["-X", "importtime", "-c", "pass"], tmp_path)
    assert rc == 0 and "bchook" not in err


def test_processes_with_bchook_passes_are_rewritten_once(installed, tmp_path):
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


def test_child_processes_of_the_runner_are_rewritten(installed, tmp_path):
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
import dis, multiprocessing as mp
import lib

def nop_share(func):
    ops = [i.opname for i in dis.get_instructions(func)]
    return ops.count("NOP") / len(ops)

def report(_):
    # runs in the child: its copy of this script and its imports
    return (nop_share(report) > 0.3, type(lib.__loader__).__name__)

if __name__ == "__main__":
    with mp.get_context("spawn").Pool(1) as pool:
        print(pool.map(report, [0]), report(0))
"""


def test_multiprocessing_spawn_children_are_rewritten(installed, tmp_path):
    write(tmp_path / "lib.py", "x = 1\n")
    write(tmp_path / "spawner.py", SPAWN)
    rc, out, err = installed.bchook(["-p", "identity", "-o", "identity.pad=1", "spawner.py"],
                                    tmp_path)
    assert (rc, err) == (0, "")
    assert out == "[(True, 'BchookLoader')] (True, 'BchookLoader')\n"
    rc, out, err = installed.run(["spawner.py"], tmp_path)
    assert out == "[(False, 'SourceFileLoader')] (False, 'SourceFileLoader')\n", err


def test_a_leftover_pth_without_bchook_never_breaks_start_up(tmp_path_factory, tmp_path):
    bare = Venv(tmp_path_factory.mktemp("bare") / "env", see_bchook=False)
    bare.pth.write_text(_autoload.pth_text())
    write(tmp_path / "hello.py", "print('hello')\n")
    assert bare.run(["hello.py"], tmp_path) == (0, "hello\n", "")
    rc, out, err = bare.run(["hello.py"], tmp_path, BCHOOK_PASSES="identity")
    assert (rc, out) == (0, "hello\n")
    assert err.startswith("bchook: autoload failed") and err.count("\n") == 1


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
    assert path.name == _autoload.PTH_NAME and user_base in path.parents
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
def test_main_script_is_rewritten_under_the_autoload(installed, tmp_path, args, status):
    write(tmp_path / "lib.py", "def fail():\n    raise ValueError('from lib')\n")
    write(tmp_path / "main.py", MAIN_PROGRAM)
    plain = installed.run(["main.py", *args], tmp_path)
    rc, out, err = installed.run(["main.py", *args], tmp_path, BCHOOK_PASSES="identity",
                                 BCHOOK_OPTIONS="identity.pad=1")
    assert plain[0] == rc == status
    assert err == plain[2]  # the same traceback, no bchook frame
    assert plain[1].startswith("False SourceFileLoader ['main.py'")
    assert out == plain[1].replace("False SourceFileLoader", "True BchookLoader")


def test_installed_commands_target_the_current_folder(monkeypatch, tmp_path):
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
