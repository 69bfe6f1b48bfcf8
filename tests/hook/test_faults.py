"""Faults: what goes wrong around the import hook never crashes the interpreter and never
serves a wrong cached result; it gives a clear error or a clean fallback (README,
"Correctness").

- the cache folder is read-only, or the disk fills up in the middle of a write: the module
  imports, rewritten, and no file (or temporary file) is left behind;
- cache files truncated, flipped bit by bit, or written by another bchook version or pass
  configuration: a miss, the module rewritten again and the file replaced;
- the source file changes while it is being imported: what runs is what was read, and the
  next import sees the new source;
- ``PYTHONDONTWRITEBYTECODE`` / ``-B``: nothing written, an existing cache still read;
- a pass plugin that raises, returns something that is not a code object (or not a
  module tree), returns code whose ``co_stacksize`` is too small, or breaks the stack in
  the IR: ``PassFailed`` naming the pass, module, code object and line; nothing cached.

(The unit tests of ``bchook.hook.cache`` in test_cache.py cover each kind of damage one by
one; these go through the hook and the command line.)
"""

from __future__ import annotations

import errno
import importlib
import marshal
import os
import sys
from pathlib import Path

import pytest

import bchook
from bchook import Pass, PassFailed, install
from bchook.hook import cache as _cache
from bchook.passes.identity import IdentityPass

SOURCE = "def f():\n    x = 6\n    return ('v1', x * 7)\n"


class Counting(Pass):
    """Identity that records each module it transforms (in ``Counting.seen``)."""

    name = "counting"
    version = "1"
    seen: list = []

    def transform_code(self, code, ctx):
        if code.co_name == "<module>":
            Counting.seen.append(ctx.module)
        return code


@pytest.fixture
def project(tmp_path, isolated_imports, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # whatever the environment says
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "mod.py").write_text(SOURCE)
    sys.path.insert(0, str(tmp_path))
    Counting.seen = []
    return tmp_path


def fresh_import(passes=None, **install_args):
    """Import ``app.mod`` anew under ``passes``; returns (f(), modules transformed)."""
    for name in ("app.mod", "app"):
        sys.modules.pop(name, None)
    before = len(Counting.seen)
    with install(passes or [Counting()], include=["app"], **install_args):
        module = importlib.import_module("app.mod")
    return module.f(), Counting.seen[before:]


def cache_files(project: Path) -> list[str]:
    folder = project / "app" / "__pycache__"
    return sorted(n for n in os.listdir(folder) if ".bchook-" in n) if folder.exists() else []


def mod_cache(project: Path) -> Path:
    names = [n for n in cache_files(project) if n.startswith("mod.")]
    assert len(names) == 1, names
    return project / "app" / "__pycache__" / names[0]


def assert_valid_cache(project: Path, value: str = "v1"):
    """The module's cache file is whole, and a fresh import is served from it."""
    data = mod_cache(project).read_bytes()
    header, start = _cache._parse(data)
    payload = data[start:]
    assert header[6] == len(payload) and header[7] == _cache.zlib.crc32(payload)
    assert fresh_import() == ((value, 42), [])


# -- a cache folder that cannot be written ----------------------------------------------------

def _refusing(real, error):
    """``real`` (os.open or os.makedirs) that fails with ``error`` on bchook's cache paths."""

    def fake(path, *args, **kwargs):
        if "__pycache__" in os.fspath(path):
            raise OSError(error, os.strerror(error), os.fspath(path))
        return real(path, *args, **kwargs)

    return fake


@pytest.mark.parametrize("error", [errno.EROFS, errno.EACCES, errno.ENOSPC, errno.EDQUOT])
def test_cache_folder_that_cannot_be_written(project, monkeypatch, error):
    monkeypatch.setattr(_cache.os, "open", _refusing(os.open, error))
    monkeypatch.setattr(_cache.os, "makedirs", _refusing(os.makedirs, error))
    assert fresh_import() == (("v1", 42), ["app", "app.mod"])
    assert fresh_import() == (("v1", 42), ["app", "app.mod"])  # rewritten each time, fine
    assert cache_files(project) == []
    monkeypatch.undo()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert fresh_import() == (("v1", 42), ["app", "app.mod"])
    assert_valid_cache(project)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions do not stop root")
def test_read_only_pycache_folder(project):
    folder = project / "app" / "__pycache__"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert fresh_import() == (("v1", 42), ["app", "app.mod"])
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


class _FullDisk:
    """A file whose writes stop half-way with ENOSPC, as on a full disk."""

    def __init__(self, fd, mode):
        self.file = open(fd, mode)

    def write(self, data):
        self.file.write(data[:len(data) // 2])
        self.file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def test_disk_full_in_the_middle_of_a_write(project, monkeypatch):
    monkeypatch.setattr(_cache, "open", _FullDisk, raising=False)
    assert fresh_import() == (("v1", 42), ["app", "app.mod"])
    assert os.listdir(project / "app" / "__pycache__") == []  # no torn file, no temporary
    monkeypatch.delattr(_cache, "open")
    assert fresh_import() == (("v1", 42), ["app", "app.mod"])
    assert_valid_cache(project)


def test_replace_failing_leaves_the_previous_cache_file_whole(project, monkeypatch):
    assert fresh_import()[1] == ["app", "app.mod"]
    old = mod_cache(project).read_bytes()
    (project / "app" / "mod.py").write_text(SOURCE.replace("v1", "v2"))

    def refuse(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_cache.os, "replace", refuse)
    assert fresh_import() == (("v2", 42), ["app.mod"])
    assert mod_cache(project).read_bytes() == old  # untouched: it still says v1 ...
    monkeypatch.undo()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert fresh_import() == (("v2", 42), ["app.mod"])  # ... and is not believed
    assert_valid_cache(project, "v2")


# -- damaged and foreign cache files, through the hook ----------------------------------------

#: Where the header's payload crc32 ends (the about text's length follows it).
_CRC_END = _cache._HEADER.size - 2

DAMAGES = {
    "truncated to half": lambda d: d[:len(d) // 2],
    "truncated header": lambda d: d[:_cache._HEADER.size - 1],
    "last byte missing": lambda d: d[:-1],
    "one byte more": lambda d: d + b"\0",
    "empty": lambda d: b"",
    "payload bit flipped": lambda d: d[:-7] + bytes([d[-7] ^ 0x10]) + d[-6:],
    "key bit flipped": lambda d: d[:12] + bytes([d[12] ^ 1]) + d[13:],
    "crc bit flipped": lambda d: d[:_CRC_END - 1] + bytes([d[_CRC_END - 1] ^ 0x80])
    + d[_CRC_END:],
    "garbage": lambda d: bytes(range(256)) * 4,
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_damaged_cache_file_is_rewritten(project, damage):
    assert fresh_import()[1] == ["app", "app.mod"]
    path = mod_cache(project)
    path.write_bytes(DAMAGES[damage](path.read_bytes()))
    assert fresh_import() == (("v1", 42), ["app.mod"])
    assert_valid_cache(project)


def test_no_single_bit_flip_anywhere_gives_other_code(project):
    """Flip each bit of a cache file in turn: the file is refused, or what it gives is
    exactly the code that was stored (a flip in the recorded mtime or size only makes the
    loader check the source's hash)."""
    assert fresh_import()[1] == ["app", "app.mod"]
    path = mod_cache(project)
    good = path.read_bytes()
    stored = marshal.loads(good[_cache._parse(good)[1]:])
    digest = good[8:24]
    source = project / "app" / "mod.py"
    st = os.stat(source)
    accepted = 0
    for position in range(len(good)):
        for bit in (0, 3, 7):
            damaged = bytearray(good)
            damaged[position] ^= 1 << bit
            path.write_bytes(bytes(damaged))
            code, _ = _cache.load(str(path), digest, st, source.read_bytes)
            if code is not None:
                accepted += 1
                assert code == stored, f"byte {position}, bit {bit}"
    about = _cache._parse(good)[0][-1]
    # only flips of the recorded mtime/size/hash, or of the text saying what made the file
    assert accepted <= 3 * (24 + about)


def test_file_of_another_bchook_version_is_not_used(project, monkeypatch):
    assert fresh_import()[1] == ["app", "app.mod"]
    ours = mod_cache(project)
    monkeypatch.setattr(bchook, "__version__", "99.0")  # what another version would write
    assert fresh_import() == (("v1", 42), ["app", "app.mod"])
    names = [n for n in cache_files(project) if n.startswith("mod.")]
    assert len(names) == 2  # both versions' files coexist
    other = project / "app" / "__pycache__" / next(n for n in names if n != ours.name)
    monkeypatch.undo()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert fresh_import() == (("v1", 42), [])  # ours is still good
    # The other version's bytes under our name: its key does not match, it is rewritten.
    ours.write_bytes(other.read_bytes())
    assert fresh_import() == (("v1", 42), ["app.mod"])


def test_file_of_another_pass_configuration_is_not_used(project):
    import dis

    def nops(fn):
        return sum(i.opname == "NOP" for i in dis.get_instructions(fn))

    for name in ("app.mod", "app"):
        sys.modules.pop(name, None)
    with install([IdentityPass(pad=1)], include=["app"]):
        padded_module = importlib.import_module("app.mod")
    padded = mod_cache(project)
    for name in ("app.mod", "app"):
        sys.modules.pop(name, None)
    with install([IdentityPass()], include=["app"]):
        plain_module = importlib.import_module("app.mod")
    assert nops(padded_module.f) > 3 and nops(plain_module.f) == 0
    unpadded = next(project / "app" / "__pycache__" / n for n in cache_files(project)
                    if n.startswith("mod.") and n != padded.name)
    unpadded.write_bytes(padded.read_bytes())  # the padded code under the other's name
    for name in ("app.mod", "app"):
        sys.modules.pop(name, None)
    with install([IdentityPass()], include=["app"]):
        again = importlib.import_module("app.mod")
    assert nops(again.f) == 0 and again.f() == ("v1", 42)


# -- the source changing while it is imported -------------------------------------------------

class EditsTheSource(Pass):
    """Rewrites the module's file while the module is being transformed (an editor saving
    in the middle of an import)."""

    name = "edits_the_source"
    version = "1"
    new_text = ""
    keep_stat = False

    def transform_code(self, code, ctx):
        if code.co_name == "<module>" and ctx.module == "app.mod" and self.new_text:
            st = os.stat(ctx.filename)
            with open(ctx.filename, "w") as f:
                f.write(self.new_text)
            if self.keep_stat:
                os.utime(ctx.filename, ns=(st.st_atime_ns, st.st_mtime_ns))
            type(self).new_text = ""
        return code


@pytest.mark.parametrize("new_text", [
    SOURCE.replace("v1", "v2-longer"),                     # another size
    SOURCE.replace("v1", "v2"),                            # the same size, a new mtime
], ids=["other size", "same size"])
def test_source_changed_while_being_transformed(project, new_text):
    EditsTheSource.new_text = new_text
    value, _ = fresh_import([EditsTheSource(), Counting()])
    assert value == ("v1", 42)  # what was read is what runs
    value, seen = fresh_import([EditsTheSource(), Counting()])
    assert value == (new_text.split("'")[1], 42) and seen == ["app.mod"]


def test_source_changed_between_stat_and_read(project, monkeypatch):
    from bchook.hook.loader import BchookLoader

    assert fresh_import()[1] == ["app", "app.mod"]
    path = project / "app" / "mod.py"
    real_get_data = BchookLoader.get_data
    edits = []

    def get_data(self, filename):
        if filename == str(path) and not edits:
            edits.append(1)
            path.write_text(SOURCE.replace("v1", "v3-changed"))
        return real_get_data(self, filename)

    os.utime(path, ns=(1, 1))  # stale stat: the loader must read the source to decide
    monkeypatch.setattr(BchookLoader, "get_data", get_data)
    assert fresh_import() == (("v3-changed", 42), ["app.mod"])
    monkeypatch.undo()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert fresh_import() == (("v3-changed", 42), [])  # the cache holds what was read


# -- PYTHONDONTWRITEBYTECODE and -B -----------------------------------------------------------

PROGRAM = """\
import sys
import bchook

class Counting(bchook.Pass):
    name = "counting"
    def transform_code(self, code, ctx):
        if code.co_name == "<module>":
            print("transformed", ctx.module)
        return code

bchook.install([Counting()], include=["app"])
import app.mod
print(app.mod.f())
"""


@pytest.mark.parametrize("how", ["environment", "-B"])
def test_dont_write_bytecode_writes_nothing_but_reads_the_cache(tmp_path, run_python, how):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "mod.py").write_text(SOURCE)
    (tmp_path / "main.py").write_text(PROGRAM)
    off = {"PYTHONDONTWRITEBYTECODE": None}
    on = {"PYTHONDONTWRITEBYTECODE": "1"} if how == "environment" else off
    flags = ["-B"] if how == "-B" else []
    transformed = "transformed app\ntransformed app.mod\n"
    result = "('v1', 42)\n"
    assert run_python([*flags, "main.py"], cwd=tmp_path, env=on) == (0, transformed + result,
                                                                    "")
    assert not (tmp_path / "app" / "__pycache__").exists()
    assert run_python(["main.py"], cwd=tmp_path, env=off) == (0, transformed + result, "")
    written = sorted(os.listdir(tmp_path / "app" / "__pycache__"))
    assert any(".bchook-" in n for n in written)
    # An existing cache is still read (as Python reads its pycs under -B) ...
    assert run_python([*flags, "main.py"], cwd=tmp_path, env=on) == (0, result, "")
    # ... and a changed source is rewritten, without touching the stale file.
    (tmp_path / "app" / "mod.py").write_text(SOURCE.replace("v1", "v9"))
    stamps = {n: (tmp_path / "app" / "__pycache__" / n).stat().st_mtime_ns for n in written}
    assert run_python([*flags, "main.py"], cwd=tmp_path, env=on) == (
        0, "transformed app.mod\n('v9', 42)\n", "")
    assert {n: (tmp_path / "app" / "__pycache__" / n).stat().st_mtime_ns
            for n in os.listdir(tmp_path / "app" / "__pycache__")} == stamps


def test_runner_honours_dont_write_bytecode(tmp_path, run_python):
    (tmp_path / "lib.py").write_text(SOURCE)
    (tmp_path / "app.py").write_text("import lib\nprint(lib.f())\n")
    for env in ({"PYTHONDONTWRITEBYTECODE": "1"}, {"PYTHONDONTWRITEBYTECODE": None}):
        rc, out, err = run_python(["-m", "bchook", "-p", "constfold", "app.py"],
                                  cwd=tmp_path, env=env)
        assert (rc, out, err) == (0, "('v1', 42)\n", "")
        written = (tmp_path / "__pycache__").exists()
        assert written == (env["PYTHONDONTWRITEBYTECODE"] is None)


# -- pass plugins that misbehave --------------------------------------------------------------

BAD_PLUGIN = '''
import ast
from bchook import Pass
from bchook import ir


class Raises(Pass):
    name = "raises"

    def transform_code(self, code, ctx):
        if code.co_name == "victim":
            raise RuntimeError("cannot handle " + code.co_name)
        return code


class NotCode(Pass):
    name = "not_code"

    def transform_code(self, code, ctx):
        return None if code.co_name == "victim" else code


class NotATree(Pass):
    name = "not_a_tree"

    def transform_ast(self, tree, ctx):
        return [tree]


class SmallStack(Pass):
    name = "small_stack"

    def transform_code(self, code, ctx):
        return code.replace(co_stacksize=1) if code.co_name == "victim" else code


class BreaksTheStack(Pass):
    name = "breaks_the_stack"

    def transform_ir(self, bc, ctx):
        if bc.code.co_name != "victim":
            return False
        # drop the first instruction that pushes a value: the stack no longer adds up
        for i, item in enumerate(bc.items):
            if type(item) is ir.Instr and item.name.startswith("LOAD_"):
                del bc.items[i]
                return True
        return False
'''

PLUGINS = {"raises": "Raises", "not_code": "NotCode", "not_a_tree": "NotATree",
           "small_stack": "SmallStack", "breaks_the_stack": "BreaksTheStack"}


@pytest.fixture
def bad_plugins(tmp_path):
    site = tmp_path / "fake-site"
    info = site / "badplug-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: badplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[bchook.passes]\n" + "".join(
        f"{name} = bad_plugin:{cls}\n" for name, cls in PLUGINS.items()))
    (site / "bad_plugin.py").write_text(BAD_PLUGIN)
    return {"PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": None}


APP = """\
import sys
try:
    import lib
except Exception as exc:
    print(type(exc).__name__, "lib" in sys.modules)
import lib
"""

LIB = """\
def helper(a, b):
    return [a, b]


def victim(a, b, c, d):
    return [a, b, c, d, (a, b, c, d), {a: b, c: d}]


print(victim(1, 2, 3, 4))
"""


@pytest.mark.parametrize("plugin, message", [
    ("raises", "RuntimeError: cannot handle victim"),
    ("not_code", "TypeError: transform_code returned NoneType, not a code object"),
    ("not_a_tree", "TypeError: transform_ast returned list, not ast.Module"),
    ("small_stack", "transform_code returned code with co_stacksize 1, but its instructions "
                    "need"),
    ("breaks_the_stack", "victim"),
])
def test_a_misbehaving_pass_is_a_clear_error_and_nothing_is_cached(
        tmp_path, run_python, bad_plugins, plugin, message):
    (tmp_path / "lib.py").write_text(LIB)
    (tmp_path / "app.py").write_text(APP)
    # --exclude __main__: the main script is rewritten whatever --include says (issue 17)
    rc, out, err = run_python(["-m", "bchook", "-p", plugin, "--include", "lib",
                               "--exclude", "__main__", "app.py"], cwd=tmp_path, env=bad_plugins)
    assert rc == 1, err  # an exception, not a crash of the interpreter
    assert out == "PassFailed False\n"
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"bchook.PassFailed: pass '{plugin}' failed on module 'lib'")
    assert message in last
    if plugin != "not_a_tree":  # an AST pass fails on the module as a whole
        assert "victim" in last and f"{tmp_path / 'lib.py'}:5" in last
    assert "finder.py" not in err and "api.py" not in err
    cached = os.listdir(tmp_path / "__pycache__") if (tmp_path / "__pycache__").exists() else []
    assert not [n for n in cached if n.startswith("lib.") and ".bchook-" in n]
    # and a good pass afterwards runs the module as Python does
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "--include", "lib",
                               "app.py"], cwd=tmp_path, env=bad_plugins)
    assert (rc, out, err) == (0, "[1, 2, 3, 4, (1, 2, 3, 4), {1: 2, 3: 4}]\n", "")


def test_a_pass_may_return_new_code_with_room_enough(project):
    class Grows(Pass):
        name = "grows"

        def transform_code(self, code, ctx):
            return code.replace(co_stacksize=code.co_stacksize + 10,
                                co_consts=tuple("v7" if c == "v1" else c
                                                for c in code.co_consts))

    assert fresh_import([Grows()])[0] == ("v7", 42)


def test_small_stack_refused_in_process(project):
    class SmallStack(Pass):
        name = "small_stack"

        def transform_code(self, code, ctx):
            return code.replace(co_stacksize=0) if code.co_name == "f" else code

    with pytest.raises(PassFailed, match="co_stacksize [01], but its instructions need"):
        fresh_import([SmallStack()])
    assert "app.mod" not in sys.modules
    assert not [n for n in cache_files(project) if n.startswith("mod.")]


# -- a project that turns warnings into errors ------------------------------------------------

@pytest.mark.slow
def test_pytest_with_warnings_as_errors_runs_under_bchook(tmp_path, run_python):
    """bchook is imported before pytest looks at its plugins (the runner, the autoload):
    pytest must not warn that it cannot assertion-rewrite bchook's package, or a project
    with ``filterwarnings = error`` cannot even start its tests (found with the packaging
    test suite, tools/thirdparty_suites.py)."""
    (tmp_path / "lib.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "test_lib.py").write_text(
        "import lib\n\n\ndef test_double():\n    assert lib.double(2) == 4\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    runner = ["-m", "bchook", "-p", "identity", "--include", "lib", "-m", "pytest", "-q",
              "-p", "no:cacheprovider"]
    rc, out, err = run_python(runner, cwd=tmp_path)
    assert rc == 0 and "1 passed" in out, out + err
    autoload = ["-c", "import bchook.frontends.autoload as a; a.start(); import pytest; "
                      "raise SystemExit(pytest.main(['-q', '-p', 'no:cacheprovider']))"]
    rc, out, err = run_python(autoload, cwd=tmp_path,
                              env={"BCHOOK_PASSES": "identity", "BCHOOK_INCLUDE": "lib"})
    assert rc == 0 and "1 passed" in out, out + err
