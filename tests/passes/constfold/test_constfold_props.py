"""Property tests: generated functions behave the same with and without constfold.

Our own hypothesis strategies build functions full of foldable (and unfoldable) code:
locals stored once, conditionally, or deleted; ``Final`` and ALL_CAPS globals; every
operator, comparisons, ``in``/``is``, subscripts, methods and builtins of constants;
dead and live branches. Each is run plain and folded with every tier's options, and the
results and exceptions (type and message) must be equal. hypothesmith's grammar-generated
programs check that the pass never fails and changes nothing on arbitrary syntax.
"""

from __future__ import annotations

import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bchook.pipeline.driver import transform_source
from bchook.passes.constfold import ConstFoldPass

OPTION_SETS = [
    {},
    {"builtins": 1, "stdlib": 1, "caps": 1, "membership_sets": 1},
]

ints = st.integers(-5, 300).map(repr)
floats = st.sampled_from(["0.0", "-0.0", "1.5", "-2.25", "1e300", "1e999", "-1e999",
                          "0.1"])
strs = st.sampled_from(["''", "'a'", "'ab c'", "'abc'", "'Ab1'", "' x '", "'a,b'",
                        "'a b'", "'é'"])
byts = st.sampled_from(["b''", "b'a'", "b'ab'", "b'a,b'"])
singles = st.sampled_from(["None", "True", "False", "..."])
atoms = st.one_of(ints, floats, strs, byts, singles)
tuples = st.lists(atoms, max_size=6).map(
    lambda xs: "(" + "".join(x + ", " for x in xs) + ")")
constants = st.one_of(atoms, atoms, tuples)

NAMES = ["a", "b", "c", "d", "p", "G1", "G2", "CAPS", "math.pi", "sys.maxsize"]
BINOPS = ["+", "-", "*", "/", "//", "%", "<<", ">>", "&", "|", "^"]
CMPS = ["<", "<=", "==", "!=", ">", ">=", "in", "not in", "is", "is not"]
METHODS = ["upper()", "lower()", "strip()", "split(',')", "startswith('a')",
           "find('b')", "index('b')", "replace('a', 'xy')", "count(1)", "join(('q', 'r'))",
           "zfill(6)", "encode()", "decode()", "partition(',')", "isdigit()", "title()",
           "bit_length()", "is_integer()", "center(7, '*')"]
BUILTINS = ["len", "abs", "ord", "chr", "str", "repr", "bool", "int", "float", "tuple",
            "frozenset", "round", "min", "max", "sum", "hex", "any"]


def expressions():
    base = st.one_of(constants, st.sampled_from(NAMES))

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(BINOPS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.sampled_from(CMPS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["-", "not ", "~"]), inner).map(lambda t: f"({t[0]}{t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
            st.tuples(inner, ints, ints).map(lambda t: f"({t[0]})[{t[1]}:{t[2]}]"),
            st.tuples(inner, st.sampled_from(METHODS)).map(lambda t: f"({t[0]}).{t[1]}"),
            st.tuples(st.sampled_from(BUILTINS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.lists(inner, min_size=1, max_size=4).flatmap(
                lambda xs: ints.map(lambda i: f"[{', '.join(xs)}][{i}]")),
            st.lists(inner, max_size=3).map(lambda xs: "(" + "".join(x + ", " for x in xs) + ")"),
        )

    return st.recursive(base, extend, max_leaves=6)


@st.composite
def programs(draw):
    exprs = expressions()
    lines = [
        "import math, sys",
        "from typing import Final",
        f"G1: Final = {draw(constants)}",
        f"G2: Final = {draw(constants)}",
        f"CAPS = {draw(constants)}",
        "def f(p):",
        f"    a = {draw(constants)}",
    ]
    style = draw(st.sampled_from(["plain", "branch", "loop", "deleted", "cell", "except"]))
    if style == "branch":
        lines += ["    if p:", f"        b = {draw(constants)}"]
    elif style == "loop":
        lines += ["    for _ in range(p if type(p) is int else 1):",
                  f"        b = {draw(constants)}"]
    elif style == "deleted":
        lines += [f"    b = {draw(constants)}", "    del b"]
    elif style == "cell":
        lines += [f"    b = {draw(constants)}", "    def inner():", "        return b"]
    elif style == "except":
        lines += [f"    b = {draw(constants)}", "    try:", "        1 / p",
                  "    except Exception as b:", "        pass"]
    else:
        lines += [f"    b = {draw(constants)}"]
    lines += [f"    c = {draw(exprs)}" if draw(st.booleans()) else f"    c = {draw(constants)}",
              f"    d = {draw(constants)}",
              "    out = []"]
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["expr", "if", "while"]))
        e = draw(exprs)
        if kind == "expr":
            body = [f"out.append({e})"]
        elif kind == "if":
            body = [f"if {e}:", f"    out.append({draw(exprs)})", "else:",
                    f"    out.append({draw(exprs)})"]
        else:
            body = ["n = 0", f"while {e}:", "    n += 1", "    if n > 3:", "        break",
                    "out.append(n)"]
        lines += ["    try:"] + ["        " + b for b in body] + [
            "    except Exception as exc:",
            "        out.append((type(exc).__name__, str(exc)))"]
    lines.append("    return out")
    return "\n".join(lines) + "\n"


def build(source, options=None):
    """Compile plain (options None) or folded; compile-time SyntaxWarnings are ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if options is None:
            return compile(source, "<gen>", "exec", dont_inherit=True)
        return transform_source(source, "<gen>", "generated", [ConstFoldPass(**options)])


def run(code, arg):
    ns = {"__name__": "generated"}
    try:
        exec(code, ns)
        value = ns["f"](arg)
    except Exception as exc:
        return ("raises", type(exc).__name__, str(exc))
    return ("returns", _shape(value))


def _shape(value):
    """``repr`` with the type of every item, and NaN made comparable."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_shape(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    if isinstance(value, frozenset):
        return ("frozenset", sorted(map(repr, value)))
    return (type(value).__name__, repr(value))


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
          deadline=None)
@given(programs())
def test_generated_functions_behave_the_same(source):
    plain = build(source)
    args = (0, 2, "q")
    expected = [run(plain, a) for a in args]
    for options in OPTION_SETS:
        folded = build(source, options)
        got = [run(folded, a) for a in args]
        assert got == expected, f"options {options} changed:\n{source}"


# -- hypothesmith: arbitrary syntax -----------------------------------------------------

hypothesmith = pytest.importorskip("hypothesmith")

SAFE_BUILTINS = {name: getattr(__builtins__, name, None) if not isinstance(__builtins__, dict)
                 else __builtins__.get(name)
                 for name in ("len", "abs", "min", "max", "int", "str", "float", "bool",
                              "tuple", "list", "dict", "set", "range", "repr", "isinstance",
                              "Exception", "ValueError", "TypeError", "NameError",
                              "ZeroDivisionError", "StopIteration", "AssertionError",
                              "__build_class__", "object", "print")}


class _TooLong(Exception):
    pass


def _limited(code, limit=2000):
    """Run module code with harmless builtins and at most ``limit`` line events."""
    count = [0]

    def tracer(frame, event, arg):
        if event == "line":
            count[0] += 1
            if count[0] > limit:
                raise _TooLong
        return tracer

    ns = {"__builtins__": dict(SAFE_BUILTINS, print=lambda *a, **k: None),
          "__name__": "generated"}
    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        exec(code, ns)
        result = ("ok", sorted(k for k in ns if k != "__builtins__"))
    except _TooLong:
        result = ("too long",)
    except BaseException as exc:  # generated code raises anything
        result = ("raises", type(exc).__name__)
    finally:
        sys.settrace(old)
    return result


@pytest.mark.slow
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(hypothesmith.from_grammar(auto_target=False))
def test_grammar_generated_programs(source):
    try:
        plain = build(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    folded = build(source, {"builtins": 1, "stdlib": 1, "caps": 1, "membership_sets": 1})
    first = _limited(plain)
    if first == ("too long",):
        return
    assert _limited(folded) == first
