"""``bchook.testing``: the helpers a pass's tests use (bchook's own tests use them too).

Runs happen in worker processes: the passes defined here are found there by importing this
module, as any pass class defined in a test suite is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types

import pytest

from bchook import Option, Pass, ir, testing

SOURCE = """\
def add(a, b):
    return a + b


def greet(name):
    return "hello " + name


print(add(2, 3), greet("ada"))
"""


class SwapPlus(Pass):
    """Turns the + of ``add`` into a -: a pass that changes what programs do."""

    name = "test_swapplus"
    version = "1"

    def transform_ir(self, bc, ctx):
        if bc.code.co_name != "add":
            return False
        for i, item in enumerate(bc.items):
            if isinstance(item, ir.Instr) and ir.binary_operator_of(item) == "+":
                bc.items[i:i + 1] = ir.binary_op("-", item.loc)
                return True
        return False


class NopInAdd(Pass):
    """A NOP said to be on line 999 at the start of ``add``: only the line events change."""

    name = "test_nop"
    version = "1"
    option_specs = (Option("line", int, 999, "the line of the NOP"),)

    def transform_ir(self, bc, ctx):
        if bc.code.co_name != "add":
            return False
        line = self.options.get("line", 999)
        bc.items.insert(ir.body_start(bc.items), ir.Instr("NOP", 0, (line, line, None, None)))
        return True


class NopInAddDeclared(NopInAdd):
    name = "test_nop_declared"
    keeps_lines = False


class Exits(Pass):
    name = "test_exits"
    version = "1"

    def transform_code(self, code, ctx):
        import os

        os._exit(3)


# -- running and comparing ------------------------------------------------------------------

def test_run_records_what_a_program_does():
    outcome = testing.run(SOURCE, call="add(1, 2)")
    assert outcome.stdout == "5 hello ada\n"
    assert outcome.stderr == "" and outcome.exception is None and outcome.problem is None
    assert outcome.value == 3 and outcome.raised is None
    assert outcome.line_events is None


def test_run_records_exceptions_warnings_stderr_and_line_events():
    source = textwrap.dedent("""\
        import sys, warnings
        print("to stderr", file=sys.stderr)
        warnings.warn("careful")
        def f(x):
            return 1 // x
        f(0)
        """)
    outcome = testing.run(source, line_events=True, call="f(0)")
    assert outcome.stderr == "to stderr\n"
    assert outcome.warnings == [["UserWarning", "careful", 3]]
    assert outcome.exception["type"] == "ZeroDivisionError"
    assert outcome.exception["frames"] == [["<module>", 6], ["f", 5]]
    assert outcome.line_events[:3] == [["<module>", 1], ["<module>", 2], ["<module>", 3]]
    assert outcome.value is None  # the module raised: nothing was called


def test_run_a_file_in_place(tmp_path):
    (tmp_path / "helper.py").write_text("WORD = 'from a sibling'\n")
    script = tmp_path / "script.py"
    script.write_text("import sys, helper\nprint(helper.WORD, __name__, sys.argv[0] == "
                      "__file__)\n")
    assert testing.run(script, "identity").stdout == "from a sibling __main__ True\n"


def test_compare_is_empty_for_a_chain_that_keeps_the_meaning():
    assert testing.compare(SOURCE, "identity") == []
    assert testing.compare(SOURCE, ["identity", "trace"], call="add(1, 1)") == []


def test_compare_names_what_differs():
    found = testing.compare(SOURCE, SwapPlus, call="add(10, 1)")
    assert [d.field for d in found] == ["value", "output"]
    assert str(found[1]) == "output: plain '5 hello ada' / chain '-1 hello ada'"
    assert found[0].plain["returned"] == 11 and found[0].chained["returned"] == 9


def test_line_events_count_for_passes_that_keep_lines():
    found = testing.compare(SOURCE, NopInAdd)
    assert [d.field for d in found] == ["line events"]
    assert "['add', 999]" in str(found[0])
    assert testing.compare(SOURCE, NopInAddDeclared) == []
    assert testing.compare(SOURCE, NopInAdd, line_events=False) == []


def test_pass_instances_keep_their_options():
    found = testing.compare(SOURCE, [NopInAdd(line=777)])
    assert "['add', 777]" in str(found[0])
    found = testing.compare(SOURCE, [NopInAdd], options={"test_nop": {"line": "555"}})
    assert "['add', 555]" in str(found[0])


def test_assert_same_passes_or_explains():
    assert testing.assert_same(SOURCE, "identity").stdout == "5 hello ada\n"
    with pytest.raises(AssertionError) as caught:
        testing.assert_same(SOURCE, SwapPlus)
    message = str(caught.value)
    assert message.startswith("the program does not do the same under SwapPlus:\n")
    assert "   2     return a + b" in message
    assert "--- differences under SwapPlus:\n  output: plain '5 hello ada' / SwapPlus " \
           "'-1 hello ada'" in message


def test_a_crash_under_the_chain_is_a_difference():
    found = testing.compare(SOURCE, Exits)
    assert [d.field for d in found] == ["crashed"]
    assert "exit status 3" in str(found[0])
    assert testing.compare(SOURCE, "identity") == []  # the next run gets a new process


def test_a_program_python_does_not_compile_is_an_error():
    with pytest.raises(ValueError, match="Python does not compile it: SyntaxError"):
        testing.compare("def (:\n", "identity")


def test_a_pass_class_that_cannot_be_imported_elsewhere_is_refused():
    class Local(Pass):
        name = "local"

    with pytest.raises(ValueError, match="cannot be imported by another process"):
        testing.run(SOURCE, Local)


def test_an_unknown_pass_is_named():
    with pytest.raises(RuntimeError, match="unknown pass 'nosuchpass'"):
        testing.run(SOURCE, "nosuchpass")


def test_another_interpreter(tmp_path):
    outcome = testing.run(SOURCE, "identity", python=sys.executable, call="add(1, 2)")
    assert outcome.value == 3


# -- code objects ---------------------------------------------------------------------------

NESTED = textwrap.dedent("""\
    def outer():
        def inner():
            return 1 + 2
        return inner


    class K:
        def method(self):
            return 3 + 4

        def other(self):
            return 5


    top = 10 + 1
    """)


def test_changed_code_names_the_code_objects_a_chain_changed():
    assert testing.changed_code(NESTED, "identity") == []
    assert testing.changed_code(NESTED, NopInAdd) == []
    source = NESTED + "def add(a, b):\n    return a + b\n"
    assert testing.changed_code(source, SwapPlus) == ["add"]
    assert testing.changed_code(source, NopInAdd) == ["add"]


def test_assert_changes():
    source = NESTED + "def add(a, b):\n    return a + b\n"
    testing.assert_changes(source, SwapPlus, changed=["add"])
    with pytest.raises(AssertionError, match="changed but should not be: add; left alone "
                                             "but should change: K.method"):
        testing.assert_changes(source, SwapPlus, changed=["K.method"])


def test_qualified_names_on_every_release():
    code = compile(NESTED, "<nested>", "exec")
    names = [name for name, _ in testing._qualnames(code)]
    assert names == ["<module>", "outer", "outer.<locals>.inner", "K", "K.method", "K.other"]
    assert testing.code_named(code, "outer.<locals>.inner").co_name == "inner"
    assert testing.code_named(code, "inner").co_name == "inner"  # the only one named so
    with pytest.raises(KeyError, match="no code object is named 'nope'"):
        testing.code_named(code, "nope")


def test_ir_before_and_after():
    source = "def add(a, b):\n    return a + b\n"
    before = testing.ir_of(source, "add")
    after = testing.ir_of(source, "add", SwapPlus)
    assert [ir.binary_operator_of(i) for i in before.instructions()].count("+") == 1
    assert [ir.binary_operator_of(i) for i in after.instructions()].count("-") == 1


def test_load_module_through_a_chain():
    module = testing.load_module(SOURCE, SwapPlus, name="swapped")
    assert isinstance(module, types.ModuleType) and module.__name__ == "swapped"
    assert module.add(5, 2) == 3
    assert "swapped" not in sys.modules
    assert testing.load_module(SOURCE).add(5, 2) == 7


def test_load_module_from_a_file_finds_its_lines(tmp_path):
    import inspect

    path = tmp_path / "shown.py"
    path.write_text(SOURCE)
    module = testing.load_module(path, "identity", name="shown")
    assert inspect.getsource(module.add) == "def add(a, b):\n    return a + b\n"


def test_pass_class_finds_a_registered_pass():
    from bchook.passes.identity import IdentityPass

    assert testing.pass_class("identity") is IdentityPass
    with pytest.raises(Exception, match="unknown pass 'nosuchpass'"):
        testing.pass_class("nosuchpass")


def test_isolated_imports_restores_the_import_system(tmp_path):
    (tmp_path / "throwaway_module.py").write_text("X = 1\n")
    before = list(sys.path)
    with testing.isolated_imports():
        sys.path.insert(0, str(tmp_path))
        import throwaway_module  # noqa: F401
        assert "throwaway_module" in sys.modules
    assert "throwaway_module" not in sys.modules and sys.path == before


# -- the check ------------------------------------------------------------------------------

@pytest.mark.slow
def test_check_reports_like_the_command(tmp_path):
    report = testing.check("identity", programs=2, corpus=False, out=str(tmp_path / "out"))
    assert report.ok and report.differences == []
    assert "generated" in report.table() and report.verdict() == "bchook check: no difference"
    bad = testing.check(SwapPlus, programs=0, out=str(tmp_path / "out"))
    assert not bad.ok
    found = next(d for d in bad.differences if d.program == "corpus/operators.py")
    assert found.reproduction.startswith(str(tmp_path / "out"))
    assert "DIFFERENT corpus/operators.py" in bad.text()


# -- the fixtures the pytest plugin registers -----------------------------------------------

def test_fixtures(bchook_load, bchook_isolated_imports):
    module = bchook_load(SOURCE, SwapPlus, name="through_the_fixture")
    assert module.add(2, 2) == 0
    assert module.__file__.endswith("through_the_fixture.py")
    assert bchook_isolated_imports.modules is not None


def test_importable_without_pytest():
    code = "import sys; sys.modules['pytest'] = None; import bchook.testing; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr


def test_a_program_that_exits_is_an_outcome_too():
    outcome = testing.run("import sys\nprint('bye')\nsys.exit(3)\n")
    assert outcome.stdout == "bye\n" and outcome.problem is None
    assert (outcome.exception["type"], outcome.exception["args"]) == ("SystemExit", "(3,)")


def test_a_test_module_s_class_is_found_when_its_folder_left_sys_path(monkeypatch):
    here = os.path.dirname(os.path.abspath(__file__))
    monkeypatch.setattr(sys, "path", [p for p in sys.path
                                      if os.path.abspath(p or os.curdir) != here])
    assert [d.field for d in testing.compare(SOURCE, SwapPlus)] == ["output"]
