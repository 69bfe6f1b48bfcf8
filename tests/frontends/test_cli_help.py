"""Every argument of every ``bchook`` command is explained in its ``--help``.

The parsers are the ones the commands really build: each command is started with its
``parse_args`` intercepted, so a command added to ``bchook`` later, or an argument added
to one, is checked without this file knowing about it. Subcommands (``bchook pth
install``...) are reached through their parents.
"""

from __future__ import annotations

import argparse

import pytest

from bchook.frontends import cli as _cli


class _Built(BaseException):
    """Raised in place of parsing (a BaseException: commands turn Exceptions into exit
    statuses)."""

    def __init__(self, parser):
        self.parser = parser


def parser_of(argv, monkeypatch) -> argparse.ArgumentParser:
    """The parser ``bchook *argv`` reads its arguments with."""
    def intercept(self, args=None, namespace=None):
        raise _Built(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", intercept)
    # (NAME --ast DIR in any order: parse_intermixed_args, which 3.12+ runs on its own)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_intermixed_args", intercept)
    with pytest.raises(_Built) as caught:
        _cli.main(argv)
    monkeypatch.undo()
    return caught.value.parser


def walk(parser, path):
    """``(command path, parser)`` for ``parser`` and each subcommand below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, f"{path} {name}")


def every_parser(monkeypatch):
    commands = [[]] + [[name] for name in _cli._COMMANDS]
    found = []
    for argv in commands:
        found.extend(walk(parser_of(argv, monkeypatch), " ".join(["bchook", *argv])))
    return found


def problems_of(path, parser) -> list[str]:
    out = []
    text = parser.format_help()
    for action in parser._actions:
        name = "/".join(action.option_strings) or action.metavar or action.dest
        help_text = action.help
        if not isinstance(help_text, str) or not help_text.strip() or \
                help_text == argparse.SUPPRESS:
            out.append(f"{path}: {name} has no help text")
        if isinstance(action, argparse._SubParsersAction):
            # a subcommand added without help= is not even listed
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for sub in action.choices:
                if not (listed.get(sub) or "").strip():
                    out.append(f"{path}: subcommand {sub} has no help text")
                elif f"\n    {sub} " not in text:
                    out.append(f"{path}: --help does not name subcommand {sub}")
            continue
        for word in action.option_strings or [action.metavar or action.dest]:
            if word not in text:
                out.append(f"{path}: --help does not name {word}")
    return out


def test_every_command_is_walked(monkeypatch):
    paths = [path for path, _ in every_parser(monkeypatch)]
    for expected in ("bchook", "bchook run", "bchook passes", "bchook pth",
                     "bchook pth install", "bchook pth uninstall", "bchook pth status",
                     "bchook dis", "bchook trace", "bchook trace merge", "bchook trace diff",
                     "bchook check", "bchook new-pass"):
        assert expected in paths


def test_every_argument_and_option_has_help(monkeypatch):
    problems = [p for path, parser in every_parser(monkeypatch)
                for p in problems_of(path, parser)]
    assert not problems, "\n".join(problems)


def test_the_walk_finds_an_argument_without_help(monkeypatch):
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("target")
    parser.add_argument("--format", choices=("text", "json"))
    sub = parser.add_subparsers(dest="action", help="what to do")
    sub.add_parser("go", help="start").add_argument("--fast", help="quickly")
    sub.add_parser("run", help="start").add_argument("--slow")
    sub.add_parser("stop")
    found = [p for path, p_ in walk(parser, "x") for p in problems_of(path, p_)]
    assert found == ["x: target has no help text", "x: --format has no help text",
                     "x: subcommand stop has no help text", "x run: --slow has no help text"]


def test_top_level_help_names_every_command(capsys):
    assert _cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for name in _cli._COMMANDS:
        assert f"\n  {name} " in text, name


def test_dis_help_explains_target_and_format(capsys):
    assert _cli.main(["dis", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "TARGET the Python file to show, FILE or FILE:QUALNAME" in text
    assert "--format {text,json} text for people (the default), or json" in text
