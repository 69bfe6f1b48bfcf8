"""``bchook cache info`` and ``bchook cache clear``: what they find (next to the sources,
under ``sys.pycache_prefix``, in the user cache folder), what they print per settings key,
what clear removes and leaves, and their usage errors.

The files are made by real runs of ``bchook`` in subprocesses; the commands run in this
process (``cli.main``) unless the environment they see matters.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from bchook.frontends import cli as _cli
from bchook.hook import cache as _cache

XDG_ONLY = pytest.mark.skipif(os.name == "nt" or sys.platform == "darwin",
                              reason="the user cache folder follows XDG_CACHE_HOME on Linux "
                                     "and BSDs")


@pytest.fixture
def project(tmp_path, write_tree):
    """``app.py`` importing ``pkg.helper``, and ``other/`` importing ``far``."""
    return write_tree(tmp_path / "project", {
        "app.py": "import pkg.helper\nprint(pkg.helper.twice(21))\n",
        "pkg/__init__.py": "",
        "pkg/helper.py": "def twice(x):\n    return 2 * x\n",
        "other/main.py": "import far\nprint(far.X)\n",
        "other/far.py": "X = 'far'\n",
    })


@pytest.fixture
def bchook_run(run_python, project, tmp_path):
    """``bchook_run(*args, where=project, **env)``: the runner, Python writing bytecode and
    the user cache folder in ``tmp_path/xdg`` unless ``env`` says otherwise."""

    def run(*args, where=None, **env):
        environ = {"PYTHONDONTWRITEBYTECODE": None, "XDG_CACHE_HOME": tmp_path / "xdg"}
        environ.update(env)
        rc, out, err = run_python(["-m", "bchook", *args], cwd=where or project, env=environ)
        assert rc == 0, err
        return out

    return run


def cache_command(capsys, monkeypatch, *args, xdg=None):
    """``(status, stdout, stderr)`` of ``bchook cache ARGS`` in this process."""
    if xdg is not None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    capsys.readouterr()
    status = _cli.main(["cache", *args])
    out, err = capsys.readouterr()
    return status, out, err


def ours(folder) -> list[str]:
    """The bchook cache files anywhere under ``folder``, relative to it."""
    return sorted(os.path.relpath(os.path.join(d, n), folder)
                  for d, _, names in os.walk(folder) for n in names if ".bchook-" in n)


# -- info ----------------------------------------------------------------------------------

def test_info_of_a_folder_without_cache(capsys, monkeypatch, project, tmp_path):
    status, out, err = cache_command(capsys, monkeypatch, "info", str(project),
                                     xdg=tmp_path / "xdg")
    assert (status, err) == (0, "")
    assert out.splitlines()[:3] == [
        f"bchook's cache of the sources under {project}:",
        "  in __pycache__ folders next to the sources: 0 files, 0 B",
        f"  in the user cache folder, in {tmp_path / 'xdg' / 'bchook'}{project}: 0 files, 0 B",
    ]
    assert "by settings key" not in out


def test_info_counts_files_per_settings_key_and_says_what_made_them(
        capsys, monkeypatch, project, bchook_run, tmp_path):
    bchook_run("-p", "constfold", "app.py")
    bchook_run("-p", "identity", "-o", "identity.pad=1", "app.py")
    status, out, err = cache_command(capsys, monkeypatch, "info", str(project), "-v",
                                     xdg=tmp_path / "xdg")
    assert (status, err) == (0, "")
    files = ours(project)
    assert len(files) == 4  # pkg/__init__ and pkg/helper, under two keys
    assert "  in __pycache__ folders next to the sources: 4 files, " in out
    rows = {line.split()[0]: line for line in out.splitlines()[5:] if line.startswith("  ")}
    keys = {name.rsplit(".bchook-", 1)[1][:-4] for name in files}
    assert set(rows) == keys | {"key", "total"}
    made_by = sorted(rows[k].split("  ")[-1].strip() for k in keys)
    assert [m.split(";")[0] for m in made_by] == ["constfold", "identity(pad=True)"]
    for key in keys:
        assert f" {sys.implementation.cache_tag} " in rows[key]
        assert rows[key].split()[2] == "2"  # files
    assert rows["total"].split()[1] == "4"
    listed = sorted(line for line in out.splitlines() if line.startswith(str(project)))
    assert listed == [str(project / f) for f in files]  # -v


def test_info_of_a_path_counts_only_the_sources_under_it(
        capsys, monkeypatch, project, bchook_run, tmp_path):
    bchook_run("-p", "constfold", "app.py")
    bchook_run("-p", "constfold", "main.py", where=project / "other")
    everything = cache_command(capsys, monkeypatch, "info", str(project),
                               xdg=tmp_path / "xdg")[1]
    assert "next to the sources: 3 files" in everything
    monkeypatch.chdir(project / "other")  # the default: the current folder
    here = cache_command(capsys, monkeypatch, "info", xdg=tmp_path / "xdg")[1]
    assert here.startswith(f"bchook's cache of the sources under {project / 'other'}:\n")
    assert "next to the sources: 1 file," in here


def test_info_finds_the_files_under_a_pycache_prefix(
        capsys, monkeypatch, project, bchook_run, tmp_path):
    prefix = tmp_path / "prefix"
    bchook_run("-p", "constfold", "app.py", PYTHONPYCACHEPREFIX=prefix)
    assert ours(project) == [] and len(ours(prefix)) == 2
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    out = cache_command(capsys, monkeypatch, "info", str(project), xdg=tmp_path / "xdg")[1]
    assert f"  under sys.pycache_prefix, in {prefix}{project}: 2 files, " in out


@XDG_ONLY
def test_info_finds_the_files_written_when_python_writes_no_bytecode(
        run_python, project, bchook_run, tmp_path):
    bchook_run("-p", "constfold", "app.py", PYTHONDONTWRITEBYTECODE="1")
    assert ours(project) == [] and len(ours(tmp_path / "xdg" / "bchook")) == 2
    rc, out, err = run_python(["-m", "bchook", "cache", "info"], cwd=project, env={
        "PYTHONDONTWRITEBYTECODE": "1", "XDG_CACHE_HOME": tmp_path / "xdg"})
    assert (rc, err) == (0, "")
    assert f"in the user cache folder, in {tmp_path / 'xdg' / 'bchook'}{project}: 2 files, " \
        in out
    assert "Python writes no bytecode here (-B or PYTHONDONTWRITEBYTECODE): bchook writes " \
           "new files to the user cache folder\n" in out


# -- clear ---------------------------------------------------------------------------------

@XDG_ONLY
def test_clear_removes_every_place_and_says_what(capsys, monkeypatch, project, bchook_run,
                                                 tmp_path):
    prefix = tmp_path / "prefix"
    bchook_run("-p", "constfold", "app.py")  # next to the sources: 2 files
    bchook_run("-p", "goto", "app.py", PYTHONPYCACHEPREFIX=prefix)  # 2 under the prefix
    bchook_run("-p", "identity", "app.py", PYTHONDONTWRITEBYTECODE="1")  # 2 in the user's
    python_pyc = importlib.util.cache_from_source(str(project / "pkg" / "helper.py"))
    with open(python_pyc, "wb") as f:  # Python's own, which must stay
        f.write(b"plain pyc")
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    status, out, err = cache_command(capsys, monkeypatch, "clear", str(project),
                                     xdg=tmp_path / "xdg")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"removed 6 files (") and lines[0].endswith(
        f") of bchook's cache of the sources under {project}:")
    assert lines[1].startswith("  in __pycache__ folders next to the sources: 2 files, ")
    assert lines[2].startswith(f"  under sys.pycache_prefix, in {prefix}{project}: 2 files, ")
    assert lines[3].startswith("  in the user cache folder, in ")
    assert lines[4] == "by settings key:"
    assert [ours(p) for p in (project, prefix, tmp_path / "xdg")] == [[], [], []]
    assert os.path.exists(python_pyc)  # and so the __pycache__ folder that holds it
    assert not os.path.exists(tmp_path / "xdg" / "bchook" / str(project).lstrip(os.sep))
    status, out, err = cache_command(capsys, monkeypatch, "clear", str(project),
                                     xdg=tmp_path / "xdg")
    assert (status, out, err) == (
        0, f"nothing to remove: no bchook cache files of the sources under {project}\n", "")


@XDG_ONLY
def test_a_folder_inside_the_user_cache_folder_is_cleared_whole(
        capsys, monkeypatch, project, bchook_run, tmp_path):
    bchook_run("-p", "constfold", "app.py", PYTHONDONTWRITEBYTECODE="1")
    bchook_run("-p", "constfold", "main.py", where=project / "other", PYTHONDONTWRITEBYTECODE="1")
    root = tmp_path / "xdg" / "bchook"
    assert len(ours(root)) == 3
    status, out, err = cache_command(capsys, monkeypatch, "clear", str(root),
                                     xdg=tmp_path / "xdg")
    assert (status, err) == (0, "") and out.startswith("removed 3 files (")
    assert ours(root) == []


def test_clear_removes_emptied_pycache_folders_only(capsys, monkeypatch, project, bchook_run,
                                                    tmp_path):
    bchook_run("-p", "constfold", "app.py")
    folder = project / "pkg" / "__pycache__"
    assert len(os.listdir(folder)) == 2
    (project / "notes").mkdir()
    cache_command(capsys, monkeypatch, "clear", str(project), xdg=tmp_path / "xdg")
    assert not folder.exists()
    assert (project / "notes").is_dir()  # an empty folder that is not a cache's stays


def test_clear_removes_temporary_and_unreadable_files_of_our_names(
        capsys, monkeypatch, project, tmp_path):
    folder = project / "pkg" / "__pycache__"
    folder.mkdir()
    name = os.path.basename(_cache.cache_file(str(project / "pkg" / "helper.py"), b"k" * 16))
    (folder / name).write_bytes(b"damaged")
    (folder / f"{name}.4242").write_bytes(b"half written")
    (folder / "helper.bchook-notours.pyc").write_bytes(b"not a name bchook gives")
    status, out, err = cache_command(capsys, monkeypatch, "clear", str(project), "-v",
                                     xdg=tmp_path / "xdg")
    assert status == 0 and out.startswith("removed 2 files (")
    assert "unknown (another Python's, or damaged)" in out
    assert "a temporary file left by a process that stopped" in out
    assert os.listdir(folder) == ["helper.bchook-notours.pyc"]


def test_clear_that_cannot_remove_a_file_says_so_and_exits_1(
        capsys, monkeypatch, project, bchook_run, tmp_path):
    bchook_run("-p", "constfold", "app.py")
    real_unlink = os.unlink

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".pyc") and "helper" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", refuse)
    status, out, err = cache_command(capsys, monkeypatch, "clear", str(project),
                                     xdg=tmp_path / "xdg")
    assert status == 1
    assert out.startswith("removed 1 file (")
    assert err.startswith("bchook: error: could not remove ") and err.endswith(
        ": Permission denied\n") and err.count("\n") == 1


# -- usage errors --------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["cache"], "the following arguments are required: {info,clear}"),
    (["cache", "show"], "argument {info,clear}: invalid choice: 'show'"),
    (["cache", "info", "no/such/folder"], "cache info: no such folder: no/such/folder"),
    (["cache", "clear", "app.py"], "cache clear: app.py is not a folder"),
    (["cache", "info", ".", "extra"], "unrecognized arguments: extra"),
])
def test_usage_errors_are_one_line_and_exit_2(run_python, project, args, message):
    rc, out, err = run_python(["-m", "bchook", *args], cwd=project)
    assert (rc, out) == (2, "")
    assert err.startswith(f"bchook: error: {message}") and err.count("\n") == 1, err
