"""Proof that ``bchook.ir`` is exact: round trips of real code, and a stress pass that
moves every offset (a NOP after each instruction) without changing behaviour.

The whole standard library: ``python tools/ir_roundtrip_all.py [--all]``.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import sys
import traceback
import types
from pathlib import Path

import pytest

import ir_stdlib
import ir_torture
from bchook import ir
from bchook.pipeline.driver import transform_source
from bchook.passes.identity import _FIXED as FIXED_PLACE, IdentityPass

# the torture returns from a ``finally`` on purpose, which 3.14+ warn about (PEP 765)
pytestmark = pytest.mark.filterwarnings(
    "ignore:'return' in a 'finally' block:SyntaxWarning")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ir_stdlib.stdlib_files(ir_stdlib.CI_SAMPLE_SIZE)
STDLIB = ir_stdlib.stdlib_dir()


def _sample_id(path: str) -> str:
    return os.path.relpath(path, STDLIB)


# -- exact round trip ---------------------------------------------------------------------

@pytest.mark.parametrize("path", SAMPLE, ids=_sample_id)
def test_stdlib_sample_round_trips_exactly(path):
    module = ir_stdlib.compile_file(path)
    if module is None:
        pytest.skip("this interpreter cannot compile the file (deliberately bad test data)")
    failures = []
    for code in ir_stdlib.all_code(module):
        problems = ir_stdlib.roundtrip_differences(code, ir)
        problem, _excuse = ir_stdlib.check_stack_depth(code, ir)
        if problem:
            problems.append(problem)
        if problems:
            failures.append(f"{ir_stdlib.code_name(code)}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def test_sample_is_broad_and_includes_lib_test():
    assert len(SAMPLE) == ir_stdlib.CI_SAMPLE_SIZE
    test_dir = os.path.join(STDLIB, "test") + os.sep
    assert sum(p.startswith(test_dir) for p in SAMPLE) >= 20
    packages = {_sample_id(p).split(os.sep)[0] for p in SAMPLE}
    assert len(packages) >= 35


def _compile(source, name="<torture>"):
    return compile(source, name, "exec", dont_inherit=True)


def test_torture_source_round_trips_exactly():
    module = _compile(ir_torture.full_source())
    codes = list(ir_stdlib.all_code(module))
    assert len(codes) > 40
    for code in codes:
        assert ir_stdlib.roundtrip_differences(code, ir) == [], ir_stdlib.code_name(code)


def test_torture_source_exercises_extended_arg():
    module = _compile(ir_torture.full_source())
    ext = 0
    for code in ir_stdlib.all_code(module):
        raw = code.co_code
        ext += sum(raw[i] == ir.version.EXTENDED_ARG for i in range(0, len(raw), 2))
    assert ext > 0


def test_unchanged_round_trip_keeps_location_columns_over_127():
    line = "x = " + " + ".join(f"v{k}" for k in range(60))  # columns up to ~360
    code = _compile(f"def f():\n    {line}\n    return x\n")
    f_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    assert ir_stdlib.roundtrip_differences(f_code, ir) == []
    if ir.version.HAS_POSITIONS:
        cols = [p[2] for p in f_code.co_positions() if p[2] is not None]
        assert max(cols) > 255


# -- the stress pass: a NOP after every instruction -----------------------------------------

PAD = [IdentityPass(pad=1)]


def _padded(source, filename, module="torture"):
    return transform_source(source, filename, module, PAD)


def _nop_count(code):
    return sum(1 for i in ir.Bytecode.from_code(code).instructions() if i.name == "NOP")


def test_padding_moves_every_offset_in_every_code_object():
    source = ir_torture.full_source()
    plain = {ir_stdlib.code_name(c): c for c in ir_stdlib.all_code(_compile(source))}
    padded = {ir_stdlib.code_name(c): c for c in ir_stdlib.all_code(_padded(source, "<torture>"))}
    assert plain.keys() == padded.keys()
    glued = ir.version.GLUED_NEXT
    for name, code in padded.items():
        before = list(ir.Bytecode.from_code(plain[name]).instructions())
        after = list(ir.Bytecode.from_code(code).instructions())
        kept = ir.version.KEEP_ADJACENT
        added = sum(1 for i, j in zip([None] + before, before)
                    if j.op not in FIXED_PLACE
                    and (i is None or (i.op not in glued and (i.op, j.op) not in kept)))
        assert len(after) == len(before) + added, name
        assert [i.name for i in after if i.name != "NOP"] == [
            i.name for i in before if i.name != "NOP"], name
        assert len(code.co_code) > len(plain[name].co_code), name


def _run_all(namespace):
    results = {}
    for name in sorted(namespace):
        if name.startswith("t_"):
            try:
                results[name] = ("ok", repr(namespace[name]()))
            except Exception as exc:  # compared, not hidden: both sides must agree
                results[name] = ("raised", type(exc).__name__, str(exc))
    return results


def _exec(code, filename):
    namespace = {"__name__": "torture", "__file__": filename, "__builtins__": builtins}
    exec(code, namespace)
    return namespace


def test_padded_torture_functions_behave_identically(tmp_path):
    source = ir_torture.full_source()
    filename = str(tmp_path / "torture.py")
    plain = _run_all(_exec(_compile(source, filename), filename))
    padded = _run_all(_exec(_padded(source, filename), filename))
    assert len(plain) >= 15
    assert all(r[0] == "ok" for r in plain.values()), plain
    assert padded == plain


def _line_events(func, filename):
    events = []

    def tracer(frame, event, arg):
        code = frame.f_code
        if code.co_filename == filename:
            line = frame.f_lineno - code.co_firstlineno
            events.append((code.co_name, event, line))
        return tracer

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        func()
    finally:
        sys.settrace(old)
    return events


def test_padded_code_reports_the_same_line_events_to_tracers(tmp_path):
    source = ir_torture.SOURCE
    filename = str(tmp_path / "torture.py")
    plain_ns = _exec(_compile(source, filename), filename)
    padded_ns = _exec(_padded(source, filename), filename)
    for name in sorted(n for n in plain_ns if n.startswith("t_")):
        expected = _line_events(plain_ns[name], filename)
        assert len(expected) > 2, name
        assert _line_events(padded_ns[name], filename) == expected, name


#: CPython 3.12 reports a line again when it falls from an instruction with inline caches
#: (a call) into a jump target of the same line; the padding must keep that event.
CALL_INTO_JUMP_TARGET = """\
def value(x):
    return x


def yields(flag):
    for x in [3, 4]:
        yield x > (1 if flag else value(x))


def t_call_falls_into_a_jump_target():
    return list(yields(False)), any(x > (1 if False else value(x)) for x in [3])
"""


def test_padding_keeps_the_line_event_after_a_call_into_a_jump_target(tmp_path):
    filename = str(tmp_path / "jump_target.py")
    plain = _exec(_compile(CALL_INTO_JUMP_TARGET, filename), filename)
    padded = _exec(_padded(CALL_INTO_JUMP_TARGET, filename), filename)
    expected = _line_events(plain["t_call_falls_into_a_jump_target"], filename)
    assert len(expected) > 10
    assert _line_events(padded["t_call_falls_into_a_jump_target"], filename) == expected


#: A with statement whose __enter__ is a C call that leaves a KeyboardInterrupt pending as
#: it returns (as a Ctrl-C during a C-level __enter__ does).
INTERRUPTED_ENTER = """\
import _thread, signal
signal.signal(signal.SIGINT, signal.default_int_handler)

class Interrupting:
    __enter__ = staticmethod(_thread.interrupt_main)
    exited = False

    def __exit__(self, *exc):
        self.exited = True

def main():
    cm = Interrupting()
    try:
        with cm:
            len("body")
    except KeyboardInterrupt:
        return "interrupted", "exited" if cm.exited else "not exited"
    return "not interrupted"

print(main())
"""


def test_padding_keeps_an_interrupt_during_enter_inside_the_with(tmp_path, run_python):
    """3.15 handles no interrupt as the CALL of ``__enter__`` returns, so that ``__exit__``
    runs even when one arrives during ``__enter__``; it knows that CALL by the LOAD_SPECIAL
    right before it, so the padding must not come between them."""
    (tmp_path / "enter.py").write_text(INTERRUPTED_ENTER)
    rc, plain, err = run_python(["enter.py"], cwd=tmp_path)
    assert rc == 0, err
    if sys.version_info >= (3, 15):
        assert plain == "('interrupted', 'exited')\n"
    rc, padded, err = run_python(["-m", "bchook", "-p", "identity", "-o", "identity.pad=1",
                                  "enter.py"], cwd=tmp_path)
    assert (rc, padded, err) == (0, plain, "")


def _frames(exc):
    return [(f.name, f.lineno, getattr(f, "colno", None), getattr(f, "end_colno", None),
             f.line) for f in traceback.extract_tb(exc.__traceback__)]


def test_padded_tracebacks_keep_lines_and_columns(tmp_path):
    source = ir_torture.SOURCE + "\n\ndef t_fail():\n    return _deep(4)\n"
    path = tmp_path / "torture.py"
    path.write_text(source)
    filename = str(path)
    results = []
    for code in (_compile(source, filename), _padded(source, filename)):
        ns = _exec(code, filename)
        with pytest.raises(KeyError) as info:
            ns["t_fail"]()
        results.append(_frames(info.value))
    assert len(results[0]) == 7
    assert results[0][-1][4] == 'return {}["missing"]'
    assert results[1] == results[0]


# -- the stress pass over real stdlib modules -------------------------------------------------

def fresh_module(name, passes):
    """Module ``name`` executed from its source, compiled through ``passes`` (none: plain
    ``compile()``), in a fresh module object; ``sys.modules`` keeps the imported one.

    The tests compare two such fresh modules rather than a fresh one with the imported one,
    which other tests may have replaced or warmed up."""
    spec = importlib.util.find_spec(name)
    path = spec.origin
    if not os.path.isfile(path):  # frozen modules (3.11+): read the file in Lib
        base = os.path.join(STDLIB, *name.split("."))
        path = base + ".py" if os.path.isfile(base + ".py") else os.path.join(
            base, "__init__.py")
    with open(path, "rb") as f:
        source = f.read()
    if passes:
        code = transform_source(source, path, name, passes)
        assert _nop_count(code) > 10
    else:
        code = compile(source, path, "exec", dont_inherit=True)
    module = types.ModuleType(name)
    module.__file__ = path
    module.__package__ = spec.parent
    module.__spec__ = spec
    if spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
        # ``from ._sub import *`` binds ``_sub`` on the package only when it first
        # imports it; the fresh package object gets the bindings the original has.
        for key, value in list(sys.modules.items()):
            if key.rpartition(".")[0] == name:
                setattr(module, key.rpartition(".")[2], value)
    # While its body runs, the fresh module is the one ``sys.modules`` knows: some
    # modules register things there (enum.global_enum, dataclasses, typing...).
    original = sys.modules.get(name)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    finally:
        if original is not None:
            sys.modules[name] = original
        else:
            del sys.modules[name]
    return module


def padded_module(name):
    return fresh_module(name, PAD)


def plain_module(name):
    return fresh_module(name, ())


TEXT = ("The quick brown fox jumps over the lazy dog. " * 5).strip()


def _textwrap(m):
    return [m.wrap(TEXT, 23), m.fill(TEXT, 40, initial_indent="> "),
            m.dedent("    a\n      b\n    c\n"), m.indent("x\ny\n", "  "),
            m.shorten(TEXT, 30), m.TextWrapper(width=10, break_long_words=True,
                                               max_lines=3).wrap("a" * 50)]


def _json_parts(m):
    import json.decoder
    if m.__name__ == "json.encoder":
        enc = m.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=True)
        return [enc.encode({"b": [1, 2.5, None, True], "a": "é\n\"x\"", "c": {}}),
                m.py_encode_basestring_ascii("naïve ☃ \t"), m.py_encode_basestring("q\"")]
    if m.__name__ == "json.scanner":
        scan = m.py_make_scanner(json.decoder.JSONDecoder())
        return [scan('{"a": [1, -2.5e3, "x\\u00e9"], "b": null} tail', 0)]
    return [m.py_scanstring('"abc\\n\\u00e9\\ud83d\\ude00" rest', 1),
            m.JSONDecoder().decode('[1, {"k": [true, false]}]')]


def _fractions(m):
    F = m.Fraction
    x = F(3, 4) + F(1, 6) * 2 - F("1.25")
    return [str(x), str(F(3.14159).limit_denominator(100)), str(F(7, 3) ** 2),
            float(F(22, 7)), str(F("-3/9")), F(5, 2).__round__(), str(F(1, 3) % F(1, 4))]


def _statistics(m):
    data = [2, 4, 4, 4, 5, 5, 7, 9]
    return [m.mean(data), m.median(data), m.median_low(data), m.mode(data),
            m.pstdev(data), m.variance(data), m.harmonic_mean([1, 2, 4]),
            m.quantiles(data, n=4), m.fmean([1.5, 2.5]), m.geometric_mean([1, 3, 9])]


def _string(m):
    return [m.Template("$who likes ${what}").substitute(who="tim", what="kung pao"),
            m.Template("$a $$ $b").safe_substitute(a=1), m.capwords(" hello   world "),
            m.Formatter().format("{0:>5}|{name!r}|{1[0]}", 42, [7], name="n")]


def _heapq(m):
    return [list(m.merge([1, 4, 7], [2, 5, 8], [0, 9])), m.nlargest(3, [5, 1, 8, 3, 9, 2]),
            m.nsmallest(2, ["bb", "a", "ccc"], key=len),
            list(m.merge([9, 5], [8, 1], reverse=True))]


def _colorsys(m):
    return [m.rgb_to_hsv(0.2, 0.4, 0.4), m.hsv_to_rgb(0.5, 0.5, 0.4),
            m.rgb_to_hls(1.0, 0.5, 0.0), m.hls_to_rgb(0.3, 0.5, 0.5), m.rgb_to_yiq(1, 0, 0)]


def _difflib(m):
    a = "one two three four five".split()
    b = "one three four six five".split()
    sm = m.SequenceMatcher(None, a, b)
    return [sm.ratio(), sm.get_opcodes(), list(m.unified_diff(a, b, lineterm="")),
            list(m.ndiff(["abc\n", "def\n"], ["abd\n", "def\n"])),
            m.get_close_matches("appel", ["ape", "apple", "peach", "puppy"])]


def _shlex(m):
    return [m.split("a 'b c' \"d e\" f\\ g # comment", comments=True),
            m.quote("it's here"), m.join(["x y", "z"]),
            list(m.shlex("a && b || c", punctuation_chars=True))]


def _pprint(m):
    obj = {"key%d" % i: [list(range(i)), {"n": i, "s": "x" * i}] for i in range(8)}
    return [m.pformat(obj, width=40), m.pformat(obj, compact=True, depth=2),
            m.saferepr([1, [2, [3]]])]


def _pydecimal(m):
    D = m.Decimal
    ctx = m.Context(prec=30)
    return [str(D("1.1") + D("2.2")), str(ctx.divide(D(1), D(7))), str(D(2).sqrt(ctx)),
            str(D("1.5").exp(ctx)), str(D("100").ln(ctx)),
            str(D("123.456").quantize(D("0.01"), rounding=m.ROUND_HALF_EVEN))]


def _tokenize(m):
    import io
    source = "def f(a, *b):\n    return [x ** 2 for x in b if x > a]  # c\n"
    return [(t.type, t.string, t.start, t.end)
            for t in m.generate_tokens(io.StringIO(source).readline)]


def _ast_unparse(m):
    import textwrap
    with open(textwrap.__file__, encoding="utf-8") as f:
        tree = m.parse(f.read())
    return [m.unparse(tree), m.dump(m.parse("match x:\n case [1, *r] if r: pass"))]


def _argparse(m):
    parser = m.ArgumentParser(prog="demo", description="a demo")
    parser.add_argument("first")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("--mode", choices=["a", "b"], default="a")
    sub = parser.add_subparsers(dest="cmd")
    run = sub.add_parser("run")
    run.add_argument("--n", type=int)
    ns = parser.parse_args(["-vv", "x", "--mode", "b", "run", "--n", "3"])
    return [sorted(vars(ns).items()), parser.format_help(), parser.format_usage()]


def _enum(m):
    class Color(m.Enum):
        RED = 1
        GREEN = 2
        BLUE = m.auto()

    class Perm(m.IntFlag):
        R = 4
        W = 2
        X = 1
    return [[c.name for c in Color], Color(2).name, Color["BLUE"].value,
            int(Perm.R | Perm.W), str(Perm(7)), Perm.R in (Perm.R | Perm.X)]


def _calendar(m):
    return [m.monthcalendar(2024, 2), m.TextCalendar(firstweekday=6).formatmonth(2023, 7),
            m.isleap(1900), m.weekday(2000, 1, 1)]


def _ipaddress(m):
    net = m.ip_network("192.168.0.0/28")
    return [str(net.broadcast_address), [str(h) for h in list(net.hosts())[:3]],
            [str(s) for s in net.subnets(prefixlen_diff=2)],
            str(m.ip_address("::ffff:1.2.3.4").ipv4_mapped), m.ip_address("10.1.1.1").is_private]


def _base64(m):
    data = bytes(range(40))
    return [m.b85encode(data), m.a85encode(data, wrapcol=20), m.b32encode(b"hello"),
            m.b16decode(b"CAFE"), m.b85decode(m.b85encode(data)) == data]


def _html_parser(m):
    events = []

    class P(m.HTMLParser):
        def handle_starttag(self, tag, attrs):
            events.append(("start", tag, attrs))

        def handle_endtag(self, tag):
            events.append(("end", tag))

        def handle_data(self, data):
            events.append(("data", data))

    P().feed("<p class='x'>Hi &amp; <b>bye</b><br/></p><!-- c -->")
    return events


def _dataclasses(m):
    @m.dataclass(order=True, frozen=True)
    class Item:
        name: str
        qty: int = 0
        tags: list = m.field(default_factory=list, compare=False)

    a, b = Item("a", 2), Item("b", 1, ["t"])
    return [repr(a), a < b, m.asdict(b), m.astuple(a), [f.name for f in m.fields(Item)],
            repr(m.replace(a, qty=5))]


def _collections(m):
    c = m.Counter("abracadabra")
    Pt = m.namedtuple("Pt", "x y", defaults=[0])
    chain = m.ChainMap({"a": 1}, {"a": 2, "b": 3})
    return [c.most_common(3), sorted((c - m.Counter("aab")).items()), Pt(1)._asdict(),
            dict(chain), list(m.UserList([3, 1]) + [2]), m.UserString("ab").upper()]


STDLIB_CASES = {
    "textwrap": _textwrap,
    "json.decoder": _json_parts,
    "json.encoder": _json_parts,
    "json.scanner": _json_parts,
    "fractions": _fractions,
    "statistics": _statistics,
    "string": _string,
    "heapq": _heapq,
    "colorsys": _colorsys,
    "difflib": _difflib,
    "shlex": _shlex,
    "pprint": _pprint,
    "_pydecimal": _pydecimal,
    "tokenize": _tokenize,
    "ast": _ast_unparse,
    "argparse": _argparse,
    "enum": _enum,
    "calendar": _calendar,
    "ipaddress": _ipaddress,
    "base64": _base64,
    "html.parser": _html_parser,
    "dataclasses": _dataclasses,
    "collections": _collections,
}


def _plain(value):
    """Results as text, so objects of the padded module's classes compare with the
    original's."""
    return repr(value)


@pytest.mark.parametrize("name", sorted(STDLIB_CASES))
def test_padded_stdlib_module_behaves_identically(name):
    original = plain_module(name)
    padded = padded_module(name)
    call = STDLIB_CASES[name]
    assert _plain(call(padded)) == _plain(call(original))


@pytest.mark.parametrize("name", sorted(STDLIB_CASES))
def test_padded_stdlib_module_reports_the_same_line_events(name):
    original = plain_module(name)
    padded = padded_module(name)
    call = STDLIB_CASES[name]
    call(original)  # warm the caches (re, lru_cache, class attributes...) of both first
    call(padded)
    expected = _line_events(lambda: call(original), original.__file__)
    assert len(expected) > 5
    assert _line_events(lambda: call(padded), original.__file__) == expected


ERROR_CASES = {
    "fractions": lambda m: m.Fraction("not a number"),
    "statistics": lambda m: m.mean([]),
    "json.decoder": lambda m: m.py_scanstring('"unterminated', 1),
    "textwrap": lambda m: m.TextWrapper(width=0).wrap("some text"),
    "shlex": lambda m: m.split("'unbalanced"),
    "_pydecimal": lambda m: m.Decimal("1") / m.Decimal("0"),
}


def _module_frames(exc, filename):
    return [(f.name, f.lineno, f.line) for f in traceback.extract_tb(exc.__traceback__)
            if f.filename == filename]


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_padded_stdlib_tracebacks_have_the_same_lines(name):
    original = plain_module(name)
    padded = padded_module(name)
    frames = []
    for module in (original, padded):
        with pytest.raises(Exception) as info:
            ERROR_CASES[name](module)
        frames.append((type(info.value).__name__, str(info.value),
                       _module_frames(info.value, original.__file__)))
    assert frames[0][2], "the error must come from inside the module"
    assert frames[1] == frames[0]


#: Modules whose top level runs under padding too (definitions, decorators, class bodies).
EXEC_ONLY = ["abc", "bisect", "cmd", "configparser", "contextlib", "copy", "csv",
             "functools", "fnmatch", "getopt", "glob", "gettext", "graphlib", "inspect",
             "locale", "numbers", "operator", "optparse", "pathlib", "pickle", "platform",
             "queue", "random", "re", "reprlib", "sched", "selectors", "shutil", "string",
             "tempfile", "threading", "tomllib", "traceback", "typing", "uuid", "weakref",
             "zipfile", "email.message", "http.client", "logging", "unittest.case",
             "urllib.parse", "xml.dom.minidom"]


def test_padded_stdlib_module_bodies_execute():
    ran = []
    for name in EXEC_ONLY:
        if importlib.util.find_spec(name) is None:
            continue  # e.g. tomllib before 3.11
        module = padded_module(name)
        assert module.__dict__.keys() >= {"__name__", "__file__"}
        ran.append(name)
    assert len(ran) >= 40


def test_padded_module_functions_work(tmp_path):
    random = padded_module("random")
    r1, r2 = random.Random(1234), plain_module("random").Random(1234)
    assert [r1.randrange(100) for _ in range(20)] == [r2.randrange(100) for _ in range(20)]
    assert r1.sample(range(50), 5) == r2.sample(range(50), 5)
    urlparse = padded_module("urllib.parse")
    url = "https://user:pw@example.com:8080/a/b;p?q=1&r=%20x#frag"
    assert urlparse.urlsplit(url) == plain_module("urllib.parse").urlsplit(url)
    assert urlparse.parse_qsl("a=1&b=%C3%A9&b=2") == [("a", "1"), ("b", "é"), ("b", "2")]


# -- the documented whole-stdlib command ------------------------------------------------------

def test_whole_stdlib_command_runs_and_reports_counts(run_python):
    rc, out, err = run_python([ROOT / "tools" / "ir_roundtrip_all.py", "--sample", "15"],
                              cwd=ROOT)
    assert rc == 0, out + err
    assert "15 files" in out and "0 failures" in out
    assert "Python %d.%d." % sys.version_info[:2] in out
