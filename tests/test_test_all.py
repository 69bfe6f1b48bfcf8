"""The project's test command, tools/test_all.py: finding interpreters, reading results."""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "test_all.py"


@pytest.fixture(scope="module")
def test_all():
    spec = importlib.util.spec_from_file_location("bchook_tools_test_all", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_probe_accepts_a_working_cpython(test_all):
    assert test_all.probe(sys.executable) == "%d.%d" % sys.version_info[:2]


@pytest.mark.skipif(os.name == "nt", reason="shell script stand-in")
def test_probe_rejects_a_shim_that_fails(test_all, tmp_path):
    # what a pyenv shim does for a version that is installed but not activated
    shim = tmp_path / "python3.99"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    assert test_all.probe(str(shim)) is None
    assert test_all.probe(str(tmp_path / "missing")) is None


def test_the_running_interpreter_is_a_candidate(test_all):
    version = "%d.%d" % sys.version_info[:2]
    assert test_all.candidates(version)[0] == sys.executable
    found, missing = test_all.find_interpreters([sys.executable])
    assert found == {version: os.path.abspath(sys.executable)} and missing == []


def test_unknown_path_is_reported_missing(test_all, tmp_path):
    found, missing = test_all.find_interpreters([str(tmp_path / "nope" / "python")])
    assert found == {} and len(missing) == 1 and "not a working CPython" in missing[0]


def test_unsupported_version_is_a_usage_error(test_all):
    with pytest.raises(SystemExit, match="unsupported version '2.7'"):
        test_all.find_interpreters(["2.7"])


def test_arguments_after_double_dash_go_to_pytest(test_all):
    args = test_all.parse_args(["--python", "3.12", "--python", "3.13", "--fast", "-k", "ir",
                                "--", "-x", "--tb=short"])
    assert args.python == ["3.12", "3.13"]
    assert args.pytest_args == ["-k", "ir", "-m", "not slow", "-n", "auto", "-x", "--tb=short"]


def test_junit_counts_errors_as_failures(test_all, tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(textwrap.dedent("""\
        <?xml version="1.0" encoding="utf-8"?>
        <testsuites><testsuite name="pytest" errors="2" failures="3" skipped="4" tests="20"
          time="1.0"></testsuite></testsuites>
        """))
    assert test_all.read_junit(str(report)) == (11, 5, 4)
    assert test_all.read_junit(str(tmp_path / "absent.xml")) is None


def test_summary_lines(test_all):
    ok = test_all.Result("3.12", "/x/python", passed=10, skipped=1, coverage="90.0%",
                         seconds=12.3)
    bad = test_all.Result("3.13", "/y/python", passed=9, failed=1)
    assert ok.ok and not bad.ok
    assert ok.line().startswith("ok   3.12  10 passed, 0 failed, 1 skipped, coverage 90.0%")
    assert bad.line().startswith("FAIL 3.13  9 passed, 1 failed, 0 skipped")


def test_no_interpreter_found_fails_with_a_total_line(run_python, tmp_path):
    rc, out, err = run_python([SCRIPT, "--python", str(tmp_path / "no-python")], cwd=tmp_path)
    assert rc == 1
    lines = out.strip().splitlines()
    assert lines[-1] == "0 passed, 0 failed, 0 skipped"
    assert any(line.startswith("SKIPPED ") for line in lines)


def test_the_snapshot_keeps_the_package_and_leaves_the_repositorys_tests_out(test_all, tmp_path):
    src = test_all.snapshot(str(tmp_path))
    assert os.path.isfile(os.path.join(src, "src", "bchook", "tools", "asm", "__init__.py"))
    assert os.path.isfile(os.path.join(src, "pyproject.toml"))
    for name in ("tests", "tools", "benchmarks", ".git", ".venvs"):
        assert not os.path.exists(os.path.join(src, name)), name
    assert not [d for d, _, _ in os.walk(src) if os.path.basename(d) == "__pycache__"]
