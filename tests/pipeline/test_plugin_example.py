"""The example third-party pass in plugins/bchook-example-plugin, installed as its own
distribution, is found and used exactly like the built-in passes."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

DIST = "bchook-example-plugin"

try:
    metadata.distribution(DIST)
except metadata.PackageNotFoundError:
    pytestmark = pytest.mark.skip(
        reason=f"{DIST} is not installed: pip install ./plugins/{DIST}")


APP = '''\
"""the app."""
import lib

def main():
    """run it."""

print(__doc__, main.__doc__, lib.__doc__, lib.Thing.__doc__, lib.Thing.method.__doc__)
'''

LIB = '''\
"""a library."""

class Thing:
    """a thing."""

    async def method(self):
        """a method."""
        return "not a docstring"
'''


@pytest.fixture
def app(tmp_path, write):
    write(tmp_path / "app.py", APP)
    write(tmp_path / "lib.py", LIB)
    return tmp_path


def test_listed_with_its_distribution(run_python, tmp_path):
    rc, out, err = run_python(["-m", "bchook", "passes"], cwd=tmp_path)
    assert rc == 0, err
    row = next(line.split() for line in out.splitlines() if line.startswith("upper_docstrings"))
    version = metadata.version(DIST)
    assert row[:5] == ["upper_docstrings", "1", DIST, version,
                       "bchook_example_plugin:UpperDocstringsPass"]


def test_runner_applies_it_to_the_script_and_its_imports(run_python, app):
    assert run_python(["app.py"], cwd=app) == \
        (0, "the app. run it. a library. a thing. a method.\n", "")
    assert run_python(["-m", "bchook", "-p", "upper_docstrings", "app.py"], cwd=app) == \
        (0, "THE APP. RUN IT. A LIBRARY. A THING. A METHOD.\n", "")


def test_options_and_chains(run_python, app):
    rc, out, err = run_python(["-m", "bchook", "-p", "upper_docstrings,identity",
                               "-o", "upper_docstrings.suffix=!", "-o",
                               "upper_docstrings.suffix=?", "app.py"], cwd=app)
    assert (rc, err) == (0, "")
    assert out == "THE APP.!,? RUN IT.!,? A LIBRARY.!,? A THING.!,? A METHOD.!,?\n"


def test_configured_in_pyproject(run_python, app, write):
    write(app / "pyproject.toml", """\
        [tool.bchook]
        passes = ["upper_docstrings"]
        exclude = ["lib"]
        [tool.bchook.options.upper_docstrings]
        suffix = "*"
        """)
    rc, out, err = run_python(["-m", "bchook", "app.py"], cwd=app)
    assert (rc, out, err) == (0, "THE APP.* RUN IT.* a library. a thing. a method.\n", "")


def test_python_api(isolated_imports, app):
    import sys

    import bchook

    sys.path.insert(0, str(app))
    with bchook.install(["upper_docstrings"], include=["lib"], cache=False,
                        options={"upper_docstrings": {"suffix": "."}}):
        import lib
    assert lib.__doc__ == "A LIBRARY.."
    assert lib.Thing.method.__doc__ == "A METHOD.."


def test_its_own_tests_pass(run_python):
    """The plugin's tests (three lines each, with bchook.testing) pass where it is
    installed."""
    plugin = Path(__file__).resolve().parents[2] / "plugins" / DIST
    rc, out, err = run_python(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(plugin)],
                              cwd=plugin, timeout=300)
    assert rc == 0, out + err
    assert "3 passed" in out
