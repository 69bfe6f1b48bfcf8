"""bchook together with other import hooks: the cases ``test_hook.py`` leaves out.

``test_hook.py`` covers a typeguard-style hook installed before or after bchook, typeguard
itself, pytest's assertion rewriting and the plain-vs-composed cache split. Here: hooks
that walk ``sys.meta_path`` themselves (as ddtrace's does), loaders that do their work in
``exec_module``, AST passes handed through typeguard, typeguard's and bchook's pytest
plugins in one session, caches of different hooks across processes, and the importlib
APIs (``reload``, ``importlib.resources.files()``, ``pkgutil.get_data``, ``inspect``,
namespace packages, zip files) on composed modules.

The documented order (README, ``bchook.hook.compose``): bchook's AST passes, then the other
hook's transformation, then compilation, then bchook's bytecode passes. The passes below
move ``"s0" -> "s1"`` (AST stage), the other hook ``"s1" -> "s2"``, and the bytecode
stage ``"s2" -> "s3"``: a module ends with ``"s3"`` only if all three ran in that order.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.resources
import inspect
import linecache
import logging
import os
import pkgutil
import sys
import zipfile

import pytest

from bchook.hook.loader import BchookLoader
from bchook.hook.install import install, installed
from bchook.pipeline.api import Pass
from plugin_helpers import install_sample_passes

pytest_plugins = ["pytester"]


class AstStage(Pass):
    name = "c-ast"
    version = "1"

    def transform_ast(self, tree, ctx):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "s0":
                node.value = "s1"
        return tree


class CodeStage(Pass):
    name = "c-code"
    version = "1"

    def transform_code(self, code, ctx):
        return code.replace(co_consts=tuple("s3" if c == "s2" else c for c in code.co_consts))


CHAIN = [AstStage(), CodeStage()]


class RewritingLoader(importlib.machinery.SourceFileLoader):
    """Another project's AST-rewriting loader: "s1" -> "s2"."""

    def source_to_code(self, data, path, fullname=None, *, _optimize=-1):
        tree = data if isinstance(data, ast.AST) else ast.parse(data, path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "s1":
                node.value = "s2"
        return compile(tree, path, "exec", dont_inherit=True)


class WalkingFinder:
    """A hook that asks the rest of ``sys.meta_path`` (bchook included) for the spec, as
    ddtrace's ModuleWatchdog does, then puts its own loader in."""

    def __init__(self, prefix):
        self.prefix = prefix

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] != self.prefix:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = RewritingLoader(spec.loader.name, spec.loader.path)
        return spec


class WrappingLoader:
    """Wraps any loader and does its own work in ``exec_module`` (records the import);
    everything else is delegated."""

    executed: list[str] = []

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.executed.append(module.__name__)


class WrappingFinder:
    def __init__(self, prefix):
        self.prefix = prefix

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] != self.prefix:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = WrappingLoader(spec.loader)
        return spec


class PrefixFinder:
    """The simplest source-rewriting hook: PathFinder's spec with its own loader class."""

    def __init__(self, prefix, loader_class=RewritingLoader):
        self.prefix = prefix
        self.loader_class = loader_class

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] != self.prefix:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = self.loader_class(spec.loader.name, spec.loader.path)
        return spec


@pytest.fixture
def project(tmp_path, isolated_imports, write_tree):
    write_tree(tmp_path, {
        "app/__init__.py": "V = 's0'\n",
        "app/mod.py": """\
            V = 's0'

            def f():
                return 's1'
        """,
        "app/data.txt": "some data\n",
        "warmup.py": "",
    })
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    hook = installed()
    if hook is not None:
        hook.uninstall()


def forget(*names):
    for name in names:
        sys.modules.pop(name, None)


# -- hooks that walk sys.meta_path, hooks that work in exec_module ---------------------------

@pytest.mark.parametrize("order", ["other first", "bchook first"])
def test_hook_walking_meta_path_composes_in_the_documented_order(project, order):
    walker = WalkingFinder("app")
    if order == "other first":
        sys.meta_path.insert(0, walker)
        hook = install(CHAIN, include=["app"], cache=False)
    else:
        hook = install(CHAIN, include=["app"], cache=False)
        sys.meta_path.insert(0, walker)
        hook.to_front()  # between imports: bchook composes with the hook inserted since
    with hook:
        import app.mod
    assert (app.V, app.mod.V, app.mod.f()) == ("s3", "s3", "s3")
    assert type(app.mod.__loader__) is BchookLoader


def test_loader_working_in_exec_module_is_never_bypassed(project, caplog):
    caplog.set_level(logging.DEBUG, logger="bchook")
    WrappingLoader.executed.clear()
    sys.meta_path.insert(0, WrappingFinder("app"))
    with install([CodeStage()], include=["app"], cache=False):
        import app.mod
    # The other hook's own work happened; bchook could not run inside it, so it left the
    # module alone and said so instead of dropping that work.
    assert WrappingLoader.executed == ["app", "app.mod"]
    assert app.mod.f() == "s1"
    assert any("app.mod" in r.getMessage() and "cannot compose" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]


# -- typeguard ---------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["typeguard first", "bchook first"])
def test_typeguard_receives_the_tree_of_bchooks_ast_passes(project, order, write_tree):
    typeguard = pytest.importorskip("typeguard")
    write_tree(project, {"typed/__init__.py": "", "typed/api.py": """\
        def f(x: int) -> str:
            return 's0'

        def g(x: int) -> str:
            return x
    """})
    if order == "typeguard first":
        guard = typeguard.install_import_hook(["typed"])
        hook = install([AstStage()], include=["typed"], cache=False)
    else:
        hook = install([AstStage()], include=["typed"], cache=False)
        guard = typeguard.install_import_hook(["typed"])
        hook.to_front()
    try:
        import typed.api
    finally:
        guard.uninstall()
        hook.uninstall()
    assert typed.api.f(1) == "s1"  # bchook's AST pass ran
    with pytest.raises(typeguard.TypeCheckError):  # and typeguard instrumented its output
        typed.api.f("not an int")
    with pytest.raises(typeguard.TypeCheckError):
        typed.api.g(1)


@pytest.mark.slow
def test_typeguard_bchook_and_assertion_rewriting_in_one_pytest_session(
        pytester, monkeypatch, write_tree):
    pytest.importorskip("typeguard")
    for var in [v for v in os.environ if v.startswith("BCHOOK_")]:
        monkeypatch.delenv(var)
    install_sample_passes(pytester.path)
    write_tree(pytester.path, {
        "app.py": """\
            def value(x: int) -> str:
                return "a0"
        """,
        "test_all_three.py": """\
            import pytest
            import typeguard
            import app

            def test_typeguard_checks_rewritten_code():
                with pytest.raises(typeguard.TypeCheckError):
                    app.value("not an int")

            def test_introspection():
                assert app.value(1) == "expected"
        """,
    })
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--typeguard-packages=app", "--bchook-pass", "ast-swap,swap",
        "--bchook-include", "app", timeout=120)
    text = "\n".join(result.outlines + result.errlines)
    result.assert_outcomes(passed=1, failed=1)
    assert "assert 'a2' == 'expected'" in text, text  # ast-swap, then typeguard, then swap


# -- caches of different combinations ------------------------------------------------------

CACHE_SCRIPT = """
import importlib.machinery, sys, ast
sys.path.insert(0, {folder!r})
from bchook import Pass, install

class Log(Pass):
    name = "c-log"
    version = "1"
    def transform_code(self, code, ctx):
        if code.co_name == "<module>":
            with open({log!r}, "a") as f:
                f.write(ctx.module + "\\n")
        return code.replace(co_consts=tuple("s3" if c == "s2" else c for c in code.co_consts))

def rewriter(old, new, qualname, key=None):
    class Loader(importlib.machinery.SourceFileLoader):
        def source_to_code(self, data, path, fullname=None, *, _optimize=-1):
            return compile(data.replace(old, new), path, "exec", dont_inherit=True)
    if key is not None:
        Loader.bchook_cache_key = lambda self: key
    Loader.__qualname__ = qualname
    return Loader

class Finder:
    def __init__(self, loader_class):
        self.loader_class = loader_class
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "cached":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        spec.loader = self.loader_class(spec.loader.name, spec.loader.path)
        return spec

# x and x-changed differ only by their own bchook_cache_key(), x and y by their class.
HOOKS = {{
    "none": None,
    "x": rewriter(b"s1", b"s2", "Loader", key="x1"),
    "x-changed": rewriter(b"s1", b"s2", "Loader", key="x2"),
    "y": rewriter(b"s1", b"S2", "OtherLoader"),
}}
which = sys.argv[1]
if HOOKS[which] is not None:
    sys.meta_path.insert(0, Finder(HOOKS[which]))
install([Log()], include=["cached"])
import cached
print(cached.V)
"""


def test_caches_of_different_hooks_never_mix(project, run_python, write_tree):
    write_tree(project, {"cached.py": "V = 's1'\n"})
    log = project / "transforms.log"
    script = project / "run_cached.py"
    script.write_text(CACHE_SCRIPT.format(folder=str(project), log=str(log)))

    def run(which):
        before = len(log.read_text().splitlines()) if log.exists() else 0
        rc, out, err = run_python([script, which], env={"PYTHONDONTWRITEBYTECODE": None})
        assert rc == 0, err
        transformed = len(log.read_text().splitlines()) - before
        return out.strip(), transformed

    assert run("x") == ("s3", 1)
    assert run("y") == ("S2", 1)  # not x's cached result
    assert run("none") == ("s1", 1)
    assert run("x") == ("s3", 0)  # each combination has its own cache file
    assert run("y") == ("S2", 0)
    assert run("x-changed") == ("s3", 1)  # the other hook's own cache key is part of ours
    cached = [n for n in os.listdir(project / "__pycache__") if n.startswith("cached.")]
    assert len([n for n in cached if ".bchook-" in n]) == 4


# -- importlib APIs on composed modules --------------------------------------------------------

def test_reload_resources_and_source_of_a_composed_module(project):
    sys.meta_path.insert(0, PrefixFinder("app"))
    with install(CHAIN, include=["app"], cache=False):
        import app.mod
        assert type(app.mod.__loader__) is BchookLoader
        assert app.mod.V == "s3"
        files = importlib.resources.files("app")
        assert files.joinpath("data.txt").read_text() == "some data\n"
        assert pkgutil.get_data("app", "data.txt") == b"some data\n"
        assert "return 's1'" in inspect.getsource(app.mod.f)  # the source as written
        assert linecache.getline(app.mod.__file__, 4).strip() == "return 's1'"
        path = project / "app" / "mod.py"
        path.write_text("V = 's0'\nNEW = 's1'\n")
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        reloaded = importlib.reload(app.mod)
    assert reloaded is app.mod
    assert (app.mod.V, app.mod.NEW) == ("s3", "s3")  # both hooks ran again


def test_namespace_package_with_composed_modules(project, caplog, write_tree):
    write_tree(project, {"nsapp/inner.py": "V = 's0'\n"})
    caplog.set_level(logging.DEBUG, logger="bchook")
    sys.meta_path.insert(0, PrefixFinder("nsapp"))
    with install(CHAIN, include=["nsapp"], cache=False):
        import nsapp.inner
    assert nsapp.inner.V == "s3"
    assert list(nsapp.__path__) == [str(project / "nsapp")]
    assert any("nsapp" in r.getMessage() and "namespace" in r.getMessage()
               for r in caplog.records)


def test_zip_package_is_rewritten_and_keeps_resources_and_reload(project, caplog):
    archive = project / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zpkg/__init__.py", "V = 's2'\n")
        z.writestr("zpkg/mod.py", "V = 's2'\n")
        z.writestr("zpkg/data.txt", "zipped data\n")
    sys.path.insert(0, str(archive))
    caplog.set_level(logging.DEBUG, logger="bchook")
    sys.meta_path.insert(0, PrefixFinder("zpkg"))  # finds nothing to rewrite in a zip
    with install(CHAIN, include=["*"], cache=False):
        import zpkg.mod
        assert importlib.resources.files("zpkg").joinpath("data.txt").read_text() == \
            "zipped data\n"
        assert pkgutil.get_data("zpkg", "data.txt") == b"zipped data\n"
        assert importlib.reload(zpkg.mod) is zpkg.mod
    assert (zpkg.V, zpkg.mod.V) == ("s3", "s3")  # bchook's bytecode pass ran (issue 17, #5)
