"""Security: what bchook reads and writes can be trusted no more than it should be.

- The cache never loads a file whose recorded key does not match: a file's name proves
  nothing (another configuration's file, another module's, Python's own pyc, garbage put
  under our name are all refused and replaced).
- Writes never go through a planted symbolic link (at the cache file, at its temporary
  file, at the ``.pth`` file or its temporary file).
- Cache files get exactly the permissions Python gives its own pycs, whatever the umask and
  the source's mode.
- ``bchook pth install`` writes only into a site-packages folder ``site`` reads, is
  idempotent also when run many times at once, and the ``.pth`` line never raises at
  start-up, even when the bchook it points to is broken or half uninstalled.

(test_pth.py covers the install/uninstall/status commands and the line with bchook absent;
test_cache.py the cache's unit behaviour.)
"""

from __future__ import annotations

import importlib
import os
import site
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bchook import UsageError, install
from bchook.frontends import autoload as _autoload
from bchook.hook import cache as _cache
from bchook.passes.identity import IdentityPass

TIMEOUT = 120
SOURCE = "def f():\n    return 'genuine'\n"


@pytest.fixture
def project(tmp_path, isolated_imports, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    for name, text in (("mod.py", SOURCE), ("other.py", "def f():\n    return 'other!'\n")):
        (tmp_path / name).write_text(text)
    sys.path.insert(0, str(tmp_path))
    return tmp_path


def load(name, passes):
    sys.modules.pop(name, None)
    with install(passes, include=[name]):
        return importlib.import_module(name)


def key_of(passes) -> bytes:
    with install(passes, include=["x"]) as hook:
        return hook.rewriter.digest()


def our_file(project: Path, module: str, passes) -> Path:
    return Path(_cache.cache_file(str(project / f"{module}.py"), key_of(passes)))


# -- the cache trusts contents, never names ---------------------------------------------------

def _foreign(project: Path, kind: str) -> bytes:
    if kind == "another configuration":
        load("mod", [IdentityPass(pad=1)])
        return our_file(project, "mod", [IdentityPass(pad=1)]).read_bytes()
    if kind == "another module":
        load("other", [IdentityPass()])
        return our_file(project, "other", [IdentityPass()]).read_bytes()
    if kind == "python's own pyc":
        import py_compile

        return Path(py_compile.compile(str(project / "mod.py"), doraise=True)).read_bytes()
    return b"\x00" * 200


@pytest.mark.parametrize("kind", ["another configuration", "another module",
                                  "python's own pyc", "garbage"])
def test_a_file_under_our_name_is_not_trusted(project, kind):
    planted = _foreign(project, kind)
    path = our_file(project, "mod", [IdentityPass()])
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(planted)
    module = load("mod", [IdentityPass()])
    assert module.f() == "genuine"
    assert not any(i.opname == "NOP" for i in __import__("dis").get_instructions(module.f))
    assert path.read_bytes() != planted  # replaced by the genuine article
    assert _cache.load(str(path), key_of([IdentityPass()]), os.stat(project / "mod.py"),
                       (project / "mod.py").read_bytes)[0] is not None


def test_the_key_in_the_file_must_be_the_key_asked_for(project):
    load("mod", [IdentityPass()])
    path = our_file(project, "mod", [IdentityPass()])
    key = key_of([IdentityPass()])
    st = os.stat(project / "mod.py")
    read = (project / "mod.py").read_bytes
    assert _cache.load(str(path), key, st, read)[0] is not None
    for flipped in range(16):  # any other key, even one bit off, is refused
        other = bytearray(key)
        other[flipped] ^= 1
        assert _cache.load(str(path), bytes(other), st, read)[0] is None


# -- no write through a planted symbolic link -------------------------------------------------

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt",
                                    reason="symbolic links")


@needs_symlinks
@pytest.mark.parametrize("where", ["cache file", "temporary file", "dangling temporary"])
def test_cache_writes_never_follow_a_planted_link(project, tmp_path_factory, where):
    victim = tmp_path_factory.mktemp("elsewhere") / "victim"
    victim.write_text("precious")
    path = our_file(project, "mod", [IdentityPass()])
    path.parent.mkdir(exist_ok=True)
    link = path if where == "cache file" else Path(f"{path}.{os.getpid()}")
    target = victim if where != "dangling temporary" else victim.with_name("created")
    link.symlink_to(target)
    assert load("mod", [IdentityPass()]).f() == "genuine"
    assert victim.read_text() == "precious"
    assert not victim.with_name("created").exists()
    assert path.is_file() and not path.is_symlink()
    assert not Path(f"{path}.{os.getpid()}").exists()  # the planted link is gone too


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """A site-packages folder of our own that ``site`` is said to read."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.setattr(sysconfig, "get_paths", lambda *a, **k: {"purelib": str(folder)})
    monkeypatch.setattr(site, "getsitepackages", lambda *a, **k: [str(folder)])
    monkeypatch.setattr(site, "ENABLE_USER_SITE", False)
    return folder


@needs_symlinks
@pytest.mark.parametrize("name", list(_autoload.autoload_files()))
@pytest.mark.parametrize("where", ["file", "temporary file"])
def test_pth_install_never_follows_a_planted_link(fake_site, tmp_path, where, name):
    # every file the autoload of this interpreter consists of (3.15+: a .start and a module)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = fake_site / name
    link = planted if where == "file" else Path(f"{planted}.{os.getpid()}.tmp")
    link.symlink_to(victim)
    files = _autoload.autoload_files()
    main = fake_site / list(files)[-1]
    path, changed = _autoload.install_pth()
    assert (path, changed) == (str(main), True)
    assert victim.read_text() == "precious"
    for file_name, text in files.items():
        written = fake_site / file_name
        assert written.is_file() and not written.is_symlink()
        assert written.read_text() == text
    assert sorted(p.name for p in fake_site.iterdir()) == sorted(files)
    assert _autoload.uninstall_pth() == [str(main)]
    assert victim.read_text() == "precious"


@needs_symlinks
def test_pth_uninstall_removes_a_link_not_its_target(fake_site, tmp_path):
    target = tmp_path / "elsewhere.pth"
    target.write_text(_autoload.pth_text())
    (fake_site / _autoload.PTH_NAME).symlink_to(target)
    assert _autoload.uninstall_pth() == [str(fake_site / _autoload.PTH_NAME)]
    assert target.read_text() == _autoload.pth_text()


@pytest.mark.parametrize("purelib", ["not-site", "site-packages/../elsewhere"])
def test_pth_install_refuses_folders_site_does_not_read(fake_site, tmp_path, monkeypatch,
                                                       purelib):
    elsewhere = tmp_path / purelib
    monkeypatch.setattr(sysconfig, "get_paths", lambda *a, **k: {"purelib": str(elsewhere)})
    with pytest.raises(UsageError, match="not a site-packages folder"):
        _autoload.install_pth()
    with pytest.raises(UsageError, match="user site-packages is disabled"):
        _autoload.install_pth(user=True)
    assert not elsewhere.exists() and list(fake_site.iterdir()) == []


def test_many_installs_at_once_leave_one_whole_file(tmp_path):
    """``bchook pth install`` run by 8 processes at once, in a throwaway environment."""
    import venv

    root = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    python = root / "bin" / "python"
    purelib = subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip()
    parent = sysconfig.get_paths()["purelib"]
    Path(purelib, "00-parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCHOOK_", "PYTHON"))}
    procs = [subprocess.Popen([str(python), "-m", "bchook", "pth", "install"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [(p.wait(TIMEOUT), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(rc == 0 and err == "" for rc, _, err in results), results
    files = _autoload.autoload_files()
    for name, text in files.items():
        assert Path(purelib, name).read_text() == text
    assert sorted(n for n in os.listdir(purelib) if "bchook" in n) == sorted(files)


# -- permissions ------------------------------------------------------------------------------

PERMISSIONS = """\
import importlib, os, stat, sys
sys.dont_write_bytecode = False
sys.path.insert(0, os.getcwd())
import mod                                  # Python's own pyc
import bchook
sys.modules.pop("mod")
with bchook.install("identity", include=["mod"]):
    import mod                              # bchook's
folder = "__pycache__"
modes = {}
for name in os.listdir(folder):
    kind = "bchook" if ".bchook-" in name else "python"
    modes[kind] = oct(stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode))
print(modes["python"], modes["bchook"])
"""


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize("umask, source_mode", [
    (0o022, 0o644), (0o022, 0o600), (0o077, 0o644), (0o002, 0o664), (0o022, 0o444),
    (0o000, 0o755),
])
def test_cache_files_get_the_permissions_of_pythons_own(tmp_path, umask, source_mode):
    (tmp_path / "mod.py").write_text(SOURCE)
    (tmp_path / "main.py").write_text(PERMISSIONS)
    os.chmod(tmp_path / "mod.py", source_mode)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=TIMEOUT,
                          preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stderr
    python_mode, bchook_mode = proc.stdout.split()
    assert bchook_mode == python_mode
    assert int(bchook_mode, 8) == ((source_mode | 0o200) & 0o666) & ~umask


# -- the .pth line at start-up ----------------------------------------------------------------

BROKEN = {
    "raises on import": {"__init__.py": "raise RuntimeError('half uninstalled')\n"},
    "syntax error": {"__init__.py": "def (\n"},
    "no _autoload module": {"__init__.py": ""},
    "start() raises": {"__init__.py": "",
                       "frontends/__init__.py": "",
                       "frontends/autoload.py": "def start():\n    raise OSError('disk gone')\n"},
    "empty folder": {},
}


@pytest.mark.parametrize("state", BROKEN, ids=list(BROKEN))
def test_pth_line_never_raises_with_a_broken_bchook(tmp_path, state):
    fake = tmp_path / "fake-site"
    (fake / "bchook").mkdir(parents=True)
    for name, text in BROKEN[state].items():
        (fake / "bchook" / name).parent.mkdir(exist_ok=True)
        (fake / "bchook" / name).write_text(text)
    line = [ln for ln in _autoload.pth_text().splitlines() if ln.startswith("import ")][0]
    code = (f"import sys; sys.path.insert(0, {str(fake)!r}); exec({line!r}); "
            "print('still running', 'bchook' in sys.modules and "
            "hasattr(sys.modules['bchook'], 'install'))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCHOOK_", "PYTHON"))}
    for passes, warned in ((None, False), ("identity", True)):
        run_env = dict(env, **({"BCHOOK_PASSES": passes} if passes else {}))
        # -I -S: neither site-packages nor the environment's PYTHON* settings: only the fake
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", code], env=run_env,
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert (proc.returncode, proc.stdout) == (0, "still running False\n"), proc.stderr
        if warned and state in ("no _autoload module", "empty folder"):
            # bchook's module is gone: the file to delete and how to avoid it (issue 17, #15)
            assert "left over from an uninstalled bchook" in proc.stderr
            assert proc.stderr.count("\n") == 1
        elif warned:
            assert proc.stderr.startswith("bchook: autoload failed, running without the "
                                          "hook: ") and proc.stderr.count("\n") == 1
        else:
            assert proc.stderr == ""


def test_pth_line_ignores_an_empty_or_disabled_setting(tmp_path):
    line = [ln for ln in _autoload.pth_text().splitlines() if ln.startswith("import ")][0]
    code = f"exec({line!r}); import sys; print('bchook' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    for extra in ({}, {"BCHOOK_PASSES": ""}, {"BCHOOK_PASSES": "identity",
                                              "BCHOOK_DISABLE": "yes"},
                  {"BCHOOK_PASSES": "identity", "BCHOOK_DISABLE": " ON "}):
        proc = subprocess.run([sys.executable, "-c", code], env=dict(env, **extra),
                              capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "False\n", ""), extra
