"""coverage.py under bchook: each built-in pass reports the lines a plain run reports.

A small sample project runs under ``coverage run`` plainly and under bchook (``coverage run
-m bchook -p PASS app.py``, and ``coverage run -m pytest --bchook-pass PASS`` /
``pytest --cov --bchook-pass PASS``); the lines coverage.py records for each sample module
are read back with coverage's API and compared:

* no line is reported executed that a plain run does not execute;
* a line a plain run executes may be reported as not executed only if the pass removed all
  of its code (dead code: checked against the rewritten code's line table). ``identity`` and
  ``trace`` must report exactly the plain lines, and with ``--branch`` exactly the plain
  arcs (coverage's default core is sys.monitoring from 3.14: both cores are compared).

``goto`` is compared with the same functions rewritten by ``@with_goto`` (code using goto
cannot run without being rewritten). Lines marked ``# never`` must never be reported.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import types

import pytest


coverage = pytest.importorskip("coverage")

TIMEOUT = 120

SAMPLE = {
    "app.py": """\
        import os
        import sys

        import flags
        import shapes


        def main():
            total = shapes.area_sum([shapes.Square(2), shapes.Circle(1)])
            print(f"{total:.2f}")
            print(list(shapes.evens(7)), shapes.counter()(), shapes.safe_div(1, 0))
            print(flags.scale(5), flags.kind("e"), flags.kind("z"))
            if os.environ.get("SAMPLE_GOTO"):
                import jumps
                print(jumps.first_negative([3, -2, 5]), jumps.countdown(3), jumps.skip_ahead())
            return 0


        if __name__ == "__main__":
            sys.exit(main())
    """,
    "shapes.py": """\
        import math
        from contextlib import contextmanager


        class Shape:
            def area(self):
                raise NotImplementedError  # never

            def describe(self):
                return f"{type(self).__name__}: {self.area()}"  # never


        class Square(Shape):
            def __init__(self, side):
                self.side = side

            def area(self):
                return self.side ** 2


        class Circle(Shape):
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2


        @contextmanager
        def noted(log):
            log.append("in")
            try:
                yield log
            finally:
                log.append("out")


        def area_sum(shapes):
            log = []
            with noted(log):
                total = sum(s.area() for s in shapes)
            squares = [s for s in shapes if isinstance(s, Square)]
            if not squares:
                total = 0  # never
            biggest = max(shapes, key=lambda s: s.area())
            return total + 0 * biggest.area()


        def evens(n):
            i = 0
            while True:
                if i >= n:
                    break
                if i % 2:
                    i += 1
                    continue
                yield i
                i += 1


        def counter():
            count = 0

            def bump():
                nonlocal count
                count += 1
                return count
            return bump


        def safe_div(a, b):
            try:
                return a / b
            except ZeroDivisionError:
                return None
            finally:
                a = b = None


        def unused(x):
            if x:  # never
                return 1  # never
            return 2  # never
    """,
    "flags.py": """\
        from typing import Final

        DEBUG: Final = False
        LIMIT: Final = 10


        def scale(x):
            factor = 3
            if DEBUG:
                print("scaling", x)  # never
            if factor * 2 > LIMIT:
                return -1  # never
            return x * factor * 2


        def kind(c):
            if c in "aeiou":
                return "vowel"
            return "other"
    """,
    "jumps.py": """\
        import os

        from bchook.goto import goto, label, with_goto

        rewrite = with_goto if os.environ.get("SAMPLE_GOTO") == "decorator" else (lambda f: f)


        @rewrite
        def first_negative(values):
            result = None
            for v in values:
                if v < 0:
                    result = v
                    goto .found
            result = "none"  # never
            label .found
            return result


        @rewrite
        def countdown(n):
            steps = []
            label .again
            if n:
                steps.append(n)
                n -= 1
                goto .again
            return steps


        @rewrite
        def skip_ahead():
            done = ["start"]
            goto .end
            done.append("never")  # never
            label .end
            done.append("end")
            return done
    """,
    "test_sample.py": """\
        import flags
        import shapes


        def test_shapes():
            assert round(shapes.area_sum([shapes.Square(2), shapes.Circle(1)]), 2) == 7.14
            assert list(shapes.evens(7)) == [0, 2, 4, 6]
            assert shapes.safe_div(1, 0) is None


        def test_flags():
            assert (flags.scale(5), flags.kind("e"), flags.kind("z")) == (30, "vowel", "other")
    """,
}

MODULES = ("app.py", "shapes.py", "flags.py")
#: Passes that change no line a program executes: coverage must be exactly the plain one.
EXACT = {"identity", "trace"}
PASSES = ["identity", "constfold", "goto", "trace"]

#: coverage run's flags with and without branch measurement.
BRANCH = {False: [], True: ["--branch"]}
CORES = [
    "ctrace",
    pytest.param("sysmon", marks=pytest.mark.skipif(
        not hasattr(sys, "monitoring"), reason="sys.monitoring needs Python 3.12+")),
]

_runs = itertools.count()


def require_pass(name: str) -> None:
    from bchook.pipeline import registry as _registry

    try:
        _registry.load_pass_class(name)
    except Exception as exc:  # the pass is still being written: say which one is missing
        pytest.skip(f"the {name!r} pass is not available yet: {exc}")


@pytest.fixture(scope="module")
def sample(tmp_path_factory, write_tree):
    return write_tree(tmp_path_factory.mktemp("sample"), SAMPLE)


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "COVERAGE_", "PYTEST_"))}
    env.update(extra)
    return env


def measure(folder, args, env) -> dict[str, tuple[set[int], set[int], set | None]]:
    """Run ``python args`` in ``folder`` with the environment given (coverage's data file
    named by COVERAGE_FILE); ``{file name: (executed lines, missing statements, executed
    arcs or None without --branch)}``."""
    data_file = str(folder / f".coverage.run{next(_runs)}")
    env = {**env, "COVERAGE_FILE": data_file}
    proc = subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cov = coverage.Coverage(data_file=data_file, config_file=False)
    cov.load()
    data = cov.get_data()
    result = {}
    for path in data.measured_files():
        name = os.path.basename(path)
        if os.path.dirname(os.path.realpath(path)) == os.path.realpath(folder) and \
                name in SAMPLE:
            missing = cov.analysis2(path)[3]
            arcs = set(data.arcs(path) or ()) if data.has_arcs() else None
            result[name] = (set(data.lines(path) or ()), set(missing), arcs)
    return result


def code_lines(code: types.CodeType) -> set[int]:
    """Every line any instruction of ``code`` or its nested code objects carries."""
    lines = {line for _, _, line in code.co_lines() if line is not None}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            lines |= code_lines(const)
    return lines


def removed_lines(folder, name: str, pass_name: str) -> set[int]:
    """Lines whose code the pass removed: in the plainly compiled module, not after it."""
    from bchook.pipeline.driver import transform_source
    from bchook.pipeline.registry import create_passes

    path = str(folder / name)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    plain = compile(source, path, "exec", dont_inherit=True)
    rewritten = transform_source(source, path, name[:-3], create_passes([pass_name]))
    return code_lines(plain) - code_lines(rewritten)


def never_lines(folder, name: str) -> set[int]:
    with open(folder / name, encoding="utf-8") as f:
        return {n for n, line in enumerate(f, 1) if line.rstrip().endswith("# never")}


def assert_same_coverage(folder, plain, rewritten, pass_name, names):
    for name in names:
        assert name in plain and name in rewritten, (name, sorted(plain), sorted(rewritten))
        plain_lines, plain_missing, plain_arcs = plain[name]
        lines, missing, arcs = rewritten[name]
        never = never_lines(folder, name)
        assert not never & plain_lines, f"{name}: sample broken, ran {sorted(never & plain_lines)}"
        extra = lines - plain_lines
        assert not extra, f"{name} under {pass_name}: reported executed, never ran: " \
                          f"{sorted(extra)}"
        lost = plain_lines - lines
        if pass_name in EXACT:
            assert not lost, f"{name} under {pass_name}: executed lines lost: {sorted(lost)}"
        else:
            kept = lost - removed_lines(folder, name, pass_name)
            assert not kept, (f"{name} under {pass_name}: lines that ran and whose code the "
                              f"pass kept are reported as not executed: {sorted(kept)}")
        assert missing == plain_missing | lost, name
        if plain_arcs is not None and pass_name in EXACT:
            assert arcs == plain_arcs, (f"{name} under {pass_name}: arcs differ: "
                                        f"only plain {sorted(plain_arcs - arcs)}, "
                                        f"only rewritten {sorted(arcs - plain_arcs)}")


@pytest.fixture(scope="module")
def plain_run(sample):
    """The plain ``coverage run`` of the sample, once per (core, goto mode)."""
    runs = {}

    def get(core, goto="", branch=False):
        key = (core, goto, branch)
        if key not in runs:
            env = environment(COVERAGE_CORE=core, SAMPLE_GOTO=goto)
            runs[key] = measure(sample, ["-m", "coverage", "run", *BRANCH[branch], "app.py"],
                                env)
        return runs[key]

    return get


# -- python -m bchook ----------------------------------------------------------------------

@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("pass_name", PASSES)
def test_runner_reports_the_lines_of_a_plain_run(sample, plain_run, pass_name, core):
    require_pass(pass_name)
    goto = "pass" if pass_name == "goto" else ""
    env = environment(COVERAGE_CORE=core, SAMPLE_GOTO=goto)
    rewritten = measure(sample, ["-m", "coverage", "run", "-m", "bchook", "-p", pass_name,
                                 "--no-cache", "app.py"], env)
    plain = plain_run(core, "decorator" if goto else "")
    names = MODULES + (("jumps.py",) if goto else ())
    assert_same_coverage(sample, plain, rewritten, pass_name, names)


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("pass_name", sorted(EXACT))
def test_runner_reports_the_branches_of_a_plain_run(sample, plain_run, pass_name, core):
    require_pass(pass_name)
    env = environment(COVERAGE_CORE=core)
    rewritten = measure(sample, ["-m", "coverage", "run", "--branch", "-m", "bchook", "-p",
                                 pass_name, "--no-cache", "app.py"], env)
    plain = plain_run(core, branch=True)
    assert all(plain[name][2] for name in MODULES)  # the sample has branches to compare
    assert_same_coverage(sample, plain, rewritten, pass_name, MODULES)


def test_code_from_bchooks_cache_reports_the_same_lines(sample, plain_run, tmp_path, write_tree):
    require_pass("constfold")
    moved = write_tree(tmp_path / "moved", SAMPLE)  # its own cache, warmed up below
    env = environment(COVERAGE_CORE="ctrace")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    args = ["-m", "coverage", "run", "-m", "bchook", "-p", "constfold", "app.py"]
    cold = measure(moved, args, env)
    assert any(".bchook-" in n for n in os.listdir(moved / "__pycache__"))
    warm = measure(moved, args, env)
    assert warm == cold
    assert_same_coverage(sample, plain_run("ctrace"), warm, "constfold", MODULES)


# -- pytest ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plain_pytest_run(sample):
    """The plain ``coverage run -m pytest`` of the sample (the default core), with and
    without branch measurement."""
    runs = {}

    def get(branch=False):
        if branch not in runs:
            runs[branch] = measure(sample, ["-m", "coverage", "run", *BRANCH[branch], "-m",
                                            "pytest", "-q", "-p", "no:cacheprovider",
                                            "test_sample.py"], environment())
        return runs[branch]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("branch", [False, True], ids=["lines", "branches"])
@pytest.mark.parametrize("pass_name", ["identity", "constfold", "trace"])
def test_coverage_run_of_pytest_with_bchook_pass(sample, plain_pytest_run, pass_name, branch):
    require_pass(pass_name)
    rewritten = measure(sample, ["-m", "coverage", "run", *BRANCH[branch], "-m", "pytest",
                                 "-q", "-p", "no:cacheprovider", "--bchook-pass", pass_name,
                                 "--bchook-no-cache", "test_sample.py"], environment())
    assert_same_coverage(sample, plain_pytest_run(branch), rewritten, pass_name,
                         ("shapes.py", "flags.py", "test_sample.py"))


@pytest.mark.slow
@pytest.mark.parametrize("pass_name", ["identity", "constfold"])
def test_pytest_cov_with_bchook_pass(sample, plain_pytest_run, pass_name):
    pytest.importorskip("pytest_cov", reason="pytest-cov is not installed")
    require_pass(pass_name)
    rewritten = measure(sample, ["-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 f"--cov={sample}", "--cov-report=", "--bchook-pass",
                                 pass_name, "--bchook-no-cache", "test_sample.py"],
                        environment())
    assert_same_coverage(sample, plain_pytest_run(), rewritten, pass_name,
                         ("shapes.py", "flags.py", "test_sample.py"))
