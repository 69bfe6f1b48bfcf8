"""Reference pages generated from the code at build time, so that they cannot drift.

Each directive below reads one source of truth and writes Markdown (MyST) that the page
then parses as if it had been written there:

``{bchook-help} [COMMAND...]``
    the text ``bchook COMMAND --help`` prints, produced by calling ``bchook.frontends.cli.main``
    in-process: whatever parses the command line (argparse today, a flag table tomorrow)
    also writes the help shown.
``{bchook-pass-options} PASS``
    the table of a pass's options: ``option_specs`` (name, type, default, one-line meaning)
    where the pass declares them, else its ``option_types`` converters (type from the
    converter's name, meaning from its docstring's first line).
``{bchook-settings}``
    one row per setting of ``[tool.bchook]``, the ``BCHOOK_*`` variables, the runner's
    flags and the pytest plugin's options, each column read from the code that parses it.
``{bchook-pytest-options}``
    the pytest plugin's options and ini keys, from its ``pytest_addoption``.

Only ``_sources`` below knows where those sources live: when the code moves (the
``frontends``/``config`` layout), change the import paths there and nothing else.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
from typing import Any, Iterable

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


# -- where the sources of truth live -------------------------------------------------------

class _sources:
    """Import paths of the code the reference pages are generated from."""

    cli = "bchook.frontends.cli"              # main(argv) -> int, the `bchook` command
    config = "bchook.config"        # ENV_* names, _FILE_KEYS
    pytest_plugin = "bchook.frontends.pytest_plugin"
    pass_group = "bchook.passes"     # entry-point group of passes
    distribution = "bchook"          # the built-in passes are this distribution's entry points

    @staticmethod
    def module(name: str):
        return importlib.import_module(getattr(_sources, name))


# -- reading the sources -------------------------------------------------------------------

def command_help(words: list[str]) -> str:
    """What ``bchook WORDS --help`` prints (at 100 columns, so the page does not depend on
    the terminal the docs were built in)."""
    cli = _sources.module("cli")
    out = io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = cli.main([*words, "--help"])
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    if status not in (0, None):
        raise ValueError(f"bchook {' '.join(words)} --help exited with {status}: "
                         f"{out.getvalue()}")
    return out.getvalue().rstrip() + "\n"


def builtin_passes() -> dict[str, type]:
    """The passes bchook itself registers, by name, in the order ``bchook passes`` uses."""
    from importlib import metadata

    found = {}
    for ep in metadata.entry_points(group=_sources.pass_group):
        dist = getattr(ep, "dist", None)
        if dist is not None and dist.metadata["Name"] != _sources.distribution:
            continue
        found[ep.name] = ep.load()
    return dict(sorted(found.items()))


def _first_line(doc: str | None) -> str:
    text = " ".join((doc or "").strip().split("\n\n")[0].split())
    return text


def option_rows(cls: type) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, meaning)`` for each option of a pass class."""
    specs = getattr(cls, "option_specs", None)
    if specs:
        rows = []
        for spec in specs:
            default = spec.default_text() if hasattr(spec, "default_text") else (
                "none" if spec.default in (None, "") else str(spec.default))
            rows.append((spec.name, str(spec.type), default, spec.help))
        return rows
    # The older form, converters only: the type from the converter's name, the meaning from
    # its docstring unless it is a generic converter (whose docstring says nothing of the
    # option).
    from bchook import flag

    rows = []
    for name, convert in (getattr(cls, "option_types", None) or {}).items():
        type_name = {"flag": "bool"}.get(convert.__name__, convert.__name__.lstrip("_"))
        generic = convert in (flag, int, str, float)
        rows.append((name, type_name, "", "" if generic else _first_line(convert.__doc__)))
    return rows


def pytest_options() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """``([(flag, metavar, help)], [(ini key, type, help)])`` from the plugin's
    ``pytest_addoption``, called with a parser that only records."""
    flags: list[tuple[str, str, str]] = []
    inis: list[tuple[str, str, str]] = []

    class Group:
        def addoption(self, *names, **kw):
            flags.append((", ".join(names), kw.get("metavar") or "", kw.get("help", "")))

    class Parser:
        def getgroup(self, *args, **kw):
            return Group()

        def addoption(self, *names, **kw):
            Group().addoption(*names, **kw)

        def addini(self, name, help, type=None, default=None):
            inis.append((name, type or "string", help))

    _sources.module("pytest_plugin").pytest_addoption(Parser())
    return flags, inis


def _runner_flags() -> dict[str, tuple[str, str]]:
    """``{dest: (spelling, help)}`` of the runner's flags, from whichever form the runner
    declares them in: a ``RUNNER_FLAGS`` table, or an argparse parser factory."""
    cli = _sources.module("cli")
    flags = {}
    table = getattr(cli, "RUNNER_FLAGS", None)
    if table is not None:
        for flag in table:
            spelled = ", ".join(flag.names) + (f" {flag.metavar}" if flag.metavar else "")
            flags[flag.dest] = (spelled, flag.help)
        return flags
    parser = cli._runner_parser()
    for action in parser._actions:
        if not action.option_strings or not action.help:
            continue
        spelled = ", ".join(action.option_strings)
        if action.metavar or action.nargs != 0:
            spelled += f" {action.metavar or action.dest.upper()}"
        flags[action.dest] = (spelled, action.help)
    return flags


#: Settings that have no runner flag: what they mean (the runner's --help says the rest).
_NO_FLAG = {
    "roots": "folders whose modules are targeted when no include pattern is given "
             "(`os.pathsep`-separated)",
    "config": "the `pyproject.toml` to read instead of searching for one (empty: no file)",
    "disable": "`1` turns bchook off, whatever else is set (the runner then runs the "
               "program plain)",
}


def settings_rows() -> list[tuple[str, str, str, str, str]]:
    """``(setting, [tool.bchook] key, variable, runner flag, pytest option, meaning)``: one
    row per setting, each column read from the code that parses that source."""
    config = _sources.module("config")
    env = {name[4:].lower(): value for name, value in vars(config).items()
           if name.startswith("ENV_") and isinstance(value, str)}
    keys = list(getattr(config, "_FILE_KEYS", ()))
    flags = _runner_flags()
    flag_of = {"passes": "passes", "include": "include", "exclude": "exclude",
               "cache": "no_cache", "options": "options"}
    pytest_flags, _ = pytest_options()
    pytest_of = {}
    for spelled, _metavar, _help in pytest_flags:
        word = spelled.split("--bchook-", 1)[-1]
        setting = {"pass": "passes", "option": "options", "no-cache": "cache"}.get(word, word)
        pytest_of[setting] = spelled
    rows = []
    for setting in [*keys, *[s for s in env if s not in keys]]:
        flag = flags.get(flag_of.get(setting, setting))
        meaning = flag[1] if flag else _NO_FLAG.get(setting, "")
        if not meaning:
            raise ValueError(f"the setting {setting!r} has no flag and no meaning in "
                             f"bchook_docs._NO_FLAG: say what it does there")
        rows.append((
            setting,
            f"`{setting}`" if setting in keys else "",
            f"`{env[setting]}`" if setting in env else "",
            f"`{flag[0]}`" if flag else "",
            f"`{pytest_of[setting]}`" if setting in pytest_of else "",
            meaning,
        ))
    return rows


# -- writing Markdown ----------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`[^`]*`)")


def md_text(text: str) -> str:
    """``text`` as literal Markdown: code spans (backticks) kept, everything else escaped."""
    parts = _CODE_SPAN.split(text)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"([\\*_\[\]<>|#])", r"\\\1", parts[i])
    return "".join(parts).replace("\n", " ")


def md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return lines


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


class _Generated(SphinxDirective):
    has_content = False
    optional_arguments = 10
    final_argument_whitespace = True

    def markdown(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        try:
            lines = self.markdown()
        except Exception as exc:  # a build error that names the directive and the cause
            raise self.error(f"{self.name}: cannot generate from the code: "
                             f"{type(exc).__name__}: {exc}") from exc
        container = nodes.container(classes=["bchook-generated"])
        self.state.nested_parse(StringList(lines, source=f"<{self.name}>"),
                                self.content_offset, container)
        return [container]


class HelpDirective(_Generated):
    def markdown(self) -> list[str]:
        words = self.arguments[0].split() if self.arguments else []
        text = command_help(words)
        fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
        return [f"{fence}text", *text.splitlines(), fence]


class PassOptionsDirective(_Generated):
    required_arguments = 1
    optional_arguments = 0

    def markdown(self) -> list[str]:
        name = self.arguments[0]
        passes = builtin_passes()
        if name not in passes:
            raise ValueError(f"no built-in pass {name!r} (built-in: {', '.join(passes)})")
        rows = option_rows(passes[name])
        if not rows:
            return ["This pass has no options."]
        return md_table(
            ["option", "values", "default", "meaning"],
            [(f"`{name}.{opt}`", _code(type_), _code(default), md_text(meaning))
             for opt, type_, default, meaning in rows])


class SettingsDirective(_Generated):
    optional_arguments = 0

    def markdown(self) -> list[str]:
        return md_table(
            ["setting", "`[tool.bchook]`", "environment", "`bchook` flag", "pytest", "meaning"],
            [(s, key, var, flag, pyt, md_text(meaning))
             for s, key, var, flag, pyt, meaning in settings_rows()])


class PytestOptionsDirective(_Generated):
    optional_arguments = 0

    def markdown(self) -> list[str]:
        flags, inis = pytest_options()
        lines = md_table(["option", "meaning"],
                         [(f"`{names}{' ' + metavar if metavar else ''}`", md_text(help_))
                          for names, metavar, help_ in flags])
        lines += [""]
        lines += md_table(["ini key (`[tool.pytest.ini_options]`)", "type", "meaning"],
                          [(f"`{name}`", f"`{type_}`", md_text(help_))
                           for name, type_, help_ in inis])
        return lines


def _ir_shorthand(app, env, node, contnode):
    """Docstrings inside bchook.ir say ``ir.Flow`` for ``bchook.ir.Flow``."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("ir."):
        return None
    node["reftarget"] = "bchook." + target
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                               "bchook." + target, node, contnode)


def setup(app):
    app.connect("missing-reference", _ir_shorthand)
    app.add_directive("bchook-help", HelpDirective)
    app.add_directive("bchook-pass-options", PassOptionsDirective)
    app.add_directive("bchook-settings", SettingsDirective)
    app.add_directive("bchook-pytest-options", PytestOptionsDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
