"""examples/tutorial: every step runs and shows what the walkthrough says, and the plugin
step's pass, installed as its own distribution, runs under ``python -m bchook``."""

from __future__ import annotations

import importlib.util
from importlib import metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parent.parent / "examples" / "tutorial"

pytestmark = pytest.mark.skipif(not TUTORIAL.is_dir(), reason="examples/ is not present")


@pytest.fixture
def tutorial(tmp_path):
    """A copy of the tutorial, so runs leave nothing in the checkout."""
    copy = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, copy, ignore=shutil.ignore_patterns(
        "__pycache__", "build", "*.egg-info"))
    return copy


def run(args, cwd, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, env=full_env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


STEPS = {
    "01_code_object_fields.py": ["co_varnames   ('name', 'punctuation', 'message')",
                                 "=== greet", "co_flags", "line ranges:"],
    "02_reading_co_code.py": ["our decoder agrees with dis on all",
                              "self-check: the hand decoder agrees with dis on all"],
    "03_changing_a_constant.py": ["Hello, Ada", "Bonjour, Ada"],
    "04_patching_an_instruction.py": ["patched bytes:  subtract(10, 3) = 7",
                                      "with bchook.ir: subtract2(10, 3) = 7"],
    "05_writing_a_function_by_hand.py": ["add_one(41) = 42", "3\n2\n1\nliftoff",
                                         ".code add_one", ".code main", "LOAD_CONST 'hello, '"],
}


@pytest.mark.parametrize("script", sorted(STEPS))
def test_step(tutorial, script):
    out = run([script], tutorial)
    for expected in STEPS[script]:
        assert expected in out


def test_every_step_is_tested():
    assert sorted(p.name for p in TUTORIAL.glob("0*.py")) == sorted(STEPS)


def _can_build_offline() -> bool:
    """setuptools with bdist_wheel (its own from 70.1, else the wheel package)."""
    try:
        version = metadata.version("setuptools")
    except metadata.PackageNotFoundError:
        return False
    major, minor = (int(p) for p in version.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def install_plugin(source: Path, target: Path) -> None:
    """``pip install ./plugin`` into ``target``; where setuptools is missing (pip could not
    build the plugin offline), lay out the same installed distribution from its
    ``pyproject.toml``."""
    if _can_build_offline():
        work = target.parent / "plugin-src"
        shutil.copytree(source, work)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--no-index", "--no-build-isolation", "--target", str(target),
                        str(work)], check=True, capture_output=True, timeout=300)
        return
    try:
        import tomllib
    except ImportError:  # 3.10
        import tomli as tomllib
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    target.mkdir(parents=True, exist_ok=True)
    for module in ("tutorial_shout.py",):
        shutil.copy(source / module, target / module)
    info = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def test_plugin_pass_runs_under_python_m_bchook(tutorial, tmp_path):
    site = tmp_path / "site"
    install_plugin(tutorial / "plugin", site)
    env = {"PYTHONPATH": str(site)}

    assert run(["app.py"], tutorial) == "hello, world\n"
    assert run(["-m", "bchook", "-p", "shout", "app.py"], tutorial, env) == "HELLO, WORLD\n"
    assert run(["-m", "bchook", "-p", "shout", "-o", "shout.suffix=!", "app.py"], tutorial,
               env) == "HELLO, !WORLD!\n"

    listed = run(["-m", "bchook", "passes"], tutorial, env)
    assert any(line.split()[:1] == ["shout"] and "bchook-tutorial-shout" in line
               for line in listed.splitlines())

    diff = run(["-m", "bchook", "dis", "-p", "shout", "app.py"], tutorial, env)
    assert "changed: main (app.py:1)" in diff
    assert "+    LOAD_CONST 'HELLO, '" in diff and "-    LOAD_CONST 'hello, '" in diff
