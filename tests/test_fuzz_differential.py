"""Differential fuzzing: programs do the same thing plain and under every pass chain that
must not change their meaning (``identity``, ``identity`` with ``pad=1``, ``constfold``,
``trace``, ``constfold,trace``).

Compared: printed output, what each function returned or raised (type, args, traceback line
numbers, ``__context__``), the exception that escapes the module (with its traceback, cause
and context), runtime warnings and the module's final globals; for the chains documented to
keep them (``identity``, ``trace``), the ``sys.settrace`` line events too.

- generated programs (``bchook.tools.check.generate``, hypothesis drawing): at least 500 per
  interpreter here, run in-process by ``bchook check``'s referee
  (``bchook.tools.check.observe``); ``python tools/fuzz_long.py`` runs 10,000+ through
  ``bchook check`` itself (tests/tools/test_check.py tests the command);
- hand-written tricky programs (the corpus ``bchook check`` installs), in-process and under
  the runner (``python -m bchook``: the same stdout, stderr and exit status as ``python``);
- generated programs imported through the real hook, cold and then from the private cache;
- hypothesmith's grammar-generated programs, for syntax the generator does not write;
- a check that the referee notices passes that do change a program.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from bchook import Pass, install
from bchook.passes.trace.runtime import _names as trace_names
from bchook.pipeline.registry import create_passes
from bchook.tools.check import generate, observe
from bchook.tools.check.session import corpus_paths

CORPUS = corpus_paths()
#: Chains that must not change what a program does: name -> (passes, options).
CHAINS = {
    "identity": ("identity", {}),
    "identity.pad=1": ("identity", {"identity": {"pad": "1"}}),
    "constfold": ("constfold", {}),
    "trace": ("trace", {}),
    "constfold,trace": ("constfold,trace", {}),
}
#: Chains documented to leave line events alone (constfold may drop the lines it removes).
LINE_EVENT_CHAINS = ("identity", "identity.pad=1", "trace")
SLOW_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
FILENAME = "fuzzed_program.py"
NAME = "fuzzed_program"


def make_chain(name: str):
    passes, options = CHAINS[name]
    return create_passes(passes, options)


def run(source, chain=None, filename=FILENAME, line_events=False):
    """The program's outcome, run in this process (plainly if ``chain`` is None)."""
    return observe.run_program(source, filename, chain, name=NAME, line_events=line_events)


def differences(source, chains=tuple(CHAINS), filename=FILENAME, *, line_events=()):
    """``(plain outcome, {chain: (plain outcome, its outcome)})`` for the chains whose
    outcome differs from plain; ``(None, {})`` for a program Python does not compile.
    ``chains``: names from :data:`CHAINS`, or a mapping of labels to lists of passes; line
    events are compared for the chains named in ``line_events``."""
    if not isinstance(chains, dict):
        chains = {name: None for name in chains}
    expected = run(source, filename=filename)
    if "skip" in expected:
        return None, {}
    with_events = None
    found = {}
    for name, passes in chains.items():
        want = expected
        if name in line_events:
            if with_events is None:
                with_events = run(source, filename=filename, line_events=True)
            want = with_events
        got = run(source, make_chain(name) if passes is None else passes, filename,
                  line_events=name in line_events)
        if observe.differences(want, got):
            found[name] = (want, got)
    return expected, found


def explain(source, found) -> str:
    return "\n".join(observe.explain(source, want, got, name)
                     for name, (want, got) in found.items())


def assert_same(source, filename=FILENAME, chains=tuple(CHAINS), line_events=()):
    expected, found = differences(source, chains, filename, line_events=line_events)
    assert not found, explain(source, found)
    return expected


# -- generated programs, in-process --------------------------------------------------------

@pytest.mark.slow
@settings(max_examples=max(500, settings.default.max_examples),
          suppress_health_check=SLOW_CHECKS)
@given(generate.strategy())
def test_generated_programs_behave_the_same_under_every_chain(source):
    expected = assert_same(source)
    assert expected is not None, "the generator wrote a program Python does not compile"


CONSTRUCTS = ("match ", "async def", "await ", "yield", "yield from", "nonlocal", "global G",
              "with CM", "try:", "finally:", "lambda", ":=", "class ", "super()", "@deco",
              "while ", "for ", "async for", "async with", "*args", "**m", "/,", 'f"', "del ",
              "raise ", "assert ")


class Survey:
    """What a sample of generated programs reach: constructs, and kinds of outcome."""

    def __init__(self):
        self.seen = set()
        self.outcomes = set()

    def add(self, source):
        self.seen.update(word for word in CONSTRUCTS if word in source)
        result = run(source)
        self.outcomes.add("escaped" if result["exception"] else "finished")
        if " returned " in result["output"]:
            self.outcomes.add("returned")
        if " raised " in result["output"]:
            self.outcomes.add("raised")

    def check(self):
        assert self.outcomes == {"escaped", "finished", "returned", "raised"}
        assert self.seen == set(CONSTRUCTS), f"never generated: {set(CONSTRUCTS) - self.seen}"


@pytest.mark.slow
def test_generated_programs_exercise_what_they_should():
    """The generator is worth its examples: its programs reach every construct and both
    outcomes (a guard against a generator that quietly degenerates)."""
    survey = Survey()

    @settings(max_examples=200, suppress_health_check=SLOW_CHECKS, database=None)
    @given(generate.strategy())
    def draw(source):
        survey.add(source)

    draw()
    survey.check()


def test_the_builtin_generator_exercises_what_it_should():
    """The same for the generator ``bchook check`` uses without hypothesis."""
    survey = Survey()
    for source in generate.random_programs(100, seed=0):
        survey.add(source)
    survey.check()


def test_the_builtin_generator_gives_the_same_programs_for_the_same_seed():
    first = generate.random_programs(5, seed=3)
    assert generate.random_programs(5, seed=3) == first
    assert generate.random_programs(2, seed=3) == first[:2]  # program i depends on i alone
    assert generate.random_programs(5, seed=4) != first
    assert all(source.startswith(generate.PRELUDE_IMPORT + "\n") for source in first)


# -- hand-written programs -----------------------------------------------------------------

def corpus_source(path: Path) -> str:
    source = path.read_text(encoding="utf-8")
    try:
        observe.compile_source(source, str(path))
    except SyntaxError as exc:  # except* before 3.11
        pytest.skip(f"{path.name} needs a newer Python: {exc.msg}")
    return source


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_program_behaves_the_same_under_every_chain(path):
    source = corpus_source(path)
    expected = assert_same(source, str(path), line_events=LINE_EVENT_CHAINS)
    assert expected["output"], f"{path.name} printed nothing: it checks nothing"


def test_corpus_covers_the_tricky_constructs():
    text = "\n".join(p.read_text(encoding="utf-8") for p in CORPUS)
    for construct in ("nonlocal", "yield from", "async with", "async for", "await ",
                      "finally:", "with ", "match ", ":=", "__init_subclass__", "@", "global ",
                      "*args", "**kwargs", "except*", "super()", "__class__"):
        assert construct in text, construct


def _run(args, cwd, env):
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "COVERAGE_PROCESS"))}
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cache writes on: the run after reads them
    return env


def _runner_cases():
    chains = list(CHAINS)
    cases = []
    for i, path in enumerate(CORPUS):
        # Every chain for the program whose uncaught exception the runner must print as
        # Python does; one chain each, in turn, for the others (subprocesses are slow).
        picked = chains if path.stem == "exceptions_tracebacks" else [chains[i % len(chains)]]
        for chain in picked:
            cases.append(pytest.param(path, chain, id=f"{path.stem}-{chain}"))
    return cases


def _runner_flags(chain: str, tmp: Path) -> list[str]:
    passes, options = CHAINS[chain]
    flags = ["-p", passes]
    for name, table in options.items():
        flags += [f"-o{name}.{key}={value}" for key, value in table.items()]
    if "trace" in passes:  # results to a file, so that stderr is the program's alone
        flags += ["-o", f"trace.output={tmp / 'trace.folded'}"]
    return flags


@pytest.mark.parametrize("path, chain", _runner_cases())
def test_corpus_program_under_the_runner_prints_what_python_prints(path, chain, tmp_path):
    corpus_source(path)
    shutil.copy(path, tmp_path / path.name)
    env = _clean_env()
    # As -m modules, so that the second run reads bchook's cache (scripts are not cached);
    # Python's second run reads its pyc too (no compile-time warnings then).
    for run in ("cold", "cached"):
        plain = _run(["-m", path.stem], tmp_path, env)
        hooked = _run(["-m", "bchook", *_runner_flags(chain, tmp_path), "-m", path.stem],
                      tmp_path, env)
        assert hooked == plain, run
        assert any(".bchook-" in name for name in os.listdir(tmp_path / "__pycache__"))


@pytest.mark.parametrize("accel", ["1", "0"])
def test_generator_left_suspended_at_exit_under_trace(tmp_path, accel):
    """A generator left suspended is closed at interpreter exit, after CPython 3.10-3.12
    have restored the start-up builtins: bchook.trace adds its probes to that copy at exit,
    so they are still there (this used to fail with "Exception ignored ... NameError")."""
    (tmp_path / "suspended.py").write_text(
        "def gen():\n    yield 1\n    yield 2\n\n\ng = gen()\nprint(next(g))\n")
    flags = ["-p", "trace", "-o", f"trace.accel={accel}",
             "-o", f"trace.output={tmp_path / 'trace.folded'}"]
    assert _run(["-m", "bchook", *flags, "suspended.py"], tmp_path, _clean_env()) == \
        (0, "1\n", "")


#: Debugger jumps (``frame.f_lineno = n`` in a trace function), after CPython's
#: test_sys_settrace: CPython decides whether a jump is allowed from the bytecode, so a pass
#: that breaks its analysis turns a legal jump into an error, or pops a value that is not
#: there (a crash). Run in a subprocess for that reason.
JUMPS = """\
import asyncio, sys


async def agen(n):
    for i in range(n):
        yield i


def over_listcomp(out):
    out.append(1)
    x = [i for i in range(3)]
    out.append(3)


async def over_async_listcomp(out):
    out.append(1)
    x = [i async for i in agen(3)]
    out.append(3)


def over_for_block_before_else(out):
    out.append(1)
    if not out:
        for i in [3]:
            out.append(4)
    else:
        out.append(6)
        out.append(7)
    out.append(8)


def jump(fn, start, end, event="line"):
    out = []
    first = fn.__code__.co_firstlineno
    done = []

    def tracer(frame, kind, arg):
        if frame.f_code is fn.__code__ and kind == event and not done and \\
                frame.f_lineno == first + start:
            done.append(1)
            try:
                frame.f_lineno = first + end
            except ValueError as exc:
                out.append(f"refused: {exc}")
        return tracer

    sys.settrace(tracer)
    try:
        result = fn(out)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    finally:
        sys.settrace(None)
    print(fn.__name__, start, end, out, flush=True)


for start, end in ((3, 1), (1, 3)):
    jump(over_listcomp, start, end)
    jump(over_async_listcomp, start, end)
jump(over_for_block_before_else, 1, 7)


class AwaitsInt:
    def __aenter__(self):
        return 123

    def __aexit__(self, *exc):
        return 456


class ExitAwaitsInt:
    async def __aenter__(self):
        return self

    def __aexit__(self, *exc):
        return 456


async def use(cm):
    async with cm:
        pass


for cm in (AwaitsInt(), ExitAwaitsInt()):
    try:
        asyncio.run(use(cm))
    except TypeError as exc:
        print(type(exc).__name__, exc)
"""

@pytest.mark.parametrize("chain", CHAINS)
def test_debugger_jumps_behave_the_same(chain, tmp_path):
    (tmp_path / "jumps.py").write_text(JUMPS)
    env = _clean_env()
    plain = _run(["jumps.py"], tmp_path, env)
    assert plain[0] == 0 and "refused" not in plain[1], plain  # all of them are legal
    assert _run(["-m", "bchook", *_runner_flags(chain, tmp_path), "jumps.py"], tmp_path,
                env) == plain


# -- through the real import hook, cold and from the cache ----------------------------------

@contextlib.contextmanager
def _importable(folder: str):
    saved_modules = dict(sys.modules)
    saved_path = list(sys.path)
    saved_meta = list(sys.meta_path)
    saved_dont_write = sys.dont_write_bytecode
    sys.path.insert(0, folder)
    sys.dont_write_bytecode = False
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for name in list(sys.modules):
            if name not in saved_modules:
                del sys.modules[name]
        sys.path[:] = saved_path
        sys.meta_path[:] = saved_meta
        sys.dont_write_bytecode = saved_dont_write
        importlib.invalidate_caches()


def _import_outcome(name: str, filename: str) -> dict:
    def execute(namespace):
        sys.modules.pop(name, None)
        try:
            namespace.update(vars(importlib.import_module(name)))
        finally:
            sys.modules.pop(name, None)

    return observe.observe(execute, filename)


_counter = iter(range(10**9))


@settings(max_examples=8, suppress_health_check=SLOW_CHECKS, database=None)
@given(generate.strategy())
def test_generated_programs_imported_through_the_hook_cold_and_cached(source):
    name = f"fuzzed_import_{os.getpid()}_{next(_counter)}"
    with tempfile.TemporaryDirectory() as folder, _importable(folder):
        path = os.path.join(folder, name + ".py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError:
            return
        expected = _import_outcome(name, path)
        for chain in CHAINS:
            with install(make_chain(chain), include=[name]) as hook:
                cold = _import_outcome(name, path)
                assert cold == expected, f"{chain}, cold:\n" + explain(
                    source, {chain: (expected, cold)})
                cached = [n for n in os.listdir(os.path.join(folder, "__pycache__"))
                          if n.startswith(name) and ".bchook-" in n]
                assert len(cached) == 1, cached
                # From now on a transformation would be a failure: the cache must serve.
                hook.rewriter.compile = _no_compiling
                warm = _import_outcome(name, path)
                assert warm == expected, f"{chain}, from the cache:\n" + explain(
                    source, {chain: (expected, warm)})
            os.unlink(os.path.join(folder, "__pycache__", cached[0]))


def _no_compiling(*args, **kwargs):
    raise AssertionError("transformed again although the cache holds the module")


# -- hypothesmith: syntax the generator does not write -------------------------------------

try:
    import hypothesmith
except ImportError:  # an optional test dependency
    hypothesmith = None

PROBE_NAMES = {v for k, v in vars(trace_names).items() if k.isupper() and isinstance(v, str)}


@pytest.mark.slow
@pytest.mark.skipif(hypothesmith is None, reason="hypothesmith is not installed")
def test_grammar_generated_programs_compile_and_run_alike():
    @settings(max_examples=40, suppress_health_check=SLOW_CHECKS)
    @given(hypothesmith.from_grammar(auto_target=False))
    def check(source):
        run("", make_chain("trace"))  # puts the probes in builtins
        expected = observe.run_limited(source, FILENAME, limit=500)
        if "skip" in expected:
            return
        for chain in CHAINS:
            got = observe.run_limited(source, FILENAME, make_chain(chain), limit=5000,
                                      extra_builtins=PROBE_NAMES)
            assert not observe.differences(expected, got), f"{chain}:\n{source}\n{got}"

    check()


# -- the referee itself ---------------------------------------------------------------------

class ChangesAConstant(Pass):
    name = "changes_a_constant"

    def transform_code(self, code, ctx):  # (3.14+ load small ints without co_consts)
        return code.replace(co_consts=tuple("START" if c == "start" else c
                                            for c in code.co_consts))


class ShiftsLines(Pass):
    name = "shifts_lines"

    def transform_code(self, code, ctx):
        return code.replace(co_firstlineno=code.co_firstlineno + 1)


class SilencesPrint(Pass):
    name = "silences_print"

    def transform_code(self, code, ctx):
        return code.replace(co_names=tuple("repr" if n == "show" else n
                                           for n in code.co_names))


REFEREE_PROGRAM = generate.PRELUDE_IMPORT + """


def f(a, s):
    show('start', a)
    return 10 // (a - 2)


report('f', f, 1, 'x')
report('f', f, 2, 'y')
"""


@pytest.mark.parametrize("bad_pass, part", [(ChangesAConstant, "output"),
                                            (ShiftsLines, "output"),
                                            (SilencesPrint, "output")])
def test_the_referee_notices_a_pass_that_changes_the_program(bad_pass, part):
    expected, found = differences(REFEREE_PROGRAM, {"bad": [bad_pass()]})
    assert "bad" in found
    assert found["bad"][1][part] != expected[part]
    assert "--- differences under bad:" in explain(REFEREE_PROGRAM, found)


def test_the_referee_compares_escaping_exceptions_and_their_lines():
    source = "def f(x):\n    return 1 // x\n\nf(0)\n"
    expected, found = differences(source, {"bad": [ShiftsLines()]})
    assert expected["exception"]["type"] == "ZeroDivisionError"
    assert expected["exception"]["frames"] == [["<module>", 4], ["f", 2]]
    assert found["bad"][1]["exception"]["frames"] == [["<module>", 5], ["f", 3]]
    assert differences(source)[1] == {}


def test_identity_keeps_the_tables_cpython_shares_between_code_objects():
    # CPython's test_compile (test_merge_code_attrs) checks this with `is`.
    source = "f1 = lambda x: x.y.z\nf2 = lambda a: a.b.c\n"
    namespace = {}
    exec(observe.compile_source(source, FILENAME, make_chain("identity")), namespace)
    first, second = namespace["f1"].__code__, namespace["f2"].__code__
    assert first.co_linetable is second.co_linetable
