"""Concurrency: many threads importing the same fresh modules at once, and many processes
sharing one cache folder (cold, then warm), under every built-in pass.

Nothing may fail, every module body runs once per process, every process checks that the
code it got is the code its own configuration produces (the pass's mark is there, results
are right), the warm runs are served entirely from the cache, and every cache file left in
``__pycache__`` is whole and holds what its key names (no torn or mixed file).
"""

from __future__ import annotations

import importlib
import marshal
import os
import random
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

import bchook
from bchook.hook import cache as _cache
from bchook.passes.trace.runtime._names import CALL as PROBE

MODULES = 6
THREADS = 8
PROCESSES = 8
TIMEOUT = 180

#: pass -> (chain, options) run by the tests; "marks" below says how to recognise its code.
CONFIGS = {
    "identity": ("identity", {"identity": {"pad": "1"}}),
    "constfold": ("constfold", {}),
    "goto": ("goto", {}),
    "trace": ("trace", {}),
}

MODULE = '''\
from bchook.goto import goto, label
import pkg
{previous}

pkg.LOADED.append(__name__)
SCALE = {index} * 1000 + 7


def value():
    total = 0
    for k in range(10):
        total += k * SCALE
    return total + {previous_value}


def folded():
    x = 6
    return x * 7


def jumpy(n):
    for i in range(n):
        if i == 3:
            goto .found
    return -1
    label .found
    return i * 100 + {index}
'''


def expected_value(index: int) -> int:
    return sum(45 * (i * 1000 + 7) for i in range(index + 1))


def write_package(root: Path) -> Path:
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("LOADED = []\n")
    for i in range(MODULES):
        previous = f"from pkg import mod{i - 1} as previous" if i else ""
        previous_value = "previous.value()" if i else "0"
        (pkg / f"mod{i}.py").write_text(MODULE.format(index=i, previous=previous,
                                                      previous_value=previous_value))
    return pkg


#: Checks a process (or a thread) runs on the modules it imported; the same text is used
#: in-process and by the child processes, so both verify alike.
VERIFY = '''
import dis
from bchook.passes.trace.runtime._names import CALL as PROBE


def nop_share(fn):
    ops = [i.opname for i in dis.get_instructions(fn)]
    return ops.count("NOP") / len(ops)


def loaded_constants(fn):
    # 3.14+ loads small ints with LOAD_SMALL_INT: they are not in co_consts
    return [i.argval for i in dis.get_instructions(fn)
            if i.opname in ("LOAD_CONST", "LOAD_SMALL_INT", "RETURN_CONST")]


def verify(pass_name, module, index):
    problems = []
    if type(module.__loader__).__name__ != "BchookLoader":
        problems.append(f"{module.__name__} not loaded by bchook")
    expected = sum(45 * (i * 1000 + 7) for i in range(index + 1))
    if module.value() != expected:
        problems.append(f"{module.__name__}.value() = {module.value()} != {expected}")
    if module.folded() != 42:
        problems.append(f"{module.__name__}.folded() = {module.folded()}")
    if pass_name == "identity" and nop_share(module.value) < 0.3:
        problems.append(f"{module.__name__}: identity pad=1 left no NOPs")
    if pass_name == "constfold" and 42 not in loaded_constants(module.folded):
        problems.append(f"{module.__name__}: constfold did not fold")
    if pass_name == "trace" and PROBE not in module.value.__code__.co_names:
        problems.append(f"{module.__name__}: no trace probes")
    if pass_name == "goto" and module.jumpy(5) != 300 + index:
        problems.append(f"{module.__name__}.jumpy(5) = {module.jumpy(5)}")
    if pass_name != "trace" and PROBE in module.value.__code__.co_names:
        problems.append(f"{module.__name__}: trace probes under {pass_name}")
    if pass_name != "identity" and nop_share(module.value) > 0.3:
        problems.append(f"{module.__name__}: padded under {pass_name}")
    return problems
'''

_verify_namespace: dict = {}
exec(VERIFY, _verify_namespace)
verify = _verify_namespace["verify"]


def digest_of(hook) -> str:
    """The short key a hook's cache files are named by (it covers bchook's own files, so
    it is taken where and when the files are written)."""
    return hook.rewriter.digest()[:6].hex()


def check_cache_files(pkg: Path, by_key: dict[str, str]) -> int:
    """Every bchook file is whole, named by its own key, and holds the code of the pass
    ``by_key`` names for that key; returns how many there are."""
    folder = pkg / "__pycache__"
    names = sorted(os.listdir(folder))
    assert not [n for n in names if not n.endswith(".pyc")], names  # no temporary files
    checked = 0
    for name in names:
        if ".bchook-" not in name:
            continue
        data = (folder / name).read_bytes()
        (magic, tag, key, _mtime, _size, _hash, length, crc, _about), start = \
            _cache._parse(data)
        payload = data[start:]
        assert tag == b"bchk" and len(payload) == length, name
        assert _cache.zlib.crc32(payload) == crc, f"{name}: torn"
        short = name.rsplit(".bchook-", 1)[1][:-4]
        assert key[:6].hex() == short, f"{name}: holds the key {key[:6].hex()}"
        assert short in by_key, f"{name}: a key no configuration of this test makes"
        code = marshal.loads(payload)
        module = name.split(".")[0]
        pass_name = by_key[short]
        if module.startswith("mod"):
            functions = {c.co_name: c for c in code.co_consts if hasattr(c, "co_name")}
            value, folded = functions["value"], functions["folded"]
            if pass_name == "trace":
                assert PROBE in value.co_names, f"{name}: no probes"
            else:
                assert PROBE not in value.co_names, f"{name}: probes"
            if pass_name == "constfold":
                assert 42 in _verify_namespace["loaded_constants"](folded), f"{name}: not folded"
            padded = _verify_namespace["nop_share"](value) > 0.3
            assert padded == (pass_name == "identity"), f"{name}: padded {padded}"
        checked += 1
    return checked


# -- threads ------------------------------------------------------------------------------

@pytest.fixture
def fresh_package(tmp_path, isolated_imports, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # the cache is part of the test
    pkg = write_package(tmp_path)
    sys.path.insert(0, str(tmp_path))
    let_coverage_see_sys_path(tmp_path)
    yield pkg
    runtime = sys.modules.get("bchook.passes.trace.runtime._runtime")
    if runtime is not None:
        runtime.discard()


def let_coverage_see_sys_path(folder: Path) -> None:
    """Run code from a file name not seen before, here in the main thread.

    coverage.py, when it measures these tests, compares ``sys.path`` with the last one it saw
    on the first code of every new file and, if it changed, re-reads its settings inside a
    save/restore of ``sys.modules``. Done in one of the import threads, that restore removes
    the modules other threads imported meanwhile, and their imports then fail with a KeyError
    from importlib. Seeing the new ``sys.path`` now keeps the threads out of it.
    """
    exec(compile("pass", str(folder / "coverage_sees_sys_path.py"), "exec"), {})


def _import_everything_at_once(pass_name: str):
    barrier = threading.Barrier(THREADS)
    errors = []
    seen = [None] * THREADS

    def work(n):
        order = list(range(MODULES))
        random.Random(n).shuffle(order)
        try:
            barrier.wait(timeout=60)
            got = {}
            for i in order:
                module = importlib.import_module(f"pkg.mod{i}")
                problems = verify(pass_name, module, i)
                if problems:
                    errors.append((n, problems))
                got[i] = module
            seen[n] = got
        except BaseException:  # noqa: BLE001 - reported below, with where it happened
            errors.append((n, traceback.format_exc()))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "an import deadlocked"
    assert not errors, errors
    for i in range(MODULES):  # one module object per name, shared by every thread
        assert len({id(s[i]) for s in seen}) == 1


@pytest.mark.parametrize("pass_name", CONFIGS)
def test_threads_importing_the_same_fresh_modules_at_once(fresh_package, pass_name):
    chain, options = CONFIGS[pass_name]
    with bchook.install(chain, include=["pkg"], options=options) as hook:
        _import_everything_at_once(pass_name)
        pkg = sys.modules["pkg"]
        assert sorted(pkg.LOADED) == [f"pkg.mod{i}" for i in range(MODULES)]  # each once
        assert check_cache_files(fresh_package, {digest_of(hook): pass_name}) == MODULES + 1

        # Again, from the cache this time: any transformation would be a failure.
        for name in [n for n in sys.modules if n == "pkg" or n.startswith("pkg.")]:
            del sys.modules[name]
        hook.rewriter.compile = _refuse
        _import_everything_at_once(pass_name)
        assert sorted(sys.modules["pkg"].LOADED) == [f"pkg.mod{i}" for i in range(MODULES)]


def _refuse(*args, **kwargs):
    raise AssertionError("transformed although the cache holds the module")


# -- processes ----------------------------------------------------------------------------

CHILD = VERIFY + '''
import json, os, sys, time
import bchook

pass_name, state, go = sys.argv[1], sys.argv[2], sys.argv[3]
chain, options = json.loads(sys.argv[4])
hook = bchook.install(chain, include=["pkg"], options=options)
if state == "warm":
    def refuse(*args, **kwargs):
        raise AssertionError("transformed although the cache is warm")
    hook.rewriter.compile = refuse
deadline = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < deadline:  # start together
    time.sleep(0.005)
import importlib
problems = []
for i in reversed(range(%d)):
    problems += verify(pass_name, importlib.import_module(f"pkg.mod{i}"), i)
import pkg
if sorted(pkg.LOADED) != [f"pkg.mod{i}" for i in range(%d)]:
    problems.append(f"module bodies ran {pkg.LOADED}")
print(json.dumps([hook.rewriter.digest()[:6].hex(), problems]))
''' % (MODULES, MODULES)


def _child_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "COVERAGE_PROCESS"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def run_processes(root: Path, pass_names: list[str], state: str, **env):
    import json

    go = root / f"go-{state}"
    script = root / "child.py"
    script.write_text(CHILD)
    procs = []
    for name in pass_names:
        chain, options = CONFIGS[name]
        procs.append(subprocess.Popen(
            [sys.executable, str(script), name, state, str(go), json.dumps([chain, options])],
            cwd=root, env=_child_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    time.sleep(0.3)
    go.write_text("")
    results = []
    for name, proc in zip(pass_names, procs):
        out, err = proc.communicate(timeout=TIMEOUT)
        results.append((name, proc.returncode, out, err))
    keys = {}
    for name, rc, out, err in results:
        assert rc == 0 and "Traceback" not in err, f"{name} ({state}): exit {rc}\n{err}"
        key, problems = json.loads(out.strip().splitlines()[-1])
        assert problems == [], f"{name} ({state}): {problems}"
        keys[key] = name
    return keys  # short cache key -> pass


@pytest.mark.parametrize("pass_name", CONFIGS)
def test_processes_sharing_one_cache_folder_cold_then_warm(tmp_path, pass_name):
    pkg = write_package(tmp_path)
    keys = run_processes(tmp_path, [pass_name] * PROCESSES, "cold")
    assert check_cache_files(pkg, keys) == MODULES + 1
    stamps = {p.name: p.stat().st_mtime_ns for p in (pkg / "__pycache__").iterdir()}
    run_processes(tmp_path, [pass_name] * PROCESSES, "warm")
    assert {p.name: p.stat().st_mtime_ns for p in (pkg / "__pycache__").iterdir()} == stamps


@pytest.mark.slow
def test_processes_with_different_passes_sharing_one_cache_folder(tmp_path):
    pkg = write_package(tmp_path)
    mixed = [name for name in CONFIGS for _ in range(PROCESSES // len(CONFIGS))]
    random.Random(0).shuffle(mixed)
    keys = run_processes(tmp_path, mixed, "cold")
    assert sorted(keys.values()) == sorted(CONFIGS)
    assert check_cache_files(pkg, keys) == (MODULES + 1) * len(CONFIGS)
    run_processes(tmp_path, mixed, "warm")
    # and with a cache prefix shared by them all, as in CI set-ups
    prefix = tmp_path / "prefix"
    run_processes(tmp_path, mixed, "cold", PYTHONPYCACHEPREFIX=str(prefix))
    run_processes(tmp_path, mixed, "warm", PYTHONPYCACHEPREFIX=str(prefix))
    cached = [n for _, _, names in os.walk(prefix) for n in names if ".bchook-" in n]
    assert len(cached) == (MODULES + 1) * len(CONFIGS)


def test_verify_notices_code_of_another_configuration(fresh_package):
    """The processes' self-check can fail: code of another pass is recognised."""
    with bchook.install("constfold", include=["pkg"]):
        module = importlib.import_module("pkg.mod0")
    assert verify("constfold", module, 0) == []
    assert verify("trace", module, 0) == ["pkg.mod0: no trace probes"]
    assert any("NOPs" in p for p in verify("identity", module, 0))
