"""Lazy imports (PEP 810, Python 3.15+) under each front end: the runner, the start-up
autoload and the pytest plugin.

A lazy import of a targeted module is rewritten when the program first uses it (the hook
sees it then, as any import); ``-X lazy_imports``, ``PYTHON_LAZY_IMPORTS``,
``sys.set_lazy_imports`` and ``sys.set_lazy_imports_filter`` behave exactly as without
bchook: the same bindings are lazy, the same modules pending, the filter asked the same
questions (never about bchook's own imports), and bchook never loads a module the program
only imported lazily.
"""

from __future__ import annotations

import re
import sys
import types

import pytest

from test_pth import Venv

pytestmark = pytest.mark.skipif(sys.version_info < (3, 15),
                                reason="lazy imports are new in Python 3.15 (PEP 810)")

#: The program's own modules (all under the project folder, so all targeted by default).
OURS = ("lib", "lib2", "helper", "plain_mod", "blocked", "never_used")

PROGRAM = """\
import sys
import types

if "set-all" in sys.argv:
    sys.set_lazy_imports("all")
calls = []
if "filter" in sys.argv:
    def keep_lazy(importer, name, fromlist):
        calls.append((importer, name, fromlist))
        return name != "blocked"
    sys.set_lazy_imports_filter(keep_lazy)

lazy import lib
lazy from lib2 import VALUE
lazy import never_used
import plain_mod
import blocked

OURS = {ours!r}


def own_lazy_bindings():
    # under bchook: none is left for later, when the program's filter would see it load
    return sorted(f"{{name}}.{{key}}" for name, module in list(sys.modules.items())
                  if name.split(".")[0] == "bchook"
                  for key, value in list(vars(module).items())
                  if type(value) is types.LazyImportType)


def kinds(*names):
    return [type(globals()[name]).__name__ for name in names]  # globals() does not load


def state(when):
    print(when, "loaded", sorted(n for n in OURS if n in sys.modules))
    print(when, "pending", sorted(n for n in sys.lazy_modules if n.split(".")[0] in OURS))


print("mode", sys.get_lazy_imports(), "filter", sys.get_lazy_imports_filter() is not None)
print("bound", kinds("lib", "VALUE", "never_used", "plain_mod", "blocked"))
state("before use")
print("use", lib.X, VALUE, plain_mod.P)
state("after use")
print("loaders", [(n, type(sys.modules[n].__loader__).__name__)
                  for n in OURS if n in sys.modules])
print("filter", calls)
print("bchook's lazy bindings", own_lazy_bindings())
"""

MODULES = {
    "lib.py": "import helper\nX = 'x'\n",
    "lib2.py": "VALUE = 'value'\n",
    "helper.py": "",
    "plain_mod.py": "P = 'p'\n",
    "blocked.py": "",
    "never_used.py": "raise RuntimeError('a lazy import nobody uses was loaded')\n",
}


@pytest.fixture
def project(tmp_path, write_tree):
    return write_tree(tmp_path, {**MODULES, "app.py": PROGRAM.format(ours=OURS)})


#: (interpreter flags, environment, the program's arguments)
SETTINGS = {
    "default": ([], {}, []),
    "-X lazy_imports=all": (["-X", "lazy_imports=all"], {}, []),
    "-X lazy_imports=normal": (["-X", "lazy_imports=normal"], {}, []),
    "PYTHON_LAZY_IMPORTS=all": ([], {"PYTHON_LAZY_IMPORTS": "all"}, []),
    "set_lazy_imports('all')": ([], {}, ["set-all"]),
    "filter": ([], {}, ["filter"]),
    "filter, -X lazy_imports=all": (["-X", "lazy_imports=all"], {}, ["filter"]),
}


def assert_rewritten_alike(plain, hooked):
    """The same run, except that the program's modules were loaded by bchook."""
    rc, out, err = plain
    assert (rc, err) == (0, ""), err
    assert "SourceFileLoader" in out and "BchookLoader" not in out
    assert hooked == (0, out.replace("SourceFileLoader", "BchookLoader"), "")


@pytest.mark.parametrize("setting", SETTINGS)
def test_runner(project, run_python, setting):
    flags, env, args = SETTINGS[setting]
    plain = run_python([*flags, "app.py", *args], cwd=project, env=env)
    hooked = run_python([*flags, "-m", "bchook", "-p", "identity", "app.py", *args],
                        cwd=project, env=env)
    assert_rewritten_alike(plain, hooked)


def test_the_settings_really_differ(project, run_python):
    # the comparisons above are worth something only if the settings change the program
    outputs = {run_python([*flags, "app.py", *args], cwd=project, env=env)[1]
               for flags, env, args in SETTINGS.values()}
    assert len(outputs) >= 4


@pytest.fixture(scope="module")
def autoload_env(tmp_path_factory):
    env = Venv(tmp_path_factory.mktemp("venv") / "env")
    rc, out, err = env.bchook(["pth", "install"], tmp_path_factory.mktemp("cwd"))
    assert rc == 0, err
    return env


@pytest.mark.parametrize("setting", ["default", "-X lazy_imports=all",
                                     "PYTHON_LAZY_IMPORTS=all", "filter, -X lazy_imports=all"])
def test_autoload(project, autoload_env, setting):
    flags, env, args = SETTINGS[setting]
    plain = autoload_env.run([*flags, "app.py", *args], project, **env)
    hooked = autoload_env.run([*flags, "app.py", *args], project, BCHOOK_PASSES="identity",
                              **env)
    assert_rewritten_alike(plain, hooked)


TEST_MODULE = """\
import sys
import types

lazy import lib
import plain_mod

OURS = {ours!r}


def report(when):
    print(when, "loaded", sorted(n for n in OURS if n in sys.modules))
    print(when, "pending", sorted(n for n in sys.lazy_modules if n.split(".")[0] in OURS))


def test_lazy_import_is_used():
    report("before use")
    assert lib.X == "x"
    report("after use")
    print("loaders", [(n, type(sys.modules[n].__loader__).__name__)
                      for n in OURS if n in sys.modules])
    print("mode", sys.get_lazy_imports())
    print("bchook's lazy bindings", sorted(
        f"{{name}}.{{key}}" for name, module in list(sys.modules.items())
        if name.split(".")[0] == "bchook"
        for key, value in list(vars(module).items()) if type(value) is types.LazyImportType))


def test_assertion_is_introspected():
    assert plain_mod.P == "q"
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["normal", "all"])
def test_pytest_plugin(tmp_path, run_python, mode, write_tree):
    # pytest 9.2's own assertion rewriter cannot run under -X lazy_imports=all (its
    # find_spec reifies a lazy import of its own that needs find_spec): --assert=plain there
    write_tree(tmp_path, {**MODULES, "test_lazy.py": TEST_MODULE.format(ours=OURS)})
    args = ["-X", f"lazy_imports={mode}", "-m", "pytest", "-p", "no:cacheprovider", "-s",
            "-q", "test_lazy.py", *(["--assert=plain"] if mode == "all" else [])]
    plain = run_python(args, cwd=tmp_path)
    hooked = run_python([*args, "--bchook-pass", "identity"], cwd=tmp_path)
    plain, hooked = [(rc, re.sub(r" in [0-9.]+s", "", out), err)
                     for rc, out, err in (plain, hooked)]
    assert plain[0] == 1 and "1 failed, 1 passed" in plain[1], plain
    if mode == "normal":
        assert "assert 'p' == 'q'" in plain[1]  # pytest's assertion rewriting applied
    # without passes the plugin never uses what pytest's import of it left lazy in bchook
    bindings = re.compile(r"^bchook's lazy bindings .*$", re.M)
    assert bindings.findall(hooked[1]) == ["bchook's lazy bindings []"]
    plain = (plain[0], bindings.sub("bchook's lazy bindings []", plain[1]), plain[2])
    assert hooked == (1, plain[1].replace("SourceFileLoader", "BchookLoader"), plain[2])


# -- the hook itself loads nothing the program imported lazily ----------------------------

def test_composing_leaves_a_lazy_version_attribute_lazy(tmp_path, isolated_imports, write_tree):
    from bchook.hook import compose as _compose

    write_tree(tmp_path, {
        "vpkg/__init__.py": "lazy from vpkg._version import __version__\n",
        "vpkg/_version.py": "__version__ = '1.0'\n",
        "vpkg/loader.py": "import importlib.machinery\n"
                          "class Loader(importlib.machinery.SourceFileLoader):\n"
                          "    pass\n",
    })
    sys.path.insert(0, str(tmp_path))
    from vpkg.loader import Loader

    vpkg = sys.modules["vpkg"]
    assert "vpkg" in _compose.SourceToCode(Loader("m", "m.py")).identity
    assert type(vars(vpkg)["__version__"]) is types.LazyImportType
    assert "vpkg._version" not in sys.modules
