"""The ``bchook`` command: help, ``passes``, ``dis`` delegation, and bad input.

Bad input of any kind is one line on stderr (``bchook: error: ...``), exit status 2, no
traceback, and nothing run or written.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import types
from pathlib import Path

import pytest

from bchook.frontends import cli as _cli
from bchook.pipeline import registry as _registry


@pytest.fixture
def project(tmp_path, monkeypatch, write):
    """A folder with a program that would leave a trace if it ever ran."""
    write(tmp_path / "app.py", "open('RAN', 'w').close()\n")
    (tmp_path / "emptydir").mkdir()
    write(tmp_path / "pkgnomain" / "__init__.py", "open('RAN', 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


USAGE_ERRORS = [
    ([], "nothing to run"),
    (["-p", "foo", "app.py"], "unknown pass 'foo'"),
    (["-p"], "expected one argument"),
    (["-p", ",", "app.py"], "expected pass names"),
    (["--passes=nope", "app.py"], "unknown pass 'nope'"),
    (["-p", "identity", "-o", "bad", "app.py"], "bad option 'bad'"),
    (["-p", "identity", "-o", "identity.pad", "app.py"], "PASS.KEY=VALUE"),
    (["-p", "identity", "-o", ".pad=1", "app.py"], "PASS.KEY=VALUE"),
    (["-p", "identity", "-o"], "expected one argument"),
    (["-p", "identity", "-o", "identity.nope=1", "app.py"], "no option 'nope'"),
    (["-p", "identity", "-o", "identity.pad=maybe", "app.py"], "identity.pad"),
    # the same PASS.KEY twice is one comma-joined value: "1,0" is no on/off switch
    (["-p", "identity", "-o", "identity.pad=1", "-o", "identity.pad=0", "app.py"], "'1,0'"),
    (["-p", "identity", "-o", "trace.output=x", "app.py"], "'trace' is not in the chain"),
    (["--bogus", "app.py"], "unrecognized arguments: --bogus"),
    (["--include"], "expected one argument"),
    (["--exclude"], "expected one argument"),
    (["--no-cache=1", "app.py"], "--no-cache"),
    (["-p", "identity", "missing.py"], "can't open"),
    (["-p", "identity", "emptydir"], "can't find '__main__' module in 'emptydir'"),
    (["-p", "identity", "-m", "no_such_module_xyz"], "no module named 'no_such_module_xyz'"),
    (["-p", "identity", "-m", "pkgnomain"], "'pkgnomain' is a package and cannot be run"),
    (["-p", "identity", "-m", "pkgnomain.nothing"], "no module named 'pkgnomain.nothing'"),
    (["-p", "identity", "-m", "not a name"], "not a module name"),
    (["-p", "identity", "-m"], "argument -m: expected one argument"),
    (["-p", "identity", "-c"], "argument -c: expected one argument"),
    (["-p", "identity", "no_such_name_xyz"], "no such file, folder or module"),
    (["pth"], "required"),
    (["pth", "bogus"], "invalid choice"),
    (["pth", "install", "--bogus"], "unrecognized arguments"),
    (["passes", "extra"], "unrecognized arguments"),
]


@pytest.mark.parametrize("argv, message", USAGE_ERRORS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_usage_errors_are_one_line_and_exit_2(project, capsys, argv, message):
    before = snapshot(project)
    assert _cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("bchook: error: ") and err.endswith("\n")
    assert err.count("\n") == 1, err
    assert message in err
    assert snapshot(project) == before  # nothing ran, nothing was written


def test_unknown_pass_lists_the_available_ones(project, capsys):
    assert _cli.main(["-p", "foo", "app.py"]) == 2
    err = capsys.readouterr().err
    for name in ("constfold", "goto", "identity", "trace"):
        assert name in err


def test_bad_environment_and_config_are_usage_errors(project, capsys, monkeypatch, write):
    monkeypatch.setenv("BCHOOK_CACHE", "maybe")
    assert _cli.main(["-p", "identity", "app.py"]) == 2
    assert "BCHOOK_CACHE" in capsys.readouterr().err
    monkeypatch.delenv("BCHOOK_CACHE")
    write(project / "pyproject.toml", "[tool.bchook]\npases = ['identity']\n")
    assert _cli.main(["app.py"]) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml" in err and "'pases'" in err and err.count("\n") == 1
    write(project / "pyproject.toml", "[tool.bchook\n")
    assert _cli.main(["app.py"]) == 2
    assert "invalid TOML" in capsys.readouterr().err
    assert not (project / "RAN").exists()


def _bchook_script() -> str | None:
    name = "bchook.exe" if os.name == "nt" else "bchook"
    script = Path(sys.executable).with_name(name)
    return str(script) if script.exists() else shutil.which("bchook")


@pytest.mark.parametrize("argv", [["-p", "foo", "app.py"], ["missing.py"], ["-m", "nope_xyz"],
                                  ["-o", "x", "app.py"], ["emptydir"], []])
def test_usage_errors_end_to_end(project, run_python, argv):
    rc, out, err = run_python(["-m", "bchook", *argv], cwd=project)
    assert (rc, out) == (2, "")
    assert err.startswith("bchook: error: ") and err.count("\n") == 1
    assert not (project / "RAN").exists() and not (project / "__pycache__").exists()


def test_console_script(project, run_python, write):
    script = _bchook_script()
    if script is None:
        pytest.skip("the bchook console script is not installed next to this interpreter")
    import subprocess

    write(project / "hello.py", "import sys; print('hello', sys.argv[1:])\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    proc = subprocess.run([script, "-p", "identity", "hello.py", "x"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hello ['x']\n", "")
    proc = subprocess.run([script, "-p", "nope", "hello.py"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("bchook: error: unknown pass")


def test_run_subcommand_is_the_runner(project, capsys, run_python, write):
    write(project / "hello.py", "import sys; print('hi', sys.argv)\n")
    rc, out, err = run_python(["-m", "bchook", "run", "-p", "identity", "hello.py", "run"],
                              cwd=project)
    assert (rc, out, err) == (0, "hi ['hello.py', 'run']\n", "")


def test_arguments_after_the_target_belong_to_the_program(project, run_python, write):
    write(project / "hello.py", "import sys; print(sys.argv[1:])\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "hello.py", "-p", "foo",
                               "--help", "-o", "x", "-m", "y"], cwd=project)
    assert (rc, out, err) == (0, "['-p', 'foo', '--help', '-o', 'x', '-m', 'y']\n", "")
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "--", "hello.py", "--"],
                              cwd=project)
    assert (rc, out, err) == (0, "['--']\n", "")


def test_help_explains_everything(capsys):
    assert _cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for word in ("-p PASS", "--include", "--exclude", "--no-cache", "-o PASS.KEY=VALUE",
                 "-m module", "-c code", "passes", "pth install [--user]", "uninstall",
                 "status", "dis", "[tool.bchook]", "pyproject.toml", "BCHOOK_PASSES",
                 "BCHOOK_INCLUDE", "BCHOOK_EXCLUDE", "BCHOOK_OPTIONS", "BCHOOK_CACHE=0",
                 "BCHOOK_DISABLE=1", "flags > environment > pyproject.toml", "exit status"):
        assert word in text, word
    assert _cli.main(["pth", "--help"]) == 0
    assert "install" in capsys.readouterr().out
    assert _cli.main(["passes", "--help"]) == 0


def test_version(capsys):
    import bchook

    assert _cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"bchook {bchook.__version__}\n"


def test_passes_lists_built_ins_with_versions_and_distribution(run_python, tmp_path):
    rc, out, err = run_python(["-m", "bchook", "passes"], cwd=tmp_path)
    assert rc == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]
            if not line.startswith(" ")}  # indented: the options of the pass above
    import bchook

    for name in ("identity", "constfold", "goto", "trace"):
        assert name in rows
        assert rows[name][2:4] == ["bchook", bchook.__version__]
    assert rows["identity"][1] == "1"
    assert list(rows) == sorted(rows)


BROKEN_ENTRY = """\
[bchook.passes]
broken = no_such_plugin_module:Pass
notapass = os:path
"""


def test_a_plugin_that_fails_to_load_is_shown_with_its_error(run_python, tmp_path, write):
    site = tmp_path / "site"
    write(site / "brokenplug-2.0.dist-info" / "METADATA",
          "Metadata-Version: 2.1\nName: brokenplug\nVersion: 2.0\n")
    write(site / "brokenplug-2.0.dist-info" / "entry_points.txt", BROKEN_ENTRY)
    env = {"PYTHONPATH": str(site)}
    rc, out, err = run_python(["-m", "bchook", "passes"], cwd=tmp_path, env=env)
    assert rc == 0, err
    broken = next(line for line in out.splitlines() if line.startswith("broken "))
    assert "brokenplug 2.0" in broken
    assert "ModuleNotFoundError" in broken and "no_such_plugin_module" in broken
    notapass = next(line for line in out.splitlines() if line.startswith("notapass "))
    assert "not a bchook.Pass subclass" in notapass
    assert "identity" in out  # the others are still listed

    write(tmp_path / "app.py", "print('ran')\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "broken", "app.py"], cwd=tmp_path, env=env)
    assert (rc, out) == (2, "")
    assert err.startswith("bchook: error: ") and err.count("\n") == 1
    assert "broken" in err and "brokenplug" in err and "no_such_plugin_module" in err


def test_dis_is_delegated(monkeypatch):
    calls = []
    fake = types.ModuleType("bchook.tools.dis.command")
    fake.main = lambda argv: calls.append(argv) or 5
    monkeypatch.setitem(sys.modules, "bchook.tools.dis.command", fake)
    assert _cli.main(["dis", "file.py", "--x"]) == 5
    assert calls == [["file.py", "--x"]]


def test_passes_in_process_matches_the_registry(capsys):
    assert _cli.main(["passes"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]
              if not line.startswith(" ")]
    assert listed == [info.name for info in _registry.available()]


# -- issue 17: option specs in `bchook passes`, --help and the README ----------------------------

def test_passes_shows_each_options_type_default_and_meaning(capsys):
    # item 10: from the same specs the parser uses
    assert _cli.main(["passes"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for cls in _cli.builtin_pass_classes():
        assert cls.option_specs or cls.name == "goto"
        for spec in cls.option_specs:
            line = next((ln for ln in lines if f"-o {cls.name}.{spec.name}=" in ln), None)
            assert line is not None, (cls.name, spec.name)
            assert line.startswith("    ")  # under its pass
            assert f"-o {cls.name}.{spec.name}={spec.type} " in line
            assert f"default {spec.default_text()} " in line and line.endswith(spec.help)
    trace = next(ln for ln in lines if "-o trace.buffer=" in ln)
    assert "=int" in trace and "default 1000000" in trace and "ring buffer" in trace


def test_a_plugin_that_fails_to_load_is_not_offered(run_python, tmp_path, write):
    # item 10: listed by `bchook passes` with its error, not among the available passes
    site = tmp_path / "site"
    write(site / "brokenplug-2.0.dist-info" / "METADATA",
          "Metadata-Version: 2.1\nName: brokenplug\nVersion: 2.0\n")
    write(site / "brokenplug-2.0.dist-info" / "entry_points.txt", BROKEN_ENTRY)
    write(tmp_path / "app.py", "print('ran')\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "nope", "app.py"], cwd=tmp_path,
                              env={"PYTHONPATH": str(site)})
    assert (rc, out) == (2, "")
    offered = err.split("available passes: ")[1].strip().split(", ")
    assert {"constfold", "goto", "identity", "trace"} <= set(offered)
    assert "broken" not in offered and "notapass" not in offered


def test_help_lists_every_option_of_the_built_in_passes(capsys):
    # item 13: --help comes from the option specs
    assert _cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for cls in _cli.builtin_pass_classes():
        for spec in cls.option_specs:
            assert f"  {cls.name}.{spec.name}={spec.type}" in text
            assert f"{spec.help} (default: {spec.default_text()})" in " ".join(text.split())
    for flag in _cli.RUNNER_FLAGS:
        for name in flag.names:
            assert f" {name}" in text
        assert " ".join(flag.help.replace("`", "").split()) in " ".join(text.split())


ROOT = Path(__file__).resolve().parents[2]
_OPTION_USE = re.compile(r"\b(identity|goto|constfold|trace)\.([a-z_]+)=([^\s`'\";|),\\]*)")


def _documents():
    """The README and every page of the documentation site, as (name, text)."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        # blocks that show an error on purpose (a misspelt option, exit status 2) go
        text = re.sub(r"^```\w+ status=[1-9][^\n]*\n.*?^```", "", text, flags=re.M | re.S)
        yield str(path.relative_to(ROOT)), text


def _documented_options():
    """Every PASS.KEY=VALUE the README, the docs, --help and the config docstring show."""
    from bchook import config as _config

    help_text = _cli.runner_help()
    for where, text in (*_documents(), ("bchook --help", help_text),
                        ("_config", _config.__doc__)):
        for match in _OPTION_USE.finditer(text):
            yield where, match.group(1), match.group(2), match.group(3)


def test_every_documented_option_exists_and_takes_its_example_value():
    # item 13: `-o trace.out=a.log` was documented in four places; `out` is no option and
    # `.log` no output extension. Every example now goes through the pass's own parser.
    from bchook.pipeline import registry as _registry

    found = list(_documented_options())
    assert len(found) > 15
    for where, pass_name, key, value in found:
        cls = _registry.load_pass_class(pass_name)
        assert key in cls.option_types, f"{where}: {pass_name}.{key} is no option"
        spec = next(spec for spec in cls.option_specs if spec.name == key)
        if value == spec.type or spec.type.startswith(value + "|") or not value or \
                value.isupper():
            continue  # a list of options (KEY=TYPE) or a placeholder (FILE, N): no example
        cls.option_types[key](value)  # raises for a value the pass refuses


def test_option_tables_in_documented_config_files_exist(tmp_path):
    from bchook import config as _config
    from bchook.pipeline import registry as _registry

    # (a page's deliberately bad file, shown with the error it gives, is named bad*.toml)
    blocks = [block for _, text in _documents()
              for block in re.findall(r"```toml(?![^\n]*file=bad)[^\n]*\n(.*?)```", text, re.S)]
    tables = 0
    for block in blocks:
        path = tmp_path / "pyproject.toml"
        path.write_text(block)
        for pass_name, options in _config.read_pyproject(str(path)).get("options", {}).items():
            _registry.create_passes([pass_name], {pass_name: options})
            tables += 1
    assert tables >= 1


def test_readme_says_how_to_uninstall():
    # item 15
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "run `bchook pth uninstall` first, then `pip uninstall bchook`" in " ".join(
        text.split())


@pytest.mark.parametrize("argv", [["pth", "status"], ["passes"], ["dis", __file__]])
def test_a_reader_that_goes_away_ends_the_command_quietly(project, argv):
    """``bchook ... | head -1``: no traceback and no misleading error about the pipe."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    env["PYTHONUNBUFFERED"] = "1"  # every line written at once: the first write after
    read, write = os.pipe()        # the reader is gone fails
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "bchook", *argv], cwd=project, env=env,
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 0  # the reader had what it wanted, as with `bchook dis`
