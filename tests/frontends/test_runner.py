"""``python -m bchook`` runs a program exactly as ``python`` does, with the hook installed.

Every test runs the real command in a subprocess, next to plain ``python`` on the same
program, and compares what the program sees and prints.
"""

from __future__ import annotations

import os
import sys
import textwrap
import zipfile

import pytest

from bchook.frontends import runner as _runner

#: What a program prints about how it was started; identical under bchook and plain python.
SHOW = """\
import os, sys
m = sys.modules["__main__"]
spec = m.__spec__
print("argv", sys.argv)
print("path0", repr(sys.path[0]))
print("file", m.__dict__.get("__file__", "<none>"))
print("cached", m.__dict__.get("__cached__", "<none>"))
print("package", repr(m.__package__))
print("spec", None if spec is None else (spec.name, spec.origin, spec.parent))
print("loader", getattr(m.__loader__, "name", m.__loader__))
print("keys", sorted(k for k in vars(m) if k.startswith("__")))
print("name", __name__)
"""

#: How much of a function's code is NOPs: ``identity -o identity.pad=1`` puts one after
#: every instruction, so a rewritten function is at least a third NOPs.
NOP_SHARE = """\
import dis
def nop_share(func):
    ops = [i.opname for i in dis.get_instructions(func)]
    return ops.count("NOP") / len(ops)
def sample(a, b):
    c = a + b
    return c * 2 if c else -c
"""

PAD = ["-p", "identity", "-o", "identity.pad=1"]


def both(run_python, args, *, cwd, flags=("-p", "identity"), env=None, python_flags=()):
    """Run ``python ARGS`` and ``python -m bchook FLAGS ARGS``; return both results."""
    plain = run_python([*python_flags, *args], cwd=cwd, env=env)
    hooked = run_python([*python_flags, "-m", "bchook", *flags, *args], cwd=cwd, env=env)
    return plain, hooked


def assert_same(run_python, args, *, cwd, **kw):
    plain, hooked = both(run_python, args, cwd=cwd, **kw)
    assert hooked == plain
    return plain


# -- transparency ------------------------------------------------------------------------

def test_script_sees_the_same_argv_path_and_main_module(tmp_path, run_python, write):
    write(tmp_path / "app" / "show.py", SHOW)
    rc, out, err = assert_same(run_python, ["app/show.py", "a", "--flag", "-m"], cwd=tmp_path)
    assert rc == 0 and err == ""
    assert "argv ['app/show.py', 'a', '--flag', '-m']" in out
    assert f"path0 {str(tmp_path / 'app')!r}" in out
    assert "spec None" in out


def test_module_run_with_dash_m(tmp_path, run_python, write):
    write(tmp_path / "pkg" / "__init__.py")
    write(tmp_path / "pkg" / "tool.py", SHOW)
    rc, out, err = assert_same(run_python, ["-m", "pkg.tool", "x"], cwd=tmp_path)
    assert rc == 0, err
    assert f"argv [{str(tmp_path / 'pkg' / 'tool.py')!r}, 'x']" in out
    assert f"path0 {str(tmp_path)!r}" in out
    assert "spec ('pkg.tool'" in out


def test_package_run_with_dash_m_uses_its_main(tmp_path, run_python, write):
    write(tmp_path / "pkg" / "__init__.py")
    write(tmp_path / "pkg" / "__main__.py", SHOW)
    rc, out, err = assert_same(run_python, ["-m", "pkg", "x"], cwd=tmp_path)
    assert rc == 0, err
    assert "spec ('pkg.__main__'" in out


def test_bare_package_name_runs_as_dash_m(tmp_path, run_python, write):
    write(tmp_path / "pkg" / "__init__.py")
    write(tmp_path / "pkg" / "__main__.py", SHOW)
    write(tmp_path / "elsewhere" / "keep.txt")
    # "pkg" is a folder here, so run from elsewhere with pkg importable only as a module.
    env = {"PYTHONPATH": str(tmp_path)}
    plain = run_python(["-m", "pkg", "y"], cwd=tmp_path / "elsewhere", env=env)
    hooked = run_python(["-m", "bchook", "-p", "identity", "pkg", "y"],
                        cwd=tmp_path / "elsewhere", env=env)
    assert hooked == plain
    assert plain[0] == 0 and "spec ('pkg.__main__'" in plain[1]


def test_bare_module_name_runs_as_dash_m(tmp_path, run_python, write):
    write(tmp_path / "tool.py", SHOW)
    plain = run_python(["-m", "tool", "1"], cwd=tmp_path)
    hooked = run_python(["-m", "bchook", "-p", "identity", "tool", "1"], cwd=tmp_path)
    assert hooked == plain and plain[0] == 0


def test_code_with_dash_c(tmp_path, run_python):
    rc, out, err = assert_same(run_python, ["-c", SHOW, "a", "b"], cwd=tmp_path)
    assert rc == 0, err
    assert "argv ['-c', 'a', 'b']" in out and "path0 ''" in out


def test_program_from_stdin(tmp_path, run_python):
    import subprocess

    results = []
    for prefix in ([], ["-m", "bchook", "-p", "identity"]):
        proc = subprocess.run([sys.executable, *prefix, "-", "arg"], input=SHOW, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60,
                              env={k: v for k, v in os.environ.items()
                                   if not k.startswith("BCHOOK_")})
        results.append((proc.returncode, proc.stdout, proc.stderr))
    assert results[0] == results[1]
    assert "argv ['-', 'arg']" in results[0][1]


def test_folder_with_main(tmp_path, run_python, write):
    write(tmp_path / "app" / "__main__.py", SHOW)
    rc, out, err = assert_same(run_python, ["app", "z"], cwd=tmp_path)
    assert rc == 0, err
    assert "argv ['app', 'z']" in out and "spec ('__main__'" in out


def test_zip_file_with_main(tmp_path, run_python):
    with zipfile.ZipFile(tmp_path / "app.zip", "w") as z:
        z.writestr("__main__.py", SHOW)
    rc, out, err = assert_same(run_python, ["app.zip", "z"], cwd=tmp_path)
    assert rc == 0, err
    assert "argv ['app.zip', 'z']" in out


def test_isolated_mode_adds_no_script_folder(tmp_path, run_python, write):
    write(tmp_path / "show.py", SHOW)
    rc, out, err = assert_same(run_python, ["show.py"], cwd=tmp_path, python_flags=["-I"])
    assert rc == 0, err
    assert f"path0 {str(tmp_path)!r}" not in out


# -- exit status and errors --------------------------------------------------------------

@pytest.mark.parametrize("code, status", [
    ("raise SystemExit(3)", 3),
    ("import sys; sys.exit('goodbye')", 1),
    ("import sys; sys.exit()", 0),
    ("import sys; sys.exit(None)", 0),
    ("import os; os._exit(7)", 7),
    ("print('fine')", 0),
])
def test_exit_status_is_the_programs(tmp_path, run_python, code, status, write):
    write(tmp_path / "app.py", code)
    rc, out, err = assert_same(run_python, ["app.py"], cwd=tmp_path)
    assert rc == status


def test_uncaught_exception_prints_the_same_traceback(tmp_path, run_python, write):
    write(tmp_path / "helper.py", """\
        def fail(n):
            if n:
                return fail(n - 1)
            raise ValueError("deep down")
        """)
    write(tmp_path / "app.py", """\
        import helper
        try:
            helper.fail(2)
        except ValueError as exc:
            raise KeyError("outer") from exc
        """)
    rc, out, err = assert_same(run_python, ["app.py"], cwd=tmp_path)
    assert rc == 1
    assert "ValueError: deep down" in err and "KeyError: 'outer'" in err
    assert "bchook" not in err


def test_traceback_of_dash_m_keeps_runpy_frames_only(tmp_path, run_python, write):
    write(tmp_path / "boom.py", "1 / 0\n")
    rc, out, err = assert_same(run_python, ["-m", "boom"], cwd=tmp_path)
    assert rc == 1 and "ZeroDivisionError" in err and "bchook" not in err


def test_syntax_error_in_script(tmp_path, run_python, write):
    write(tmp_path / "bad.py", "x = 1\ndef (:\n")
    rc, out, err = assert_same(run_python, ["bad.py"], cwd=tmp_path)
    assert rc == 1 and "SyntaxError" in err and "bad.py" in err and "line 2" in err


def test_custom_excepthook_is_used(tmp_path, run_python, write):
    write(tmp_path / "app.py", """\
        import sys
        sys.excepthook = lambda t, e, tb: print("hooked", t.__name__, tb.tb_frame.f_code.co_name)
        raise OSError("x")
        """)
    rc, out, err = assert_same(run_python, ["app.py"], cwd=tmp_path)
    assert rc == 1 and out == "hooked OSError <module>\n"


def test_keyboard_interrupt_ends_like_python(tmp_path, run_python, write):
    write(tmp_path / "app.py", """\
        import atexit
        atexit.register(print, "atexit ran")
        raise KeyboardInterrupt
        """)
    rc, out, err = assert_same(run_python, ["app.py"], cwd=tmp_path)
    assert out == "atexit ran\n" and "KeyboardInterrupt" in err
    if os.name == "posix":
        assert rc == -2  # killed by SIGINT, as the shell expects of an interrupted program


def test_stdout_and_stderr_interleave_as_with_python(tmp_path, run_python, write):
    write(tmp_path / "app.py", """\
        import sys
        print("out 1"); print("err 1", file=sys.stderr)
        sys.stdout.write("no newline")
        """)
    rc, out, err = assert_same(run_python, ["app.py"], cwd=tmp_path)
    assert out == "out 1\nno newline" and err == "err 1\n"


# -- the hook itself ---------------------------------------------------------------------

def test_main_script_and_its_imports_are_rewritten(tmp_path, run_python, write):
    write(tmp_path / "lib.py", NOP_SHARE)
    write(tmp_path / "app.py", NOP_SHARE + textwrap.dedent("""\
        import lib
        print(nop_share(sample) > 0.3, nop_share(lib.sample) > 0.3)
        """))
    assert run_python(["app.py"], cwd=tmp_path)[1] == "False False\n"
    rc, out, err = run_python(["-m", "bchook", *PAD, "app.py"], cwd=tmp_path)
    assert (rc, out, err) == (0, "True True\n", "")


def test_dash_c_code_is_rewritten(tmp_path, run_python):
    code = NOP_SHARE + "print(nop_share(sample) > 0.3)\n"
    assert run_python(["-m", "bchook", *PAD, "-c", code], cwd=tmp_path)[1] == "True\n"


def test_default_targets_the_programs_folder_only(tmp_path, run_python, write):
    write(tmp_path / "sub" / "mine.py", "x = 1\n")
    write(tmp_path / "app.py", """\
        import sys
        sys.path.insert(0, "sub")
        import mine, colorsys
        print(type(mine.__loader__).__name__, type(colorsys.__loader__).__name__)
        """)
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "app.py"], cwd=tmp_path)
    assert (rc, err) == (0, "")
    assert out == "BchookLoader SourceFileLoader\n"
    # --include '*' means everything importable; --exclude wins.
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "--include", "*", "app.py"],
                              cwd=tmp_path)
    assert out == "BchookLoader BchookLoader\n", err
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "--include", "*",
                               "--exclude", "mine", "app.py"], cwd=tmp_path)
    assert out == "SourceFileLoader BchookLoader\n", err


def test_settings_are_exported_to_child_processes(tmp_path, run_python, write):
    write(tmp_path / "app.py", """\
        import os
        for key in sorted(os.environ):
            if key.startswith("BCHOOK_"):
                print(key, os.environ[key])
        """)
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "-o", "identity.pad=1",
                               "--exclude", "x.*", "--no-cache", "app.py"], cwd=tmp_path)
    assert rc == 0, err
    env = dict(line.split(" ", 1) for line in out.splitlines())
    assert env["BCHOOK_PASSES"] == "identity"
    assert env["BCHOOK_OPTIONS"] == "identity.pad=1"
    assert env["BCHOOK_EXCLUDE"] == "x.*"
    assert env["BCHOOK_CACHE"] == "0"
    assert env["BCHOOK_ROOTS"] == str(tmp_path)
    assert env["BCHOOK_MAIN"] == str(tmp_path / "app.py")


def test_multiprocessing_spawn_works(tmp_path, run_python, write):
    write(tmp_path / "app.py", """\
        import multiprocessing as mp
        def square(x):
            return x * x
        if __name__ == "__main__":
            ctx = mp.get_context("spawn")
            with ctx.Pool(2) as pool:
                print(pool.map(square, range(5)))
        """)
    rc, out, err = assert_same(run_python, ["app.py"], cwd=tmp_path)
    assert (rc, out) == (0, "[0, 1, 4, 9, 16]\n"), err


BOOM_PLUGIN = """\
from bchook import Pass

class BoomPass(Pass):
    name = "boom"
    version = "1"

    def transform_code(self, code, ctx):
        if code.co_name == "explode":
            raise RuntimeError("cannot handle " + code.co_name)
        return code
"""


def fake_plugin(write, tmp_path, name="boom", value="boom_plugin:BoomPass", module=BOOM_PLUGIN):
    """A distribution declaring one bchook pass, importable through PYTHONPATH."""
    site = tmp_path / "fake-site"
    write(site / "fakeplug-1.0.dist-info" / "METADATA",
          "Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    write(site / "fakeplug-1.0.dist-info" / "entry_points.txt",
          f"[bchook.passes]\n{name} = {value}\n")
    write(site / "boom_plugin.py", module)
    return {"PYTHONPATH": str(site)}


def test_pass_failure_in_an_import_is_reported_cleanly(tmp_path, run_python, write):
    env = fake_plugin(write, tmp_path)
    write(tmp_path / "lib.py", "def explode():\n    pass\n")
    write(tmp_path / "app.py", """\
        import sys
        try:
            import lib
        except Exception as exc:
            print(type(exc).__name__, "lib" in sys.modules)
        import lib
        """)
    rc, out, err = run_python(["-m", "bchook", "-p", "boom", "app.py"], cwd=tmp_path, env=env)
    assert rc == 1
    assert out == "PassFailed False\n"
    last = err.strip().splitlines()[-1]
    # the public name (issue 17, item 8): bchook.PassFailed, not bchook.errors.PassFailed
    assert last.startswith("bchook.PassFailed: pass 'boom' failed on module 'lib'")
    assert "explode" in last and "lib.py:1" in last and "cannot handle explode" in last
    assert 'File "' + str(tmp_path / "app.py") + '", line 6' in err
    assert "finder.py" not in err and "runner.py" not in err


# -- unit tests of the pieces ------------------------------------------------------------

def _frame_names(exc):
    names, tb = [], exc.__traceback__
    while tb:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return names


def test_strip_own_frames_keeps_program_frames_and_chains(monkeypatch):
    program = {}
    exec(compile(textwrap.dedent("""\
        def inner():
            raise ValueError("x")
        def outer(call):
            try:
                call(inner)
            except ValueError as exc:
                raise KeyError("y") from exc
        """), "/somewhere/else/program.py", "exec"), program)

    def machinery(func):  # stands for bchook's frames: this test file's folder is "ours"
        func()

    monkeypatch.setattr(_runner, "_MACHINERY_DIRS", {os.path.normcase(os.path.dirname(__file__))})
    try:
        machinery(lambda: program["outer"](machinery))
    except KeyError as exc:
        caught = exc
    assert _frame_names(caught) == [
        "test_strip_own_frames_keeps_program_frames_and_chains", "machinery", "<lambda>",
        "outer"]
    _runner.strip_own_frames(caught)
    assert _frame_names(caught) == ["outer"]
    assert _frame_names(caught.__cause__) == ["outer", "inner"]


def test_resolve_target_kinds(tmp_path, monkeypatch, write):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "script.py", "pass\n")
    write(tmp_path / "folder" / "__main__.py", "pass\n")
    write(tmp_path / "mod_here.py", "pass\n")
    assert _runner.resolve_target("path", "script.py").kind == "script"
    assert _runner.resolve_target("path", "folder").kind == "folder"
    assert _runner.resolve_target("path", "mod_here", ["a"]) == \
        _runner.Target("module", "mod_here", ["a"])
    assert _runner.resolve_target("code", "print(1)").kind == "code"


def test_resolve_target_does_not_run_the_package(tmp_path, monkeypatch, write):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pkg" / "__init__.py", "raise RuntimeError('must not run yet')\n")
    write(tmp_path / "pkg" / "__main__.py", "pass\n")
    write(tmp_path / "pkg" / "sub.py", "pass\n")
    assert _runner.resolve_target("module", "pkg.sub").kind == "module"
    assert _runner.resolve_target("module", "pkg").kind == "module"
    assert "pkg" not in sys.modules


# -- issue 17: targeting, targets, no pass, errors -------------------------------------------

GOTO_MAIN = """\
from bchook.goto import goto, label
def f():
    goto .end
    return "not rewritten"
    label .end
    return "rewritten"
print(f())
"""

UNMATCHED = ("bchook: warning: the include patterns {} matched no module imported during "
             "the run: only the main script was rewritten (it is __main__, whatever --include "
             "says)\n")


def test_main_script_is_rewritten_whatever_include_says(tmp_path, run_python, write):
    # item 3: --include names modules; the script one runs is rewritten all the same
    write(tmp_path / "app.py", GOTO_MAIN)
    write(tmp_path / "helper.py", "X = 1\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "--include", "app", "app.py"],
                              cwd=tmp_path)
    assert (rc, out, err) == (0, "rewritten\n", UNMATCHED.format("app"))
    # a pattern that matches an imported module: nothing to say at exit
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "--include", "helper", "-c",
                               "import helper\n" + GOTO_MAIN], cwd=tmp_path)
    assert (rc, out, err) == (0, "rewritten\n", "")


def test_dash_c_code_and_dash_m_module_are_rewritten_whatever_include_says(tmp_path,
                                                                           run_python, write):
    write(tmp_path / "tool.py", GOTO_MAIN)
    for target in (["-c", GOTO_MAIN], ["-m", "tool"]):
        rc, out, err = run_python(["-m", "bchook", "-p", "goto", "--include", "nothing.*",
                                   *target], cwd=tmp_path)
        assert (rc, out, err) == (0, "rewritten\n", UNMATCHED.format("nothing.*")), target


def test_exclude_main_leaves_the_main_script_alone(tmp_path, run_python, write):
    write(tmp_path / "app.py", GOTO_MAIN)
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "--exclude", "__main__",
                               "app.py"], cwd=tmp_path)
    assert rc == 1 and "'goto .end' ran without being rewritten" in err
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "--include", "x",
                               "--exclude", "__main__", "-c", "print('plain')"], cwd=tmp_path)
    assert (rc, out) == (0, "plain\n")
    assert err == ("bchook: warning: the include patterns x matched no module imported during "
                   "the run: nothing was rewritten\n")


PKG_MAIN = """\
from app import helper
import sys
print("main of", __spec__.name, helper.NAME, sys.path[0] == {cwd!r})
"""


def test_package_folder_here_runs_as_dash_m(tmp_path, run_python, write):
    # item 4, first reading: app/ is an importable package of the current folder, so
    # `bchook app` is `python -m app` (run as a folder, `from app import ...` would fail)
    write(tmp_path / "app" / "__init__.py")
    write(tmp_path / "app" / "helper.py", "NAME = 'helper'\n")
    write(tmp_path / "app" / "__main__.py", PKG_MAIN.format(cwd=str(tmp_path)))
    plain = run_python(["-m", "app", "x"], cwd=tmp_path)
    assert plain == (0, "main of app.__main__ helper True\n", "")
    assert run_python(["-m", "bchook", "-p", "identity", "app", "x"], cwd=tmp_path) == plain
    # without __main__.py it is a package that cannot be run, as with -m
    (tmp_path / "app" / "__main__.py").unlink()
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "app"], cwd=tmp_path)
    assert (rc, out) == (2, "")
    assert err == ("bchook: error: 'app' is a package and cannot be run: it has no "
                   "app.__main__ module\n")


def test_folder_that_is_not_a_package_runs_its_main_as_python_does(tmp_path, run_python, write):
    # item 4, second reading: no __init__.py (or not in the current folder, or given as a
    # path): the folder runs its __main__.py with the folder first on sys.path
    write(tmp_path / "tool" / "__main__.py", "import sys, helper\nprint(sys.path[0], helper.X)\n")
    write(tmp_path / "tool" / "helper.py", "X = 'beside'\n")
    assert_same(run_python, ["tool"], cwd=tmp_path)
    write(tmp_path / "sub" / "pkg" / "__init__.py")
    write(tmp_path / "sub" / "pkg" / "__main__.py", "import sys\nprint(sys.path[0])\n")
    rc, out, err = assert_same(run_python, ["sub/pkg"], cwd=tmp_path)
    assert out == f"{tmp_path / 'sub' / 'pkg'}\n"


def test_zip_target_main_and_modules_go_through_the_passes(tmp_path, run_python):
    # item 5: the zip's __main__.py and the modules inside it are rewritten
    with zipfile.ZipFile(tmp_path / "g.zip", "w") as z:
        z.writestr("__main__.py", "import zhelper\n" + GOTO_MAIN + "print(zhelper.g())\n")
        z.writestr("zhelper.py", GOTO_MAIN.replace("def f", "def g").replace("print(f())",
                                                                               ""))
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "g.zip"], cwd=tmp_path)
    assert (rc, out, err) == (0, "rewritten\nrewritten\n", "")
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as z:
        z.writestr("__main__.py", "import zwork\nprint(zwork.work())\n")
        z.writestr("zwork.py", "def work():\n    return 'worked'\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "t.zip"], cwd=tmp_path)
    assert (rc, out) == (0, "worked\n"), err
    assert "zwork.py" in err  # the summary lists the zipped module's function


def test_no_pass_anywhere_says_so_in_one_line(tmp_path, run_python, write):
    # item 6
    write(tmp_path / "app.py", "print('ran')\n")
    rc, out, err = run_python(["-m", "bchook", "app.py"], cwd=tmp_path)
    assert (rc, out) == (0, "ran\n")
    assert err == ("bchook: warning: no pass is active, so the program runs unchanged: give "
                   "passes with -p PASS[,PASS], BCHOOK_PASSES or passes = [...] in "
                   "[tool.bchook] (`bchook passes` lists them)\n")
    # switched off on purpose: nothing to say
    assert run_python(["-m", "bchook", "-p", "identity", "app.py"], cwd=tmp_path,
                      env={"BCHOOK_DISABLE": "1"}) == (0, "ran\n", "")


GOTO_ERROR = """\
from bchook.goto import goto, label
def f():
    goto .nowhere
"""


def test_goto_error_in_the_main_script_looks_like_a_syntax_error_in_a_script(tmp_path,
                                                                            run_python, write):
    # item 7: no bchook frames, no "Traceback": what Python shows for a SyntaxError there
    write(tmp_path / "app.py", GOTO_ERROR)
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "app.py"], cwd=tmp_path)
    assert (rc, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == f'  File "{tmp_path / "app.py"}", line 3'
    assert lines[1] == "    goto .nowhere"
    assert lines[-1].startswith("SyntaxError: goto .nowhere: there is no label .nowhere")
    assert "Traceback" not in err and "bchook" + os.sep not in err
    write(tmp_path / "bad.py", "x = (\n")  # what Python shows: the same three parts
    rc, out, err = run_python(["bad.py"], cwd=tmp_path)
    assert err.splitlines()[0] == f'  File "{tmp_path / "bad.py"}", line 1'


def test_goto_error_in_an_imported_module_shows_the_programs_frames_only(
        tmp_path, run_python, write):
    write(tmp_path / "lib.py", GOTO_ERROR)
    write(tmp_path / "app.py", "import lib\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "app.py"], cwd=tmp_path)
    assert rc == 1
    assert err.splitlines()[:3] == [
        "Traceback (most recent call last):",
        f'  File "{tmp_path / "app.py"}", line 1, in <module>',
        "    import lib"]
    assert f'  File "{tmp_path / "lib.py"}", line 3' in err
    assert "bchook" + os.sep not in err


def test_public_exceptions_carry_the_public_module_name():
    # item 8
    import pickle
    import traceback

    import bchook

    for name in bchook.__all__:
        obj = getattr(bchook, name)
        if isinstance(obj, type) and name != "Hook":
            assert obj.__module__ == "bchook", name
    exc = bchook.PassFailed("boom", "lib", "f at lib.py:1", ValueError("no"))
    assert traceback.format_exception_only(type(exc), exc)[0].startswith(
        "bchook.PassFailed: pass 'boom' failed on module 'lib'")
    again = pickle.loads(pickle.dumps(exc))
    assert (type(again), str(again), again.pass_name) == (bchook.PassFailed, str(exc), "boom")
    assert repr(bchook.OptionError("x")) == "OptionError('x')"
    assert str(bchook.UsageError) == "<class 'bchook.UsageError'>"
