"""The ``bchook`` command (also ``python -m bchook``).

``main(argv) -> int`` never prints an internal traceback for bad input: a usage error is
one line on stderr, ``bchook: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from . import _config, _lazy
from ._errors import PluginError, UsageError

__all__ = ["main"]

PROG = "bchook"

_USAGE = f"""\
{PROG} [-p PASS[,PASS]]... [--include PAT]... [--exclude PAT]... [--no-cache]
              [-o PASS.KEY=VALUE]... (script | folder | module | -m module | -c code | -) [args...]
       {PROG} run [same as above]
       {PROG} passes
       {PROG} pth install [--user] | uninstall | status
       {PROG} dis ...
       {PROG} --version"""

_DESCRIPTION = """\
Run a Python program with its modules rewritten at import time by a chain of passes, exactly
as `python script args...` would run it (same sys.argv, sys.path[0], __main__ module, output
and exit status). `python -m bchook ...` is the same command.

The program's own modules are rewritten, including the main script: by default every module
under the script's folder (with -m, -c or -: the current folder), never the standard library,
site-packages or bchook itself. A bare target that is neither a file nor a folder runs as a
module, as with -m."""

_EPILOG = """\
commands:
  run ...               run a program (the default when the first argument is not a command)
  passes                list every pass found (built-in and plugins) with versions and
                        distributions; a plugin that fails to load is shown with its error
  pth install [--user]  install the start-up autoload into this environment's site-packages
                        (or the user site): every Python process that sets BCHOOK_PASSES is
                        rewritten (a .pth file; from Python 3.15 a .start file and its module)
  pth uninstall         remove it, in either form
  pth status            where it is installed and whether it is active
  dis ...               disassemble with bchook's IR (see `bchook dis --help`)

configuration (flags > environment > pyproject.toml):
  [tool.bchook] in the nearest pyproject.toml (searched upwards from the program's folder):
      passes = ["constfold", "trace"]   include = ["myapp.*"]   exclude = [...]   cache = true
      [tool.bchook.options.trace]       one table of options per pass: out = "trace.log"
  BCHOOK_PASSES=goto,trace     BCHOOK_INCLUDE=pat,pat     BCHOOK_EXCLUDE=pat,pat
  BCHOOK_OPTIONS='trace.out=a.log;constfold.x=1'         BCHOOK_CACHE=0     BCHOOK_DISABLE=1
  BCHOOK_ROOTS=dir:dir (folders targeted without --include)   BCHOOK_CONFIG=path/pyproject.toml
  The runner exports its settings in these variables, so child processes are rewritten too
  wherever the autoload is installed. BCHOOK_DISABLE=1 turns bchook off everywhere.

exit status: the program's own; 2 for a usage error (one line on stderr, nothing run)."""


class _Exit(Exception):
    def __init__(self, status: int):
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as UsageError (one line) instead of exiting."""

    def error(self, message: str):
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


def _runner_parser() -> _Parser:
    parser = _Parser(
        prog=PROG, usage=_USAGE, description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument(
        "-p", "--passes", action="append", default=[], metavar="PASS[,PASS]",
        help="passes to apply, in order, the AST stages of all before any bytecode "
             "stage (repeatable; see `bchook passes`)")
    parser.add_argument(
        "--include", action="append", default=[], metavar="PAT",
        help="rewrite the modules whose dotted name matches this glob (repeatable; "
             "'myapp' and 'myapp.*' mean the package and everything below it; "
             "'*' means everything importable). Replaces the default folder targeting.")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PAT",
        help="never rewrite the modules matching this glob (repeatable; wins over --include)")
    parser.add_argument(
        "--no-cache", action="store_true",
        help="neither read nor write bchook's private .pyc cache")
    parser.add_argument(
        "-o", "--option", action="append", default=[], dest="options", metavar="PASS.KEY=VALUE",
        help="set an option of a pass (repeatable; the same PASS.KEY given again appends "
             "',VALUE' to its value)")
    parser.add_argument("--version", action="version", version=_version_text())
    parser.add_argument(
        "-m", dest="module", metavar="module",
        help="run a library module as a script, like `python -m module` (ends the options)")
    parser.add_argument(
        "-c", dest="code", metavar="code",
        help="run a program passed as a string, like `python -c code` (ends the options)")
    # Read by _split_runner_args, not by argparse: listed so that --help names them.
    parser.add_argument(
        "target", nargs="?", metavar="script|folder|module|-",
        help="what to run: a Python file, a folder with a __main__.py, a module name (as "
             "with -m) or - for a program on stdin; ends the options")
    parser.add_argument(
        "args", nargs="*", metavar="args",
        help="the program's own arguments (its sys.argv[1:]), never read by bchook")
    return parser


def _version_text() -> str:
    from . import __version__

    return f"{PROG} {__version__}"


# Runner options that take a value: needed to find where the program's own arguments begin.
_VALUE_OPTIONS = ("-p", "--passes", "--include", "--exclude", "-o", "--option")


def _split_runner_args(argv: Sequence[str]) -> tuple[list[str], str | None, str | None,
                                                     list[str]]:
    """``(options, kind, value, program_args)``: everything after the target belongs to the
    program, as with ``python``. ``kind`` is ``path``, ``module``, ``code``, ``stdin`` or
    None (no target)."""
    options: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            if i + 1 < len(argv):
                return options, "path", argv[i + 1], list(argv[i + 2:])
            return options, None, None, []
        if arg == "-":
            return options, "stdin", "-", list(argv[i + 1:])
        for flag, kind in (("-m", "module"), ("-c", "code")):
            if arg == flag:
                if i + 1 >= len(argv):
                    raise UsageError(f"argument {flag}: expected one argument")
                return options, kind, argv[i + 1], list(argv[i + 2:])
            if arg.startswith(flag) and not arg.startswith("--"):
                return options, kind, arg[2:], list(argv[i + 1:])
        if arg in _VALUE_OPTIONS:
            options.extend(argv[i:i + 2])
            i += 2
            continue
        if arg.startswith("-"):
            options.append(arg)
            i += 1
            continue
        return options, "path", arg, list(argv[i + 1:])
    return options, None, None, []


def _flags_layer(ns: argparse.Namespace) -> dict:
    flags: dict = {}
    if ns.passes:
        flags["passes"] = [name for spec in ns.passes for name in _config.split_list(spec)]
        if not flags["passes"]:
            raise UsageError("argument -p/--passes: expected pass names, e.g. -p constfold")
    for name in ("include", "exclude"):
        given = getattr(ns, name)
        if given:
            flags[name] = [p for spec in given for p in _config.split_list(spec)]
            if not flags[name]:
                raise UsageError(f"argument --{name}: expected module-name patterns, "
                                 f"e.g. --{name} 'myapp.*'")
    if ns.no_cache:
        flags["cache"] = False
    return flags


def _run(argv: Sequence[str]) -> int:
    from . import _registry, _runner

    options, kind, value, program_args = _split_runner_args(argv)
    ns = _runner_parser().parse_args(options)
    if kind is None:
        raise UsageError("nothing to run: give a script, a folder, -m module or -c code "
                         "(see bchook --help)")
    option_flags = _config.parse_option_flags(ns.options)
    flags = _flags_layer(ns)
    if kind == "stdin":
        value = sys.stdin.read()
    target = _runner.resolve_target(kind, value, program_args)
    start = target.root() if target.kind in ("script", "folder") else os.getcwd()
    settings = _config.resolve(flags, start=start)

    chain = list(settings.passes)
    for pass_name in option_flags:
        if pass_name not in chain:
            raise UsageError(
                f"option -o {pass_name}.{next(iter(option_flags[pass_name]))}=...: pass "
                f"{pass_name!r} is not in the chain (passes: {', '.join(chain) or 'none'})")
    # Options from the file or the environment may cover passes this run does not use.
    merged = {name: dict(table) for name, table in settings.options.items() if name in chain}
    for pass_name, table in option_flags.items():
        merged.setdefault(pass_name, {}).update(table)
    settings.options = merged
    passes = _registry.create_passes(chain, merged) if chain else []
    if settings.disabled:
        passes = []
    return _runner.run(target, passes, settings)


def _passes_command(argv: Sequence[str]) -> int:
    parser = _Parser(prog=f"{PROG} passes",
                     description="List every pass found through the bchook.passes entry "
                                 "points, built-in and plugins, in a stable order.")
    parser.parse_args(argv)
    from . import _registry

    rows = [("NAME", "VERSION", "DISTRIBUTION", "CLASS OR ERROR")]
    for info in _registry.available():
        dist = info.distribution or "?"
        if info.distribution_version:
            dist += " " + info.distribution_version
        if info.cls is not None:
            detail = info.value
            names = sorted(getattr(info.cls, "option_types", {}) or {})
            if names:
                detail += f"  (options: {', '.join(names)})"
        else:
            detail = f"error: {info.error} [entry point {info.name} = {info.value}]"
        rows.append((info.name, info.version or "-", dist, detail))
    if len(rows) == 1:
        print("no passes found (is bchook installed in this environment?)")
        return 1
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
    return 0


def _pth_command(argv: Sequence[str]) -> int:
    from . import _autoload

    parser = _Parser(prog=f"{PROG} pth",
                     description="Manage the start-up autoload: with it installed, every Python "
                                 "process of this environment that sets BCHOOK_PASSES runs "
                                 "under the hook (BCHOOK_DISABLE=1 turns it off).")
    sub = parser.add_subparsers(dest="action", metavar="{install,uninstall,status}",
                                help="what to do with the autoload")
    sub.required = True
    install = sub.add_parser(
        "install", help=f"write {' and '.join(_autoload.autoload_files())} into site-packages")
    install.add_argument("--user", action="store_true",
                         help="into the user site-packages instead")
    sub.add_parser("uninstall", help="remove the autoload's files (.pth or .start)")
    sub.add_parser("status", help="where it is and whether it is active")
    ns = parser.parse_args(argv)
    try:
        if ns.action == "install":
            path, changed = _autoload.install_pth(user=ns.user)
            print(f"{'installed' if changed else 'already installed'}: {path}")
        elif ns.action == "uninstall":
            removed = _autoload.uninstall_pth()
            for path in removed:
                print(f"removed: {path}")
            if not removed:
                print("not installed: nothing to remove")
        else:
            for line in _autoload.status():
                print(line)
    except OSError as exc:
        target = exc.filename or "site-packages"
        sys.stderr.write(f"{PROG}: error: cannot write {target}: {exc.strerror or exc}\n")
        return 1
    return 0


def _dis_command(argv: Sequence[str]) -> int:
    try:
        from ._dis import main as dis_main
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}._dis":
            raise
        raise UsageError("the dis command is not available in this installation") from None
    return dis_main(list(argv))


_COMMANDS = {"run": _run, "passes": _passes_command, "pth": _pth_command, "dis": _dis_command}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bchook`` script and ``python -m bchook``; returns the status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _lazy.hold()  # bchook's setup imports eagerly; the runner gives the program its mode back
    try:
        if argv and argv[0] in _COMMANDS:
            return _COMMANDS[argv[0]](argv[1:])
        return _run(argv)
    except _Exit as exc:
        return exc.status
    except (UsageError, PluginError) as exc:
        message = " ".join(str(exc).split("\n"))
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return 2
    finally:
        _lazy.release()
