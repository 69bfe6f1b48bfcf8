"""The pytest plugin: run a test session with its modules rewritten by bchook's passes.

Registered through the ``pytest11`` entry point under the name ``bchook`` (so
``-p no:bchook`` turns it off and ``-p bchook`` loads it when plugin autoloading is off).
It installs no hook and looks up no pass unless passes are asked for::

    pytest --bchook-pass constfold --bchook-pass trace      # or --bchook-pass constfold,trace
    pytest --bchook-pass identity --bchook-option identity.pad=1
    pytest --bchook-pass goto --bchook-include 'myapp.*' --bchook-exclude 'myapp.vendored.*'

or in the pytest configuration (``[tool.pytest.ini_options]``, ``pytest.ini``...):
``bchook_passes``, ``bchook_include``, ``bchook_exclude``, ``bchook_options``. Command-line
values replace the configuration's (options are merged, the command line winning per key).

The hook goes in before the initial conftests are loaded, so conftests, test modules and
the code under test are all rewritten; without ``--bchook-include`` the modules whose files
live under pytest's rootdir are targeted (never the standard library or site-packages).
Test modules are rewritten by pytest's assertion rewriting *and* by bchook (see
:mod:`bchook.hook.compose` for the order). Targeted modules that were imported before the hook
could be installed (by a ``-p`` plugin, a ``.pth`` file...) are named in one warning.

It also gives every test suite the fixtures of :mod:`bchook.testing`, the helpers for
testing passes: ``bchook_isolated_imports`` (the import system restored after the test)
and ``bchook_load`` (a module loaded through a chain from a file in ``tmp_path``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterable

import pytest

from .. import errors

__all__ = ["BchookWarning"]

_PACKAGE = __name__.partition(".")[0]  # "bchook"


class BchookWarning(pytest.PytestWarning, errors.BchookWarning):
    """Something bchook could not do in this test session (the session still runs)."""


@dataclass
class _Session:
    """What the plugin did in one pytest configuration."""

    header: str
    hook: Any = None  # bchook.hook.install.Hook when installed
    owned: bool = False  # installed by this plugin (not before pytest started)


_STATE = pytest.StashKey[_Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bchook", "bchook: rewrite modules at import time")
    group.addoption(
        "--bchook-pass", action="append", default=[], dest="bchook_passes",
        metavar="NAME[,NAME]",
        help="rewrite the session's modules with these bchook passes, in order "
             "(repeatable; see `bchook passes`). Without it the plugin does nothing.")
    group.addoption(
        "--bchook-include", action="append", default=[], dest="bchook_include",
        metavar="PAT",
        help="rewrite the modules whose dotted name matches this glob (repeatable; "
             "'myapp' and 'myapp.*' mean the package and everything below it). "
             "Default: every module under the rootdir.")
    group.addoption(
        "--bchook-exclude", action="append", default=[], dest="bchook_exclude",
        metavar="PAT", help="never rewrite the modules matching this glob (repeatable)")
    group.addoption(
        "--bchook-option", action="append", default=[], dest="bchook_options",
        metavar="PASS.KEY=VALUE",
        help="set an option of a pass (repeatable; the same PASS.KEY again appends "
             "',VALUE')")
    group.addoption(
        "--bchook-no-cache", action="store_true", default=False, dest="bchook_no_cache",
        help="neither read nor write bchook's private .pyc cache")
    parser.addini("bchook_passes", "bchook passes applied to the session's modules, in order",
                  type="args", default=[])
    parser.addini("bchook_include", "module-name globs bchook rewrites (default: the rootdir)",
                  type="args", default=[])
    parser.addini("bchook_exclude", "module-name globs bchook never rewrites",
                  type="args", default=[])
    parser.addini("bchook_options", "bchook pass options, PASS.KEY=VALUE each",
                  type="args", default=[])


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    _start(early_config, early_config.known_args_namespace)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Only does something when the plugin came too late for the hook above (listed in a
    # conftest's pytest_plugins): better late than never, and the warning says what it missed.
    if _STATE not in config.stash:
        _start(config, config.option)


# -- the trace pass: the profile of the session in pytest's terminal summary ---------------

_WORKER_PROFILES = pytest.StashKey[list]()
_SESSION = pytest.StashKey[pytest.Session]()
#: Where a pytest-xdist worker hands its profile to the controller (config.workeroutput).
_WORKER_KEY = "bchook_trace_profile"


def _trace_pass(config: pytest.Config):
    """The trace pass of this session's hook (the plugin's, or one installed before
    pytest started), or None."""
    hook = _session_hook(config)
    if hook is None:
        return None
    return next((p for p in hook.passes if p.name == "trace"), None)


def _trace_runtime():
    return sys.modules.get(f"{_PACKAGE}.passes.trace.runtime._runtime")


def _tracer():
    runtime = _trace_runtime()
    return runtime.tracer() if runtime is not None else None


_USAGE_ERROR = pytest.StashKey[str]()


def _adapt_trace_runtime(config: pytest.Config) -> None:
    """The hints of the trace summary name this plugin's flag. A usage error the trace
    runtime finds only once traced code runs (a handler that cannot be loaded) waits for
    the end of the collection, where it becomes pytest's own usage error: raised from the
    module being collected, pytest would take it for an internal error."""
    runtime = _trace_runtime()
    if runtime is None:
        return
    saved = runtime.stop_for_usage_error, runtime.option_spelling
    runtime.stop_for_usage_error = \
        lambda message: config.stash.setdefault(_USAGE_ERROR, message)
    runtime.option_spelling = _as_bchook_option

    def restore() -> None:  # the process may go on after the session (pytest.main)
        runtime.stop_for_usage_error, runtime.option_spelling = saved

    config.add_cleanup(restore)


def _as_bchook_option(option: str, value: str) -> str:
    """The hints of the trace summary, as this plugin takes them."""
    return f"--bchook-option trace.{option}={value}"


def pytest_collection_finish(session: pytest.Session) -> None:
    message = session.config.stash.get(_USAGE_ERROR, None)
    if message is not None:
        raise pytest.UsageError(f"bchook: {message}")


def _check_handler_before_workers(config: pytest.Config) -> None:
    """Under pytest-xdist the controller runs no test, so it can load the handler (which
    the workers load as their first traced module starts) and refuse a bad one before
    any worker starts."""
    trace = _trace_pass(config)
    if trace is None or not trace.options.get("handler") or hasattr(config, "workerinput") \
            or not getattr(config.option, "numprocesses", None):
        return
    runtime = _trace_runtime()
    started_here = runtime.tracer() is None  # by a traced handler module: not the tests'
    try:
        runtime.check_handler(trace.options["handler"])
    except runtime.HandlerError as exc:
        raise pytest.UsageError(f"bchook: {exc}") from None
    finally:
        if started_here:
            runtime.discard()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_SESSION] = session
    # Plugins configured after this one (typeguard's --typeguard-packages) put their hooks
    # in front of bchook's: back in front, bchook composes with them, whichever came first.
    hook = _session_hook(session.config)
    if hook is not None:
        hook.to_front()
        _check_handler_before_workers(session.config)


def _session_hook(config: pytest.Config):
    """The hook of this session: the plugin's, or one installed before pytest started."""
    state = config.stash.get(_STATE, None)
    if state is not None and state.hook is not None:
        return state.hook
    install = sys.modules.get(f"{_PACKAGE}.hook.install")
    return install.installed() if install is not None else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    tracer = _tracer()
    trace = _trace_pass(item.config) if tracer is not None else None
    if trace is None or not trace.options.get("per_test"):
        yield
        return
    # The test (its fixtures' setup and teardown included) is a root of the call tree.
    from ..passes.trace.runtime import _runtime

    key = _runtime.frame_key("<test>", item.nodeid)
    tracer.mark_enter(key)
    try:
        yield
    finally:
        tracer.mark_exit(key)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if not hasattr(config, "workerinput") or _trace_pass(config) is None:
        return
    # A pytest-xdist worker: its profile goes to the controller, which writes one output.
    tracer = _tracer()
    if tracer is not None:
        import marshal

        profile = tracer.hand_over()
        if profile is not None:
            config.workeroutput[_WORKER_KEY] = marshal.dumps(profile.to_data())


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown without it
def pytest_testnodedown(node, error) -> None:
    data = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if data is None:
        return
    import marshal

    from ..passes.trace.runtime._profile import Profile

    worker = getattr(node, "workerinput", {}).get("workerid", "worker")
    node.config.stash.setdefault(_WORKER_PROFILES, []).append(
        (worker, Profile.from_data(marshal.loads(data))))


class _Terminal:
    """A text stream onto pytest's terminal."""

    def __init__(self, reporter):
        self.reporter = reporter

    def write(self, text: str) -> int:
        self.reporter.write(text)
        return len(text)

    def flush(self) -> None:
        self.reporter.flush()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    trace = _trace_pass(config)
    if trace is None:
        return
    from ..passes.trace.runtime import _profile
    from ..passes.trace.runtime import _runtime

    workers = config.stash.get(_WORKER_PROFILES, [])
    tracer = _tracer()
    if tracer is None and not workers:
        return
    terminalreporter.write_sep("=", "bchook trace")
    stream = _Terminal(terminalreporter)
    if tracer is not None:
        ok = tracer.finish(stream, workers)
        outputs = tracer.outputs
    else:  # nothing traced in this process: the workers' profiles alone
        settings = dict(trace.runtime_config())
        outputs = _runtime.output_paths(settings["output"])
        profile = _profile.merge([prof for _, prof in workers], [w for w, _ in workers])
        ok = _runtime.report(profile, outputs, settings["buffer"], stream)
    if ok:
        for path, _ in outputs:
            terminalreporter.write_line(f"bchook trace: wrote {path}")
    else:
        session = config.stash.get(_SESSION, None)
        if session is not None and not session.exitstatus:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


# -- fixtures for testing passes (bchook.testing) -------------------------------------------

@pytest.fixture
def bchook_isolated_imports():
    """``sys.modules``, ``sys.meta_path``, ``sys.path``, ``sys.path_hooks`` and
    ``sys.path_importer_cache`` are restored after the test, which may install hooks and
    import throw-away modules freely; yields the saved ``bchook.testing.ImportState``."""
    from ..testing import isolated_imports

    with isolated_imports() as state:
        yield state


@pytest.fixture
def bchook_load(bchook_isolated_imports, tmp_path):
    """``bchook_load(source, chain=None, *, options=None, name="loaded")``: write
    ``source`` to ``tmp_path/NAME.py`` and run it as module ``name`` through ``chain``
    (``bchook.testing.load_module``: tracebacks and ``inspect`` find its lines); the
    import system is restored after the test."""
    from ..testing import load_module

    def load(source: str, chain=None, *, options=None, name: str = "loaded"):
        path = tmp_path / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        return load_module(path, chain, options=options, name=name)

    return load


def pytest_unconfigure(config: pytest.Config) -> None:
    testing = sys.modules.get(f"{_PACKAGE}.testing")
    if testing is not None:  # its worker processes end with the session
        testing._close_workers()


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(_STATE, None)
    if state is not None and state.header:
        return state.header
    # A hook installed before pytest started (`python -m bchook -m pytest`, the .pth autoload).
    install = sys.modules.get(f"{_PACKAGE}.hook.install")
    hook = install.installed() if install is not None else None
    if hook is None:
        return None
    return _header(hook) + " (installed before pytest started)"


def _start(config: pytest.Config, ns: Any) -> None:
    if getattr(ns, "help", False) or getattr(ns, "version", False):
        return
    config.stash[_STATE] = _Session(header="")
    before = _session_hook(config)  # installed before pytest started (the runner, the .pth)
    if before is not None:
        before.to_front()  # in front of pytest's assertion rewriting, to compose with it
        _adapt_trace_runtime(config)
        if not _flags_layer(ns) and not _ini_layer(config):
            return  # it was made from these same settings: the environment, [tool.bchook]
    given = getattr(ns, "bchook_passes", None)
    if given and not _split(given):
        raise pytest.UsageError("bchook: --bchook-pass: expected pass names, "
                                "e.g. --bchook-pass constfold")
    from ..config import create_chain, resolve
    from ..errors import PluginError, UsageError

    # Taken before the passes are loaded: a pass's own module imported to build the chain
    # is not a module the hook missed.
    already_imported = set(sys.modules)
    try:
        # the one settings path: these flags > BCHOOK_* > pytest's ini > [tool.bchook]
        settings = resolve(_flags_layer(ns), start=str(config.rootpath),
                           front_end_file=(_ini_layer(config), "pytest ini bchook_options"))
        if not settings.passes:
            _refuse_orphan_flags(ns)
            return
        if settings.disabled:
            config.stash[_STATE] = _Session(header=f"bchook: disabled by BCHOOK_DISABLE "
                                                   f"(passes {', '.join(settings.passes)} "
                                                   f"not applied)")
            create_chain(settings)  # bad names and options are still errors
            return
        hook, owned = _install(settings, config)
    except (UsageError, PluginError) as exc:
        raise pytest.UsageError(f"bchook: {' '.join(str(exc).split())}") from None
    hook.to_front()  # in front of pytest's assertion rewriting, to compose with it
    _adapt_trace_runtime(config)
    config.stash[_STATE] = _Session(header=_header(hook), hook=hook, owned=owned)
    if owned:
        config.add_cleanup(hook.uninstall)
    missed = [name for name in hook.already_imported() if name in already_imported]
    if missed:
        config.issue_config_time_warning(BchookWarning(_missed_message(missed)), stacklevel=2)


def _flags_layer(ns: Any) -> dict:
    """The settings given on pytest's command line."""
    layer: dict[str, Any] = {}
    for dest, key in (("bchook_passes", "passes"), ("bchook_include", "include"),
                      ("bchook_exclude", "exclude")):
        if getattr(ns, dest, None):
            layer[key] = _split(getattr(ns, dest))
    if getattr(ns, "bchook_no_cache", False):
        layer["cache"] = False
    if getattr(ns, "bchook_options", None):
        layer["options"] = _parse_options(ns.bchook_options, "--bchook-option")
    return layer


def _ini_layer(config: pytest.Config) -> dict:
    """The settings of pytest's configuration file (``bchook_passes = ...``)."""
    layer: dict[str, Any] = {}
    for key in ("passes", "include", "exclude"):
        values = _split(config.getini(f"bchook_{key}"))
        if values:
            layer[key] = values
    options = _parse_options(config.getini("bchook_options"), "ini option bchook_options")
    if options:
        layer["options"] = options
    return layer


def _install(settings, config: pytest.Config):
    from ..config import create_chain
    from ..hook.install import install, installed

    previous = installed()
    hook = install(create_chain(settings), include=settings.include or None,
                   exclude=settings.exclude or None, cache=settings.cache,
                   roots=settings.roots or [str(config.rootpath)])
    return hook, hook is not previous


def _refuse_orphan_flags(ns: Any) -> None:
    """Targeting flags without passes would silently do nothing: say so instead."""
    for dest, flag in (("bchook_include", "--bchook-include"),
                       ("bchook_exclude", "--bchook-exclude"),
                       ("bchook_options", "--bchook-option"),
                       ("bchook_no_cache", "--bchook-no-cache")):
        if getattr(ns, dest, None):
            raise pytest.UsageError(
                f"bchook: {flag} given but no pass to apply: add --bchook-pass NAME "
                f"(or bchook_passes in the pytest configuration)")


def _split(values: Iterable[str]) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``: repeated flags and comma lists alike."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _parse_options(items: Iterable[str], where: str) -> dict[str, dict[str, str]]:
    options: dict[str, dict[str, str]] = {}
    for item in items:
        target, eq, value = item.partition("=")
        pass_name, dot, key = target.strip().partition(".")
        pass_name, key = pass_name.strip(), key.strip()
        if not (eq and dot and pass_name and key):
            raise pytest.UsageError(
                f"bchook: {where}: bad option {item!r}: expected PASS.KEY=VALUE, "
                f"e.g. identity.pad=1")
        table = options.setdefault(pass_name, {})
        table[key] = f"{table[key]},{value}" if key in table else value
    return options


def _header(hook: Any) -> str:
    from ..hook.targets import describe

    passes = ", ".join(p.name for p in hook.passes) or "(none)"
    cache = "on" if hook.cache else "off"
    return f"bchook: passes {passes}; rewriting {describe(hook.targets)}; cache {cache}"


def _missed_message(names: list[str]) -> str:
    from ..hook.targets import describe_missed

    return (f"bchook: {describe_missed(names)} (to rewrite them too, run pytest under "
            f"`python -m bchook -p PASSES -m pytest`)")
