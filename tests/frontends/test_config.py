"""Settings: ``[tool.bchook]`` in pyproject.toml < ``BCHOOK_*`` variables < flags."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bchook import UsageError
from bchook import config as C


FULL = """\
[project]
name = "demo"

[tool.bchook]
passes = ["identity", "trace"]
include = "app.*, lib"
exclude = ["app.vendored.*"]
cache = false

[tool.bchook.options.identity]
pad = true

[tool.bchook.options.trace]
output = ["a.prof", "b.prof"]
limit = 10
"""


def test_read_pyproject(tmp_path, write):
    path = write(tmp_path / "pyproject.toml", FULL)
    layer = C.read_pyproject(str(path))
    assert layer == {
        "passes": ["identity", "trace"],
        "include": ["app.*", "lib"],
        "exclude": ["app.vendored.*"],
        "cache": False,
        "options": {"identity": {"pad": True}, "trace": {"output": "a.prof,b.prof", "limit": 10}},
    }


def test_a_pyproject_without_the_table_sets_nothing(tmp_path, write):
    path = write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert C.read_pyproject(str(path)) == {}


def test_nearest_pyproject_wins(tmp_path, write):
    write(tmp_path / "pyproject.toml", "[tool.bchook]\npasses = ['outer']\n")
    inner = write(tmp_path / "a" / "pyproject.toml", "[tool.bchook]\npasses = ['inner']\n")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert C.find_pyproject(str(deep)) == str(inner)
    assert C.resolve(environ={}, start=str(deep)).passes == ("inner",)
    assert C.resolve(environ={}, start=str(tmp_path)).passes == ("outer",)


@pytest.mark.parametrize("body, message", [
    ("passes = 3", "passes must be a list of strings"),
    ("include = [1]", "include must be a list of strings"),
    ("cache = 'no'", "cache must be true or false"),
    ("colour = 'red'", "unknown key 'colour'"),
    ("options = {trace = 'x'}", "one table per pass"),
    ("[tool.bchook.options.trace]\noutput = {a = 1}", "options.trace.output"),
])
def test_bad_pyproject_is_a_usage_error_naming_the_file(tmp_path, body, message, write):
    if not body.startswith("["):
        body = "[tool.bchook]\n" + body
    path = write(tmp_path / "pyproject.toml", body + "\n")
    with pytest.raises(UsageError) as info:
        C.read_pyproject(str(path))
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_toml(tmp_path, write):
    path = write(tmp_path / "pyproject.toml", "[tool.bchook\n")
    with pytest.raises(UsageError, match="invalid TOML"):
        C.resolve(environ={}, start=str(tmp_path))


def test_read_environ():
    env = {
        "BCHOOK_PASSES": "goto, trace",
        "BCHOOK_INCLUDE": "a.*,b",
        "BCHOOK_EXCLUDE": "",
        "BCHOOK_CACHE": "0",
        "BCHOOK_OPTIONS": r"trace.output=x\;y;identity.pad=1",
        "BCHOOK_ROOTS": os.pathsep.join(["/r1", "/r2"]),
    }
    assert C.read_environ(env) == {
        "passes": ["goto", "trace"], "include": ["a.*", "b"], "exclude": [], "cache": False,
        "options": {"trace": {"output": "x;y"}, "identity": {"pad": "1"}},
        "roots": ["/r1", "/r2"],
    }
    assert C.read_environ({}) == {}


@pytest.mark.parametrize("value, disabled", [
    ("1", True), ("true", True), ("yes", True), ("ON", True), ("0", False), ("", False),
    ("no", False), ("whatever", True),
])
def test_disable(value, disabled):
    assert C.is_disabled({"BCHOOK_DISABLE": value}) is disabled
    assert C.resolve({}, environ={"BCHOOK_DISABLE": value, "BCHOOK_CONFIG": ""}).disabled \
        is disabled


def test_bad_cache_value():
    with pytest.raises(UsageError, match="BCHOOK_CACHE"):
        C.read_environ({"BCHOOK_CACHE": "sometimes"})


def test_option_flags_repeat_join_with_commas():
    assert C.parse_option_flags(["trace.output=a.prof", "identity.pad=1", "trace.output=b.prof"]) == {
        "trace": {"output": "a.prof,b.prof"}, "identity": {"pad": "1"}}
    assert C.parse_option_flags(["x.y=a=b"]) == {"x": {"y": "a=b"}}
    assert C.parse_option_flags(["x.y="]) == {"x": {"y": ""}}


@pytest.mark.parametrize("bad", ["nodot=1", "x.y", ".y=1", "x.=1", "=1", ""])
def test_bad_option_flags(bad):
    with pytest.raises(UsageError, match="PASS.KEY=VALUE"):
        C.parse_option_flags([bad])


def test_windows_paths_need_no_escaping_in_options():
    assert C.decode_options(r"trace.output=C:\logs\t.txt") == {"trace": {"output": r"C:\logs\t.txt"}}


_names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


@given(st.dictionaries(_names, st.dictionaries(_names, st.text(max_size=12), min_size=1),
                       max_size=4))
def test_options_survive_the_environment(options):
    assert C.decode_options(C.encode_options(options)) == options


def test_precedence_flags_over_environment_over_file(tmp_path, write):
    write(tmp_path / "pyproject.toml", FULL)
    start = str(tmp_path)
    from_file = C.resolve(environ={}, start=start)
    assert from_file.passes == ("identity", "trace") and from_file.cache is False
    assert from_file.config_file == str(tmp_path / "pyproject.toml")

    env = {"BCHOOK_PASSES": "identity", "BCHOOK_CACHE": "1",
           "BCHOOK_OPTIONS": "trace.limit=20"}
    from_env = C.resolve(environ=env, start=start)
    assert from_env.passes == ("identity",) and from_env.cache is True
    assert from_env.include == ("app.*", "lib")  # not in the environment: the file's
    assert from_env.options["trace"] == {"output": "a.prof,b.prof", "limit": "20"}

    flags = {"passes": ["trace"], "cache": False, "options": {"trace": {"output": "c.prof"}},
             "exclude": []}
    final = C.resolve(flags, environ=env, start=start)
    assert final.passes == ("trace",) and final.cache is False and final.exclude == ()
    assert final.options["trace"] == {"output": "c.prof", "limit": "20"}
    assert final.options["identity"] == {"pad": True}


def test_bchook_config_names_the_file_or_none(tmp_path, write):
    write(tmp_path / "pyproject.toml", FULL)
    other = write(tmp_path / "elsewhere.toml", "[tool.bchook]\npasses = 'goto'\n")
    assert C.resolve(environ={"BCHOOK_CONFIG": str(other)}, start=str(tmp_path)).passes == \
        ("goto",)
    assert C.resolve(environ={"BCHOOK_CONFIG": ""}, start=str(tmp_path)).passes == ()


def test_exported_environment_reproduces_the_settings(tmp_path):
    settings = C.Settings(passes=["identity", "trace"], include=["a.*"], exclude=["a.b"],
                          cache=False, options={"trace": {"output": "x;y,z"}},
                          roots=[str(tmp_path)], config_file=None)
    again = C.resolve(environ=C.to_environ(settings), start=str(tmp_path))
    assert again == settings


# -- end to end: what the runner installs -------------------------------------------------

SHOW_HOOK = """\
from bchook.hook import install as _install
hook = _install.installed()
print([repr(p) for p in hook.passes], hook.cache, hook.targets.include, hook.targets.exclude)
"""


def test_runner_reads_the_nearest_pyproject(tmp_path, run_python, write):
    write(tmp_path / "pyproject.toml", """\
        [tool.bchook]
        passes = ["identity"]
        exclude = ["skipped"]
        cache = false
        [tool.bchook.options.identity]
        pad = true
        """)
    write(tmp_path / "src" / "app.py", SHOW_HOOK)
    rc, out, err = run_python(["-m", "bchook", "src/app.py"], cwd=tmp_path)
    assert (rc, err) == (0, "")
    assert out == "['<pass identity 1 pad=True>'] False None ('skipped',)\n"

    env = {"BCHOOK_OPTIONS": "identity.pad=0", "BCHOOK_CACHE": "1", "BCHOOK_EXCLUDE": "e"}
    rc, out, err = run_python(["-m", "bchook", "src/app.py"], cwd=tmp_path, env=env)
    assert out == "['<pass identity 1 pad=False>'] True None ('e',)\n", err

    rc, out, err = run_python(["-m", "bchook", "-o", "identity.pad=1", "--no-cache",
                               "--exclude", "f", "--include", "src.*", "src/app.py"],
                              cwd=tmp_path, env=env)
    assert out == "['<pass identity 1 pad=True>'] False ('src.*',) ('f',)\n", err


# Issue 17, item 12: an option for a pass that is not in the chain is the same usage error
# whichever layer gives it (it was ignored from the file and the environment, refused from -o).
NOT_IN_CHAIN = [
    ({}, ["-o", "trace.output=t.prof"], "(-o)"),
    ({"BCHOOK_OPTIONS": "trace.output=t.prof"}, [], "(BCHOOK_OPTIONS)"),
    ({}, None, "pyproject.toml [tool.bchook.options.trace]"),
]


@pytest.mark.parametrize("env, flags, source", NOT_IN_CHAIN, ids=["flag", "environment", "file"])
def test_options_for_a_pass_not_in_the_chain_are_an_error_from_every_layer(
        tmp_path, run_python, env, flags, source, write):
    if flags is None:
        write(tmp_path / "pyproject.toml", """\
            [tool.bchook.options.trace]
            output = "t.prof"
            """)
    write(tmp_path / "app.py", "open('RAN', 'w').close()\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", *(flags or []), "app.py"],
                              cwd=tmp_path, env=env)
    assert (rc, out) == (2, "")
    assert err.startswith("bchook: error: option trace.output ") and err.count("\n") == 1, err
    assert source in err
    assert "pass 'trace' is not in the chain (passes: identity)" in err
    assert not (tmp_path / "RAN").exists()


def test_the_autoload_applies_the_same_rule(tmp_path, monkeypatch, capsys):
    from bchook.frontends import autoload as _autoload

    monkeypatch.setattr(_autoload, "_attempted", False)
    environ = {"BCHOOK_PASSES": "identity", "BCHOOK_OPTIONS": "trace.output=t.prof",
               "BCHOOK_CONFIG": ""}
    _autoload.start(environ)
    err = capsys.readouterr().err
    assert not _autoload.active()
    assert err.startswith("bchook: autoload failed, running without the hook: UsageError: "
                          "option trace.output (BCHOOK_OPTIONS): pass 'trace' is not in the "
                          "chain"), err


def test_disable_runs_the_program_untouched(tmp_path, run_python, write):
    write(tmp_path / "app.py", "from bchook.hook import install as _install\nprint(_install.installed())\n")
    rc, out, err = run_python(["-m", "bchook", "-p", "identity", "app.py"], cwd=tmp_path,
                              env={"BCHOOK_DISABLE": "1"})
    assert (rc, out, err) == (0, "None\n", "")


# -- the [tool.bchook] table remembered next to the file (issue 17, item 2) ---------------------

PRINT_SETUP = """\
import sys
from bchook.hook import install as _install
print('tomllib' in sys.modules or 'tomli' in sys.modules, [p.name for p in _install.installed().passes])
"""


def test_the_table_is_remembered_until_the_file_changes(tmp_path, run_python, write):
    # the TOML parser costs more start-up than the rest of bchook: parsed once per change
    write(tmp_path / "pyproject.toml", "[tool.bchook]\npasses = ['identity']\n")
    write(tmp_path / "app.py", PRINT_SETUP)
    # (coverage's start-up in the child, under tools/test_all.py, would import tomllib)
    env = {"PYTHONDONTWRITEBYTECODE": None, "COVERAGE_PROCESS_START": None}
    assert run_python(["-m", "bchook", "app.py"], cwd=tmp_path, env=env) == (
        0, "True ['identity']\n", "")
    memo = [p for p in (tmp_path / "__pycache__").iterdir() if "pyproject" in p.name]
    assert len(memo) == 1
    assert run_python(["-m", "bchook", "app.py"], cwd=tmp_path, env=env) == (
        0, "False ['identity']\n", "")
    write(tmp_path / "pyproject.toml", "[tool.bchook]\npasses = ['identity', 'goto']\n")
    assert run_python(["-m", "bchook", "app.py"], cwd=tmp_path, env=env) == (
        0, "True ['identity', 'goto']\n", "")
    memo[0].write_bytes(b"garbage")  # a broken memo is a miss, never an error
    assert run_python(["-m", "bchook", "app.py"], cwd=tmp_path, env=env) == (
        0, "True ['identity', 'goto']\n", "")


def test_nothing_is_remembered_without_bytecode_or_cache(tmp_path, run_python, write):
    write(tmp_path / "pyproject.toml", "[tool.bchook]\npasses = ['identity']\n")
    write(tmp_path / "app.py", "pass\n")
    for extra, env in ((["--no-cache"], {"PYTHONDONTWRITEBYTECODE": None}),
                       ([], {"PYTHONDONTWRITEBYTECODE": "1"})):
        assert run_python(["-m", "bchook", *extra, "app.py"], cwd=tmp_path, env=env) == (
            0, "", "")
        assert not (tmp_path / "__pycache__").exists()
