"""The private pyc cache: file names, validation, atomic writes, and what the hook does with it."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import textwrap
import types
from pathlib import Path

import pytest

from bchook.hook import cache as _cache
from bchook.hook.loader import Rewriter
from bchook.hook.install import install
from bchook.hook.targets import Targets
from bchook.passes.identity import IdentityPass

DIGEST = _cache.key_digest(["test", "key"])


@pytest.fixture
def writable(monkeypatch):
    """The suite may run with PYTHONDONTWRITEBYTECODE set: these tests want writes."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


@pytest.fixture
def source(tmp_path, writable):
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    return 'before'\n")
    return path


def _code(path, text="def f():\n    return 'before'\n"):
    return compile(text, str(path), "exec")


def _store(source, digest=DIGEST):
    pyc = _cache.cache_file(str(source), digest)
    data = source.read_bytes()
    assert _cache.store(pyc, digest, _code(source), os.stat(source), data)
    return pyc


def _load(source, pyc, digest=DIGEST):
    return _cache.load(pyc, digest, os.stat(source), source.read_bytes)


# -- file names ------------------------------------------------------------------------

def test_cache_file_sits_next_to_the_plain_pyc_under_its_own_name(source):
    plain = importlib.util.cache_from_source(str(source))
    ours = _cache.cache_file(str(source), DIGEST)
    assert os.path.dirname(ours) == os.path.dirname(plain)
    assert ours != plain
    name = os.path.basename(ours)
    assert name.startswith(f"mod.{sys.implementation.cache_tag}")
    assert ".bchook-" in name and name.endswith(".pyc")


def test_cache_file_name_depends_on_the_key(source):
    other = _cache.key_digest(["test", "other key"])
    assert _cache.cache_file(str(source), DIGEST) != _cache.cache_file(str(source), other)


def test_cache_file_honours_pycache_prefix(source, tmp_path, monkeypatch):
    prefix = tmp_path / "prefix"
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    ours = _cache.cache_file(str(source), DIGEST)
    assert ours.startswith(str(prefix) + os.sep)
    assert "__pycache__" not in ours


def test_key_digest_depends_on_order_and_boundaries():
    assert _cache.key_digest(["a", "b"]) != _cache.key_digest(["b", "a"])
    assert _cache.key_digest(["ab", "c"]) != _cache.key_digest(["a", "bc"])
    assert len(_cache.key_digest(["a"])) == 16


# -- round trip and validation ---------------------------------------------------------

def test_store_then_load_round_trips_without_reading_the_source(source, writable):
    pyc = _store(source)

    def no_read():
        raise AssertionError("the source should not be read when its stat matches")

    code, read = _cache.load(pyc, DIGEST, os.stat(source), no_read)
    assert type(code) is types.CodeType
    assert read is None
    namespace = {}
    exec(code, namespace)
    assert namespace["f"]() == "before"


def test_no_temporary_file_is_left_behind(source, writable):
    pyc = _store(source)
    assert os.listdir(os.path.dirname(pyc)) == [os.path.basename(pyc)]


def test_file_mode_is_that_of_pythons_own_pycs(source, writable):
    source.chmod(0o640)
    pyc = _store(source)
    umask = os.umask(0)
    os.umask(umask)
    expected = (0o640 | 0o200) & 0o666 & ~umask
    assert stat.S_IMODE(os.stat(pyc).st_mode) == expected


def test_touched_source_with_same_content_still_hits_and_refreshes(source, writable):
    pyc = _store(source)
    st = os.stat(source)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    code, read = _load(source, pyc)
    assert code is not None
    assert read == source.read_bytes()  # it had to look at the content to decide
    # ... and recorded the new stat, so the next load is the fast one.
    code, read = _cache.load(pyc, DIGEST, os.stat(source), lambda: 1 / 0)
    assert code is not None and read is None


def test_changed_source_is_a_miss_and_returns_the_new_source(source, writable):
    pyc = _store(source)
    source.write_text("def f():\n    return 'changed, longer'\n")
    code, read = _load(source, pyc)
    assert code is None
    assert read == source.read_bytes()


def test_other_key_is_a_miss(source, writable):
    pyc = _store(source)
    assert _load(source, pyc, _cache.key_digest(["x"])) == (None, None)


@pytest.mark.parametrize("damage", ["truncate_header", "truncate_payload", "flip_payload_byte",
                                    "empty", "foreign", "plain_pyc", "bad_magic"])
def test_damaged_file_is_a_miss_not_an_error(source, writable, damage):
    pyc = _store(source)
    with open(pyc, "rb") as f:
        data = f.read()
    if damage == "truncate_header":
        data = data[:20]
    elif damage == "truncate_payload":
        data = data[:-3]
    elif damage == "flip_payload_byte":
        data = data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:]
    elif damage == "empty":
        data = b""
    elif damage == "foreign":
        data = b"this is not a pyc at all" * 10
    elif damage == "plain_pyc":
        import py_compile
        plain = py_compile.compile(str(source), cfile=str(source) + "c", doraise=True)
        with open(plain, "rb") as f:
            data = f.read()
    elif damage == "bad_magic":
        data = b"\0\0\0\0" + data[4:]
    with open(pyc, "wb") as f:
        f.write(data)
    code, _ = _load(source, pyc)
    assert code is None


def test_payload_that_is_not_code_is_a_miss(source, writable):
    pyc = _cache.cache_file(str(source), DIGEST)
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    st = os.stat(source)
    data = source.read_bytes()
    _cache.store(pyc, DIGEST, _code(source), st, data)
    # Rewrite with a valid header but a marshalled int: valid framing, wrong content.
    import marshal
    import zlib
    payload = marshal.dumps(42)
    header = _cache._HEADER.pack(importlib.util.MAGIC_NUMBER, b"bchk", DIGEST, st.st_mtime_ns,
                                 st.st_size, importlib.util.source_hash(data), len(payload),
                                 zlib.crc32(payload), 0)
    with open(pyc, "wb") as f:
        f.write(header + payload)
    assert _load(source, pyc)[0] is None


def test_missing_file_is_a_miss(source):
    assert _load(source, str(source) + ".nothing") == (None, None)


# -- what is never written -------------------------------------------------------------

@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """Python writes no bytecode; the user cache folder is ``tmp_path/xdg/bchook``."""
    if os.name == "nt" or sys.platform == "darwin":
        pytest.skip("the user cache folder follows XDG_CACHE_HOME on Linux and BSDs only")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    return tmp_path / "xdg" / "bchook"


def test_without_bytecode_writes_the_cache_goes_to_the_user_cache_folder(source, user_cache):
    (near, far), write_to = _cache.cache_files(str(source), DIGEST)
    assert write_to == far
    assert os.path.dirname(near) == os.path.dirname(importlib.util.cache_from_source(
        str(source)))
    assert far == str(user_cache) + str(source.parent) + os.sep + os.path.basename(near)
    assert _cache.cache_file(str(source), DIGEST) == far  # where a miss is written
    assert _cache.store(far, DIGEST, _code(source), os.stat(source), source.read_bytes())
    assert not (source.parent / "__pycache__").exists()
    assert stat.S_IMODE(os.stat(user_cache).st_mode) == 0o700  # made private
    assert _load(source, far)[0] is not None


def test_a_user_cache_folder_of_someone_else_is_never_used(source, user_cache):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("giving a folder to another user takes root")
    user_cache.mkdir(parents=True)
    os.chown(user_cache, os.geteuid() + 4242, -1)
    places, write_to = _cache.cache_files(str(source), DIGEST)
    assert len(places) == 1 and "__pycache__" in places[0] and write_to is None  # only read


def test_a_user_cache_folder_others_can_write_is_never_used(source, user_cache):
    if not hasattr(os, "geteuid"):
        pytest.skip("POSIX permissions")
    user_cache.mkdir(parents=True)
    os.chmod(user_cache, 0o777)
    places, write_to = _cache.cache_files(str(source), DIGEST)
    assert len(places) == 1 and "__pycache__" in places[0] and write_to is None


def test_without_a_home_nothing_is_written(source, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(_cache, "user_cache_root", lambda: None)
    places, write_to = _cache.cache_files(str(source), DIGEST)
    assert len(places) == 1 and write_to is None


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch):
    if os.name == "nt" or sys.platform == "darwin":
        pytest.skip("XDG_CACHE_HOME is read on Linux and BSDs only")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", "/home/someone")
    assert _cache.user_cache_root() == "/home/someone/.cache/bchook"
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/me")
    assert _cache.user_cache_root() == "/var/cache/me/bchook"


def test_unwritable_cache_folder_is_swallowed(source, writable):
    (source.parent / "__pycache__").write_text("a file where the folder should be")
    pyc = _cache.cache_file(str(source), DIGEST)
    assert not _cache.store(pyc, DIGEST, _code(source), os.stat(source), source.read_bytes())


def test_failing_write_removes_its_temporary_file(source, writable, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "read-only file system")

    monkeypatch.setattr(_cache.os, "replace", refuse)
    pyc = _cache.cache_file(str(source), DIGEST)
    assert not _cache.store(pyc, DIGEST, _code(source), os.stat(source), source.read_bytes())
    assert os.listdir(os.path.dirname(pyc)) == []


def test_stale_temporary_file_of_our_pid_is_replaced(source, writable):
    pyc = _cache.cache_file(str(source), DIGEST)
    os.makedirs(os.path.dirname(pyc))
    with open(f"{pyc}.{os.getpid()}", "wb") as f:
        f.write(b"left over by a crash")
    assert _cache.store(pyc, DIGEST, _code(source), os.stat(source), source.read_bytes())
    assert _load(source, pyc)[0] is not None


def test_unmarshallable_code_is_not_cached(source, writable):
    code = _code(source).replace(co_consts=(object(),))
    pyc = _cache.cache_file(str(source), DIGEST)
    assert not _cache.store(pyc, DIGEST, code, os.stat(source), source.read_bytes())


# -- pruning ---------------------------------------------------------------------------

def _key(n):
    return _cache.key_digest(["prune", str(n)])


def _age(path, seconds_ago):
    when = os.stat(path).st_mtime_ns - seconds_ago * 10**9
    os.utime(path, ns=(when, when))


def test_writing_removes_other_keys_files_made_from_another_source(source):
    old = _store(source, _key(1))
    source.write_text("def f():\n    return 'edited'\n")
    new = _store(source, _key(2))
    assert not os.path.exists(old) and os.path.exists(new)


def test_other_keys_files_of_the_same_source_are_kept_up_to_keep_keys(source):
    written = []
    for n in range(_cache.KEEP_KEYS + 2):
        for earlier in written:  # the earlier a file was written, the older it is
            if os.path.exists(earlier):
                _age(earlier, 10)
        written.append(_store(source, _key(n)))
        assert [p for p in written if os.path.exists(p)] == written[-_cache.KEEP_KEYS:]


def test_a_touched_source_keeps_every_keys_file(source):
    written = [_store(source, _key(n)) for n in range(_cache.KEEP_KEYS)]
    _age(source, 5)  # a checkout or a touch: same content, new stamp
    code, read = _cache.load(written[0], _key(0), os.stat(source), source.read_bytes)
    assert code is not None and read is not None  # a hit that refreshed the file's stamp
    assert all(os.path.exists(p) for p in written)


def test_pruning_leaves_other_modules_levels_and_foreign_files_alone(source, tmp_path):
    other = tmp_path / "other.py"
    other.write_text("X = 1\n")
    others = _store(other, _key(1))
    mine = _store(source, _key(1))
    folder = os.path.dirname(mine)
    tag = sys.implementation.cache_tag
    optimized = mine.replace(f".{tag}.bchook-", f".{tag}.opt-1.bchook-")
    damaged = os.path.join(folder, os.path.basename(_cache.cache_file(str(source), _key(3))))
    temporary = mine + ".12345"
    for path, data in ((optimized, Path(mine).read_bytes()), (damaged, b"garbage"),
                       (temporary, b"half a file")):
        with open(path, "wb") as f:
            f.write(data)
    source.write_text("def f():\n    return 'edited'\n")
    _store(source, _key(2))
    assert not os.path.exists(mine)
    assert all(os.path.exists(p) for p in (others, optimized, damaged, temporary))


# -- the key ---------------------------------------------------------------------------

def _digest(*passes, composer=None):
    return Rewriter(passes, Targets(include=["*"])).digest(composer)


def test_key_covers_pass_options_and_order():
    from bchook.pipeline.api import Pass

    class Other(Pass):
        name = "other"
        version = "3"

    assert _digest(IdentityPass()) == _digest(IdentityPass())
    assert _digest(IdentityPass()) != _digest(IdentityPass(pad=True))
    assert _digest(IdentityPass(), Other()) != _digest(Other(), IdentityPass())
    assert _digest(IdentityPass()) != _digest()


def test_key_covers_pass_version():
    class V1(IdentityPass):
        version = "1"

    class V2(IdentityPass):
        version = "2"

    assert _digest(V1()) != _digest(V2())


def test_key_covers_composed_loader():
    from bchook.hook.compose import SourceToCode

    class OtherLoader(importlib.machinery.SourceFileLoader):
        def source_to_code(self, data, path, fullname=None, *, _optimize=-1):
            return super().source_to_code(data, path)

    composer = SourceToCode(OtherLoader("m", "m.py"))
    assert _digest(IdentityPass()) != _digest(IdentityPass(), composer=composer)


# -- through the hook ------------------------------------------------------------------

RECORDER = '''
import os
from bchook import Pass

class Recorder(Pass):
    """Replaces the constant 'before' by 'after' and logs each module it transforms."""
    name = "recorder"
    version = "1"
    option_types = {"word": str}

    def transform_code(self, code, ctx):
        if code.co_name == "<module>":
            with open(os.environ["RECORD"], "a") as f:
                f.write(ctx.module + "\\n")
        word = self.options.get("word", "after")
        return code.replace(co_consts=tuple(word if c == "before" else c
                                            for c in code.co_consts))
'''

PROGRAM = '''
import sys
import bchook.hook.install
from recorder import Recorder
word = sys.argv[1] if len(sys.argv) > 1 else "after"
bchook.hook.install.install([Recorder(word=word)], include=["app"], cache={cache})
import app.mod
print(app.mod.f())
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "recorder.py").write_text(RECORDER)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "mod.py").write_text("def f():\n    return 'before'\n")
    (tmp_path / "main.py").write_text(PROGRAM.format(cache=True))
    (tmp_path / "main_nocache.py").write_text(PROGRAM.format(cache=False))
    return tmp_path


def _run(run_python, project, *args, script="main.py", env=None, flags=()):
    record = project / "record.txt"
    if record.exists():
        record.unlink()
    environ = {"RECORD": record, "PYTHONDONTWRITEBYTECODE": None}
    environ.update(env or {})
    rc, out, err = run_python([*flags, script, *args], cwd=project, env=environ)
    assert rc == 0, err
    transformed = record.read_text().split() if record.exists() else []
    return out.strip(), transformed


def test_second_run_uses_the_cache(run_python, project):
    assert _run(run_python, project) == ("after", ["app", "app.mod"])
    assert _run(run_python, project) == ("after", [])


def test_changed_source_or_option_is_transformed_again(run_python, project):
    _run(run_python, project)
    (project / "app" / "mod.py").write_text("def f():\n    x = 'before'\n    return x + '!'\n")
    assert _run(run_python, project) == ("after!", ["app.mod"])
    assert _run(run_python, project, "other") == ("other!", ["app", "app.mod"])
    # Both configurations stay cached side by side.
    assert _run(run_python, project, "other") == ("other!", [])
    assert _run(run_python, project) == ("after!", [])


def test_plain_pyc_is_never_touched_and_plain_python_runs_plain_code(run_python, project):
    _run(run_python, project)
    cached = os.listdir(project / "app" / "__pycache__")
    assert cached and all(".bchook-" in name for name in cached)
    rc, out, err = run_python(["-c", "import app.mod; print(app.mod.f())"], cwd=project,
                              env={"PYTHONDONTWRITEBYTECODE": None})
    assert (rc, out.strip()) == (0, "before"), err
    # And the plain pyc Python just wrote does not disturb bchook's.
    assert _run(run_python, project) == ("after", [])


def test_cache_false_neither_reads_nor_writes(run_python, project):
    _run(run_python, project)
    assert _run(run_python, project, script="main_nocache.py") == ("after", ["app", "app.mod"])
    listing = os.listdir(project / "app" / "__pycache__")
    _run(run_python, project, script="main_nocache.py")
    assert os.listdir(project / "app" / "__pycache__") == listing


@pytest.mark.skipif(os.name == "nt" or sys.platform == "darwin",
                    reason="the user cache folder follows XDG_CACHE_HOME on Linux and BSDs")
@pytest.mark.parametrize("how", ["PYTHONDONTWRITEBYTECODE", "-B"])
def test_without_bytecode_writes_the_next_run_is_served_from_the_user_cache(
        run_python, project, tmp_path, how):
    xdg = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": xdg, "PYTHONDONTWRITEBYTECODE": "1" if how != "-B" else None}
    flags = ["-B"] if how == "-B" else []
    assert _run(run_python, project, env=env, flags=flags)[1] == ["app", "app.mod"]
    assert not (project / "app" / "__pycache__").exists()  # nothing next to the sources
    assert _run(run_python, project, env=env, flags=flags) == ("after", [])
    cached = sorted(os.path.relpath(os.path.join(d, n), xdg)
                    for d, _, names in os.walk(xdg) for n in names)
    folder = os.path.join("bchook", *(project / "app").parts[1:])
    assert [os.path.dirname(c) for c in cached] == [folder, folder], cached
    assert all(_cache.is_cache_name(os.path.basename(c)) for c in cached)


def test_pycache_prefix_is_honoured(run_python, project, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("prefix")
    record = project / "record.txt"
    for expected in (["app", "app.mod"], []):
        rc, out, err = run_python(["-X", f"pycache_prefix={prefix}", "main.py"], cwd=project,
                                  env={"RECORD": record, "PYTHONDONTWRITEBYTECODE": None})
        assert (rc, out.strip()) == (0, "after"), err
        assert (record.read_text().split() if record.exists() else []) == expected
        if record.exists():
            record.unlink()
    assert not (project / "app" / "__pycache__").exists()
    ours = [name for _, _, names in os.walk(prefix) for name in names if ".bchook-" in name]
    assert sorted(n.split(".")[0] for n in ours) == ["__init__", "mod"]


def test_read_only_cache_folder_still_imports(run_python, project):
    (project / "app" / "__pycache__").write_text("not a folder")
    assert _run(run_python, project) == ("after", ["app", "app.mod"])


def test_corrupt_cache_file_is_rebuilt(run_python, project):
    _run(run_python, project)
    folder = project / "app" / "__pycache__"
    for name in os.listdir(folder):
        (folder / name).write_bytes(b"garbage")
    assert _run(run_python, project) == ("after", ["app", "app.mod"])
    assert _run(run_python, project) == ("after", [])


def test_many_processes_importing_at_once_agree(run_python, project):
    import subprocess
    script = textwrap.dedent("""
        import sys
        import bchook.hook.install
        from recorder import Recorder
        bchook.hook.install.install([Recorder(word="after")], include=["app"])
        import app.mod
        assert app.mod.f() == "after", app.mod.f()
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["RECORD"] = str(project / "record.txt")
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=project, env=env,
                              stderr=subprocess.PIPE) for _ in range(6)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    folder = project / "app" / "__pycache__"
    assert all(".bchook-" in n and n.endswith(".pyc") for n in os.listdir(folder))
    assert _run(run_python, project) == ("after", [])


def test_cache_hit_in_process_keeps_co_filename_of_moved_tree(
        isolated_imports, project, tmp_path_factory, writable, monkeypatch):
    monkeypatch.setenv("RECORD", str(project / "record.txt"))
    sys.path.insert(0, str(project))
    from recorder import Recorder
    with install([Recorder()], include=["app"]):
        import app.mod
    del sys.modules["app"], sys.modules["app.mod"]
    moved = tmp_path_factory.mktemp("moved") / "app"
    os.rename(project / "app", moved)
    sys.path.insert(0, str(moved.parent))
    (project / "record.txt").unlink()
    with install([Recorder()], include=["app"]):
        import app.mod as again
    assert not (project / "record.txt").exists()  # served from the moved cache
    assert again.f.__code__.co_filename == str(moved / "mod.py")
    assert again.f() == "after"


def test_optimization_level_has_its_own_cache_file(run_python, project):
    (project / "app" / "mod.py").write_text("assert False, 'asserts on'\n"
                                            "def f():\n    return 'before'\n")
    rc, out, err = run_python(["-O", "main.py"], cwd=project,
                              env={"RECORD": project / "record.txt",
                                   "PYTHONDONTWRITEBYTECODE": None})
    assert (rc, out.strip()) == (0, "after"), err
    rc, out, err = run_python(["main.py"], cwd=project, env={"RECORD": project / "record.txt",
                                                              "PYTHONDONTWRITEBYTECODE": None})
    assert rc == 1 and "AssertionError: asserts on" in err
    names = os.listdir(project / "app" / "__pycache__")
    assert any(".opt-1.bchook-" in n and n.startswith("mod.") for n in names), names
