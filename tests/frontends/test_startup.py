"""What the front ends import before the hook is in place (issue 17, items 1 and 2).

Every module imported before the hook is installed is one the hook cannot rewrite any more,
and start-up time: the runner, the start-up autoload and the pytest plugin import only what
installing the hook needs, look up no distribution's metadata when every pass named is built
in, and name in one warning line the targeted modules that were imported before the hook
anyway. (``benchmarks/startup_bench.py`` measures the time itself.)
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from bchook.frontends import autoload as _autoload
from bchook.pipeline import registry as _registry

#: Modules bchook itself used to import before the hook (the issue names most of them):
#: none of them may be loaded by the front ends, with the ``identity`` pass.
HEAVY = ("argparse", "textwrap", "re", "typing", "inspect", "ast", "dis", "email",
         "importlib.metadata", "zipfile", "dataclasses", "tomllib", "tomli", "json",
         "sysconfig", "enum", "logging", "collections", "functools", "fnmatch")

#: The program: which modules were there when it started.
SHOW_MODULES = "import sys; print(' '.join(sorted(sys.modules)))"


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m in HEAVY or m.split(".")[0] in ("email", "tomli"))


def baseline(run_python, tmp_path) -> set[str]:
    # importlib.util: the hook needs it (3.10 and 3.11 import collections for it, and
    # `python -m` imports it anyway)
    rc, out, err = run_python(["-c", "import importlib.util; " + SHOW_MODULES], cwd=tmp_path)
    assert rc == 0, err
    return set(out.split())


def test_the_runner_imports_only_what_the_hook_needs(tmp_path, run_python):
    plain = baseline(run_python, tmp_path)
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "-c", SHOW_MODULES],
                              cwd=tmp_path)
    assert (rc, err) == (0, "")
    assert heavy_in(set(out.split()) - plain) == []


def test_the_autoload_imports_only_what_the_hook_needs(tmp_path, run_python):
    plain = baseline(run_python, tmp_path)
    line = next(ln for ln in _autoload.pth_text().splitlines() if ln.startswith("import "))
    code = f"exec({line!r}); import bchook.hook.install as i; assert i.installed(); {SHOW_MODULES}"
    rc, out, err = run_python(["-c", code], cwd=tmp_path, env={"BCHOOK_PASSES": "identity"})
    assert (rc, err) == (0, "")
    assert heavy_in(set(out.split()) - plain) == []


@pytest.mark.parametrize("front_end", ["runner", "autoload"])
def test_no_metadata_scan_when_every_pass_is_built_in(tmp_path, run_python, front_end):
    probe = ("import sys, bchook.pipeline.registry as r; "
             "print('importlib.metadata' in sys.modules, r._found)")
    if front_end == "runner":
        args = ["-m", "bchook", "-p", "identity,goto,constfold,trace", "-c", probe]
        env = {}
    else:
        line = next(ln for ln in _autoload.pth_text().splitlines() if ln.startswith("import "))
        args = ["-c", f"exec({line!r}); {probe}"]
        env = {"BCHOOK_PASSES": "identity,goto,constfold,trace"}
    rc, out, err = run_python(args, cwd=tmp_path, env=env)
    assert rc == 0, err
    assert out.split(maxsplit=1)[1].strip() == "{}"  # no entry point was looked up


def test_the_pytest_plugin_scans_no_metadata_for_built_in_passes(tmp_path, run_python):
    (tmp_path / "test_probe.py").write_text(textwrap.dedent("""\
        import bchook.hook.install, bchook.pipeline.registry

        def test_probe():
            assert bchook.hook.install.installed() is not None
            assert bchook.pipeline.registry._found == {}
        """))
    rc, out, err = run_python(["-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--bchook-pass", "identity", "test_probe.py"], cwd=tmp_path)
    assert rc == 0, out + err


def test_built_in_passes_load_without_the_entry_points():
    _registry.clear_cache()
    try:
        assert _registry.load_pass_class("identity").name == "identity"
        assert _registry._found == {}
        with pytest.raises(Exception, match="unknown pass 'no_such_pass'"):
            _registry.load_pass_class("no_such_pass")
        assert _registry._found  # a name that is not built in: now the metadata is read
    finally:
        _registry.clear_cache()


def test_built_in_table_agrees_with_the_entry_points():
    from importlib import metadata

    declared = {ep.name: ep.value for ep in metadata.entry_points(group=_registry.GROUP)
                if ep.dist is not None and ep.dist.metadata["Name"] == "bchook"}
    if not declared:
        pytest.skip("bchook's own metadata is not installed (a bare checkout)")
    assert declared == _registry.BUILTIN


# -- what the hook could not rewrite is named, never skipped silently ---------------------------

def traced_or_named(out_err: str, module: str) -> tuple[bool, bool]:
    traced = f"{module}.py" in out_err or f"/{module}/" in out_err
    named = any(line.startswith("bchook: warning: ") and "imported before the hook" in line
                and module in line for line in out_err.splitlines())
    return traced, named


@pytest.mark.parametrize("include, program, module", [
    ("textwrap", "import textwrap; textwrap.fill('a b')", "textwrap"),
    ("json*", "import json; json.dumps([1])", "json"),
])
def test_the_issues_examples_are_traced_or_named(tmp_path, run_python, include, program, module):
    # Issue 17's own commands: each printed nothing at all. The module is now either traced
    # (imported through the hook) or named in the one warning line (imported before it).
    rc, out, err = run_python(["-m", "bchook", "-p", "trace", "--include", include, "-c",
                               program], cwd=tmp_path)
    assert rc == 0, err
    traced, named = traced_or_named(err, module)
    assert traced or named, err
    assert sum(line.startswith("bchook: warning: ") for line in err.splitlines()) <= 1


@pytest.mark.parametrize("include, module", [("textwrap", "textwrap"), ("json*", "json"),
                                             ("argparse", "argparse"), ("email.*", "email"),
                                             ("inspect", "inspect"), ("typing", "typing")])
def test_modules_bchook_used_to_import_are_rewritten_now(tmp_path, run_python, include, module):
    program = f"import {module}; print(type({module}.__loader__).__name__)"
    # (coverage's start-up in the child, under tools/test_all.py, would import them first)
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "--include", include, "-c",
                               program], cwd=tmp_path, env={"COVERAGE_PROCESS_START": None})
    assert (rc, out, err) == (0, "BchookLoader\n", "")


def test_targeted_modules_imported_before_the_hook_are_named_in_one_line(tmp_path, run_python):
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "--include", "stat,codecs",
                               "-c", "import stat; print(type(stat.__loader__).__name__)"],
                              cwd=tmp_path)
    assert rc == 0 and out != "BchookLoader\n"
    assert err == ("bchook: warning: 2 targeted modules imported before the hook was "
                   "installed, not rewritten: codecs, stat (imported by Python's start-up or "
                   "by the passes)\n")


def test_include_star_names_what_python_imported_first(tmp_path, run_python):
    # '*' means every module imported after the hook is installed (the README says so):
    # the standard library the program imports is rewritten, start-up's modules are named.
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "--include", "*", "-c",
                               "import colorsys; print(type(colorsys.__loader__).__name__)"],
                              cwd=tmp_path)
    assert (rc, out) == (0, "BchookLoader\n"), err
    assert err.count("\n") == 1 and err.startswith("bchook: warning: ")
    assert "targeted modules imported before the hook was installed" in err
    assert " and " in err and " more " in err  # more than ten: the line stays one line
