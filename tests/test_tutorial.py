"""examples/tutorial: every step runs and shows what the walkthrough says, and the plugin
step's pass, installed as its own distribution, runs under ``python -m bchook``."""

from __future__ import annotations

import importlib.util
from importlib import metadata
import os
import re
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


# -- setting up: the commands that work from a checkout ------------------------------------

ROOT = TUTORIAL.parent.parent
#: ``pip install`` of a distribution by name (bchook, bchook-example-plugin, 'bchook[test]'):
#: none is on the package index; a path (``.``, ``./plugin``) is what works.
INSTALL_BY_NAME = re.compile(
    r"pip3?\s+install\s+(?:--?[\w-]+(?:=\S+)?\s+)*['\"]?(bchook[\w.,\[\]-]*)")
NOT_DOCUMENTS = {".git", ".venvs", "build", "dist", "__pycache__", "node_modules"}


def first_block(text: str, after: str = "") -> list[str]:
    """The lines of the first fenced code block after the marker ``after``."""
    text = text[text.index(after):]
    match = re.search(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    assert match, f"no code block after {after!r}"
    return match.group(1).splitlines()


def documents():
    """Every text file of the checkout a reader may copy a command from."""
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(d for d in subfolders if not (
            d in NOT_DOCUMENTS or d.startswith(".") or d.endswith(".egg-info")))
        for name in sorted(files):
            path = Path(folder) / name
            if path.suffix in (".md", ".rst", ".txt", ".py", ".toml", ".cfg") and \
                    path.resolve() != Path(__file__).resolve():
                yield path


def test_tutorial_starts_with_the_readme_set_up_command():
    readme = [line[2:] for line in first_block((ROOT / "README.md").read_text(encoding="utf-8"),
                                               "<!-- section: setup -->")
              if line.startswith("$ ")]  # the command, not its output
    tutorial = first_block((TUTORIAL / "README.md").read_text(encoding="utf-8"))
    assert tutorial[:len(readme)] == readme
    assert tutorial[len(readme):] == ["cd examples/tutorial"]


def test_the_check_finds_an_install_by_name():
    found = [m.group(1) for text in (
        "pip install bchook", "pip install -U 'bchook[test]'", "pip3 install bchook-plugin",
        "pip install .", "pip install ./plugins/bchook-example-plugin", "pip install ./plugin",
        "pip uninstall bchook-tutorial-shout") for m in INSTALL_BY_NAME.finditer(text)]
    assert found == ["bchook", "bchook[test]", "bchook-plugin"]


def test_no_document_installs_bchook_from_the_index():
    found = []
    checked = 0
    for path in documents():
        text = path.read_text(encoding="utf-8", errors="replace")
        checked += 1
        for match in INSTALL_BY_NAME.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert checked > 50
    assert not found, "pip install of a name that is not on the index:\n" + "\n".join(found)


def test_the_plugin_tests_pass(tutorial):
    """The plugin's tests (three lines each, with bchook.testing) pass as the tutorial's
    page runs them, without installing the plugin."""
    out = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "plugin"], tutorial)
    assert "3 passed" in out
