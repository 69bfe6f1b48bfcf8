"""``bchook check``: a chain that keeps the meaning of programs passes (exit 0); one that
does not is caught, one line per difference, with a reproduction file that really
reproduces (exit 1); bad input is one line and exit 2.

The commands run in subprocesses, as a user runs them; the broken passes come from
``plugin_helpers`` as an installed distribution (``PYTHONPATH``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from bchook.tools.check import cpython, generate, observe, session
from bchook.tools.check.minimize import minimize
from plugin_helpers import install_broken_passes

FAST = ["--generator", "builtin"]


@pytest.fixture
def broken(tmp_path):
    """``run(*args)``: ``python -m bchook check ARGS`` in ``tmp_path`` with the broken
    passes installed; ``(rc, out, err)``."""
    site = install_broken_passes(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    return site, work


def check(run_python, work, *args, site=None, timeout=300):
    env = {"PYTHONPATH": str(site)} if site else {}
    return run_python(["-m", "bchook", "check", *args], cwd=work, env=env, timeout=timeout)


def table_rows(out: str) -> dict:
    """``{(chain, programs): (run, same, different, skipped)}`` from the summary table."""
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^\S+\s+(-p \S+)\s+(corpus|yours|generated|grammar|cpython tests)\s+"
                         r"(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", line)
        if match:
            rows[match.group(1), match.group(2)] = tuple(map(int, match.groups()[2:]))
    return rows


# -- a chain that keeps the meaning ---------------------------------------------------------

def test_a_chain_that_keeps_the_meaning_passes(run_python, tmp_path):
    rc, out, err = check(run_python, tmp_path, "-p", "identity", "--programs", "6", *FAST)
    assert (rc, err) == (0, ""), out
    assert out.startswith("bchook check: -p identity on Python ")
    assert f"{len(session.corpus_paths())} corpus programs, 6 generated (built-in generator, " \
           "seed 0)" in out.splitlines()[0]
    rows = table_rows(out)
    corpus = len(session.corpus_paths())
    run, same, different, skipped = rows["-p identity", "corpus"]
    assert (run + skipped, same, different) == (corpus, run, 0) and run >= corpus - 3
    assert rows["-p identity", "generated"] == (6, 6, 0, 0)
    assert out.rstrip().endswith("bchook check: no difference")
    assert not (tmp_path / "bchook-check").exists()  # made only for reproductions


def test_pad_checks_the_chain_after_identity_with_pad(run_python, tmp_path):
    rc, out, err = check(run_python, tmp_path, "-p", "trace", "--pad", "--programs", "3",
                         "--no-corpus", *FAST)
    assert rc == 0, out + err
    assert set(table_rows(out)) == {("-p trace", "generated"),
                                    ("-p identity(pad=1),trace", "generated")}


def test_every_interpreter_given_gets_its_rows(run_python, tmp_path):
    rc, out, err = check(run_python, tmp_path, "-p", "identity", "--programs", "1",
                         "--no-corpus", "--python", sys.executable, "--python",
                         sys.executable, *FAST)
    assert rc == 0, out + err
    assert len(re.findall(r"^bchook check: -p identity on Python ", out, re.M)) == 2
    assert len(re.findall(r"^[\d.]+\s+-p identity\s+generated ", out, re.M)) == 2


def test_the_corpus_covers_the_tricky_constructs():
    text = "\n".join(p.read_text(encoding="utf-8") for p in session.corpus_paths())
    for construct in ("nonlocal", "yield from", "async with", "async for", "await ",
                      "finally:", "with ", "match ", ":=", "__init_subclass__", "@", "global ",
                      "*args", "**kwargs", "except*", "super()", "__class__", "lambda",
                      "__iadd__", "__radd__", "t'"):
        assert construct in text, construct


def test_line_events_are_left_out_for_a_chain_that_does_not_keep_them(run_python, tmp_path):
    rc, out, err = check(run_python, tmp_path, "-p", "constfold", "--programs", "1",
                         "--no-corpus", *FAST)
    assert rc == 0, out + err
    assert "-p constfold: line events not compared (a pass of the chain says " \
           "keeps_lines = False)" in out


# -- a chain that changes the meaning -------------------------------------------------------

@pytest.mark.slow
def test_a_pass_that_swaps_plus_for_minus_in_one_function_is_caught(run_python, broken):
    site, work = broken
    rc, out, err = check(run_python, work, "-p", "swapplus", "--programs", "0", site=site)
    assert (rc, err) == (1, "")
    lines = [line for line in out.splitlines() if line.startswith("DIFFERENT ")]
    assert lines and all(" -> bchook-check" in line for line in lines), out
    operators = next(line for line in lines if "corpus/operators.py" in line)
    assert re.search(r"\(Python [\d.]+, -p swapplus\): ", operators)
    assert table_rows(out)["-p swapplus", "corpus"][2] == len(lines)
    assert re.search(rf"bchook check: {len(lines)} differences?; reproductions in "
                     rf"{re.escape(str(work.resolve() / 'bchook-check'))}", out)
    # the reproduction is small, and really does something else under the pass
    reproduction = work / operators.rpartition(" -> ")[2]
    text = reproduction.read_text(encoding="utf-8")
    assert text.startswith("# bchook check: this program does not do the same under "
                           "-p swapplus (Python ")
    assert f"# Compare `python {reproduction.name}` with `bchook -p swapplus " \
           f"{reproduction.name}`." in text
    assert len(text.splitlines()) < 15
    env = {"PYTHONPATH": str(site)}
    plain = run_python([reproduction.name], cwd=reproduction.parent, env=env)
    hooked = run_python(["-m", "bchook", "-p", "swapplus", reproduction.name],
                        cwd=reproduction.parent, env=env)
    assert plain != hooked


def test_generated_programs_catch_it_too(run_python, broken):
    site, work = broken
    rc, out, err = check(run_python, work, "-p", "swapplus", "-o", "swapplus.function=f1",
                         "--programs", "30", "--no-corpus", "--no-minimize", *FAST, site=site)
    assert rc == 1 and table_rows(out)["-p swapplus(function=f1)", "generated"][2] >= 1, \
        out + err


ADD = "def add(a, b):\n    return a + b\n\n\nprint(add(2, 3))\n"


def test_line_events_are_compared_for_a_chain_that_keeps_them(run_python, broken):
    site, work = broken
    (work / "mine.py").write_text(ADD)
    rc, out, err = check(run_python, work, "-p", "movesline", "--programs", "0",
                         "--no-corpus", "mine.py", site=site)
    assert rc == 1, out + err
    assert "DIFFERENT mine.py (Python " in out
    assert re.search(r"-p movesline\): line events: event 3: plain \['add', 2\] / chain "
                     r"\['add', 9999\] -> ", out), out
    rc, out, err = check(run_python, work, "-p", "movesline_declared", "--programs", "0",
                         "--no-corpus", "mine.py", site=site)
    assert rc == 0, out + err


def test_programs_of_your_own(run_python, broken):
    site, work = broken
    (work / "src" / "deep").mkdir(parents=True)
    (work / "src" / "deep" / "one.py").write_text(ADD)
    (work / "src" / "two.py").write_text("print('no add here')\n")
    rc, out, err = check(run_python, work, "-p", "swapplus", "--programs", "0",
                         "--no-corpus", "src", site=os.path.relpath(site, work))
    assert rc == 1, out + err  # PYTHONPATH relative to where the check was started
    assert "1 difference;" in out and "DIFFERENT src/deep/one.py (" in out
    assert table_rows(out)["-p swapplus", "yours"] == (2, 1, 1, 0)
    rc, out, err = check(run_python, work, "-p", "identity", "nosuchfile.py")
    assert (rc, out) == (2, "")
    assert "argument FILE: nosuchfile.py: no such file or folder" in err


def test_a_pass_that_ends_the_process_is_a_crash(run_python, broken):
    site, work = broken
    rc, out, err = check(run_python, work, "-p", "exits", "--programs", "1", "--no-corpus",
                         *FAST, site=site)
    assert rc == 1, out + err
    assert "the process running it under the chain crashed: exit status 7" in out
    reproduction = work / out.split(" -> ")[1].split()[0]
    assert "Cut down from generated #1" in reproduction.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_program_that_never_ends_under_the_chain_is_a_timeout(run_python, broken):
    site, work = broken
    rc, out, err = check(run_python, work, "-p", "hangs", "--programs", "1", "--no-corpus",
                         "--timeout", "1", *FAST, site=site)
    assert rc == 1, out + err
    assert "it did not finish under the chain within 1.0 s" in out


def test_a_chain_that_cannot_compile_a_program_is_a_difference(run_python, broken):
    site, work = broken
    rc, out, err = check(run_python, work, "-p", "refuses", "--programs", "1", "--no-corpus",
                         "--no-minimize", *FAST, site=site)
    assert rc == 1, out + err
    assert "the chain failed to compile it: PassFailed: " in out
    assert "no, thank you" in out


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ([], "the following arguments are required: -p/--passes"),
    (["-p", ","], "argument -p/--passes: expected pass names, e.g. -p identity"),
    (["-p", "nosuchpass"], "unknown pass 'nosuchpass'; available passes: "),
    (["-p", "identity", "-o", "identity.nope=1"], "pass 'identity' has no option 'nope'"),
    (["-p", "identity", "-o", "trace.output=x"], "options given for pass 'trace', which is "
                                                 "not in the chain"),
    (["-p", "identity", "--programs", "-1"], "argument --programs: invalid count value"),
    (["-p", "identity", "--timeout", "0"], "argument --timeout: invalid seconds value"),
    (["-p", "identity", "--python", "/no/such/python"], "--python /no/such/python: no such "
                                                        "interpreter"),
    (["-p", "identity", "--cpython-modules", "test_grammar"], "--cpython-modules needs "
                                                              "--cpython-tests"),
])
def test_usage_errors_are_one_line_and_exit_2(run_python, tmp_path, args, message):
    rc, out, err = check(run_python, tmp_path, *args)
    assert (rc, out) == (2, "")
    assert err.startswith("bchook: error: ") and err.count("\n") == 1, err
    assert message in err


def test_an_interpreter_without_bchook_is_named(run_python, tmp_path):
    # the interpreter this virtual environment was made from, by its own path
    candidates = [getattr(sys, "_base_executable", ""), Path(sys.base_prefix) / "bin" / "python3"]
    bare = next((Path(c) for c in candidates if c and Path(c).is_file() and
                 str(c) != sys.executable), None)
    if sys.prefix == sys.base_prefix or bare is None:
        pytest.skip("needs a virtual environment and its base interpreter")
    rc, out, err = check(run_python, tmp_path, "-p", "identity", "--python", str(bare))
    if rc == 0:
        pytest.skip("bchook is importable by the base interpreter too")
    assert rc == 2 and err.count("\n") == 1, err
    assert f"bchook is not importable by {bare.resolve()}" in err or \
        f"bchook is not importable by {bare}" in err
    assert "install bchook into that interpreter's environment first" in err


# -- the parts ------------------------------------------------------------------------------

def test_minimize_keeps_what_still_differs():
    source = "a = 1\nb = 2\nif a:\n    c = 3\n    print('x', a, b)\nd = 4\nprint(d)\n"
    small = minimize(source, lambda text: "print('x'" in text)
    assert small == "print('x')\n"


def test_minimize_leaves_a_program_whose_layout_matters():
    source = "x = 1   # a comment the difference depends on\n"
    assert minimize(source, lambda text: "# a comment" in text) == source


def test_describe_says_one_line_per_field():
    plain = {"output": "a\nb 1\nc\n", "exception": None}
    chained = {"output": "a\nb 2\nc\n", "exception": {"type": "KeyError", "args": "('k',)",
                                                      "frames": [["f", 3]]}}
    assert observe.differences(plain, chained) == ["exception", "output"]
    assert observe.describe("output", plain, chained) == "output: plain 'b 1' / chain 'b 2'"
    assert observe.describe("exception", plain, chained) == \
        "exception: plain none / chain KeyError('k',) at f:3"


def test_the_cpython_slice_compares_each_test_case():
    plain = {"t.A.test_a": "passed", "t.A.test_b": "skipped"}
    assert cpython.compare(plain, 0, dict(plain), 0) == []
    assert cpython.compare(plain, 0, {**plain, "t.A.test_a": "failure"}, 1) == \
        ["t.A.test_a: plain passed / chain failure"]
    assert cpython.compare(plain, 0, {}, 1) == ["no results under the chain (exit 1)"]
    assert cpython.compare({}, 0, {}, 0) == []  # a doctest-only module: exit statuses
    assert cpython.compare({}, 0, {}, 1) == ["exit status: plain 0 / chain 1"]
    assert cpython.chain_flags([{"name": "identity", "options": {"pad": "1"}},
                                {"name": "trace", "options": {}}]) == \
        ["-p", "identity,trace", "-oidentity.pad=1"]


@pytest.mark.skipif(not generate.have_hypothesis(), reason="hypothesis is not installed")
def test_hypothesis_draws_the_programs_when_asked(run_python, tmp_path):
    rc, out, err = check(run_python, tmp_path, "-p", "identity", "--programs", "3",
                         "--no-corpus", "--generator", "hypothesis")
    assert rc == 0, out + err
    assert "3 generated (hypothesis, seed 0)" in out


@pytest.mark.slow
@pytest.mark.skipif(not generate.have_hypothesmith(), reason="hypothesmith is not installed")
def test_hypothesmith_adds_grammar_programs(run_python, tmp_path):
    rc, out, err = check(run_python, tmp_path, "-p", "trace", "--programs", "20",
                         "--no-corpus")
    assert rc == 0, out + err
    assert "18 generated (hypothesis, seed 0), 2 from hypothesmith's grammar" in out
    assert table_rows(out)["-p trace", "grammar"][0] + \
        table_rows(out)["-p trace", "grammar"][3] == 2


@pytest.mark.slow
def test_cpython_tests_run_under_the_chain(run_python, tmp_path):
    reason = cpython.available(sys.executable, dict(os.environ))
    if reason:
        pytest.skip(reason)
    rc, out, err = check(run_python, tmp_path, "-p", "identity", "--programs", "0",
                         "--no-corpus", "--cpython-tests", "--cpython-modules", "test_bool")
    assert rc == 0, out + err
    assert table_rows(out)["-p identity", "cpython tests"] == (1, 1, 0, 0)
