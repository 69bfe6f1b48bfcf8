"""The pytest plugin (``--bchook-pass`` and friends), each case a real pytest run in a
subprocess started by ``pytester``.

The sample passes (see ``plugin_helpers``) move string constants along ``a0 -> a1 -> a2
-> a3``, so the value a test sees says which passes ran, in which order, on which module.
"""

from __future__ import annotations

import os
import sys

import pytest

from bchook.frontends import pytest_plugin as _pytest_plugin
from bchook.pipeline import registry as _registry
from bchook.hook.install import installed
from plugin_helpers import install_sample_passes

pytest_plugins = ["pytester"]

#: Seconds one inner pytest run may take before the test fails instead of hanging CI.
TIMEOUT = 120

APP = """
    def value():
        return "{src}"

    LOADER = type(__loader__).__name__
"""

CONFTEST = """
    import pytest

    @pytest.fixture
    def conf_value():
        return "{src}"
"""

TEST_APP = """
    import app

    LOCAL = "{src}"

    def test_code_under_test_is_rewritten():
        assert app.LOADER == "BchookLoader"
        assert app.value() == "{dst}"

    def test_test_module_and_conftest_are_rewritten(conf_value):
        assert (LOCAL, conf_value) == ("{dst}", "{dst}")

    def test_failing_assert_is_introspected():
        assert app.value() == "expected"
"""


@pytest.fixture
def project(pytester, monkeypatch, write_tree):
    """A rootdir with the sample passes installed, ``app.py`` returning "a1", a conftest."""
    for var in [v for v in os.environ if v.startswith("BCHOOK_")]:
        monkeypatch.delenv(var)
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    install_sample_passes(pytester.path)
    write_tree(pytester.path, {
        "app.py": APP.format(src="a1"),
        "conftest.py": CONFTEST.format(src="a1"),
    })
    return pytester


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=TIMEOUT)


def output(result) -> str:
    return "\n".join(result.outlines + result.errlines)


def assert_usage_error(result, *fragments):
    text = output(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    errors = [line for line in result.errlines if line.startswith("ERROR: bchook")]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], text
    assert "Traceback" not in text and "INTERNALERROR" not in text, text


# -- inactive unless asked -------------------------------------------------------------

@pytest.mark.slow
def test_without_options_the_plugin_loads_but_does_nothing(project):
    project.makepyfile(test_inactive="""
        import sys

        MACHINERY = [m for m in ("bchook.hook.install", "bchook.hook.finder", "bchook.hook.loader",
                                 "bchook.pipeline.registry", "bchook.hook.cache",
                                 "bchook.hook.compose", "bchook.hook.targets")
                     if m in sys.modules]

        import app
        import bchook
        from bchook.pipeline import registry as _registry

        def test_no_hook_no_pass_discovery():
            assert MACHINERY == []  # not even loaded
            assert app.LOADER == "SourceFileLoader"
            assert bchook.installed() is None
            assert not [f for f in sys.meta_path if "Bchook" in type(f).__name__]
            assert not [m for m in sys.modules if m.startswith("bchook.passes.")]
            assert not _registry._found  # entry points never even listed
            assert "bchook.frontends.pytest_plugin" in sys.modules  # the plugin was loaded, though
    """)
    result = run(project, "-v")
    assert result.ret == 0, output(result)
    assert not [line for line in result.outlines if line.startswith("bchook:")]


# -- rewriting, together with pytest's assertion rewriting ------------------------------

@pytest.mark.parametrize("passes, src, dst, import_mode", [
    ("swap", "a1", "a2", "prepend"),
    ("ast-swap", "a0", "a1", "prepend"),
    ("ast-swap,swap", "a0", "a2", "importlib"),
])
def test_test_modules_and_code_under_test_are_rewritten_and_asserts_still_introspected(
        project, passes, src, dst, import_mode, write_tree):
    write_tree(project.path, {
        "app.py": APP.format(src=src),
        "conftest.py": CONFTEST.format(src=src),
        "test_app.py": TEST_APP.format(src=src, dst=dst),
    })
    result = run(project, "--bchook-pass", passes, f"--import-mode={import_mode}")
    text = output(result)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, text
    result.assert_outcomes(passed=2, failed=1)
    # pytest's introspection of the failing assert, showing the value bchook produced
    # (both transformations applied to test_app.py):
    assert f"assert '{dst}' == 'expected'" in text, text
    assert ["E", "+", dst] in [line.split() for line in result.outlines], text  # the diff
    assert "BchookWarning" not in text, text


@pytest.mark.slow
def test_passes_apply_in_the_order_given_and_the_header_names_them(project):
    project.makepyfile(test_order="""
        import app

        def test_value():
            assert app.value() == "a3"
    """)
    result = run(project, "--bchook-pass", "swap", "--bchook-pass", "swap2", "-v")
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: passes swap, swap2; rewriting files under *;"
                                 " cache on"])

    project.makepyfile(test_order="""
        import app

        def test_value():
            assert app.value() == "a2"   # swap2 (a2 -> a3) ran before anything was a2
    """)
    result = run(project, "--bchook-pass", "swap2,swap", "--bchook-no-cache",
                 "--bchook-include", "app")  # (swap2 would turn the test's own "a2" into "a3")
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: passes swap2, swap; rewriting modules app; cache off"])


def test_include_exclude_and_pass_options(project, write_tree):
    write_tree(project.path, {
        "pkg/__init__.py": "",
        "pkg/kept.py": "V = 'a1'\n",
        "pkg/skipped.py": "V = 'a1'\n",
    })
    project.makepyfile(test_targets="""
        import app
        import pkg.kept
        import pkg.skipped

        LOCAL = "a1"

        def test_targets():
            assert pkg.kept.V == "custom"
            assert pkg.skipped.V == "a1"
            assert app.value() == "a1"   # not included
            assert LOCAL == "a1"         # the test module is not included either
    """)
    result = run(project, "--bchook-pass", "swap", "--bchook-include", "pkg",
                 "--bchook-exclude", "pkg.skipped", "--bchook-option", "swap.to=custom")
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: passes swap; rewriting modules pkg except "
                                 "pkg.skipped; cache on"])


@pytest.mark.parametrize("config_file, text", [
    ("pyproject.toml", """
        [tool.pytest.ini_options]
        bchook_passes = ["swap", "swap2"]
        bchook_include = ["app"]
        bchook_options = ["swap.to=a2"]
    """),
    ("pytest.ini", """
        [pytest]
        bchook_passes = swap,swap2
        bchook_include =
            app
            nothing_else
    """),
])
def test_configuration_file_options(project, config_file, text, write_tree):
    write_tree(project.path, {config_file: text})
    project.makepyfile(test_ini="""
        import app

        LOCAL = "a1"

        def test_value():
            assert (app.value(), LOCAL) == ("a3", "a1")
    """)
    result = run(project)
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: passes swap, swap2; rewriting modules app*"])


def test_command_line_replaces_configured_passes(project, write_tree):
    write_tree(project.path, {"pytest.ini": "[pytest]\nbchook_passes = swap2\n"})
    project.makepyfile(test_cli="""
        import app

        def test_value():
            assert app.value() == "a2"   # only swap: swap2 alone would leave "a1"
    """)
    result = run(project, "--bchook-pass", "swap")
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: passes swap; *"])


# -- usage errors ------------------------------------------------------------------------

@pytest.mark.parametrize("args, ini, fragments", [
    (["--bchook-pass", "nope"], None, ["unknown pass 'nope'", "available passes:", "swap"]),
    ([], "bchook_passes = swap nope", ["unknown pass 'nope'"]),
    (["--bchook-pass", "swap", "--bchook-option", "swap.to"], None,
     ["--bchook-option", "'swap.to'", "PASS.KEY=VALUE"]),
    (["--bchook-pass", "swap", "--bchook-option", "swap.color=red"], None,
     ["no option 'color'"]),
    (["--bchook-pass", "swap", "--bchook-option", "swap2.x=1"], None,
     ["'swap2'", "not in the chain"]),
    (["--bchook-include", "app"], None, ["--bchook-include", "--bchook-pass"]),
    (["--bchook-pass", " , "], None, ["--bchook-pass", "expected pass names"]),
])
def test_bad_passes_and_options_are_usage_errors(project, args, ini, fragments, write_tree):
    if ini is not None:
        write_tree(project.path, {"pytest.ini": f"[pytest]\n{ini}\n"})
    project.makepyfile(test_never="def test_never():\n    raise AssertionError\n")
    # In-process: a usage error stops pytest before any hook is installed.
    project.syspathinsert()
    try:
        result = project.runpytest_inprocess("-p", "no:cacheprovider", *args)
    finally:
        _registry.clear_cache()  # forget the sample passes of this temporary folder
    assert installed() is None
    assert_usage_error(result, *fragments)


# -- modules imported before the hook ----------------------------------------------------

def test_modules_imported_before_the_hook_are_named_in_one_warning(project, write_tree):
    write_tree(project.path, {
        "early_plugin.py": "import early_helper\nV = 'a1'\n",
        "early_helper.py": "V = 'a1'\n",
    })
    project.makepyfile(test_early="""
        import app
        import early_helper

        def test_values():
            # imported too early: not rewritten (a literal "a1" here would be)
            assert early_helper.V == "".join(["a", "1"])
            assert app.value() == "a2"
    """)
    result = run(project, "-p", "early_plugin", "--bchook-pass", "swap")
    text = output(result)
    assert result.ret == 0, text
    lines = [line for line in result.outlines if "imported before the hook" in line]
    assert len(lines) == 1, text
    assert "BchookWarning" in lines[0]
    assert "2 targeted modules" in lines[0] and "early_helper, early_plugin" in lines[0]
    assert "sample_passes" not in text  # loaded by bchook itself to build the chain


def test_plugin_listed_in_a_conftest_installs_the_hook_late_and_says_so(
        project, monkeypatch, write_tree):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    write_tree(project.path, {
        "conftest.py": "pytest_plugins = ['bchook.frontends.pytest_plugin']\n"})
    project.makepyfile(test_late="""
        import app

        def test_value():
            assert app.value() == "a2"
    """)
    result = run(project, "--bchook-pass", "swap")
    text = output(result)
    assert result.ret == 0, text
    assert "not rewritten: conftest" in text, text


def test_plugin_loads_by_name_when_autoload_is_off(project, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    project.makepyfile(test_named="""
        import app

        def test_value():
            assert app.value() == "a2"
    """)
    result = run(project, "-p", "bchook", "--bchook-pass", "swap")
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: passes swap; *"])


def test_bchook_disable_turns_the_plugin_off(project, monkeypatch):
    monkeypatch.setenv("BCHOOK_DISABLE", "1")
    project.makepyfile(test_disabled="""
        import app

        def test_value():
            assert app.value() == "a1"
    """)
    result = run(project, "--bchook-pass", "swap")
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: disabled by BCHOOK_DISABLE*swap*"])


def test_header_names_a_hook_installed_before_pytest_started(project):
    project.makepyfile(test_runner="""
        import app

        def test_value():
            assert app.value() == "a2"
    """)
    result = project.run(sys.executable, "-m", "bchook", "-p", "swap", "-m", "pytest",
                         "-p", "no:cacheprovider", timeout=TIMEOUT)
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines(["bchook: passes swap; * (installed before pytest started)"])


# -- xdist and the cache -------------------------------------------------------------------

@pytest.mark.slow
def test_xdist_workers_rewrite_and_the_cache_is_keyed_on_bchooks_settings_only(project,
                                                                              monkeypatch):
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    log = project.path / "transforms.log"
    project.makepyfile(test_cached="""
        import os
        import app

        def test_value():
            assert app.value() == os.environ["EXPECTED"]
    """)

    def session(*args, expected="a2"):
        monkeypatch.setenv("EXPECTED", expected)
        seen = len(log.read_text().splitlines()) if log.exists() else 0
        result = project.runpytest_subprocess("--bchook-pass", "swap", "--bchook-option",
                                              f"swap.log={log}", *args, timeout=TIMEOUT)
        assert result.ret == 0, output(result)
        result.stdout.fnmatch_lines(["bchook: passes swap; *"])
        if "xdist" in args:
            result.stdout.fnmatch_lines(["created: 2/2 workers"])
        new = log.read_text().splitlines()[seen:] if log.exists() else []
        return sorted({line.split()[0] for line in new})

    # Only the workers import the test module and the code under test: they rewrite them.
    assert session("-p", "xdist", "-n", "2") == ["app", "conftest", "test_cached"]
    assert session("--cache-clear") == []  # bchook's cache is not pytest's
    assert session("-p", "xdist", "-n", "2") == []  # workers read the same cache
    cached = [n for n in os.listdir(project.path / "__pycache__") if ".bchook-" in n]
    assert {n.partition(".")[0] for n in cached} == {"app", "conftest", "test_cached"}
    # Another option value is another key: transformed again, the old files stay valid.
    assert session("--bchook-option", "swap.to=a9", expected="a9") == \
        ["app", "conftest", "test_cached"]
    assert session() == []


def test_in_process_runs_leave_no_hook_behind(project):
    project.syspathinsert()
    project.makepyfile(test_inline="""
        import app

        def test_value():
            assert app.value() == "a2"
    """)
    meta_path = list(sys.meta_path)
    try:
        result = project.runpytest_inprocess("-p", "no:cacheprovider", "--bchook-pass", "swap")
    finally:
        _registry.clear_cache()  # forget the sample passes of this temporary folder
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=1)
    (call,) = result.reprec.getcalls("pytest_unconfigure")
    hook = call.config.stash[_pytest_plugin._STATE].hook
    assert hook is not None and not hook.finder.active  # uninstalled, not just dropped
    assert installed() is None
    assert sys.meta_path == meta_path


def test_a_session_in_this_process_leaves_the_trace_runtime_as_it_was(pytester):
    """pytest.main() may run more than once in a process: what the plugin sets for its
    session (how the trace summary spells options, how usage errors stop) is put back."""
    from bchook.passes.trace.runtime import _runtime

    before = (_runtime.stop_for_usage_error, _runtime.option_spelling)
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist",
                                          "--bchook-pass", "trace")
    assert result.ret == 0
    assert (_runtime.stop_for_usage_error, _runtime.option_spelling) == before
