"""The ``bchook`` command (also ``python -m bchook``).

``main(argv) -> int`` never prints an internal traceback for bad input: a usage error is
one line on stderr, ``bchook: error: ...``, and exit status 2.

The runner's flags are declared once, in ``RUNNER_FLAGS``. A good command line is read by
a small parser of its own: argparse (and the ``re``, ``gettext``... it imports) would cost
milliseconds at every start-up, and every module the runner imports before the hook is in
place is one the hook cannot rewrite. ``--help`` and a command line with nothing to run go
through an argparse parser built from the same table, as do the subcommands (``passes``,
``pth``, ``dis``, ``cache``); the README's table of flags comes from it too.
"""

from __future__ import annotations

import os
import sys

from .. import config as _config
from ..hook import lazy as _lazy
from ..errors import PluginError, UsageError

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Sequence

    from ..pipeline.api import Pass

__all__ = ["main", "RUNNER_FLAGS", "runner_help", "option_rows", "builtin_pass_classes"]

PROG = "bchook"


class Flag:
    """One flag of the runner: its spellings, what it takes (``metavar``; None for a
    switch) and its one-line meaning. ``ends``: the flag names the program (``-m``,
    ``-c``), so everything after its value belongs to the program. ``doc``: the README's
    wording where it differs from the help's."""

    __slots__ = ("names", "dest", "metavar", "help", "ends", "doc")

    def __init__(self, names: tuple[str, ...], dest: str, metavar: str | None, help: str,
                 ends: bool = False, doc: str | None = None):
        self.names = names
        self.dest = dest
        self.metavar = metavar
        self.help = help
        self.ends = ends
        self.doc = doc or help

    @property
    def label(self) -> str:
        """How argparse names it in messages: ``-p/--passes``."""
        return "/".join(self.names)


RUNNER_FLAGS = (
    Flag(("-p", "--passes"), "passes", "PASS[,PASS]",
         "passes to apply, in that order, the AST stages of all before any bytecode stage "
         "(repeatable); `bchook passes` lists them",
         doc="passes to apply, in that order, the AST stages of all of them before any "
             "bytecode stage (repeatable); `bchook passes` lists them"),
    Flag(("--include",), "include", "PAT",
         "rewrite the modules whose dotted name matches the glob (repeatable; `myapp` and "
         "`myapp.*` both mean the package and everything below it; `'*'` means every "
         "module imported after the hook is installed). Replaces the default targeting; "
         "the main script is rewritten either way"),
    Flag(("--exclude",), "exclude", "PAT",
         "never rewrite the modules matching the glob (repeatable; wins over `--include`; "
         "`--exclude __main__` leaves the main script alone)"),
    Flag(("--no-cache",), "no_cache", None,
         "neither read nor write bchook's private `.pyc` cache"),
    Flag(("-o", "--option"), "options", "PASS.KEY=VALUE",
         "an option of a pass of the chain (repeatable); giving the same `PASS.KEY` again "
         "appends `,VALUE` to its value"),
    Flag(("-m",), "module", "module",
         "run a module as a script, as `python -m module` does (ends the options)", ends=True),
    Flag(("-c",), "code", "code",
         "run a program passed as a string, as `python -c code` does (ends the options)",
         ends=True),
    Flag(("--version",), "version", None, "print bchook's version and exit"),
    Flag(("-h", "--help"), "help", None, "show this help and exit"),
)

#: The runner's positional arguments, for its help (read by ``parse_runner_args``).
RUNNER_ARGUMENTS = (
    ("script|folder|module|-", "what to run: a Python file, a folder with a __main__.py or "
                               "a zip file, a module name (as with -m) or - for a program "
                               "on stdin; ends the options"),
    ("args", "the program's own arguments (its sys.argv[1:]), never read by bchook"),
)

_USAGE = f"""\
{PROG} [-p PASS[,PASS]]... [--include PAT]... [--exclude PAT]... [--no-cache]
              [-o PASS.KEY=VALUE]... (script | folder | module | -m module | -c code | -) [args...]
       {PROG} run [same as above]
       {PROG} passes
       {PROG} pth install [--user] | uninstall | status
       {PROG} dis ...
       {PROG} cache info [PATH] | clear [PATH]
       {PROG} trace merge FILES... [-o OUT] | diff BEFORE AFTER [-o diff.html]
       {PROG} check -p CHAIN [--programs N] [--cpython-tests] [--python PY]... [--pad]
       {PROG} new-pass NAME [--bytecode | --ast] [DIR]
       {PROG} --version"""

_DESCRIPTION = """\
Run a Python program with its modules rewritten at import time by a chain of passes, exactly
as `python script args...` would run it (same sys.argv, sys.path[0], __main__ module, output
and exit status). `python -m bchook ...` is the same command.

The program's own modules are rewritten, and the main script (or -c code) always, unless
--exclude __main__: by default every module under the script's folder (with -m, -c or -:
the current folder), never the standard library, site-packages or bchook itself. A bare
target that is an importable package in the current folder, or that is neither a file nor
a folder, runs as a module, as with -m."""

_EPILOG = """\
commands:
  run ...               run a program (the default when the first argument is not a command)
  passes                list every pass found (built-in and plugins) with versions,
                        distributions and options; a plugin that fails to load is shown with
                        its error
  pth install [--user]  install the start-up autoload into this environment's site-packages
                        (or the user site): every Python process that sets BCHOOK_PASSES is
                        rewritten (a .pth file; from Python 3.15 a .start file and its module)
  pth uninstall         remove it, in either form (do this before `pip uninstall bchook`)
  pth status            where it is installed and whether it is active
  dis ...               disassemble with bchook's IR (see `bchook dis --help`)
  cache info [PATH]     where bchook's cache of the sources under PATH (default: the
                        current folder) is, how many files and bytes, per settings key
  cache clear [PATH]    remove those files, and say what was removed
  trace merge FILES... [-o OUT]   combine profiles (e.g. one per process) into one
  trace diff BEFORE AFTER [-o diff.html]   compare two profiles
  check -p CHAIN ...    run tricky and generated programs plainly and under a chain and
                        report every difference (see `bchook check --help`)
  new-pass NAME         write a new pass as a distribution ready to install, with its tests

configuration (flags > environment > pyproject.toml):
  [tool.bchook] in the nearest pyproject.toml (searched upwards from the program's folder):
      passes = ["constfold", "trace"]   include = ["myapp.*"]   exclude = [...]   cache = true
      [tool.bchook.options.trace]       one table of options per pass: output = "trace.prof"
  BCHOOK_PASSES=goto,trace     BCHOOK_INCLUDE=pat,pat     BCHOOK_EXCLUDE=pat,pat
  BCHOOK_OPTIONS='trace.output=a.prof;identity.pad=1'    BCHOOK_CACHE=0     BCHOOK_DISABLE=1
  BCHOOK_ROOTS=dir:dir (folders targeted without --include)   BCHOOK_CONFIG=path/pyproject.toml
  Options must name a pass of the chain, wherever they are given (-o, BCHOOK_OPTIONS or the
  file): an option for another pass is a usage error.
  The runner exports its settings in these variables, so child processes are rewritten too
  wherever the autoload is installed. BCHOOK_DISABLE=1 turns bchook off everywhere.

exit status: the program's own; 2 for a usage error (one line on stderr, nothing run)."""


# -- option specs as text: --help, `bchook passes` and the README ---------------------------

def builtin_pass_classes() -> list[type[Pass]]:
    """The built-in passes, by name (importing them; for help texts only)."""
    from ..pipeline import registry as _registry

    return [_registry.load_pass_class(name) for name in sorted(_registry.BUILTIN)]


def option_rows(cls: type[Pass]) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, meaning)`` of each option of ``cls``, from its specs."""
    return [(spec.name, spec.type, spec.default_text(), spec.help)
            for spec in cls.option_specs]


def _columns(rows: list[tuple[str, ...]], indent: str) -> list[str]:
    """Rows aligned in columns; the last column is left ragged."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [(indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  "
             + row[-1]).rstrip() for row in rows]


def _help_item(head: str, text: str) -> list[str]:
    """``head`` and its wrapped meaning in argparse's layout."""
    import textwrap

    indent = 24  # argparse's own layout for the flags above
    wrapped = textwrap.wrap(text.replace("`", ""), 88 - indent) or [""]
    head = "  " + head
    lines = [head.ljust(indent) + wrapped[0]] if len(head) <= indent - 2 else \
        [head, " " * indent + wrapped[0]]
    return lines + [" " * indent + more for more in wrapped[1:]]


def _pass_options_help() -> str:
    lines = ["options of the built-in passes (-o PASS.KEY=VALUE; `bchook passes` lists the "
             "plugins' too):"]
    for cls in builtin_pass_classes():
        for name, type_, default, meaning in option_rows(cls):
            lines += _help_item(f"{cls.name}.{name}={type_}", f"{meaning} (default: {default})")
    return "\n".join(lines)


def _runner_parser():
    """The runner's command line as argparse sees it, built from ``RUNNER_FLAGS``: for
    ``--help`` and for a command line with nothing to run (a good one never needs it)."""
    import argparse

    parser = _parser(prog=PROG, usage=_USAGE, description=_DESCRIPTION,
                     epilog=f"{_pass_options_help()}\n\n{_EPILOG}", add_help=False,
                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    for flag in RUNNER_FLAGS:
        text = flag.help.replace("`", "")
        if flag.dest == "help":
            parser.add_argument(*flag.names, action="help", help=text)
        elif flag.dest == "version":
            parser.add_argument(*flag.names, action="version", version=_version_text(),
                                help=text)
        elif flag.metavar is None:
            parser.add_argument(*flag.names, dest=flag.dest, action="store_true", help=text)
        elif flag.ends:
            parser.add_argument(*flag.names, dest=flag.dest, metavar=flag.metavar, help=text)
        else:
            parser.add_argument(*flag.names, dest=flag.dest, metavar=flag.metavar,
                                action="append", default=[], help=text)
    (target, target_help), (args, args_help) = RUNNER_ARGUMENTS
    parser.add_argument("target", nargs="?", metavar=target, help=target_help)
    parser.add_argument("args", nargs="*", metavar=args, help=args_help)
    return parser


def _version_text() -> str:
    from .. import __version__

    return f"{PROG} {__version__}"


def runner_help() -> str:
    """``bchook --help``: generated from ``RUNNER_FLAGS`` and the passes' option specs."""
    return _runner_parser().format_help()


# -- the runner's command line -------------------------------------------------------------

class _Exit(Exception):
    def __init__(self, status: int):
        self.status = status


class RunnerArgs:
    """The runner's flags, and what to run: ``kind`` is ``path``, ``module``, ``code``,
    ``stdin`` or None (no target); everything after the target is ``program_args``."""

    def __init__(self):
        self.passes: list[str] = []
        self.include: list[str] = []
        self.exclude: list[str] = []
        self.options: list[str] = []
        self.no_cache = False
        self.kind: str | None = None
        self.value: str | None = None
        self.program_args: list[str] = []


def _flag_for(arg: str) -> tuple[Flag | None, str | None]:
    """The flag ``arg`` spells and the value written in it (``--passes=x``, ``-px``)."""
    name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
    for flag in RUNNER_FLAGS:
        if name in flag.names:
            return flag, (inline if eq else None)
        if not arg.startswith("--") and flag.metavar and any(
                len(n) == 2 and arg.startswith(n) for n in flag.names):
            return flag, arg[2:]
    return None, None


def parse_runner_args(argv: Sequence[str]) -> RunnerArgs:
    """Read the runner's flags up to the target, as argparse would (the same messages)."""
    args = RunnerArgs()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            if i + 1 < len(argv):
                args.kind, args.value, args.program_args = "path", argv[i + 1], \
                    list(argv[i + 2:])
            return args
        if arg == "-":
            args.kind, args.value, args.program_args = "stdin", "-", list(argv[i + 1:])
            return args
        if not arg.startswith("-"):
            args.kind, args.value, args.program_args = "path", arg, list(argv[i + 1:])
            return args
        flag, value = _flag_for(arg)
        if flag is None:
            raise UsageError(f"unrecognized arguments: {arg}")
        i += 1
        if flag.metavar is None:
            if value is not None:
                raise UsageError(f"argument {flag.label}: ignored explicit argument {value!r}")
            if flag.dest == "help":
                _runner_parser().parse_args([arg])  # prints the help, then _Exit(0)
            if flag.dest == "version":
                sys.stdout.write(_version_text() + "\n")
                raise _Exit(0)
            args.no_cache = True
            continue
        if value is None:
            if i >= len(argv) or (not flag.ends and argv[i].startswith("-") and argv[i] != "-"):
                raise UsageError(f"argument {flag.label}: expected one argument")
            value = argv[i]
            i += 1
        if flag.ends:
            args.kind, args.value, args.program_args = flag.dest, value, list(argv[i:])
            return args
        getattr(args, flag.dest).append(value)
    return args


def _flags_layer(args: RunnerArgs) -> dict:
    flags: dict = {}
    if args.passes:
        flags["passes"] = [name for spec in args.passes for name in _config.split_list(spec)]
        if not flags["passes"]:
            raise UsageError("argument -p/--passes: expected pass names, e.g. -p constfold")
    for name in ("include", "exclude"):
        given = getattr(args, name)
        if given:
            flags[name] = [p for spec in given for p in _config.split_list(spec)]
            if not flags[name]:
                raise UsageError(f"argument --{name}: expected module-name patterns, "
                                 f"e.g. --{name} 'myapp.*'")
    if args.no_cache:
        flags["cache"] = False
    if args.options:
        flags["options"] = _config.parse_option_flags(args.options)
    return flags


def _run(argv: Sequence[str]) -> int:
    from . import runner as _runner

    args = parse_runner_args(argv)
    if args.kind is None:
        _runner_parser().parse_args(argv)  # what argparse says about these flags, if anything
        raise UsageError("nothing to run: give a script, a folder, -m module or -c code "
                         "(see bchook --help)")
    flags = _flags_layer(args)
    value = sys.stdin.read() if args.kind == "stdin" else args.value
    target = _runner.resolve_target(args.kind, value, args.program_args)
    start = target.root() if target.kind in ("script", "folder") else os.getcwd()
    settings = _config.resolve(flags, start=start)
    return _runner.run(target, _config.create_chain(settings), settings)


# -- subcommands ---------------------------------------------------------------------------

def _parser(**kwargs):
    """argparse that reports errors as UsageError (one line) instead of exiting."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):
            raise UsageError(message)

        def exit(self, status: int = 0, message: str | None = None):
            if message:
                sys.stderr.write(message)
            raise _Exit(status)

    return Parser(**kwargs)


def _passes_command(argv: Sequence[str]) -> int:
    parser = _parser(prog=f"{PROG} passes",
                     description="List every pass found through the bchook.passes entry "
                                 "points, built-in and plugins, in a stable order, with "
                                 "each option's type, default and meaning.")
    parser.parse_args(argv)
    from ..pipeline import registry as _registry

    rows = [("NAME", "VERSION", "DISTRIBUTION", "CLASS OR ERROR")]
    options: dict[int, list[str]] = {}
    for info in _registry.available():
        dist = info.distribution or "?"
        if info.distribution_version:
            dist += " " + info.distribution_version
        if info.cls is not None:
            detail = info.value
            option_lines = _columns([(f"-o {info.name}.{name}={type_}", f"default {default}",
                                      meaning) for name, type_, default, meaning
                                     in option_rows(info.cls)], "    ")
            options[len(rows)] = option_lines or ["    (no options)"]
        else:
            detail = f"error: {info.error} [entry point {info.name} = {info.value}]"
        rows.append((info.name, info.version or "-", dist, detail))
    if len(rows) == 1:
        print("no passes found (is bchook installed in this environment?)")
        return 1
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
        for line in options.get(i, ()):
            print(line)
    return 0


def _pth_command(argv: Sequence[str]) -> int:
    from . import autoload as _autoload

    parser = _parser(prog=f"{PROG} pth",
                     description="Manage the start-up autoload: with it installed, every Python "
                                 "process of this environment that sets BCHOOK_PASSES runs "
                                 "under the hook (BCHOOK_DISABLE=1 turns it off). Run `bchook "
                                 "pth uninstall` before `pip uninstall bchook`.")
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
    if ns.action == "status":
        lines = _autoload.status()
    else:
        try:
            if ns.action == "install":
                path, changed = _autoload.install_pth(user=ns.user)
                lines = [f"{'installed' if changed else 'already installed'}: {path}"]
            else:
                lines = [f"removed: {path}" for path in _autoload.uninstall_pth()] or \
                    ["not installed: nothing to remove"]
        except OSError as exc:
            target = exc.filename or "site-packages"
            sys.stderr.write(f"{PROG}: error: cannot write {target}: {exc.strerror or exc}\n")
            return 1
    for line in lines:
        print(line)
    return 0


def _cache_command(argv: Sequence[str]) -> int:
    from . import cache as _cache_report

    parser = _parser(prog=f"{PROG} cache",
                     description="Look at or clear bchook's cache of rewritten modules. A "
                                 "folder's cache files are in the __pycache__ folders under "
                                 "it, under sys.pycache_prefix when one is set, and in the "
                                 "user cache folder (where bchook writes when Python writes "
                                 "no bytecode, as with PYTHONDONTWRITEBYTECODE): both "
                                 "commands look in all three, for the sources under PATH "
                                 "(by default the current folder, as coverage and pytest "
                                 "keep their data in the project folder they run in).")
    sub = parser.add_subparsers(dest="action", metavar="{info,clear}",
                                help="what to do with the cache")
    sub.required = True
    path_help = ("the folder whose sources' cache files to {} (default: the current "
                 "folder); a folder inside a cache folder is {} whole")
    info = sub.add_parser("info", help="where the cache is, how many files and bytes, per "
                                       "settings key (passes and options)",
                          description="Where bchook's cache of the sources under PATH is, "
                                      "how many files and bytes it holds, per settings key.")
    info.add_argument("path", nargs="?", default=".", metavar="PATH",
                      help=path_help.format("count", "counted"))
    info.add_argument("-v", "--verbose", action="store_true", help="list every file too")
    clear = sub.add_parser("clear", help="remove the cache files and say what was removed",
                           description="Remove bchook's cache files of the sources under "
                                       "PATH (and the __pycache__ folders left empty); "
                                       "Python's own pycs stay. Always safe: a module "
                                       "whose file is gone is rewritten at its next import.")
    clear.add_argument("path", nargs="?", default=".", metavar="PATH",
                       help=path_help.format("remove", "cleared"))
    clear.add_argument("-v", "--verbose", action="store_true",
                       help="list every file removed too")
    ns = parser.parse_args(argv)
    if not os.path.exists(ns.path):
        raise UsageError(f"cache {ns.action}: no such folder: {ns.path}")
    if not os.path.isdir(ns.path):
        raise UsageError(f"cache {ns.action}: {ns.path} is not a folder (give the folder "
                         f"whose sources' cache to {'count' if ns.action == 'info' else 'clear'})")
    if ns.action == "info":
        for line in _cache_report.info_lines(ns.path, ns.verbose):
            print(line)
        return 0
    lines, errors = _cache_report.clear(ns.path, ns.verbose)
    for line in lines:
        print(line)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        sys.stderr.write(f"{PROG}: error: could not remove {errors[0]}{more}\n")
        return 1
    return 0


def _dis_command(argv: Sequence[str]) -> int:
    try:
        from ..tools.dis.command import main as dis_main
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(__name__.partition(".")[0] + ".tools"):
            raise
        raise UsageError("the dis command is not available in this installation") from None
    return dis_main(list(argv))


def _trace_command(argv: Sequence[str]) -> int:
    from ..passes.trace.runtime._command import main as trace_main
    return trace_main(list(argv))


def _check_command(argv: Sequence[str]) -> int:
    from ..tools.check.command import main as check_main
    return check_main(list(argv))


def _new_pass_command(argv: Sequence[str]) -> int:
    from ..tools.newpass import main as new_pass_main
    return new_pass_main(list(argv))


_COMMANDS = {"run": _run, "passes": _passes_command, "pth": _pth_command, "dis": _dis_command,
             "cache": _cache_command, "trace": _trace_command, "check": _check_command,
             "new-pass": _new_pass_command}


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
    except BrokenPipeError:
        # The reader went away (`bchook passes | head -1`): it had what it wanted. Stop
        # quietly (as `bchook dis` does), with nothing more written to the pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, PluginError) as exc:
        message = " ".join(str(exc).split("\n"))
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return 2
    finally:
        _lazy.release()
