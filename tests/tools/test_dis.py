"""``bchook dis``: the anatomy of code objects, the hand decoder, diffs, JSON, CFG, errors.

Unit tests check the pieces against the standard library's ``dis`` (offsets, arguments,
jump targets, qualified names); end-to-end tests run the real ``bchook dis`` command and
``python -m bchook dis`` in subprocesses.
"""

from __future__ import annotations

import dis
import json
import os
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from bchook import asm, ir
from bchook.tools.dis import graph as _cfg
from bchook.tools.dis import format as _disformat
from bchook.tools.dis import listing as _listing
from bchook.tools.dis.command import main as dis_main
from bchook.ir import _raw
from bchook.ir import _version as V

import dis_stdlib
import ir_stdlib

#: Files of the standard library every run checks (a different spread per interpreter).
STDLIB_SAMPLE = ir_stdlib.stdlib_files(24)

APP = '''\
"""A small module."""
import math

SCALE = 2 * 3


class Klass:
    def method(self, x, *rest, key=None, **kw):
        try:
            y = x + SCALE
        except TypeError as exc:
            y = None
        return [v * 2 for v in (x, y) if v]


def f(a, b=1):
    total = 0
    for i in range(a):
        if i % 2 == 0:
            total += i
    def inner():
        return total + b
    return inner() + math.pi


g = lambda: 1
h = lambda: 2
'''

JUMPY = '''\
from bchook.goto import goto, label

def countdown(n):
    steps = 0
    label .top
    steps += 1
    if steps < n:
        goto .top
    return steps

def untouched(x):
    return x + 1
'''


@pytest.fixture
def app(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "jumpy.py").write_text(JUMPY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def module_code(source=APP, filename="app.py"):
    return compile(source, filename, "exec", dont_inherit=True)


def big_function_code():
    """A function whose constant and jump arguments need EXTENDED_ARG prefixes."""
    lines = ["def big(x):"]
    lines += [f"    v{i} = {i}.5" for i in range(300)]
    lines += ["    while x:", "        x -= 1", "    return v299"]
    module = compile("\n".join(lines) + "\n", "big.py", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


# -- the hand decoder ------------------------------------------------------------------

def test_decoder_accumulates_extended_args_and_folds_caches():
    code = big_function_code()
    units = _raw.decode(code.co_code)
    assert [u.offset for u in units] == list(range(0, len(code.co_code), 2))
    prefixes = [u for u in units if u.kind == "extended_arg"]
    assert prefixes, "the sample must need EXTENDED_ARG"
    for prefix in prefixes:
        owner = next(u for u in units if u.offset == prefix.owner)
        assert owner.kind == "op" and owner.offset > prefix.offset
        # the owner's argument is the prefix's bits shifted over its own byte
        assert owner.arg >> 8 == prefix.arg and owner.arg & 255 == owner.arg_byte
    for op in (u for u in units if u.kind == "op"):
        caches = [u for u in units if u.kind == "cache" and u.owner == op.offset]
        assert len(caches) == V.CACHES[op.opcode]
    count, problems = _raw.check_against_dis(code)
    assert problems == [] and count == len([u for u in units if u.kind == "op"])


@pytest.mark.parametrize("path", STDLIB_SAMPLE,
                         ids=[os.path.relpath(p, ir_stdlib.stdlib_dir()) for p in STDLIB_SAMPLE])
def test_stdlib_sample_raw_and_listing_agree_with_dis(path):
    """The --raw self-check and the listing, on files spread over the standard library
    (``tools/dis_stdlib_all.py`` runs every file)."""
    report = dis_stdlib.Report()
    dis_stdlib.check_file(path, report, checks=("raw", "listing"))
    assert report.failures == []
    assert report.skipped_files or report.instructions > 0


def test_self_check_reports_a_disagreement(monkeypatch):
    code = module_code()
    monkeypatch.setattr(_raw, "_dis_instructions", lambda c: [(0, 0, 0)])
    count, problems = _raw.check_against_dis(code)
    assert problems and "dis lists 1" in problems[0]


# -- the listing -----------------------------------------------------------------------

def dis_instructions(code):
    return [i for i in dis.get_instructions(code) if i.opname != "EXTENDED_ARG"]


@pytest.mark.parametrize("code", [module_code(), big_function_code()],
                         ids=["app", "extended"])
def test_rows_match_dis_offsets_arguments_and_jump_targets(code):
    tree = _listing.code_tree(code)
    names = {id(c): i for i, c in tree}
    for ident, co in tree:
        cv = _listing.view(ident, co, names)
        theirs = dis_instructions(co)
        assert [(r.offset, r.opcode, r.arg) for r in cv.rows] == [
            (i.offset, i.opcode, i.arg) for i in theirs]
        for row, ins in zip(cv.rows, theirs):
            if row.target is not None:
                assert cv.label_offsets[row.target] == ins.argval  # dis: target offset
            if ins.opcode in dis.hasconst and not isinstance(ins.argval, types.CodeType):
                assert asm_literal(row.text) == ins.argval
            if ins.opcode in dis.haslocal and ins.opcode not in V.LOCAL_PAIRS:
                assert row.text == ins.argval
        assert sum(r.size for r in cv.rows) == len(co.co_code)


def asm_literal(text):
    from bchook.tools.syntax import parse_const

    return parse_const(text)


def test_code_tree_names_match_runtime_qualnames():
    namespace: dict = {}
    exec(module_code(), namespace)
    tree = dict(_listing.code_tree(module_code()))
    assert set(tree) >= {"<module>", "Klass", "Klass.method", "f", "f.<locals>.inner",
                         "<lambda>", "<lambda>[2]"}
    assert tree["Klass.method"].co_name == "method"
    assert namespace["Klass"].method.__qualname__ in tree
    assert namespace["f"].__qualname__ in tree
    assert namespace["g"].__code__.co_consts == tree["<lambda>"].co_consts


def test_flag_names_decode_every_bit():
    assert _listing.flag_names(0x3) == ["OPTIMIZED", "NEWLOCALS"]
    assert "GENERATOR" in _listing.flag_names((lambda: (yield)).__code__.co_flags)
    assert _listing.flag_names(1 << 30) == [hex(1 << 30)]
    assert _listing.flags_from_names(["OPTIMIZED", "CO_NEWLOCALS"]) == 0x3


def test_anatomy_shows_every_co_field_and_the_tables():
    code = module_code()
    tree = _listing.code_tree(code)
    names = {id(c): i for i, c in tree}
    method = dict(tree)["Klass.method"]
    text = "\n".join(_disformat.anatomy(_listing.view("Klass.method", method, names), names))
    fields = [a for a in dir(method) if a.startswith("co_") and a != "co_lnotab"
              and not callable(getattr(method, a))]
    for name in fields:
        assert f"  {name} " in text
    assert "OPTIMIZED | NEWLOCALS | VARARGS | VARKEYWORDS" in text
    assert "line ranges:" in text and "line 10:" in text
    if V.HAS_EXCEPTION_TABLE:
        assert "entries:" in text and ".handler L" in text
    else:
        assert "SETUP_FINALLY L" in text
    top = "\n".join(_disformat.anatomy(_listing.view("<module>", code, names), names))
    assert "<code Klass>" in top and "<code f>" in top  # nested code by name


def test_cfg_blocks_and_edges():
    code = module_code()
    f = next(c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == "f")
    cv = _listing.view("f", f, {})
    blocks = _cfg.basic_blocks(cv)
    assert sum(len(b.rows) for b in blocks) == len(cv.rows)
    kinds = {kind for b in blocks for _, kind in b.edges}
    assert {"jump", "next"} <= kinds
    # the FOR_ITER block has two ways out: into the body and out of the loop
    loop = next(b for b in blocks if b.rows[-1].opname == "FOR_ITER")
    assert len(loop.edges) == 2
    dot = _cfg.to_dot([cv])
    assert dot.startswith("digraph") and dot.count("->") == sum(len(b.edges) for b in blocks)


def view_of(source, name):
    """The listing view of function ``name`` defined in ``source``."""
    module = compile(textwrap.dedent(source), "sample.py", "exec", dont_inherit=True)
    tree = _listing.code_tree(module)
    names = {id(c): i for i, c in tree}
    return _listing.view(name, dict(tree)[name], names)


def rows_by_name(view):
    out: dict = {}
    for row in view.rows:
        out.setdefault(row.opname, []).append(row)
    return out


def test_names_read_as_dis_reads_them():
    """Flag bits below a name index (LOAD_GLOBAL's NULL, 3.15 IMPORT_NAME's lazy/eager
    bits) are taken off before the name is looked up."""
    source = "import a\nimport b.c\nfrom d import e\nlen(e)\nb.c.x\n"
    module = compile(source, "names.py", "exec", dont_inherit=True)
    cv = _listing.view("<module>", module, {})
    theirs = dis_instructions(module)
    checked = 0
    for row, ins in zip(cv.rows, theirs):
        if ins.opcode in dis.hasname:
            parts = row.text.split(" + ")
            assert parts[1 if parts[0].startswith("NULL") else 0] == ins.argval
            assert f"= {ins.argval!r}" in row.meaning
            checked += 1
    assert checked >= 6
    imports = [row.text for row in cv.rows if row.opname == "IMPORT_NAME"]
    assert imports == ["a", "b.c", "d"]


@pytest.mark.skipif(not V.NOT_CONTROL_FLOW, reason="END_ASYNC_FOR names no END_SEND "
                    "before 3.14")
def test_end_async_for_names_its_send_without_a_jump():
    cv = view_of("""\
        async def g(source):
            async for item in source:
                print(item)
        """, "g")
    (row,) = rows_by_name(cv)["END_ASYNC_FOR"]
    ins = next(i for i in dis_instructions(cv.code) if i.opname == "END_ASYNC_FOR")
    assert ins.argrepr.startswith("from L")
    assert row.meaning == f"from {row.target} (offset {ins.argval})"
    assert cv.label_offsets[row.target] == ins.argval
    sends = rows_by_name(cv)["END_SEND"]
    assert any(cv.label_offsets[row.target] == send.offset for send in sends)
    blocks = _cfg.basic_blocks(cv)
    block = next(b for b in blocks if b.rows[-1] is row)
    assert [kind for _, kind in block.edges if kind == "jump"] == []
    assert f"END_ASYNC_FOR {row.target}" in "\n".join(_disformat.asm_block(cv, {}))


@pytest.mark.skipif(not V.SMALL_INT_LOADS, reason="3.14+ instructions")
def test_instructions_of_314_written_by_meaning():
    cv = view_of("""\
        def f(xs, name):
            x = 5
            assert xs, "empty"
            with open(name) as fh:
                pass
            t = t"hi {name!r:>{x}}"
            return xs[1] + xs[1:2], t
        """, "f")
    asm_text = {row.asm for row in cv.rows}
    assert {"LOAD_SMALL_INT 5", "LOAD_COMMON_CONSTANT AssertionError",
            "LOAD_SPECIAL __enter__", "LOAD_SPECIAL __exit__", "BINARY_OP []",
            "LOAD_CONST slice(1, 2, None)", "BUILD_TEMPLATE", "NOT_TAKEN",
            "LOAD_FAST_BORROW xs"} <= asm_text, asm_text
    assert any(a.startswith("BUILD_INTERPOLATION ") for a in asm_text)
    rebuilt = asm.assemble("\n".join(_disformat.asm_block(cv, {})))
    assert rebuilt.co_code == cv.code.co_code
    assert rebuilt.co_consts[cv.code.co_consts.index(slice(1, 2, None))] == slice(1, 2)


@pytest.mark.skipif(not V.COMMON_CONSTANT_LOADS_VALUES, reason="3.15+")
def test_common_constants_of_315_written_as_literals():
    cv = view_of("""\
        def f():
            a = None
            b = True
            c = False
            d = ''
            e = -1
        """, "f")
    loads = [row.text for row in rows_by_name(cv).get("LOAD_COMMON_CONSTANT", [])]
    assert set(loads) == {"None", "True", "False", "''", "-1"}
    assert asm.assemble("\n".join(_disformat.asm_block(cv, {}))).co_code == cv.code.co_code


# -- end to end ------------------------------------------------------------------------

def bchook_script():
    script = Path(sys.executable).with_name("bchook")
    return str(script) if script.exists() else shutil.which("bchook")


def run_dis(args, cwd, runner="module", env=None):
    if runner == "script":
        cmd = [bchook_script(), "dis", *args]
    else:
        cmd = [sys.executable, "-m", "bchook", "dis", *args]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=full_env)
    return proc.returncode, proc.stdout, proc.stderr


def test_whole_file_every_code_object(app):
    rc, out, err = run_dis(["app.py"], app)
    assert rc == 0, err
    heads = [line for line in out.splitlines() if line.startswith("=== ")]
    assert [h.split()[1] for h in heads] == [
        "<module>", "Klass", "Klass.method", *(["Klass.method.<locals>.<listcomp>"]
                                                 if not V.PY312 else []),
        "f", "f.<locals>.inner", "<lambda>", "<lambda>[2]"]


@pytest.mark.skipif(bchook_script() is None, reason="the bchook console script is not found")
def test_console_script_one_code_object_by_qualified_name(app):
    rc, out, err = run_dis(["app.py:Klass.method"], app, runner="script")
    assert rc == 0, err
    assert [line for line in out.splitlines() if line.startswith("=== ")] == [
        "=== Klass.method  (app.py:8) ==="]
    assert "co_varnames         ('self', 'x', 'key', 'rest', 'kw', 'y', 'exc'" in out


def test_module_by_name_is_not_executed(tmp_path):
    pkg = tmp_path / "sidefx"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("open('PACKAGE_RAN', 'w').close()\n")
    (pkg / "mod.py").write_text("open('MODULE_RAN', 'w').close()\ndef hello():\n"
                                "    return 'hi'\n")
    rc, out, err = run_dis(["-m", "sidefx.mod:hello"], tmp_path,
                           env={"PYTHONPATH": str(tmp_path)})
    assert rc == 0, err
    assert "=== hello" in out and "RETURN" in out
    assert not (tmp_path / "PACKAGE_RAN").exists() and not (tmp_path / "MODULE_RAN").exists()


def test_module_in_a_namespace_package(tmp_path):
    (tmp_path / "nsp" / "sub").mkdir(parents=True)
    (tmp_path / "nsp" / "sub" / "m.py").write_text("def hi():\n    return 1\n")
    rc, out, err = run_dis(["-m", "nsp.sub.m:hi"], tmp_path)
    assert rc == 0, err
    assert out.startswith("=== hi  (")
    rc, out, err = run_dis(["-m", "nsp"], tmp_path)
    assert rc == 2 and "has no Python source (a namespace package)" in err


def test_stdlib_module_by_name(tmp_path):
    rc, out, err = run_dis(["-m", "json.decoder:JSONDecoder.decode"], tmp_path)
    assert rc == 0, err
    assert "=== JSONDecoder.decode" in out and "json" in out and "decoder.py" in out


def test_passes_diff_changed_and_unchanged(app):
    rc, out, err = run_dis(["-p", "goto", "jumpy.py"], app)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "# jumpy.py: before and after passes goto"
    assert "unchanged: untouched (jumpy.py:11)" in lines
    assert "changed: countdown (jumpy.py:3)" in lines
    assert "--- countdown (before)" in lines and "+++ countdown (after goto)" in lines
    assert "-    LOAD_GLOBAL goto" in lines
    assert any(line.startswith("+    ") and "JUMP" in line for line in lines)


def test_passes_with_options_and_json(app):
    rc, out, err = run_dis(["-p", "identity", "-o", "identity.pad=1", "--format", "json",
                            "app.py:f"], app)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["passes"] == "identity"
    (entry,) = doc["code_objects"]
    assert entry["name"] == "f" and entry["status"] == "changed"
    assert "+    NOP" in entry["diff"]
    # the same pass without its option only re-encodes: nothing changes
    rc, out, err = run_dis(["-p", "identity", "app.py"], app)
    assert rc == 0 and "changed:" not in out.replace("unchanged:", "")


def test_raw_deciphers_bytes_and_checks_itself(app):
    (app / "big.py").write_text(textwrap.dedent("""\
        def big(x):
        """) + "".join(f"    v{i} = {i}.5\n" for i in range(300)) + "    return v299\n")
    rc, out, err = run_dis(["--raw", "big.py:big"], app)
    assert rc == 0, err
    assert "EXTENDED_ARG" in out and "arg so far 0x1" in out
    assert "self-check: the hand decoder agrees with dis on all" in out
    if V.CACHES[V.OPMAP["LOAD_GLOBAL"]] or V.CACHES[V.OPMAP.get("BINARY_OP", 0)]:
        rc, out, err = run_dis(["--raw", "app.py:f"], app)
        assert "CACHE" in out and "(inline cache of offset" in out
    code = big_function_code()
    first = code.co_code[:2].hex()
    assert f"  {first[:2]} {first[2:]}  " in out or code.co_code[:2].hex(" ") in out


def test_raw_json(app):
    rc, out, err = run_dis(["--raw", "--format", "json", "app.py:f"], app)
    assert rc == 0, err
    (entry,) = json.loads(out)["code_objects"]
    raw = entry["raw"]
    assert raw["self_check"]["agrees"] and raw["self_check"]["problems"] == []
    assert bytes.fromhex(raw["co_code"]) == bytes(
        b for u in raw["units"] for b in (u["opcode"], u["arg_byte"]))


def test_json_anatomy(app):
    rc, out, err = run_dis(["--format", "json", "app.py"], app)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["python"] == "%d.%d" % sys.version_info[:2]
    by_name = {o["name"]: o for o in doc["code_objects"]}
    method = by_name["Klass.method"]
    assert method["fields"]["co_varnames"][:5] == ["self", "x", "key", "rest", "kw"]
    assert "VARARGS" in method["flags"]
    assert method["instructions"][0]["offset"] == 0
    jumps = [i for i in by_name["f"]["instructions"] if i["target"]]
    assert jumps and all(i["target"] in by_name["f"]["labels"] for i in jumps)
    assert "<code Klass>" in by_name["<module>"]["fields"]["co_consts"]
    assert by_name["<module>"]["nested"][:2] == ["Klass", "f"]


def test_cfg_dot_text(app):
    rc, out, err = run_dis(["--cfg", "app.py:f"], app)
    assert rc == 0, err
    assert out.startswith("digraph bchook {") and out.rstrip().endswith("}")
    assert 'label="jump"' in out and "FOR_ITER" in out


def test_cfg_json_has_the_graph(app):
    """``--cfg --format json``: each code object's blocks (their instructions by offset)
    and edges (next, jump, exception), the graph the dot text draws."""
    rc, out, err = run_dis(["--cfg", "--format", "json", "app.py"], app)
    assert rc == 0, err
    doc = json.loads(out)
    edge_count = 0
    kinds = set()
    for obj in doc["code_objects"]:
        cfg = obj["cfg"]
        blocks, edges = cfg["blocks"], cfg["edges"]
        assert [b["index"] for b in blocks] == list(range(len(blocks)))
        # the blocks hold every instruction once, in order
        assert [i["offset"] for b in blocks for i in b["instructions"]] == [
            i["offset"] for i in obj["instructions"]]
        by_offset = {i["offset"]: i for i in obj["instructions"]}
        for b in blocks:
            assert (b["start"], b["end"]) == (b["instructions"][0]["offset"],
                                              b["instructions"][-1]["offset"])
            assert b["labels"] == by_offset[b["start"]]["labels"]
            assert b["handler"] == by_offset[b["start"]]["handler"]
            assert [i["asm"] for i in b["instructions"]] == [
                by_offset[i["offset"]]["asm"] for i in b["instructions"]]
        for e in edges:
            source, target = blocks[e["from"]], blocks[e["to"]]
            last = by_offset[source["end"]]
            if e["kind"] == "next":
                assert e["to"] == e["from"] + 1
            elif e["kind"] == "jump":
                assert last["target"] in target["labels"]
            else:
                assert e["kind"] == "exception"
                if V.HAS_EXCEPTION_TABLE:
                    assert source["handler"].split()[0] in target["labels"]
                else:  # from the SETUP_FINALLY (SETUP_WITH...) that names the handler
                    assert last["opname"].startswith("SETUP_")
                    assert last["target"] in target["labels"]
            kinds.add(e["kind"])
        edge_count += len(edges)
    assert kinds == {"next", "jump", "exception"}
    assert doc["dot"].count(" -> ") == edge_count
    # the loop's FOR_ITER block goes on into the body and jumps out of the loop
    f = next(o for o in doc["code_objects"] if o["name"] == "f")
    loop = next(b for b in f["cfg"]["blocks"]
                if b["instructions"][-1]["asm"].startswith("FOR_ITER"))
    assert sorted(e["kind"] for e in f["cfg"]["edges"] if e["from"] == loop["index"]) == [
        "jump", "next"]
    # without --cfg there is no graph
    rc, out, err = run_dis(["--format", "json", "app.py:f"], app)
    assert rc == 0 and "cfg" not in json.loads(out)["code_objects"][0]


def test_cfg_svg(app):
    rc, out, err = run_dis(["--cfg-svg", "f.svg", "app.py:f"], app)
    if shutil.which("dot") is None:
        assert rc == 2 and "Graphviz" in err and len(err.splitlines()) == 1
    else:
        assert rc == 0, err
        assert (app / "f.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_asm_output_assembles_back(app):
    rc, out, err = run_dis(["--asm", "app.py"], app)
    assert rc == 0, err
    rebuilt = asm.assemble(out)
    original = module_code()
    assert rebuilt.co_code == original.co_code
    namespace: dict = {}
    exec(rebuilt, namespace)
    assert namespace["f"](5) == 6 + 1 + 3.141592653589793
    assert namespace["Klass"]().method(3) == [6, 18]
    assert namespace["Klass"]().method("a") == ["aa"]  # the except branch


ERRORS = [
    (["missing.py"], "no such file: missing.py"),
    (["broken.py"], "syntax error in broken.py:2"),
    (["app.py:Nope.nope"], "has no code object named 'Nope.nope'; available: <module>, Klass"),
    (["-m", "no_such_module_xyz"], "no module named 'no_such_module_xyz'"),
    (["-m", "sys"], "built into the interpreter"),
    (["-m", "json.nope"], "no module named 'json.nope'"),
    (["emptydir"], "emptydir is a folder without __init__.py"),
    (["-m", "json", "app.py"], "either a file or -m MODULE"),
    (["-p", "nosuchpass", "app.py"], "unknown pass 'nosuchpass'"),
    (["-p", "identity", "-o", "identity.bogus=1", "app.py"], "no option 'bogus'"),
    (["-o", "identity.pad=1", "app.py"], "no passes were chosen"),
    (["--raw", "--asm", "app.py"], "not allowed with argument"),
    ([], "nothing to show"),
    (["--bogus", "app.py"], "unrecognized arguments"),
]


@pytest.mark.parametrize("argv,message", ERRORS, ids=[" ".join(a) or "none" for a, _ in ERRORS])
def test_errors_are_one_line_exit_2(app, capsys, argv, message):
    (app / "broken.py").write_text("x = 1\ndef (:\n")
    (app / "emptydir").mkdir()
    assert dis_main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("bchook dis: error: ")
    assert len(captured.err.strip().splitlines()) == 1
    assert message in captured.err


def test_errors_end_to_end(app):
    (app / "broken.py").write_text("x = 1\ndef (:\n")
    for argv, message in [(["broken.py"], "syntax error in broken.py:2"),
                          (["app.py:zzz"], "available: <module>, Klass, Klass.method")]:
        rc, out, err = run_dis(argv, app)
        assert rc == 2 and out == ""
        assert message in err and "Traceback" not in err


def test_passes_with_asm_shows_the_rewritten_code(app):
    rc, out, err = run_dis(["-p", "goto", "--asm", "jumpy.py:countdown"], app)
    assert rc == 0, err
    assert "LOAD_GLOBAL goto" not in out and "JUMP" in out
    rebuilt = asm.assemble(out)
    countdown = types.FunctionType(rebuilt, {})
    assert countdown(3) == 3  # the goto loop runs: nothing looks up a global `goto`


def test_whole_stdlib_command_runs_and_reports_counts(run_python):
    root = Path(__file__).resolve().parents[2]
    rc, out, err = run_python([root / "tools" / "dis_stdlib_all.py", "--sample", "4"],
                              cwd=root)
    assert rc == 0, out + err
    assert "(raw, listing, asm): 4 files" in out and "0 failures" in out
    assert "Python %d.%d." % sys.version_info[:2] in out
    rc, out, err = run_python([root / "tools" / "dis_stdlib_all.py", "--check", "nope"],
                              cwd=root)
    assert rc == 2 and "unknown check 'nope'" in err
