"""More bad input to the ``bchook`` command, beyond test_cli.py: long option forms without
their value, empty values, bad options of every built-in pass, bad settings from the
environment and from ``pyproject.toml``, odd targets, and the subcommands.

Each is a usage error: exit status 2, exactly one line on stderr (``bchook: error: ...``)
saying what is wrong, nothing on stdout, the program not run and nothing written (no
``__pycache__``, no cache file, no output file).
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from bchook.frontends import cli as _cli


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Programs that leave a trace if they ever run, and odd targets."""
    ran = "open('RAN', 'w').close()\n"
    (tmp_path / "app.py").write_text(ran)
    (tmp_path / "lib.py").write_text("X = 1\n")
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "pkgnomain").mkdir()
    (tmp_path / "pkgnomain" / "__init__.py").write_text(ran)
    with zipfile.ZipFile(tmp_path / "nomain.zip", "w") as z:
        z.writestr("other.py", ran)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # so that a write would show
    return tmp_path


def snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_usage_error(capsys, project, argv, message):
    before = snapshot(project)
    assert _cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("bchook: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert message in err, err
    assert snapshot(project) == before, "something ran or was written"
    return err


FLAG_ERRORS = [
    # long forms without their value
    (["--passes"], "argument -p/--passes: expected one argument"),
    (["-p", "identity", "--option"], "argument -o/--option: expected one argument"),
    (["-p", "identity", "--include"], "argument --include: expected one argument"),
    # empty values
    (["-p", "identity", "--include", "", "app.py"], "argument --include: expected"),
    (["-p", "identity", "--include=", "app.py"], "argument --include: expected"),
    (["-p", "identity", "--exclude", " , ", "app.py"], "argument --exclude: expected"),
    (["--passes=", "app.py"], "expected pass names"),
    (["-p", "identity", "-o", "", "app.py"], "PASS.KEY=VALUE"),
    (["-p", "identity", "-m", ""], "'' is not a module name"),
    # one bad pass among good ones, in any position and spelling
    (["-p", "identity", "-p", "nope", "app.py"], "unknown pass 'nope'"),
    (["-p", "nope,identity", "app.py"], "unknown pass 'nope'"),
    (["-p", "Identity", "app.py"], "unknown pass 'Identity'"),
    (["-p", "identity;constfold", "app.py"], "unknown pass 'identity;constfold'"),
    # malformed -o
    (["-p", "identity", "-o", "identity.=1", "app.py"], "PASS.KEY=VALUE"),
    (["-p", "identity", "-o", "=1", "app.py"], "PASS.KEY=VALUE"),
    (["-p", "identity", "-o", "pad=1", "app.py"], "PASS.KEY=VALUE"),
    (["-p", "identity", "-o", "identity.pad=1", "-o", "identity.pad=1", "app.py"], "'1,1'"),
    (["-p", "identity", "-o", "nope.x=1", "app.py"], "'nope' is not in the chain"),
    # unknown flags (the runner takes Python's place, not its options)
    (["-x", "app.py"], "unrecognized arguments: -x"),
    (["-p", "identity", "-q", "app.py"], "unrecognized arguments: -q"),
    (["-p", "identity", "--no-cache=yes", "app.py"], "--no-cache"),
    # targets
    (["-p", "identity", "missing/folder/app.py"], "can't open file 'missing/folder/app.py'"),
    (["-p", "identity", "app.py/"], "can't open file 'app.py/'"),
    (["-p", "identity", "nomain.zip"], "can't find '__main__' module in 'nomain.zip'"),
    (["-p", "identity", "-m", "lib.nothing"], "no module named 'lib.nothing'"),
    (["-p", "identity", "--"], "nothing to run"),
    # subcommands
    (["run"], "nothing to run"),
    (["run", "--bogus", "app.py"], "unrecognized arguments: --bogus"),
    (["run", "-p", "nope", "app.py"], "unknown pass 'nope'"),
    (["passes", "--bogus"], "unrecognized arguments: --bogus"),
    (["pth", "status", "extra"], "unrecognized arguments: extra"),
    (["pth", "uninstall", "--user"], "unrecognized arguments: --user"),
    (["pth", "install", "--user", "extra"], "unrecognized arguments: extra"),
]


@pytest.mark.parametrize("argv, message", FLAG_ERRORS,
                         ids=[" ".join(a) or "(nothing)" for a, _ in FLAG_ERRORS])
def test_bad_flags(project, capsys, argv, message):
    assert_usage_error(capsys, project, argv, message)


PASS_OPTION_ERRORS = [
    ("identity", "identity.pad=maybe", "bad value 'maybe' for option identity.pad"),
    ("identity", "identity.nop=1", "pass 'identity' has no option 'nop'"),
    ("constfold", "constfold.builtins=2", "constfold.builtins"),
    ("constfold", "constfold.everything=1", "pass 'constfold' has no option"),
    ("trace", "trace.mode=sometimes", "trace.mode"),
    ("trace", "trace.output=results.txt", "trace.output"),
    ("trace", "trace.buffer=0", "trace.buffer"),
    ("trace", "trace.buffer=lots", "trace.buffer"),
    ("trace", "trace.handler=not a function", "trace.handler"),
    ("trace", "trace.accel=perhaps", "trace.accel"),
    ("goto", "goto.anything=1", "pass 'goto' has no option 'anything'"),
]


@pytest.mark.parametrize("pass_name, option, message", PASS_OPTION_ERRORS,
                         ids=[o for _, o, _ in PASS_OPTION_ERRORS])
def test_bad_options_of_every_builtin_pass(project, capsys, pass_name, option, message):
    assert_usage_error(capsys, project, ["-p", pass_name, "-o", option, "app.py"], message)


ENV_ERRORS = [
    ({"BCHOOK_PASSES": "nope"}, "unknown pass 'nope'"),
    ({"BCHOOK_PASSES": "identity", "BCHOOK_OPTIONS": "garbage"}, "BCHOOK_OPTIONS"),
    ({"BCHOOK_PASSES": "identity", "BCHOOK_OPTIONS": "identity.nope=1"}, "no option 'nope'"),
    ({"BCHOOK_PASSES": "identity", "BCHOOK_CACHE": "sometimes"}, "BCHOOK_CACHE"),
    ({"BCHOOK_PASSES": "identity", "BCHOOK_CONFIG": "missing/pyproject.toml"},
     "cannot read missing/pyproject.toml"),
]


@pytest.mark.parametrize("env, message", ENV_ERRORS, ids=[str(e) for e, _ in ENV_ERRORS])
def test_bad_environment(project, capsys, monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert_usage_error(capsys, project, ["app.py"], message)


FILE_ERRORS = [
    ("[tool.bchook]\npasses = ['nope']\n", "unknown pass 'nope'"),
    ("[tool.bchook]\npasses = ['identity']\n[tool.bchook.options.identity]\npad = 'maybe'\n",
     "identity.pad"),
    ("[tool.bchook]\npasses = ['identity']\n[tool.bchook.options.identity]\nnope = 1\n",
     "no option 'nope'"),
    ("[tool.bchook]\npasses = ['trace']\n[tool.bchook.options.trace]\nmode = 'x'\n",
     "trace.mode"),
    ("[tool.bchook]\nexclude = 'a'\ninclude = 5\n", "include must be a list of strings"),
]


@pytest.mark.parametrize("text, message", FILE_ERRORS, ids=[m for _, m in FILE_ERRORS])
def test_bad_pyproject(project, capsys, text, message):
    (project / "pyproject.toml").write_text(text)
    assert_usage_error(capsys, project, ["app.py"], message)


def test_flags_beat_a_bad_environment_only_where_they_say_so(project, capsys, monkeypatch):
    # -p replaces BCHOOK_PASSES, so its bad value no longer matters ...
    monkeypatch.setenv("BCHOOK_PASSES", "nope")
    monkeypatch.setenv("BCHOOK_CACHE", "0")
    assert _cli.main(["-p", "identity", "app.py"]) == 0
    assert (project / "RAN").exists()
    (project / "RAN").unlink()
    capsys.readouterr()
    # ... but a bad BCHOOK_OPTIONS entry for a pass of the chain is still an error
    monkeypatch.setenv("BCHOOK_OPTIONS", "identity.pad=maybe")
    assert_usage_error(capsys, project, ["-p", "identity", "app.py"], "identity.pad")


def _bchook_script() -> str | None:
    script = Path(sys.executable).with_name("bchook")
    return str(script) if script.exists() else shutil.which("bchook")


END_TO_END = [
    ["--include", "", "app.py"],
    ["-p", "identity", "-o", "identity.pad=maybe", "app.py"],
    ["-p", "trace", "-o", "trace.output=results.txt", "app.py"],
    ["-p", "identity", "nomain.zip"],
    ["run", "-p", "identity", "pkgnomain"],
    ["pth", "uninstall", "--user"],
]


@pytest.mark.parametrize("argv", END_TO_END, ids=[" ".join(a) for a in END_TO_END])
@pytest.mark.parametrize("how", ["python -m bchook", "bchook"])
def test_usage_errors_end_to_end(project, run_python, argv, how):
    import subprocess

    if how == "bchook":
        script = _bchook_script()
        if script is None:
            pytest.skip("no bchook console script next to this interpreter")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        proc = subprocess.run([script, *argv], cwd=project, env=env, capture_output=True,
                              text=True, timeout=120)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    else:
        rc, out, err = run_python(["-m", "bchook", *argv], cwd=project,
                                  env={"PYTHONDONTWRITEBYTECODE": None})
    assert (rc, out) == (2, ""), err
    assert err.startswith("bchook: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not (project / "RAN").exists() and not (project / "__pycache__").exists()
    assert not (project / "results.txt").exists()
