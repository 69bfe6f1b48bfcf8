"""One settings path: every front end resolves flags > environment > ``[tool.bchook]`` through
``bchook.config.resolve`` into the same immutable ``Settings``, and builds its passes once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from bchook import config as C

#: What each front end prints of the hook it installed.
SHOW_HOOK = """
import json, bchook
hook = bchook.installed()
print("HOOK " + json.dumps(None if hook is None else {
    "passes": [p.name for p in hook.passes],
    "include": sorted(hook.targets.include or ()),
    "exclude": sorted(hook.targets.exclude),
    "cache": hook.cache,
    "options": {p.name: {k: str(v) for k, v in sorted(p.options.items())} for p in hook.passes},
}))
"""

PYPROJECT = """\
[tool.bchook]
include = ["app", "lib.*"]
exclude = ["app.skip"]
cache = false

[tool.bchook.options.identity]
pad = "1"
"""

EXPECTED = {"passes": ["identity"], "include": ["app", "lib.*"], "exclude": ["app.skip"],
            "cache": False, "options": {"identity": {"pad": "True"}}}


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "PYTEST_", "COVERAGE_"))}
    env.update(extra)
    return env


def hook_seen(args, cwd, env) -> dict | None:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("HOOK ")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    return json.loads(lines[0][5:])


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "show.py").write_text(SHOW_HOOK)
    (tmp_path / "test_show.py").write_text(textwrap.dedent("""
        def test_show():
            exec(open("show.py").read())
    """))
    return tmp_path


FRONT_ENDS = {
    "runner": ["-m", "bchook", "show.py"],
    "autoload": ["-c", "from bchook.frontends import autoload; autoload.start(); "
                       "exec(open('show.py').read())"],
    "pytest plugin": ["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_show.py"],
}


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_every_front_end_installs_what_the_file_and_the_environment_say(project, front_end):
    # passes from the environment (the autoload's switch), everything else from the file
    seen = hook_seen(FRONT_ENDS[front_end], project, clean_env(BCHOOK_PASSES="identity"))
    assert seen == EXPECTED


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_every_setting_reaches_every_front_end(project, front_end):
    # A setting added to the file layer once is honoured by all front ends: each key of
    # [tool.bchook] changes what each of them installs.
    base = hook_seen(FRONT_ENDS[front_end], project, clean_env(BCHOOK_PASSES="identity"))
    for key, text, changed in (
            ("include", 'include = ["other"]', {"include": ["other"]}),
            ("exclude", 'exclude = ["app.x", "y"]', {"exclude": ["app.x", "y"]}),
            ("cache", "cache = true", {"cache": True})):
        assert key in C._FILE_KEYS
        body = "\n".join(text if line.startswith(key + " ") else line
                         for line in PYPROJECT.splitlines())
        (project / "pyproject.toml").write_text(body + "\n")
        seen = hook_seen(FRONT_ENDS[front_end], project, clean_env(BCHOOK_PASSES="identity"))
        assert seen == {**base, **changed}, key


def test_the_pytest_plugin_honours_the_file_alone(project):
    # no flag, no variable: [tool.bchook] passes turn the plugin on, as they do the runner
    (project / "pyproject.toml").write_text(PYPROJECT.replace(
        "cache = false", 'cache = false\npasses = ["identity"]'))
    for front_end in ("runner", "pytest plugin"):
        assert hook_seen(FRONT_ENDS[front_end], project, clean_env()) == EXPECTED, front_end


def test_flags_beat_the_environment_which_beats_the_file_in_the_pytest_plugin(project):
    env = clean_env(BCHOOK_PASSES="identity", BCHOOK_EXCLUDE="from_env")
    seen = hook_seen([*FRONT_ENDS["pytest plugin"], "--bchook-exclude", "from_flag"],
                     project, env)
    assert seen["exclude"] == ["from_flag"]
    assert hook_seen(FRONT_ENDS["pytest plugin"], project, env)["exclude"] == ["from_env"]


def test_settings_are_immutable():
    settings = C.resolve({"passes": ["identity"], "options": {"identity": {"pad": "1"}}},
                         environ={"BCHOOK_CONFIG": ""})
    with pytest.raises(AttributeError, match="immutable"):
        settings.passes = ("trace",)
    with pytest.raises(TypeError):
        settings.options["identity"]["pad"] = "0"
    with pytest.raises(TypeError):
        settings.options["trace"] = {}
    changed = settings.replace(passes=("trace",))
    assert changed.passes == ("trace",) and settings.passes == ("identity",)


def test_passes_are_built_once_on_the_autoload_path(project, monkeypatch):
    code = ("from bchook.passes.identity import IdentityPass\n"
            "calls = []\n"
            "original = IdentityPass.__init__\n"
            "def counted(self, *a, **k):\n"
            "    calls.append(a)\n"
            "    original(self, *a, **k)\n"
            "IdentityPass.__init__ = counted\n"
            "from bchook.frontends import autoload\n"
            "autoload.start()\n"
            "print('HOOK', len(calls))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                          text=True, env=clean_env(BCHOOK_PASSES="identity"), timeout=60)
    assert proc.stdout.split() == ["HOOK", "1"], proc.stdout + proc.stderr
