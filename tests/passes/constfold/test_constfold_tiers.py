"""constfold tiers 2 and 3: each option folds what it promises, only under its proof, and
the guard of tier 3 undoes folds when a module global is written; options, report and the
pass run end to end through the import hook and ``python -m bchook``."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

from bchook import OptionError
from bchook.pipeline.driver import transform_source
from bchook.ir import version as V
from bchook.passes.constfold import ConstFoldPass
# imported here, once: a test that isolates sys.modules would otherwise import it afresh
# and take another of the interpreter's few dict-watcher slots each time
from bchook.passes.constfold import _guard  # noqa: F401
from constfold_helpers import assert_folds, compile_both, count_ops, find_code, opnames


# -- builtins ----------------------------------------------------------------------------

@pytest.mark.parametrize("expr", ["len('abc')", "ord('a') + len('lit')", "chr(65)",
                                  "abs(-3)", "min(3, 1, 2)", "max((1, 5))", "int('12')",
                                  "float('1.5')", "str(12)", "bool(())", "tuple('ab')",
                                  "round(2.675, 2)", "divmod(7, 2)", "hex(255)", "repr('x')",
                                  "len([1, 2, 3])", "sum((1, 2, 3))", "frozenset((1, 2))"])
def test_builtins_on_constants(expr):
    assert_folds(f"def f():\n    return {expr}\n", gone=["call"], builtins=1)


@pytest.mark.parametrize("expr", ["chr(-1)", "int('x')", "ord('ab')", "min(())",
                                  "str(b'x')", "len(1)"])
def test_builtins_that_raise_warn_or_vary_stay(expr):
    assert_folds(f"def f():\n    return {expr}\n", kept=["call"], builtins=1)


def test_set_order_is_never_fixed_at_compile_time():
    # frozenset('ab') is a fine constant; its order is this run's hash order
    plain, folded = compile_both("def f():\n    return tuple(frozenset('ab'))\n",
                                 builtins=1)
    assert count_ops(find_code(folded, "f"), ["call"]) == count_ops(find_code(plain, "f"),
                                                                    ["call"]) // 2


def test_builtins_need_the_option():
    assert_folds("def f():\n    return len('abc')\n", kept=["call"])


@pytest.mark.parametrize("binding", ["len = lambda s: 42", "def len(s):\n    return 42",
                                     "from os import path as len",
                                     "def g():\n    global len\n    len = abs",
                                     "__builtins__ = {}"])
def test_a_module_that_binds_the_name_is_left_alone(binding):
    src = f"{binding}\ndef f():\n    return len('abc')\n"
    plain, folded = compile_both(src, builtins=1)
    assert opnames(find_code(folded, "f")) == opnames(find_code(plain, "f"))


# -- stdlib ----------------------------------------------------------------------------------

def eager(imports: str) -> str:
    """``imports`` where they are never lazy: 3.15+ (PEP 810) can make a module-level
    import lazy unless it is in a ``try`` block."""
    if not V.HAS_LAZY_IMPORTS:
        return imports
    return "try:\n" + textwrap.indent(imports, "    ") + "\nexcept ImportError:\n    raise"


@pytest.mark.parametrize("src,expr", [
    ("import math", "2 * math.pi"),
    ("import math as m", "m.tau / 2"),
    ("from math import pi", "pi * 2"),
    ("import sys", "sys.maxsize > 2 ** 31"),
    ("import string", "'q' in string.ascii_letters"),
])
def test_stdlib_constants(src, expr):
    assert_folds(f"{eager(src)}\ndef f():\n    return {expr}\n", gone=["attr"] if "." in expr
                 else ["global"], stdlib=1)


def test_stdlib_constants_into_finals():
    src = eager("import math") + "\nfrom typing import Final\nTWO_PI: Final = 2 * math.pi\n" \
        "def f():\n    return TWO_PI\n"
    assert_folds(src, gone=["global"], stdlib=1)
    assert_folds(src, kept=["global"])


LAZY_IMPORTS = pytest.mark.skipif(not V.HAS_LAZY_IMPORTS,
                                  reason="lazy imports are new in Python 3.15 (PEP 810)")


@LAZY_IMPORTS
@pytest.mark.parametrize("src,expr", [
    ("lazy import cmath", "cmath.pi * 2"),
    ("lazy import cmath as c", "c.pi * 2"),
    ("lazy from cmath import pi", "pi * 2"),
    # lazy under -X lazy_imports=all or sys.set_lazy_imports('all'), set at any time
    ("import cmath", "cmath.pi * 2"),
    ("from cmath import pi", "pi * 2"),
    ("import contextlib\nwith contextlib.nullcontext():\n    import cmath", "cmath.pi * 2"),
])
def test_stdlib_constants_of_imports_that_may_be_lazy_stay(src, expr):
    # the first use of a lazily imported name loads the module: a fold would skip it
    assert_folds(f"{src}\ndef f():\n    return {expr}\n", kept=["attr"] if "." in expr
                 else ["global"], stdlib=1)


@LAZY_IMPORTS
@pytest.mark.parametrize("flags,imports", [
    ([], "lazy import cmath"),
    ([], "lazy from cmath import pi"),
    (["-X", "lazy_imports=all"], "import cmath"),
    (["-X", "lazy_imports=all"], "from cmath import pi"),
    ([], "sys.set_lazy_imports('all')\nimport cmath"),
])
def test_lazy_imports_load_the_module_where_it_is_used(tmp_path, run_python, flags, imports):
    expr = "pi" if "from" in imports else "cmath.pi"
    (tmp_path / "app.py").write_text(
        f"import sys\n{imports}\ndef f():\n    return {expr} * 2\n"
        "print('cmath' in sys.modules)\nprint(f())\nprint('cmath' in sys.modules)\n")
    rc, plain, err = run_python([*flags, "app.py"], cwd=tmp_path)
    assert rc == 0, err
    assert plain.split() == ["False", "6.283185307179586", "True"]
    rc, folded, err = run_python([*flags, "-m", "bchook", "-p", "constfold", "-o",
                                  "constfold.stdlib=1", "--no-cache", "app.py"], cwd=tmp_path)
    assert rc == 0, err
    assert folded == plain


def test_stdlib_module_rebound_or_not_listed_is_left_alone():
    assert_folds("import math\nmath = None\nimport math\ndef f():\n    return math.pi * 2\n",
                 kept=["attr"], stdlib=1)
    assert_folds("import math\ndef f():\n    return math.sqrt(4)\n", kept=["call"], stdlib=1)
    assert_folds("import math\ndef f():\n    return math.nan\n", kept=["attr"], stdlib=1)


# -- caps -----------------------------------------------------------------------------------

def test_caps_constants():
    src = "LIMIT = 10\nNAME = 'abc'\ndef f(n):\n    return (n < LIMIT, NAME.upper())\n"
    assert_folds(src, "f(3)", gone=["global", "call"], caps=1)
    assert_folds(src, "f(3)", kept=["global"])  # not without the option


def test_caps_rebound_is_left_alone():
    src = "LIMIT = 10\ndef f(n):\n    return n < LIMIT\ndef bump():\n    global LIMIT\n" \
          "    LIMIT += 1\n"
    assert_folds(src, "f(3)", kept=["global"], caps=1)


def test_caps_computed_from_caps():
    src = "LIMIT = 10\nHALF = LIMIT // 2\ndef f(n):\n    return n < HALF\n"
    assert_folds(src, "f(3)", gone=["global"], caps=1)


def test_caps_tuple_keeps_its_identity():
    src = "KEYS = ('a', 'b', 'not an identifier')\ndef f():\n    return KEYS if KEYS else 0\n"
    plain, folded = compile_both(src, caps=1)
    assert count_ops(find_code(folded, "f"), ["global"]) == 0
    ns = {}
    exec(folded, ns)
    assert ns["f"]() is ns["KEYS"]


# -- membership sets -------------------------------------------------------------------------

WORDS = "('alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta')"


class Weird(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("value", ["'gamma'", "'omega'", "1", "Weird('x')", "[1]",
                                   "b'alpha'", "None", "1.5"])
def test_membership_sets_agree_with_the_tuple(value):
    src = f"""
        class Weird(str):
            def __eq__(self, other):
                return True
            __hash__ = str.__hash__
        def f(x):
            return (x in {WORDS}, x not in {WORDS})
    """
    assert_folds(src, f"f({value})", membership_sets=1)
    plain, folded = compile_both(src, membership_sets=1)
    ops = opnames(find_code(folded, "f"))
    assert ops.count("CONTAINS_OP") == 4  # a frozenset and a tuple test for each


def test_membership_of_ints_and_mixed_tuples():
    src = "def f(x):\n    return x in (1, 2, 3, 'a', 'b', True)\n"
    for value in ("1", "'a'", "1.0", "True", "'c'", "7"):
        assert_folds(src, f"f({value})", membership_sets=1)


def test_membership_sets_leave_small_and_mixed_tuples():
    assert_folds("def f(x):\n    return x in ('a', 'b')\n", "f('a')", kept=["contains"],
                 membership_sets=1)
    plain, folded = compile_both("def f(x):\n    return x in ('a', 'b', 'c', 'd', b'e')\n",
                                 membership_sets=1)
    assert opnames(find_code(folded, "f")).count("CONTAINS_OP") == 1


# -- options and report ------------------------------------------------------------------------

def test_unknown_option_is_a_clear_error():
    with pytest.raises(OptionError, match="constfold.*no option 'speed'"):
        ConstFoldPass(speed=1)
    with pytest.raises(OptionError, match="constfold.builtins"):
        ConstFoldPass(builtins="maybe")


def test_cache_key_names_the_options():
    assert ConstFoldPass(builtins=1).cache_key() != ConstFoldPass().cache_key()


# -- tier 3: guard -------------------------------------------------------------------------------

GUARDED = """
debug = False
scale = 3
name = 'abc'

def f(x):
    if debug:
        return -1
    return x * scale

def make():
    def inner(y):
        return y * scale
    return inner

class C:
    def m(self):
        return name.upper()
"""


def load_guarded(source=GUARDED, name="guarded_mod", **options):
    code = transform_source(textwrap.dedent(source), f"{name}.py", name,
                            [ConstFoldPass(guard=1, **options)])
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module


@pytest.fixture
def guarded(isolated_imports):
    return load_guarded()


def test_guard_folds_plain_globals(guarded):
    ops = opnames(guarded.f.__code__)
    assert "LOAD_GLOBAL" not in ops and guarded.f(2) == 6
    assert "LOAD_GLOBAL" not in opnames(guarded.C.m.__code__)


def test_guard_sees_setattr(guarded):
    inner = guarded.make()
    guarded.scale = 10
    assert guarded.f(2) == 20 and inner(2) == 20 and guarded.make()(2) == 20
    guarded.debug = True
    assert guarded.f(2) == -1
    assert type(guarded) is types.ModuleType  # the guard is gone once it has fired


def test_guard_sees_delattr(guarded):
    del guarded.scale
    with pytest.raises(NameError):
        guarded.f(2)


def test_guard_ignores_other_names(guarded):
    guarded.other = 1
    assert "LOAD_GLOBAL" not in opnames(guarded.f.__code__)


@pytest.mark.skipif(not V.PY312, reason="dict watchers exist on 3.12+ only")
def test_guard_sees_dict_writes_where_the_interpreter_allows(guarded):
    inner = guarded.make()
    guarded.__dict__["scale"] = 5
    assert guarded.f(2) == 10 and inner(2) == 10
    vars(guarded)["name"] = "xyz"
    assert guarded.C().m() == "XYZ"


def test_guard_outside_sys_modules_undoes_everything(isolated_imports):
    code = transform_source(textwrap.dedent(GUARDED), "x.py", "x", [ConstFoldPass(guard=1)])
    ns = {"__name__": "not_imported"}
    exec(code, ns)
    assert "LOAD_GLOBAL" in opnames(ns["f"].__code__)
    ns["scale"] = 7
    assert ns["f"](2) == 14


def test_guard_needs_the_same_proof(isolated_imports):
    module = load_guarded(GUARDED + "\ndef bump():\n    global scale\n    scale += 1\n",
                          name="guarded_bump")
    assert "LOAD_GLOBAL" in opnames(module.f.__code__)
    module.bump()
    assert module.f(2) == 8


def test_guard_folds_globals_computed_from_guarded_ones(isolated_imports):
    module = load_guarded(GUARDED + "\ndouble = scale * 2\ndef g(x):\n    return x + double\n",
                          name="guarded_computed")
    assert "LOAD_GLOBAL" not in opnames(module.g.__code__) and module.g(1) == 7
    module.scale = 10  # double was computed from the old value, and still holds it
    assert module.g(1) == 7 and module.f(1) == 10
    module.double = 0
    assert module.g(1) == 1


def test_guard_keeps_folded_code_a_removed_branch_held(isolated_imports):
    # helper's only load is in a branch the fold removed; undoing the fold of f brings the
    # branch back, and the guard must find helper's folded code to undo it as well
    module = load_guarded("""
        debug = False
        def f():
            if debug:
                def helper():
                    return debug
                return helper()
            return 0
        def g():
            if debug:
                def plain():
                    return 1
                return plain()
            return 0
    """, name="guarded_nested")
    assert module.f() == 0 and module.g() == 0
    assert any(isinstance(c, types.CodeType) for c in module.f.__code__.co_consts)
    # a code object with nothing to undo goes, as from any other dead branch
    assert not any(isinstance(c, types.CodeType) for c in module.g.__code__.co_consts)
    module.debug = True
    assert module.f() is True and module.g() == 1


def test_guard_end_to_end_with_the_hook(tmp_path, run_python):
    (tmp_path / "conf.py").write_text("LEVEL = 1\ndef level():\n    return LEVEL * 10\n")
    (tmp_path / "main.py").write_text(textwrap.dedent("""
        import dis, conf
        print(conf.level(), 'LOAD_GLOBAL' in [i.opname for i in dis.get_instructions(conf.level)])
        conf.LEVEL = 2
        print(conf.level())
    """))
    rc, out, err = run_python(["-m", "bchook", "-p", "constfold", "-o", "constfold.guard=1",
                               "--no-cache", "main.py"], cwd=tmp_path)
    assert rc == 0, err
    assert out.split() == ["10", "False", "20"]


def test_report_end_to_end(tmp_path, run_python):
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        from typing import Final
        DEBUG: Final = False
        def f():
            if DEBUG:
                print("debug")
            return len('abc')
        print(f())
    """))
    rc, out, err = run_python(["-m", "bchook", "-p", "constfold", "-o", "constfold.report=1",
                               "-o", "constfold.builtins=1", "--no-cache", "app.py"],
                              cwd=tmp_path)
    assert rc == 0, err
    assert out.strip() == "3"
    assert "bchook constfold: __main__:" in err and "DEBUG x1" in err


def test_whole_standard_library_under_the_pass(run_python):
    # every module the program imports goes through constfold with every option
    code = ("import json, re, argparse, dataclasses, enum, typing, collections, fractions\n"
            "print(json.dumps({'a': [1, 2.5]}), re.sub(r'b+', 'x', 'abbc'),\n"
            "      fractions.Fraction(3, 6), collections.Counter('abca').most_common(1))")
    rc, plain, _ = run_python(["-c", code])
    args = ["-m", "bchook", "-p", "constfold", "--include", "*", "--no-cache"]
    for opt in ("builtins", "stdlib", "caps", "membership_sets", "guard"):
        args += ["-o", f"constfold.{opt}=1"]
    rc2, folded, err = run_python(args + ["-c", code])
    assert rc == rc2 == 0, err
    assert folded == plain
