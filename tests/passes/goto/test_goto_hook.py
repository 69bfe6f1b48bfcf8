"""The goto pass end to end: through ``install(["goto"])``, the runner
(``python -m bchook -p goto``) and the example program."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bchook import install, installed

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "goto_state_machine.py"

APP = """
import sys
from bchook.goto import goto, label

def find(grid, wanted):
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if value == wanted:
                goto .found
    return None
    label .found
    return r, c

class Log:
    def __init__(self): self.events = []
    def __enter__(self): return self
    def __exit__(self, *exc):
        self.events.append(("exit", exc))

def cleanup():
    log = Log()
    with log:
        try:
            goto .out
        finally:
            log.events.append("finally")
    label .out
    return log.events

count = 0
label .again
count += 1
if count < 3:
    goto .again

def endless():
    goto .start
    while True:
        pass
    label .start
    return "after while True"
"""


@pytest.fixture
def no_hook_left():
    yield
    hook = installed()
    if hook is not None:
        hook.uninstall()


def test_install_rewrites_modules_without_decorators(tmp_path, isolated_imports,
                                                     no_hook_left, write_tree):
    write_tree(tmp_path, {"goto_app.py": APP})
    sys.path.insert(0, str(tmp_path))
    with install(["goto"], include=["goto_app"], cache=False):
        import goto_app
    assert goto_app.find([[1, 2], [3, 4]], 4) == (1, 1)
    assert goto_app.find([[1]], 9) is None
    assert goto_app.cleanup() == ["finally", ("exit", (None, None, None))]
    assert goto_app.count == 3
    assert goto_app.endless() == "after while True"


def test_import_reports_bad_jumps_as_syntax_errors(
        tmp_path, isolated_imports, no_hook_left, write_tree):
    write_tree(tmp_path, {"goto_bad.py": """
        from bchook.goto import goto, label

        def f(cm):
            goto .inside
            with cm:
                label .inside
    """})
    sys.path.insert(0, str(tmp_path))
    with install(["goto"], include=["goto_bad"], cache=False):
        with pytest.raises(SyntaxError) as info:
            import goto_bad  # noqa: F401
    err = info.value
    assert err.filename == str(tmp_path / "goto_bad.py")
    assert err.lineno == 5
    assert "goto .inside jumps into a with block" in str(err)


def test_module_imports_cleanly_without_rewriting_and_fails_clearly_when_run(
        tmp_path, isolated_imports, write_tree):
    write_tree(tmp_path, {"goto_plain.py": """
        from bchook.goto import goto, label

        def f():
            goto .end
            label .end
    """})
    sys.path.insert(0, str(tmp_path))
    import goto_plain
    with pytest.raises(RuntimeError, match="without being rewritten"):
        goto_plain.f()


def test_install_with_default_targets_in_a_fresh_process(run_python, tmp_path, write_tree):
    write_tree(tmp_path, {"goto_app.py": APP, "main.py": """
        import bchook
        bchook.install(["goto"])
        import goto_app
        print(goto_app.find([[7]], 7), goto_app.count, goto_app.endless())
    """})
    rc, out, err = run_python(["main.py"], cwd=tmp_path)
    assert rc == 0, err
    assert out == "(0, 0) 3 after while True\n"


@pytest.mark.parametrize("cache", ["1", "0"])
def test_runner_runs_a_goto_script(run_python, tmp_path, cache, write_tree):
    write_tree(tmp_path, {"app.py": APP + """
print(find([[0, 5]], 5), cleanup(), count, endless())
"""})
    for _ in range(2):  # the second run may come from the cache
        rc, out, err = run_python(["-m", "bchook", "-p", "goto", "app.py"], cwd=tmp_path,
                                  env={"BCHOOK_CACHE": cache})
        assert rc == 0, err
        assert out == "(0, 1) ['finally', ('exit', (None, None, None))] 3 after while True\n"


def test_runner_reports_a_bad_jump(run_python, tmp_path, write_tree):
    write_tree(tmp_path, {"app.py": """
        from bchook.goto import goto, label
        goto .missing
    """})
    rc, out, err = run_python(["-m", "bchook", "-p", "goto", "app.py"], cwd=tmp_path)
    assert rc != 0
    assert "app.py" in err and "line 3" in err
    assert "there is no label .missing" in err


@pytest.mark.skipif(not EXAMPLE.exists(), reason="the examples folder is not here")
def test_example_state_machine_runs_both_ways(run_python):
    rc, plain, err = run_python([str(EXAMPLE)], cwd=EXAMPLE.parent)
    assert rc == 0, err
    rc, hooked, err = run_python(["-m", "bchook", "-p", "goto", str(EXAMPLE)],
                                 cwd=EXAMPLE.parent, env={"BCHOOK_CACHE": "0"})
    assert rc == 0, err
    assert hooked == plain
    lines = plain.splitlines()
    assert lines[:3] == ["name   'rate'", "op     '='", "float  '3.5e-2'"]
    assert "string 'total:\\t'" in lines
    assert lines[-4:] == ["end    ''",
                          "error  line 1: cannot read '\"unterminated\\n'",
                          "error  line 1: cannot read '1e+'",
                          "error  line 1: cannot read '$'"]

