"""The trace pass under pytest: the session's profile in the terminal summary, tests kept
as roots (``trace.per_test``), pytest-xdist's workers merged into one output."""

from __future__ import annotations

import os
import pstats

import pytest

LIB = """\
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
"""

TEST_A = """\
from lib import fib

def test_small():
    assert fib(10) == 55

def test_big():
    assert fib(18) == 2584

def test_other():
    assert fib(5) == 5
"""

TEST_B = """\
from lib import fib

def test_b1():
    assert fib(12) == 144

def test_b2():
    assert fib(3) == 2
"""

#: fib's calls in the whole session: 177 + 8361 + 15 + 465 + 5.
FIB_CALLS = 9023


@pytest.fixture
def project(tmp_path):
    (tmp_path / "lib.py").write_text(LIB)
    (tmp_path / "test_a.py").write_text(TEST_A)
    (tmp_path / "test_b.py").write_text(TEST_B)
    return tmp_path


def run_pytest(run_python, cwd, *args):
    return run_python(["-m", "pytest", "-p", "no:cacheprovider", "--bchook-pass", "trace",
                       *args], cwd=cwd)


def stats_of(path) -> dict:
    return {(os.path.basename(f), name): (v[1], sorted(c[2] for c in v[4]))
            for (f, _, name), v in pstats.Stats(str(path)).stats.items()}


def test_the_summary_is_part_of_pytests_terminal_summary(project, run_python):
    rc, out, err = run_pytest(run_python, project, "-p", "no:xdist")
    assert rc == 0, out + err
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "bchook trace" in line and "=" in line)
    assert "5 passed" in lines[-1] and start < len(lines) - 1
    assert "fib" in "\n".join(lines[start:]) and "cumtime" in "\n".join(lines[start:])
    assert "cumtime" not in err  # nothing more once pytest is done


def test_per_test_keeps_each_test_a_root(project, run_python):
    rc, out, err = run_pytest(run_python, project, "-p", "no:xdist", "--bchook-option",
                              "trace.output=t.prof", "--bchook-option", "trace.per_test=1")
    assert rc == 0, out + err
    assert f"bchook trace: wrote {project / 't.prof'}" in out
    stats = stats_of(project / "t.prof")
    for test in ("test_small", "test_big", "test_other"):
        assert stats[("<test>", f"test_a.py::{test}")] == (1, [])
        assert stats[("test_a.py", test)] == (1, [f"test_a.py::{test}"])
    assert stats[("test_b.py", "test_b2")] == (1, ["test_b.py::test_b2"])
    assert stats[("lib.py", "fib")][0] == FIB_CALLS


def test_without_per_test_no_test_roots(project, run_python):
    rc, out, err = run_pytest(run_python, project, "-p", "no:xdist", "--bchook-option",
                              "trace.output=t.prof")
    assert rc == 0, out + err
    assert not [key for key in stats_of(project / "t.prof") if key[0] == "<test>"]


@pytest.mark.slow
@pytest.mark.parametrize("conftest", [False, True], ids=["workers only", "controller too"])
def test_xdist_workers_are_merged_into_the_one_output(project, run_python, conftest):
    """Each worker hands its profile over; the controller merges them (with its own when
    it traced something: a conftest) and writes the one file."""
    pytest.importorskip("xdist")
    files = ["lib.py", "t.prof", "test_a.py", "test_b.py"]
    if conftest:
        (project / "conftest.py").write_text("def helper():\n    return 1\nhelper()\n")
        files.insert(0, "conftest.py")
    rc, out, err = run_pytest(run_python, project, "-p", "xdist", "-n", "2",
                              "--bchook-option", "trace.output=t.prof",
                              "--bchook-option", "trace.per_test=1")
    assert rc == 0, out + err
    assert sorted(os.listdir(project)) == files
    stats = stats_of(project / "t.prof")
    if conftest:  # imported by the controller and by each worker
        assert stats[("conftest.py", "helper")] == (3, ["<module>"])
    roots = sorted(name for kind, name in stats if kind == "<test>")
    assert roots == ["test_a.py::test_big", "test_a.py::test_other", "test_a.py::test_small",
                     "test_b.py::test_b1", "test_b.py::test_b2"]
    assert stats[("lib.py", "fib")][0] == FIB_CALLS


@pytest.mark.slow
def test_xdist_summary_in_the_controllers_terminal(project, run_python):
    pytest.importorskip("xdist")
    rc, out, err = run_pytest(run_python, project, "-p", "xdist", "-n", "2")
    assert rc == 0, out + err
    table = out[out.index("bchook trace"):]
    assert f"{FIB_CALLS}/5" in table  # every worker's calls of fib, 5 of them primitive


def test_a_failed_write_fails_the_session(project, run_python):
    (project / "out").mkdir()
    (project / "test_c.py").write_text(
        "import shutil\n"
        "def test_removes_the_folder():\n"
        "    shutil.rmtree('out')\n"
        "    open('out', 'w').close()\n")
    rc, out, err = run_pytest(run_python, project, "-p", "no:xdist", "--bchook-option",
                              "trace.output=out/t.prof")
    assert "6 passed" in out
    assert rc == 1
    assert err.count("bchook trace: could not write") == 1


@pytest.mark.parametrize("workers", [("-p", "no:xdist"), ("-p", "xdist", "-n", "2")],
                         ids=["one process", "xdist"])
@pytest.mark.parametrize("handler, message", [
    ("no_such_mod:f", "no module named 'no_such_mod'"),
    ("hooks:missing", "module 'hooks' has no 'missing'"),
    ("hooks:not_callable", "int object is not callable"),
])
def test_a_handler_that_cannot_be_loaded_is_pytests_usage_error(project, run_python, workers,
                                                               handler, message):
    """Found as the first traced module is collected, reported as pytest reports a bad
    option (status 4, one ERROR line), not as an internal error; no test runs."""
    if "xdist" in workers:
        pytest.importorskip("xdist")
    (project / "hooks.py").write_text("not_callable = 5\n")
    rc, out, err = run_pytest(run_python, project, *workers, "--bchook-option",
                              f"trace.handler={handler}")
    assert rc == 4, out + err
    assert "INTERNALERROR" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert errors == [f"ERROR: bchook: trace.handler={handler}: " + errors[0].split(": ", 3)[3]]
    assert message in errors[0]
    assert "passed" not in out and "bchook trace:" not in out
