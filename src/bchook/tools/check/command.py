"""``bchook check``: does a chain of passes change what programs do?

    bchook check -p shout                         # the corpus and 100 generated programs
    bchook check -p shout --programs 500 --pad    # more, and with a NOP before every instruction
    bchook check -p shout --python python3.13 --python python3.14
    bchook check -p constfold --cpython-tests     # and a slice of CPython's own tests
    bchook check -p shout app.py src/             # and programs of your own

Exit status 0 when every program did the same plainly and under the chain, 1 when one did
not (each is one line, with a reproduction file), 2 for a usage error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

from ...errors import UsageError

__all__ = ["main"]

PROG = "bchook check"

DESCRIPTION = """\
Check that a chain of passes keeps the meaning of programs. Each program runs plainly and
under the chain, in worker processes of their own, and everything it does is compared:
stdout and stderr, return values, exceptions (type, args, traceback line numbers), warnings,
the final globals, and the sys.settrace line events when every pass of the chain says
keeps_lines. The programs: bchook's corpus of tricky programs (closures, generators, async,
try/finally/with, match, walrus, comprehensions, class bodies, decorators, global/nonlocal,
star-args, operators, the 3.14/3.15 features), N generated programs (drawn by hypothesis,
with some from hypothesmith's grammar, when they are installed; by bchook's own generator
otherwise), your own programs if you name them, and with --cpython-tests a slice of
CPython's test suite run under --include '*'."""

EPILOG = """\
Each difference is one line, and the program is cut down to a small reproduction written
into the --out folder (compare python FILE with bchook -p CHAIN FILE). A summary table ends
the report.

exit status: 0 no difference; 1 a difference; 2 a usage error (one line on stderr)."""


def _parser():
    import argparse

    from ...frontends.cli import _parser as cli_parser

    p = cli_parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-p", "--passes", action="append", default=[], metavar="PASS[,PASS]",
                   required=True,
                   help="the chain to check, in order (repeatable); built-in passes and "
                        "plugins alike, by name (bchook passes lists them)")
    p.add_argument("-o", "--option", action="append", default=[], metavar="PASS.KEY=VALUE",
                   help="an option of a pass of the chain (repeatable)")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="programs of your own to check as well: Python files, or folders "
                        "(their .py files, recursively)")
    p.add_argument("--programs", type=_count, default=100, metavar="N",
                   help="how many generated programs (default: 100; 0 for none)")
    p.add_argument("--no-corpus", action="store_true",
                   help="leave out bchook's corpus of hand-written tricky programs")
    p.add_argument("--pad", action="store_true",
                   help="also check the chain after identity -o identity.pad=1, which puts "
                        "a NOP before every instruction: an IR pass then meets jumps to NOPs "
                        "and instructions that are no longer neighbours")
    p.add_argument("--cpython-tests", action="store_true",
                   help="also run a slice of CPython's own test suite plainly and under the "
                        "chain with --include '*' (minutes; needs the test package)")
    p.add_argument("--cpython-modules", metavar="MODULE[,MODULE]",
                   help="the test modules for --cpython-tests (default: a dozen modules of "
                        "the language's core)")
    p.add_argument("--python", action="append", default=[], metavar="PY",
                   help="run the check under this interpreter (repeatable; default: the one "
                        "running bchook); bchook must be importable there, with the chain's "
                        "passes")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="which generated programs (default: 0): the same seed gives the same "
                        "programs")
    p.add_argument("--generator", choices=("auto", "builtin", "hypothesis"), default="auto",
                   help="who draws the generated programs: hypothesis (and hypothesmith) "
                        "when installed (auto, the default), or bchook's own generator")
    p.add_argument("--out", metavar="DIR", default="bchook-check",
                   help="where reproduction files go (default: ./bchook-check, made only "
                        "when something differs)")
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                   help="how long one program may run (default: 60)")
    p.add_argument("--no-minimize", action="store_true",
                   help="write the programs that differ as they are, without cutting them "
                        "down")
    return p


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise ValueError(f"expected 0 or more, got {value}")
    return value


_count.__name__ = "count"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"expected more than 0 seconds, got {text}")
    return value


_seconds.__name__ = "seconds"


def main(argv: Sequence[str]) -> int:
    from ...config import parse_option_flags, split_list
    from . import cpython, session
    from .worker import WorkerError, chain_spec

    ns = _parser().parse_args(list(argv))
    names = [name for spec in ns.passes for name in split_list(spec)]
    if not names:
        raise UsageError("argument -p/--passes: expected pass names, e.g. -p identity")
    spec = chain_spec(names, parse_option_flags(ns.option))
    if ns.cpython_modules is not None and not ns.cpython_tests:
        raise UsageError("--cpython-modules needs --cpython-tests")
    modules = None
    if ns.cpython_tests:
        modules = split_list(ns.cpython_modules) if ns.cpython_modules else cpython.QUICK
        if not modules:
            raise UsageError("--cpython-modules: expected test module names, e.g. "
                             "test_grammar")
    if ns.generator == "hypothesis":
        from . import generate

        if not generate.have_hypothesis():
            raise UsageError("--generator hypothesis: hypothesis is not installed (pip "
                             "install hypothesis, or use --generator builtin)")
    settings = session.Settings(
        spec=spec, programs=ns.programs, corpus=not ns.no_corpus, pad=ns.pad,
        files=_own_programs(ns.files),
        pythons=ns.python or [sys.executable], seed=ns.seed, generator=ns.generator,
        cpython_modules=modules, out=ns.out, timeout=ns.timeout,
        minimize=not ns.no_minimize, echo=_echo)
    try:
        report = session.run(settings)
    except WorkerError as exc:
        raise UsageError(str(exc)) from None
    print()
    print(report.table())
    print()
    print(report.verdict() if not report.out else
          report.verdict().replace(report.out, os.path.abspath(report.out)))
    return 0 if report.ok else 1


def _own_programs(given: list[str]) -> list[str]:
    found = []
    for name in given:
        if os.path.isdir(name):
            found += sorted(str(p) for p in Path(name).rglob("*.py"))
        elif os.path.isfile(name):
            found.append(name)
        else:
            raise UsageError(f"argument FILE: {name}: no such file or folder")
    return found


def _echo(line: str) -> None:
    print(line, flush=True)
