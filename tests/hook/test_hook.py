"""The import hook: targeting, install/uninstall, the loader's transparency, errors, and
composition with other import hooks (a hand-written one, typeguard's, pytest's)."""

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
import runpy
import sys
import textwrap
import warnings
import zipfile
import zipimport

import pytest

from bchook.hook import targets as _targets
from bchook.errors import BchookWarning, PassFailed, UnknownPassError
from bchook.hook.finder import BchookFinder
from bchook.hook.loader import BchookLoader
from bchook.hook.install import install, installed
from bchook.pipeline.api import Pass
from bchook.hook.targets import Targets, matches


# -- passes and hooks used by the tests --------------------------------------------------
# Strings stand for stages: bchook's AST pass turns "s0" into "s1", the other hook "s1" into
# "s2", bchook's bytecode pass "s2" into "s3". A module holding "s0" ends up with "s3" only if
# all three ran in that order.

def _swap_consts(code, old, new):
    return code.replace(co_consts=tuple(new if c == old else c for c in code.co_consts))


class AstStage(Pass):
    name = "t-ast"
    version = "1"

    def transform_ast(self, tree, ctx):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "s0":
                node.value = "s1"
        return tree


class CodeStage(Pass):
    name = "t-code"
    version = "1"

    def transform_code(self, code, ctx):
        return _swap_consts(code, "s2", "s3")


class Explode(Pass):
    name = "t-explode"
    version = "1"

    def transform_code(self, code, ctx):
        if code.co_name == "bad":
            raise ValueError("cannot handle this")
        return code


class OtherLoader(importlib.machinery.SourceFileLoader):
    """Another project's source-rewriting loader (AST-based, like typeguard's)."""

    def source_to_code(self, data, path, fullname=None, *, _optimize=-1):
        tree = data if isinstance(data, ast.AST) else ast.parse(data, path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "s1":
                node.value = "s2"
        return compile(tree, path, "exec", dont_inherit=True)


class BytesLoader(importlib.machinery.SourceFileLoader):
    """A textual rewriter: only understands bytes."""

    def source_to_code(self, data, path, fullname=None, *, _optimize=-1):
        return compile(data.replace(b"s1", b"s2"), path, "exec", dont_inherit=True)


class OtherFinder:
    """Another hook's finder, typeguard-style: asks PathFinder directly, swaps the loader."""

    def __init__(self, prefix, loader_class=OtherLoader):
        self.prefix = prefix
        self.loader_class = loader_class

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] != self.prefix:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = self.loader_class(spec.loader.name, spec.loader.path)
        return spec


@pytest.fixture
def project(tmp_path, isolated_imports, write_tree):
    """A throw-away package ``app`` on sys.path (imports are undone after the test)."""
    write_tree(tmp_path, {
        "app/__init__.py": "INIT = 's2'\n",
        "app/mod.py": """\
            V = 's0'

            def f():
                return 's2'
        """,
        "app/data.txt": "some data\n",
        "app/script.py": "RESULT = 's2'\nif __name__ == '__main__':\n    RAN = True\n",
        "other_top.py": "V = 's2'\n",
        "warmup.py": "",
    })
    sys.path.insert(0, str(tmp_path))
    return tmp_path


@pytest.fixture(autouse=True)
def no_hook_left():
    yield
    hook = installed()
    if hook is not None:
        hook.uninstall()


def finders():
    return [f for f in sys.meta_path if isinstance(f, BchookFinder)]


# -- targeting ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, pattern, expected", [
    ("myapp", "myapp", True),
    ("myapp.sub.deep", "myapp", True),
    ("myapp", "myapp.*", True),
    ("myapp.sub", "myapp.*", True),
    ("myapp.sub.deep", "myapp.*", True),
    ("myapplication", "myapp", False),
    ("myapplication", "myapp.*", False),
    ("other", "myapp.*", False),
    ("anything.at.all", "*", True),
    ("tests.test_x", "tests.test_*", True),
    ("tests.helpers", "tests.test_*", False),
    ("pkg.sub", "pkg.su?", True),
    ("Myapp", "myapp", False),
])
def test_pattern_matching(name, pattern, expected):
    assert matches(name, pattern) is expected


def test_exclude_wins_and_bchook_is_never_targeted():
    targets = Targets(include=["*"], exclude=["app.secret"])
    assert targets.by_name("app.mod") is True
    assert targets.by_name("app.secret") is False
    assert targets.by_name("app.secret.inner") is False
    assert targets.by_name("bchook") is False
    assert targets.by_name("bchook.passes.identity") is False
    assert targets.by_name("bchookish") is True


def test_include_accepts_a_comma_separated_string():
    assert Targets(include="a, b.*").include == ("a", "b.*")


def test_default_targets_files_under_the_roots_only(tmp_path):
    targets = Targets(roots=[tmp_path])
    assert targets.by_name("app") is None  # decided by the file
    assert targets.wants("app", str(tmp_path / "app" / "__init__.py"))
    assert targets.wants("deep.x", str(tmp_path / "a" / "b" / "x.py"))
    assert not targets.wants("elsewhere", os.path.join(os.path.dirname(str(tmp_path)),
                                                       "elsewhere.py"))


def test_default_never_targets_stdlib_site_packages_or_bchook(tmp_path):
    everything = Targets(roots=[os.sep])
    assert not everything.wants("json", inspect.getfile(__import__("json")))
    assert not everything.wants("pytest", inspect.getfile(pytest))
    assert not everything.wants("bchook_copy", _targets.__file__)
    venv_in_project = tmp_path / ".venv" / "lib" / "python3" / "site-packages" / "x.py"
    assert not Targets(roots=[tmp_path]).wants("x", str(venv_in_project))
    debian = tmp_path / "usr" / "lib" / "python3" / "dist-packages" / "y.py"
    assert not Targets(roots=[tmp_path]).wants("y", str(debian))


def test_default_root_is_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Targets().wants("m", str(tmp_path / "m.py"))


def test_roots_follow_symlinks(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert Targets(roots=[link]).wants("m", str(real / "m.py"))
    assert Targets(roots=[real]).wants("m", str(link / "m.py"))


# -- install / uninstall -----------------------------------------------------------------

def test_install_puts_one_finder_in_front_and_uninstall_restores(project):
    before = list(sys.meta_path)
    hook = install([CodeStage()])
    assert sys.meta_path[0] is hook.finder
    assert sys.meta_path[1:] == before
    assert installed() is hook and hook.active
    hook.uninstall()
    assert sys.meta_path == before
    assert installed() is None and not hook.active
    hook.uninstall()  # twice is harmless
    assert sys.meta_path == before


def test_context_manager(project):
    before = list(sys.meta_path)
    with install([CodeStage()], include=["app"]) as hook:
        assert installed() is hook
        import app.mod
    assert sys.meta_path == before
    assert app.mod.f() == "s3"
    import other_top  # imported after the hook is gone: untouched
    assert other_top.V == "s2"


def test_installing_the_same_configuration_twice_keeps_one_finder(project):
    first = install("identity", include=["app"])
    second = install(["identity"], include=["app"])
    assert second is first
    assert finders() == [first.finder]


def test_installing_another_configuration_replaces_the_first(project):
    first = install("identity", include=["app"])
    second = install("identity", include=["app"], options={"identity": {"pad": "1"}})
    assert second is not first
    assert finders() == [second.finder]
    assert not first.active and installed() is second


def test_install_reports_unknown_passes_before_touching_meta_path(project):
    before = list(sys.meta_path)
    with pytest.raises(UnknownPassError):
        install(["identity", "nope"])
    assert sys.meta_path == before


def test_install_again_moves_the_finder_back_in_front(project):
    hook = install([CodeStage()])
    sys.meta_path.insert(0, OtherFinder("nothing"))
    assert install([CodeStage()]) is hook
    assert sys.meta_path[0] is hook.finder


def test_finder_never_reorders_meta_path_and_says_which_hook_is_in_front(project):
    hook = install([CodeStage()], include=["app", "other_top", "warmup"], cache=False)
    other = OtherFinder("app")
    sys.meta_path.insert(0, other)
    before = list(sys.meta_path)
    with pytest.warns(BchookWarning, match=r"test_hook\.OtherFinder is in front of bchook"):
        import other_top  # bchook is asked about it, behind the other hook
    assert other_top.V == "s3"
    import app.mod  # the other hook loads it: bchook is not asked
    assert sys.meta_path == before
    assert type(app.mod.__loader__) is OtherLoader and app.mod.f() == "s2"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per hook
        import warmup  # noqa: F401
    hook.to_front()  # between imports: bchook composes with it from now on
    assert sys.meta_path == [hook.finder, other] + before[2:]


class CountingFinder:
    """A finder that only counts the questions it is asked."""

    def __init__(self):
        self.asked = []

    def find_spec(self, fullname, path=None, target=None):
        self.asked.append(fullname)
        return None


@pytest.mark.parametrize("where", ["in front of bchook", "behind bchook"])
def test_every_finder_is_asked_once_per_import(project, where):
    counter = CountingFinder()
    if where == "in front of bchook":
        hook = install([CodeStage()], include=["app"], cache=False)
        sys.meta_path.insert(0, counter)
    else:
        sys.meta_path.insert(0, counter)
        hook = install([CodeStage()], include=["app"], cache=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BchookWarning)
            import app.mod
            import other_top  # noqa: F401
    finally:
        sys.meta_path.remove(counter)
    assert counter.asked == ["app", "app.mod", "other_top"]
    assert type(app.mod.__loader__) is BchookLoader and app.mod.f() == "s3"


# -- the loader: transparency --------------------------------------------------------------

def test_targeted_modules_are_rewritten_others_not(project):
    with install([AstStage(), CodeStage()], include=["app"], cache=False):
        import app.mod
        import other_top
    assert (app.mod.V, app.mod.f(), app.INIT) == ("s1", "s3", "s3")
    assert other_top.V == "s2"
    assert isinstance(app.mod.__loader__, importlib.machinery.SourceFileLoader)
    assert type(app.mod.__loader__) is BchookLoader
    assert app.mod.__file__ == str(project / "app" / "mod.py")
    assert app.mod.__spec__.origin == app.mod.__file__
    assert type(other_top.__loader__) is importlib.machinery.SourceFileLoader


def test_default_targets_the_roots(project, tmp_path_factory, write_tree):
    elsewhere = write_tree(tmp_path_factory.mktemp("elsewhere"), {"far_mod.py": "V = 's2'\n"})
    sys.path.insert(0, str(elsewhere))
    with install([CodeStage()], roots=[project], cache=False):
        import app
        import far_mod
    assert app.INIT == "s3"
    assert far_mod.V == "s2"


def test_runpy_runs_rewritten_code(project):
    with install([CodeStage()], include=["app"], cache=False):
        result = runpy.run_module("app.script", run_name="__main__")
    assert result["RESULT"] == "s3" and result["RAN"] is True
    assert result["__spec__"].name == "app.script"


def test_resources_source_and_reload(project):
    with install([CodeStage()], include=["app"], cache=False):
        import app.mod
        assert importlib.resources.files("app").joinpath("data.txt").read_text() == \
            "some data\n"
        assert pkgutil.get_data("app", "data.txt") == b"some data\n"
        assert "return 's2'" in inspect.getsource(app.mod.f)  # the source as written
        assert linecache.getline(app.mod.__file__, 4).strip() == "return 's2'"
        assert app.mod.__loader__.get_source("app.mod").startswith("V = 's0'")
        path = project / "app" / "mod.py"
        path.write_text("def f():\n    return 's2' * 1\n\nNEW = 's2'\n")
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        importlib.invalidate_caches()
        reloaded = importlib.reload(app.mod)
    assert reloaded is app.mod
    assert app.mod.NEW == "s3"


def test_loader_source_to_code_runs_the_passes(project):
    with install([AstStage(), CodeStage()], include=["app"], cache=False):
        import app.mod
    code = app.mod.__loader__.source_to_code(b"X = 's0'\nY = 's2'\n", "virtual.py")
    namespace = {}
    exec(code, namespace)
    assert (namespace["X"], namespace["Y"]) == ("s1", "s3")


def test_loader_source_to_code_takes_the_module_name_as_3_15_importlib_passes_it(project):
    # 3.15's SourceLoader.get_code calls source_to_code(data, path, fullname)
    with install([AstStage(), CodeStage()], include=["app"], cache=False):
        import app.mod
    code = app.mod.__loader__.source_to_code(b"X = 's0'\n", "virtual.py", "app.mod")
    namespace = {}
    exec(code, namespace)
    assert namespace["X"] == "s1"


def test_composed_loader_gets_the_module_name_as_its_own_get_code_gives_it(project):
    seen = []

    class NamingLoader(importlib.machinery.SourceFileLoader):
        def source_to_code(self, data, path, fullname=None, *, _optimize=-1):
            seen.append(fullname)
            return compile(data, path, "exec", dont_inherit=True)

    sys.meta_path.insert(0, OtherFinder("app", NamingLoader))
    import app  # noqa: F401 - not targeted: importlib's own get_code calls the loader
    with install([CodeStage()], include=["app.mod"], cache=False):
        import app.mod
    assert type(app.mod.__loader__) is BchookLoader
    expected = "app" if sys.version_info >= (3, 15) else None
    assert seen == [expected, expected and "app.mod"]


def test_hook_compiles_and_loads_for_the_runner(project):
    hook = install([CodeStage()], include=["app"], cache=False)
    namespace = {}
    exec(hook.compile("Y = 's2'\n", "<string>"), namespace)
    assert namespace["Y"] == "s3"
    loader = hook.loader_for("__main__", project / "other_top.py")
    namespace = {}
    exec(loader.get_code("__main__"), namespace)
    assert namespace["V"] == "s3"


def test_namespace_packages_import_and_are_logged(project, caplog, write_tree):
    write_tree(project, {"nspkg/inner.py": "V = 's2'\n"})
    caplog.set_level(logging.DEBUG, logger="bchook")
    with install([CodeStage()], include=["nspkg"], cache=False):
        import nspkg.inner
    assert nspkg.inner.V == "s3"  # a regular module inside is still rewritten
    assert any("nspkg" in r.getMessage() and "namespace" in r.getMessage()
               for r in caplog.records)


def test_zip_modules_go_through_the_passes(project):
    # issue 17, item 5: modules in a zip file are rewritten like any other (never cached)
    archive = project / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped_mod.py", "V = 's2'\n")
    sys.path.insert(0, str(archive))
    with install([CodeStage()], include=["*"]):
        import zipped_mod
    assert zipped_mod.V == "s3"
    assert isinstance(zipped_mod.__loader__, zipimport.zipimporter)  # as without bchook
    assert zipped_mod.__file__ == os.path.join(str(archive), "zipped_mod.py")
    assert not list(project.rglob("*bchook*"))  # no cache written anywhere


# -- errors ----------------------------------------------------------------------------------

def test_pass_failure_names_pass_module_code_and_line(project, write_tree):
    write_tree(project, {"boom.py": "X = 1\n\n\ndef bad():\n    return 2\n"})
    with install([Explode()], include=["boom"], cache=False):
        with pytest.raises(PassFailed) as info:
            import boom  # noqa: F401
    err = info.value
    assert err.pass_name == "t-explode" and err.module == "boom"
    message = str(err)
    assert "bad" in message and f"{project / 'boom.py'}:4" in message
    assert "ValueError: cannot handle this" in message
    assert "boom" not in sys.modules


@pytest.mark.parametrize("passes", [[CodeStage()], [AstStage(), CodeStage()]])
def test_syntax_error_stays_a_syntax_error(project, passes, write_tree):
    write_tree(project, {"broken.py": "x = 1\ndef f(:\n    pass\n"})
    with install(passes, include=["broken"], cache=False):
        with pytest.raises(SyntaxError) as info:
            import broken  # noqa: F401
    assert info.value.filename == str(project / "broken.py")
    assert info.value.lineno == 2
    assert "broken" not in sys.modules


def test_imports_made_by_a_pass_while_transforming_are_left_alone(run_python, tmp_path, write_tree):
    write_tree(tmp_path, {
        "lazy_pass.py": """
            from bchook import Pass
            class Lazy(Pass):
                name = "lazy"
                def transform_code(self, code, ctx):
                    import colorsys  # first imported here, while a module is transformed
                    return code
        """,
        "main.py": """
            import sys
            assert "colorsys" not in sys.modules
            import bchook.hook.install
            from lazy_pass import Lazy
            bchook.hook.install.install([Lazy()], include=["*"], cache=False)
            import target
            import colorsys
            print(type(target.__loader__).__name__, type(colorsys.__loader__).__name__)
        """,
        "target.py": "X = 1\n",
    })
    rc, out, err = run_python(["main.py"], cwd=tmp_path)
    assert rc == 0, err
    assert out.split() == ["BchookLoader", "SourceFileLoader"]


def test_include_star_rewrites_the_stdlib_but_never_bchook(run_python, tmp_path):
    program = textwrap.dedent("""
        import sys
        import bchook.hook.install
        from bchook.passes.identity import IdentityPass
        include = sys.argv[1:] or None
        bchook.hook.install.install([IdentityPass()], include=include, cache=False)
        import colorsys
        import bchook.passes
        import bchook.hook.targets
        own = [m for name, m in sys.modules.items()
               if name.startswith("bchook") and type(getattr(m, "__loader__", None)).__name__
               == "BchookLoader"]
        print(type(colorsys.__loader__).__name__, colorsys.rgb_to_hsv(1, 0, 0), len(own))
    """)
    (tmp_path / "main.py").write_text(program)
    rc, out, err = run_python(["main.py", "*"], cwd=tmp_path)
    assert rc == 0, err
    assert out.split(maxsplit=1)[0] == "BchookLoader"
    assert out.split()[-1] == "0"
    assert "(0.0, 1.0, 1)" in out
    rc, out, err = run_python(["main.py"], cwd=tmp_path)
    assert rc == 0, err
    assert out.split(maxsplit=1)[0] == "SourceFileLoader"


# -- composition with other hooks ----------------------------------------------------------

def test_other_hook_installed_first_both_apply_in_the_documented_order(project):
    sys.meta_path.insert(0, OtherFinder("app"))
    with install([AstStage(), CodeStage()], include=["app"], cache=False):
        import app.mod
    assert app.mod.V == "s3"  # s0 -AST-> s1 -other hook-> s2 -bytecode-> s3
    assert app.mod.f() == "s3"
    assert type(app.mod.__loader__) is BchookLoader


def test_other_hook_installed_second_both_apply_in_the_same_order(project):
    with install([AstStage(), CodeStage()], include=["app"], cache=False):
        sys.meta_path.insert(0, OtherFinder("app"))
        install([AstStage(), CodeStage()], include=["app"], cache=False)  # back in front
        import app.mod
    assert app.mod.V == "s3"


def test_text_rewriting_hook_with_bytecode_passes(project, write_tree):
    write_tree(project, {"app/text.py": "V = 's1'\n"})
    sys.meta_path.insert(0, OtherFinder("app", BytesLoader))
    with install([CodeStage()], include=["app"], cache=False):
        import app.text
    assert app.text.V == "s3"


def test_composed_results_are_cached_apart_from_plain_ones(project, monkeypatch, write_tree):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    write_tree(project, {"app/mod.py": "V = 's1'\n"})  # one source for both: each keeps its file
    with install([CodeStage()], include=["app"]):
        import app.mod
    assert app.mod.V == "s1"  # only bchook's pass: nothing to swap
    del sys.modules["app.mod"], sys.modules["app"]
    other = OtherFinder("app")
    sys.meta_path.insert(0, other)
    with install([CodeStage()], include=["app"]):
        import app.mod as composed
    assert composed.V == "s3"
    cached = [n for n in os.listdir(project / "app" / "__pycache__") if n.startswith("mod.")]
    assert len(cached) == 2  # one per combination of loaders


def test_typeguard_import_hook_composes(project, write_tree):
    typeguard = pytest.importorskip("typeguard")
    write_tree(project, {"typed/__init__.py": "", "typed/api.py": """\
        def f(x: int) -> str:
            return 's2'
    """})
    for order in ("typeguard first", "bchook first"):
        for name in ("typed", "typed.api"):
            sys.modules.pop(name, None)
        if order == "typeguard first":
            guard = typeguard.install_import_hook(["typed"])
            hook = install([CodeStage()], include=["typed"], cache=False)
        else:
            hook = install([CodeStage()], include=["typed"], cache=False)
            guard = typeguard.install_import_hook(["typed"])
            hook.to_front()
        try:
            import typed.api
            assert typed.api.f(1) == "s3", order
            with pytest.raises(typeguard.TypeCheckError):
                typed.api.f("not an int")
        finally:
            guard.uninstall()
            hook.uninstall()
        sys.modules.pop("warmup", None)


PYTEST_PROJECT = {
    "swap.py": """
        from bchook import Pass
        class Swap(Pass):
            name = "swap"
            def transform_code(self, code, ctx):
                return code.replace(co_consts=tuple("s3" if c == "s2" else c
                                                    for c in code.co_consts))
    """,
    "test_sample.py": """
        def value():
            return "s2"

        def test_value():
            assert value() == "expected"
    """,
}


@pytest.mark.parametrize("order", ["pytest first", "bchook first"])
def test_pytest_assertion_rewriting_still_works_on_rewritten_modules(run_python, tmp_path,
                                                                     order, write_tree):
    write_tree(tmp_path, PYTEST_PROJECT)
    install_line = ("import bchook.hook.install, swap; "
                    "bchook.hook.install.install([swap.Swap()], include=['test_sample'])")
    if order == "pytest first":
        write_tree(tmp_path, {"conftest.py": install_line + "\n"})
        args = ["-m", "pytest"]
    else:
        # bchook's plugin puts the hook back in front of pytest's (here, autoload is off)
        args = ["-c", install_line + "; import pytest; raise SystemExit(pytest.main())",
                "-p", "bchook.frontends.pytest_plugin"]
    for run in ("transformed", "from bchook's cache"):
        rc, out, err = run_python(
            [*args, "-q", "-p", "no:cacheprovider", "test_sample.py"], cwd=tmp_path,
            env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": None,
                 "PYTHONDONTWRITEBYTECODE": None})
        assert rc == 1, out + err
        # pytest's introspection of the failing assert, showing the value bchook produced:
        # (without pytest's rewriting the message would be a bare AssertionError)
        assert "AssertionError: assert 's3' == 'expected'" in out, (run, out)
    cached = os.listdir(tmp_path / "__pycache__")
    assert any(n.startswith("test_sample.") and ".bchook-" in n for n in cached), cached


def test_include_star_leaves_extension_and_sourceless_modules_alone(run_python, tmp_path):
    import py_compile
    (tmp_path / "src_only.py").write_text("V = 's2'\n")
    py_compile.compile(str(tmp_path / "src_only.py"), cfile=str(tmp_path / "compiled.pyc"),
                       doraise=True)
    (tmp_path / "src_only.py").unlink()
    (tmp_path / "main.py").write_text(textwrap.dedent("""
        import importlib.machinery, os, sys
        import bchook.hook.install
        from bchook import Pass

        class Swap(Pass):
            name = "swap"
            def transform_code(self, code, ctx):
                return code.replace(co_consts=tuple("s3" if c == "s2" else c
                                                    for c in code.co_consts))

        dynload = os.path.join(os.path.dirname(os.__file__), "lib-dynload")
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        extension = next(n[:-len(suffix)] for n in sorted(os.listdir(dynload))
                         if n.endswith(suffix) and n[:-len(suffix)] not in sys.modules)
        bchook.hook.install.install([Swap()], include=["*"], cache=False)
        module = __import__(extension)
        import compiled
        print(extension, type(module.__loader__).__name__, compiled.V,
              type(compiled.__loader__).__name__)
    """))
    rc, out, err = run_python(["main.py"], cwd=tmp_path)
    assert rc == 0, err
    _, extension_loader, value, sourceless_loader = out.split()
    assert extension_loader == "ExtensionFileLoader"
    assert (value, sourceless_loader) == ("s2", "SourcelessFileLoader")


class CodeOnlyLoader(importlib.machinery.SourceFileLoader):
    """A loader that does its work in get_code (no source_to_code override)."""

    def get_code(self, fullname):
        code = compile(self.get_data(self.path).replace(b"s1", b"s2"), self.path, "exec")
        return code


def test_loader_with_only_get_code_gets_the_bytecode_passes(project, write_tree):
    write_tree(project, {"app/viacode.py": "V = 's1'\n"})
    sys.meta_path.insert(0, OtherFinder("app", CodeOnlyLoader))
    with install([CodeStage()], include=["app"], cache=False):
        import app.viacode
    assert app.viacode.V == "s3"


def test_loader_with_only_get_code_is_left_alone_when_ast_passes_are_asked(
        project, caplog, write_tree):
    write_tree(project, {"app/viacode.py": "V = 's1'\n"})
    sys.meta_path.insert(0, OtherFinder("app", CodeOnlyLoader))
    caplog.set_level(logging.DEBUG, logger="bchook")
    with install([AstStage(), CodeStage()], include=["app"], cache=False):
        import app.viacode
    assert app.viacode.V == "s2"  # the other hook's work only
    assert any("app.viacode" in r.getMessage() and "cannot compose" in r.getMessage()
               for r in caplog.records)


def test_text_rewriting_hook_refuses_ast_passes_clearly(project, write_tree):
    from bchook.errors import BchookError
    write_tree(project, {"app/text.py": "V = 's1'\n"})
    sys.meta_path.insert(0, OtherFinder("app", BytesLoader))
    with install([AstStage(), CodeStage()], include=["app.text"], cache=False):
        with pytest.raises(BchookError, match="BytesLoader.*'app.text'.*syntax tree"):
            import app.text  # noqa: F401
    assert "app.text" not in sys.modules


def test_already_imported_names_targeted_modules_imported_too_early(project):
    import app  # before the hook
    hook = install([CodeStage()], include=["app", "other_top"], cache=False)
    import app.mod  # after: rewritten
    import other_top  # noqa: F401
    assert hook.already_imported() == ["app"]
    assert app.mod.f() == "s3" and app.INIT == "s2"


class AstExplode(Pass):
    name = "t-ast-explode"

    def transform_ast(self, tree, ctx):
        raise KeyError("no such node")


@pytest.mark.parametrize("composed", [False, True])
def test_ast_pass_failure_is_reported_alike_with_or_without_another_hook(project, composed):
    if composed:
        sys.meta_path.insert(0, OtherFinder("app"))
    with install([AstExplode()], include=["app"], cache=False):
        with pytest.raises(PassFailed) as info:
            import app.mod  # noqa: F401
    assert info.value.pass_name == "t-ast-explode" and info.value.module == "app"
    assert f"<module> at {project / 'app' / '__init__.py'}:1" in str(info.value)
    assert "app" not in sys.modules


def test_hook_repr_says_what_it_does(project):
    hook = install([CodeStage()], include=["app"], exclude=["app.secret"])
    text = repr(hook)
    assert "t-code" in text and "app" in text and "app.secret" in text and "installed" in text
    hook.uninstall()
    assert "not installed" in repr(hook)
    assert str(project) in repr(install([CodeStage()], roots=[project]))


class DataLoader(importlib.machinery.SourceFileLoader):
    """A hook whose work is in get_data (decrypting, generating...): no compile override."""

    def get_data(self, path):
        data = super().get_data(path)
        return data.replace(b"s1", b"s2") if path.endswith(".py") else data


def test_loader_that_rewrites_in_get_data_composes(project, write_tree):
    write_tree(project, {"app/viadata.py": "V = 's1'\n"})
    sys.meta_path.insert(0, OtherFinder("app", DataLoader))
    with install([AstStage(), CodeStage()], include=["app"], cache=False):
        import app.viadata
        assert pkgutil.get_data("app", "data.txt") == b"some data\n"
    assert app.viadata.V == "s3"
