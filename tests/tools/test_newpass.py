"""``bchook new-pass``: the distribution it writes installs, is listed by ``bchook passes``,
its own tests pass as written, ``bchook check`` passes it, and catches it once it is
broken on purpose.

"Installed" here is the distribution laid out in a folder on ``PYTHONPATH`` from its own
``pyproject.toml`` (module and ``.dist-info``), which needs no build; the slow test at the
end does the real thing in a fresh virtual environment: ``pip install``, ``pytest``,
``bchook check``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from bchook.frontends import cli
from bchook.tools.newpass import names_for

try:
    import tomllib
except ImportError:  # 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def new_pass(tmp_path, *args, capsys=None):
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        return cli.main(["new-pass", *args])
    finally:
        os.chdir(old)


def lay_out(project: Path, site: Path) -> Path:
    """The distribution in ``project`` as installed into ``site``: its package and a
    ``.dist-info`` with the entry points its ``pyproject.toml`` declares."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for package in (project / "src").iterdir():
        shutil.copytree(package, site / package.name)
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    lines = []
    for group, entries in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site


# -- what it writes -------------------------------------------------------------------------

@pytest.mark.parametrize("kind, hook", [(["--ast"], "def transform_ast("),
                                        (["--bytecode"], "def transform_ir("),
                                        ([], "def transform_ir(")])
def test_it_writes_a_distribution(tmp_path, capsys, kind, hook):
    assert new_pass(tmp_path, "shout", *kind) == 0
    project = tmp_path / "shout"
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert files == [".gitignore", "README.md", "pyproject.toml",
                     "src/bchook_shout/__init__.py", "tests/test_shout.py"]
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "bchook-shout"
    assert meta["project"]["entry-points"]["bchook.passes"] == {
        "shout": "bchook_shout:ShoutPass"}
    code = (project / "src/bchook_shout/__init__.py").read_text()
    assert hook in code and 'name = "shout"' in code and "class ShoutPass(Pass):" in code
    compile(code, "pass", "exec")
    compile((project / "tests/test_shout.py").read_text(), "test", "exec")
    out = capsys.readouterr().out
    assert out.startswith(f"wrote the {'ast' if kind == ['--ast'] else 'bytecode'} pass "
                          f"'shout' into ./shout (distribution bchook-shout, module "
                          f"bchook_shout):\n")
    assert "pip install -e ./shout\n  pytest ./shout\n  bchook check -p shout" in out
    assert "@@" not in "".join(p.read_text() for p in project.rglob("*") if p.is_file())


def test_names_derived_from_the_pass_name():
    assert names_for("shout") == {"NAME": "shout", "DIST": "bchook-shout",
                                  "PACKAGE": "bchook_shout", "CLASS": "ShoutPass",
                                  "SLUG": "shout"}
    assert names_for("fold-upper_case")["CLASS"] == "FoldUpperCasePass"
    assert names_for("fold-upper_case")["DIST"] == "bchook-fold-upper-case"
    assert names_for("my_pass")["CLASS"] == "MyPass"


def test_into_a_folder_of_your_choice(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert new_pass(tmp_path, "shout", "--ast", "empty") == 0
    assert (tmp_path / "empty" / "pyproject.toml").is_file()
    assert "into ./empty " in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["x y"], "argument NAME: 'x y' is not a pass name: use letters, digits, '_' and '-', "
              "starting with a letter (e.g. shout)"),
    (["1st"], "is not a pass name"),
    (["trace"], "argument NAME: 'trace' is a built-in pass of bchook: choose another name"),
    (["shout", "--ast", "--bytecode"], "argument --bytecode: not allowed with argument --ast"),
    (["shout", "taken"], "taken already exists and is not an empty folder: choose another "
                         "DIR, or remove it first"),
    ([], "the following arguments are required: NAME"),
])
def test_usage_errors(run_python, tmp_path, args, message):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("")
    rc, out, err = run_python(["-m", "bchook", "new-pass", *args], cwd=tmp_path)
    assert (rc, out) == (2, "") and err.count("\n") == 1, err
    assert err.startswith("bchook: error: ") and message in err


# -- installed ------------------------------------------------------------------------------

@pytest.fixture(params=["--ast", "--bytecode"])
def installed(request, tmp_path, run_python):
    """A new pass ``shout`` of each kind, installed; ``(project, env)``."""
    assert run_python(["-m", "bchook", "new-pass", "shout", request.param],
                      cwd=tmp_path)[0] == 0
    project = tmp_path / "shout"
    site = lay_out(project, tmp_path / "site")
    return project, {"PYTHONPATH": str(site)}


def test_listed_by_bchook_passes(run_python, installed):
    project, env = installed
    rc, out, err = run_python(["-m", "bchook", "passes"], env=env)
    assert rc == 0, err
    row = next(line.split() for line in out.splitlines() if line.startswith("shout "))
    assert row == ["shout", "1", "bchook-shout", "0.1.0", "bchook_shout:ShoutPass"]
    assert "-o shout.lower=bool  default 0  fold 'TEXT'.lower() as well" in out


@pytest.mark.slow
def test_its_tests_pass_as_written(run_python, installed):
    project, env = installed
    rc, out, err = run_python(["-m", "pytest", "-q", "-p", "no:cacheprovider", "shout"],
                              cwd=project.parent, env=env, timeout=300)
    assert rc == 0, out + err
    assert "6 passed" in out


@pytest.mark.slow
def test_bchook_check_passes_it(run_python, installed):
    project, env = installed
    rc, out, err = run_python(["-m", "bchook", "check", "-p", "shout", "--programs", "20",
                               "--generator", "builtin", "--pad"], cwd=project.parent, env=env,
                              timeout=300)
    assert rc == 0, out + err
    assert "generated   20    20          0        0" in out


def test_it_folds_what_the_generated_programs_hold(installed):
    # the example transformation does change code that bchook check runs: the check
    # compares something, not two identical programs
    from bchook.tools.check.generate import random_programs

    assert any("'.upper()" in source for source in random_programs(20, seed=0))


BROKEN = '''

class _Broken(ast.NodeTransformer):
    def visit_FunctionDef(self, node):
        if node.name == "add":
            for child in ast.walk(node):
                if isinstance(child, ast.BinOp) and isinstance(child.op, ast.Add):
                    child.op = ast.Sub()
        return node


_fold = ShoutPass.transform_ast
ShoutPass.transform_ast = lambda self, tree, ctx: _Broken().visit(_fold(self, tree, ctx))
'''


@pytest.mark.slow
def test_broken_on_purpose_it_is_caught_with_a_small_reproduction(run_python, tmp_path):
    assert run_python(["-m", "bchook", "new-pass", "shout", "--ast"], cwd=tmp_path)[0] == 0
    project = tmp_path / "shout"
    with open(project / "src/bchook_shout/__init__.py", "a") as f:
        f.write(BROKEN)
    env = {"PYTHONPATH": str(lay_out(project, tmp_path / "site"))}
    rc, out, err = run_python(["-m", "bchook", "check", "-p", "shout", "--programs", "20",
                               "--generator", "builtin"], cwd=tmp_path, env=env, timeout=300)
    assert rc == 1, out + err
    line = next(line for line in out.splitlines() if "corpus/operators.py" in line)
    reproduction = tmp_path / line.rpartition(" -> ")[2]
    assert reproduction.parent == tmp_path / "bchook-check"
    text = reproduction.read_text()
    assert "def add(" in text and len(text.splitlines()) < 15
    assert run_python([reproduction.name], cwd=reproduction.parent, env=env) != \
        run_python(["-m", "bchook", "-p", "shout", reproduction.name],
                   cwd=reproduction.parent, env=env)


# -- the real thing -------------------------------------------------------------------------

def _pip(python: Path, *args, cwd) -> None:
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.skip(f"pip install {' '.join(args)} failed (offline?): "
                    f"{proc.stderr.strip().splitlines()[-1:]}")


@pytest.mark.slow
def test_in_a_fresh_virtual_environment(tmp_path):
    """The issue's own walk-through: new-pass, pip install, pytest, bchook check."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    source = tmp_path / "bchook-src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venvs", "build", "dist", "__pycache__", "*.egg-info", "*.so", ".hypothesis",
        "tests", "docs", "benchmarks"))
    _pip(python, str(source), "pytest", cwd=tmp_path)  # not editable: the package data
    bindir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "PYTHON", "COVERAGE_"))}
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"

    def run(*args):
        return subprocess.run(list(args), cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=900)

    assert run("bchook", "new-pass", "shout", "--ast").returncode == 0
    _pip(python, "./shout", cwd=tmp_path)
    listed = run("bchook", "passes")
    assert any(line.startswith("shout ") for line in listed.stdout.splitlines()), listed
    tests = run("pytest", "-q", "-p", "no:cacheprovider", "shout")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    checked = run("bchook", "check", "-p", "shout", "--programs", "200")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "bchook check: no difference" in checked.stdout
