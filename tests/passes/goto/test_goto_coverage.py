"""coverage.py on code using goto: the lines it reports are those of a plain twin of the
code, written with loops, ``break``/``continue`` and ``else`` on the same lines, except
where the README says they differ: ``label .x`` lines (they leave no code) and the goto of
``if ...: goto .x`` (it may become the ``if``'s own jump).

Each case is a pair of functions with the same line numbers: ``GOTO`` uses goto, ``PLAIN``
does the same without. Both run under ``coverage run`` (the goto one through the import
hook, ``python -m bchook -p goto``, and through ``@with_goto``), with each core coverage.py
has on the interpreter, and their executed lines are compared.
"""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys

import pytest

coverage = pytest.importorskip("coverage")

HEADER = """\
import contextlib
import os
from bchook.goto import goto, label, with_goto
rewrite = with_goto if os.environ.get("GOTO_MODE") == "decorator" else (lambda f: f)
"""

# The gotos at the end of an ``if`` body with statements before them (issue 17, item 17):
# backward ones (laid out as CPython lays out while loops on 3.10/3.11), forward ones,
# leaving loops, with blocks and except handlers, in a generator.
GOTO = HEADER + '''
@rewrite
def back(n):
    steps = []
    label .again
    if n:
        steps.append(n)
        n -= 1
        goto .again
    return steps


@rewrite
def forward(x):
    y = 0
    if x:
        y += 1
        goto .end
    y += 2
    label .end
    return y


@rewrite
def leave_for(xs):
    out = []
    for x in xs:
        if x < 0:
            out.append(x)
            goto .done
        out.append(-x)
    label .done
    return out


@rewrite
def back_in_for(xs):
    out = []
    for x in xs:
        k = 0
        label .top
        if k < x:
            k += 1
            goto .top
        out.append(k)
    return out


@rewrite
def count(n):
    i = 0
    label .top
    if i >= n:
        goto .done
    i += 1
    goto .top
    label .done
    return i


@rewrite
def leave_with(x):
    with contextlib.nullcontext():
        if x:
            x += 1
            goto .out
        x = 0
    label .out
    return x


@rewrite
def leave_except(x):
    try:
        raise ValueError
    except ValueError:
        if x:
            x += 1
            goto .out
        x = 0
    label .out
    return x


@rewrite
def chain(x):
    if x == 1:
        x = 10
        goto .e
    elif x == 2:
        x = 20
        goto .e
    x = 0
    label .e
    return x


@rewrite
def gen(n):
    label .top
    if n:
        yield n
        n -= 1
        goto .top
    return


print(back(3), forward(1), forward(0), leave_for([1, -2, 3]), back_in_for([2, 0, 1]),
      count(3), leave_with(1), leave_with(0), leave_except(1), chain(1), chain(2), chain(3),
      list(gen(2)))
'''

PLAIN = HEADER + '''
@rewrite
def back(n):
    steps = []
    while True:
        if n:
            steps.append(n)
            n -= 1
            continue
        return steps


@rewrite
def forward(x):
    y = 0
    if x:
        y += 1
        pass
    else: y += 2
    pass
    return y


@rewrite
def leave_for(xs):
    out = []
    for x in xs:
        if x < 0:
            out.append(x)
            break
        out.append(-x)
    pass
    return out


@rewrite
def back_in_for(xs):
    out = []
    for x in xs:
        k = 0
        while True:
            if k < x:
                k += 1
                continue
            out.append(k); break
    return out


@rewrite
def count(n):
    i = 0
    while True:
        if i >= n:
            break
        i += 1
        continue
    pass
    return i


@rewrite
def leave_with(x):
    with contextlib.nullcontext():
        if x:
            x += 1
            pass
        else: x = 0
    pass
    return x


@rewrite
def leave_except(x):
    try:
        raise ValueError
    except ValueError:
        if x:
            x += 1
            pass
        else: x = 0
    pass
    return x


@rewrite
def chain(x):
    if x == 1:
        x = 10
        pass
    elif x == 2:
        x = 20
        pass
    else: x = 0
    pass
    return x


@rewrite
def gen(n):
    while True:
        if n:
            yield n
            n -= 1
            continue
        return


print(back(3), forward(1), forward(0), leave_for([1, -2, 3]), back_in_for([2, 0, 1]),
      count(3), leave_with(1), leave_with(0), leave_except(1), chain(1), chain(2), chain(3),
      list(gen(2)))
'''

CORES = [
    "ctrace",
    pytest.param("sysmon", marks=pytest.mark.skipif(
        not hasattr(sys, "monitoring"), reason="sys.monitoring needs Python 3.12+")),
]
TIMEOUT = 120
_runs = itertools.count()


def documented(source: str) -> set[int]:
    """The lines the README says line tracers may not see: ``label .x`` statements and the
    goto of an ``if`` whose body is that goto alone."""
    def is_statement(node, word):
        return (type(node) is ast.Expr and type(node.value) is ast.Attribute
                and type(node.value.value) is ast.Name and node.value.value.id == word)

    lines = set()
    for node in ast.walk(ast.parse(source)):
        if is_statement(node, "label"):
            lines.add(node.lineno)
        elif type(node) is ast.If and len(node.body) == 1 and is_statement(node.body[0],
                                                                          "goto"):
            lines.add(node.body[0].lineno)
    return lines


def executed(folder, name: str, args: list[str], **env: str) -> tuple[set[int], str]:
    data_file = str(folder / f".coverage.{name}.{next(_runs)}.{os.getpid()}")
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("BCHOOK_", "COVERAGE_", "PYTEST_"))}
    environ.update(env, COVERAGE_FILE=data_file)
    proc = subprocess.run([sys.executable, "-m", "coverage", "run", *args],
                          cwd=folder, env=environ, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cov = coverage.Coverage(data_file=data_file, config_file=False)
    cov.load()
    path = next(p for p in cov.get_data().measured_files() if os.path.basename(p) == name)
    return set(cov.get_data().lines(path)), proc.stdout


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("goto_coverage")
    (folder / "with_goto.py").write_text(GOTO, encoding="utf-8")
    (folder / "plain.py").write_text(PLAIN, encoding="utf-8")
    return folder


def test_the_twins_line_up():
    goto_lines, plain_lines = GOTO.splitlines(), PLAIN.splitlines()
    assert len(goto_lines) == len(plain_lines)
    for a, b in zip(goto_lines, plain_lines):
        assert a.startswith("def") == b.startswith("def"), (a, b)


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("mode", ["hook", "decorator"])
def test_goto_lines_are_reported_as_a_plain_runs(sample, core, mode):
    plain, plain_out = executed(sample, "plain.py", ["plain.py"], COVERAGE_CORE=core)
    if mode == "hook":
        args = ["-m", "bchook", "-p", "goto", "--no-cache", "with_goto.py"]
    else:
        args = ["with_goto.py"]
    lines, out = executed(sample, "with_goto.py", args, COVERAGE_CORE=core, GOTO_MODE=mode)
    assert out == plain_out  # the twins do the same
    skip = documented(GOTO)
    assert lines - skip == plain - skip, (
        f"only under goto: {sorted(lines - plain - skip)}, "
        f"only in the plain run: {sorted(plain - lines - skip)}")
