"""Pass discovery through the ``bchook.passes`` entry points, and building chains of passes."""

from __future__ import annotations

import sys
import textwrap

import pytest

from bchook.pipeline import registry as _registry
from bchook.errors import OptionError, PluginError, UnknownPassError, UsageError
from bchook.pipeline.api import Pass
from bchook.passes.identity import IdentityPass


@pytest.fixture(autouse=True)
def fresh_registry():
    _registry.clear_cache()
    yield
    _registry.clear_cache()


def make_distribution(folder, name, version, entry_points, modules=None):
    """A minimal installed distribution: ``name-version.dist-info`` plus its modules."""
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[bchook.passes]\n{lines}")
    for module, text in (modules or {}).items():
        (folder / f"{module}.py").write_text(textwrap.dedent(text))


PLUGIN_MODULE = """
    from bchook import Pass

    class Shout(Pass):
        name = "shout"
        version = "2.5"
        option_types = {"times": int}

    class NotAPass:
        pass
"""


@pytest.fixture
def plugins(tmp_path, isolated_imports):
    make_distribution(
        tmp_path, "bchook_shout", "1.0",
        {"shout": "shout_plugin:Shout", "notapass": "shout_plugin:NotAPass",
         "broken": "broken_plugin:Broken", "missing": "no_such_module:Thing"},
        {"shout_plugin": PLUGIN_MODULE, "broken_plugin": "raise RuntimeError('boom')\n"})
    sys.path.insert(0, str(tmp_path))
    return tmp_path


def test_builtin_passes_are_found_through_entry_points():
    infos = {info.name: info for info in _registry.available()}
    assert {"identity", "goto", "constfold", "trace"} <= set(infos)
    identity = infos["identity"]
    assert identity.cls is IdentityPass
    assert identity.version == IdentityPass.version
    assert identity.distribution == "bchook"
    assert identity.value == "bchook.passes.identity:IdentityPass"


def test_available_is_sorted_and_repeatable():
    first = [(i.name, i.distribution) for i in _registry.available()]
    assert first == sorted(first, key=lambda t: (t[0], t[1] or ""))
    _registry.clear_cache()
    assert [(i.name, i.distribution) for i in _registry.available()] == first


def test_load_builtin_class():
    assert _registry.load_pass_class("identity") is IdentityPass


def test_unknown_pass_is_one_clear_line():
    with pytest.raises(UnknownPassError) as info:
        _registry.load_pass_class("nonesuch")
    message = str(info.value)
    assert "\n" not in message
    assert "'nonesuch'" in message
    assert "identity" in message and "constfold" in message
    assert isinstance(info.value, UsageError)


def test_plugin_from_another_distribution(plugins):
    cls = _registry.load_pass_class("shout")
    assert cls.__name__ == "Shout" and issubclass(cls, Pass)
    info = next(i for i in _registry.available() if i.name == "shout")
    assert (info.distribution, info.distribution_version, info.version) == (
        "bchook_shout", "1.0", "2.5")


def test_plugin_that_fails_to_import_names_entry_point_distribution_and_error(plugins):
    with pytest.raises(PluginError) as info:
        _registry.load_pass_class("broken")
    message = str(info.value)
    assert "'broken'" in message
    assert "broken_plugin:Broken" in message
    assert "bchook_shout" in message
    assert "RuntimeError: boom" in message


def test_missing_plugin_module(plugins):
    with pytest.raises(PluginError, match="ModuleNotFoundError.*no_such_module"):
        _registry.load_pass_class("missing")


def test_plugin_value_that_is_not_a_pass(plugins):
    with pytest.raises(PluginError, match="not a bchook.Pass subclass"):
        _registry.load_pass_class("notapass")


def test_available_reports_broken_plugins_without_failing(plugins):
    infos = {i.name: i for i in _registry.available()}
    assert infos["broken"].cls is None and "boom" in infos["broken"].error
    assert infos["notapass"].cls is None
    assert infos["shout"].error is None
    assert infos["identity"].cls is IdentityPass  # the others still load


def test_same_name_from_two_distributions_is_an_error(plugins, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    make_distribution(other, "bchook_rival", "0.1", {"shout": "rival_plugin:Rival"},
                      {"rival_plugin": """
                          from bchook import Pass
                          class Rival(Pass):
                              name = "shout"
                      """})
    sys.path.insert(0, str(other))
    with pytest.raises(PluginError) as info:
        _registry.load_pass_class("shout")
    assert "bchook_shout" in str(info.value) and "bchook_rival" in str(info.value)


def test_discovery_follows_sys_path(plugins):
    assert "shout" in {i.name for i in _registry.available()}
    sys.path.remove(str(plugins))
    assert "shout" not in {i.name for i in _registry.available()}


def test_importing_bchook_does_not_discover_passes(run_python):
    rc, out, err = run_python(["-c", (
        "import sys; before = 'importlib.metadata' in sys.modules\n"
        "import bchook, bchook.hook.install, bchook.pipeline.registry\n"
        "print(before, 'importlib.metadata' in sys.modules, bchook.pipeline.registry._found)")])
    assert rc == 0, err
    before, after, found = out.split(maxsplit=2)
    assert after == before  # bchook itself did not import it
    assert found.strip() == "{}"


# -- create_passes ---------------------------------------------------------------------

def test_create_passes_in_order_with_comma_lists(plugins):
    chain = _registry.create_passes(["identity,shout", "identity"])
    assert [p.name for p in chain] == ["identity", "shout", "identity"]
    assert _registry.create_passes("shout , identity,")[0].name == "shout"


def test_create_passes_converts_string_options_and_keeps_typed_ones(plugins):
    chain = _registry.create_passes(["identity", "shout"],
                                    {"identity": {"pad": "yes"}, "shout": {"times": 3}})
    assert chain[0].options == {"pad": True}
    assert chain[1].options == {"times": 3}
    assert _registry.create_passes(["shout"], {"shout": {"times": "7"}})[0].options == {
        "times": 7}


def test_create_passes_accepts_instances_and_classes():
    mine = IdentityPass(pad=True)
    chain = _registry.create_passes([mine, IdentityPass, "identity"])
    assert chain[0] is mine
    assert isinstance(chain[1], IdentityPass) and chain[1].options == {}
    assert _registry.create_passes(mine) == [mine]


def test_options_for_a_pass_not_in_the_chain():
    with pytest.raises(OptionError, match="'goto'.*not in the chain.*identity"):
        _registry.create_passes(["identity"], {"goto": {"x": "1"}})


def test_unknown_and_bad_options():
    with pytest.raises(OptionError, match="no option 'colour'.*pad"):
        _registry.create_passes(["identity"], {"identity": {"colour": "red"}})
    with pytest.raises(OptionError, match="bad value 'maybe' for option identity.pad"):
        _registry.create_passes(["identity"], {"identity": {"pad": "maybe"}})


def test_options_for_an_instance_are_refused():
    with pytest.raises(OptionError, match="instance"):
        _registry.create_passes([IdentityPass()], {"identity": {"pad": "1"}})


def test_unknown_name_in_a_chain():
    with pytest.raises(UnknownPassError, match="'nope'"):
        _registry.create_passes("identity,nope")


def test_bad_spec_type():
    with pytest.raises(UsageError, match="42"):
        _registry.create_passes([42])


def test_pass_whose_constructor_fails_is_a_plugin_error():
    class Fragile(Pass):
        name = "fragile"

        def __init__(self, **options):
            raise RuntimeError("cannot start")

    with pytest.raises(PluginError, match="'fragile'.*RuntimeError: cannot start"):
        _registry.create_passes([Fragile])


# -- option specs (issue 17, items 10 and 13) ---------------------------------------------------

def test_unknown_pass_offers_only_passes_that_load(plugins):
    with pytest.raises(UnknownPassError) as info:
        _registry.load_pass_class("nonesuch")
    offered = str(info.value).split("available passes: ")[1].split(", ")
    assert "shout" in offered and "identity" in offered
    assert not {"broken", "missing", "notapass"} & set(offered)


def test_option_specs_declare_converter_default_and_meaning():
    from bchook import Option, flag

    class Spelled(Pass):
        name = "spelled"
        option_specs = (Option("level", int, 3, "how hard to try"),
                        Option("loud", flag, False, "say what was done"),
                        Option("style", str, None, "how to say it", type="plain|fancy"))

    assert Spelled.option_types == {"level": int, "loud": flag, "style": str}
    assert [(s.name, s.type, s.default_text(), s.help) for s in Spelled.option_specs] == [
        ("level", "int", "3", "how hard to try"), ("loud", "bool", "0", "say what was done"),
        ("style", "plain|fancy", "none", "how to say it")]
    assert Spelled(level="5", loud="yes").options == {"level": 5, "loud": True}
    with pytest.raises(OptionError, match="bad value 'x' for option spelled.level"):
        Spelled(level="x")
    with pytest.raises(OptionError, match=r"no option 'nope' \(its options: level, loud, style"):
        Spelled(nope=1)


def test_option_types_alone_still_work_and_are_documented_by_type():
    # third-party passes written before the specs (PLUGIN_MODULE's Shout) keep working
    class Old(Pass):
        name = "old"
        option_types = {"times": int, "quiet": _flag()}

    assert [(s.name, s.type, s.default_text(), s.help) for s in Old.option_specs] == [
        ("times", "int", "none", ""), ("quiet", "bool", "none", "")]
    assert Old(times="2").options == {"times": 2}

    class Narrower(Old):  # a subclass that lists converters replaces its parent's options
        option_types = {"times": int}

    assert [s.name for s in Narrower.option_specs] == ["times"]
    assert Narrower.option_specs[0] is Old.option_specs[0]  # the same documentation

    class Inherits(Old):
        pass

    assert Inherits.option_specs == Old.option_specs and Inherits(quiet="on").options == {
        "quiet": True}


def _flag():
    from bchook import flag

    return flag


def test_bad_option_specs_are_refused_when_the_class_is_made():
    from bchook import Option

    with pytest.raises(TypeError, match="is not a bchook.Option"):
        class NotSpecs(Pass):
            option_specs = ({"name": "x"},)
    with pytest.raises(TypeError, match="names an option twice"):
        class Twice(Pass):
            option_specs = (Option("x"), Option("x"))
    with pytest.raises(TypeError, match="must be an identifier"):
        Option("not a name")


SAMPLE = """\
import math
DEBUG = False
def work(items, n=3):
    total = 0
    for i, item in enumerate(items):
        if item in ("a", "b", "c", "d", "e", "f"):
            total += len("abc") * n
        elif DEBUG:
            print(i)
    return total, math.pi
class K:
    def method(self):
        yield from range(2)
print(work(["a", "z"]))
"""


def _builtin_classes():
    return [_registry.load_pass_class(name) for name in sorted(_registry.BUILTIN)]


@pytest.mark.parametrize("cls", _builtin_classes(), ids=lambda cls: cls.name)
def test_the_documented_default_is_what_the_pass_does_without_the_option(cls):
    # `bchook passes` and the README show each option's default: giving it explicitly must
    # change nothing in the code the pass produces
    from bchook.pipeline.driver import transform_source

    def compiled(**options):  # code objects compare their constants by value, nested too
        return transform_source(SAMPLE, "sample.py", "sample", [cls(**options)])

    plain = compiled()
    for spec in cls.option_specs:
        if spec.default is not None:
            assert compiled(**{spec.name: spec.default}) == plain, spec.name
            assert compiled(**{spec.name: spec.default_text()}) == plain, spec.name
