"""``bchook trace merge`` and ``bchook trace diff``: profiles already written, read back.

    bchook trace merge FILES... [-o OUT]      one profile of many (e.g. one per process)
    bchook trace diff BEFORE AFTER [-o diff.html]   what changed between two runs

Inputs are any files ``bchook.trace`` writes, or cProfile's pstats files (see
:mod:`._readers` for what each format keeps). Without ``-o`` the result is printed as the
summary (merge) or as a table of the largest changes (diff).
"""

from __future__ import annotations

import argparse
import marshal
import os
import sys
from typing import Sequence

from ....frontends.cli import _parser as _argument_parser
from ....errors import UsageError
from . import _readers
from . import _summary
from . import _writers
from ._names import OUTPUT_SUFFIXES
from ._profile import Profile

__all__ = ["main"]

PROG = "bchook trace"


def _read(path: str) -> Profile:
    try:
        return _readers.read(path)
    except _readers.ReadError as exc:
        raise UsageError(str(exc)) from None


def _output_kind(path: str) -> str:
    from ._runtime import output_kind
    kind = output_kind(path)
    if kind is None:
        raise UsageError(f"-o {path}: unknown output extension (use one of "
                         f"{', '.join(OUTPUT_SUFFIXES)})")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # a typo must not leave a tree of new folders
        raise UsageError(f"-o {path}: no folder {folder}")
    return kind


def _write(profile: Profile, path: str, kind: str) -> None:
    try:
        _writers.write(profile, os.path.abspath(path), kind)
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None


def merge(ns) -> int:
    kind = _output_kind(ns.output) if ns.output else None
    if kind in (".prof", ".pstats") and all(
            _readers.kind_of(f) in (".prof", ".pstats") for f in ns.files):
        return _merge_pstats(ns.files, ns.output)  # exact: pstats adds its own tables
    profile = Profile.combine([_read(f) for f in ns.files])
    if kind is None:
        _print_summary(profile, ns)
    else:
        _check_filled(profile, ns.output, kind)
        _write(profile, ns.output, kind)
    return 0


def _check_filled(profile: Profile, path: str, kind: str) -> None:
    """Refuse to write a file the inputs have nothing for (calls into a lines file, line
    hits into a pstats file): it would look like a run that did nothing."""
    needed = _writers.needs(kind)
    if needed == "lines" and not (profile.lines or profile.statements):
        raise UsageError(f"-o {path}: this kind of file holds line hits, and no input has any")
    if needed == "calls" and not (profile.flat or any(n.func >= 0 for n in profile.nodes)):
        raise UsageError(f"-o {path}: this kind of file holds calls, and no input has any")


def _merge_pstats(files: list[str], out: str) -> int:
    import pstats
    try:
        stats = pstats.Stats(files[0])
        for f in files[1:]:
            stats.add(f)
    except (OSError, TypeError, ValueError, EOFError) as exc:
        raise UsageError(f"cannot read the pstats files: {exc}") from None
    try:
        data = marshal.dumps(stats.stats)
        with open(out, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    return 0


def diff(ns) -> int:
    if ns.output and _output_kind(ns.output) != ".html":
        raise UsageError(f"-o {ns.output}: diff writes an HTML page (-o NAME.html)")
    before, after = _read(ns.before), _read(ns.after)
    _name_alike(before, after)
    _name_alike(after, before)
    if ns.output:
        from . import _html
        title = f"{os.path.basename(ns.before)} \u2192 {os.path.basename(ns.after)}"
        text = _html.diff_page(before, after, title)
        try:
            _writers._atomic(os.path.abspath(ns.output), text.encode())
        except OSError as exc:
            raise UsageError(f"cannot write {ns.output}: {exc.strerror or exc}") from None
        return 0
    _print_diff(before, after, ns.limit)
    return 0


def _name_alike(profile: Profile, other: Profile) -> None:
    """Give ``profile``'s functions that go by their bare name (pstats files keep no
    qualified names: ``area``, not ``Square.area``) the qualified name ``other`` has for
    the same file, line and name, so that the diff compares them instead of showing one
    gone and one new."""
    def where(f) -> tuple:  # cProfile keeps the script's path as it was typed
        return (os.path.basename(f.filename), f.lineno, f.name)

    qualified: dict[tuple, set] = {}
    for f in other.functions:
        if f.qualname != f.name:
            qualified.setdefault(where(f), set()).add(f.qualname)
    for i, f in enumerate(profile.functions):
        names = qualified.get(where(f), ()) if f.qualname == f.name else ()
        if len(names) == 1:
            profile.functions[i] = f._replace(qualname=next(iter(names)))


def _key(row) -> tuple:
    location, qualname = row.name.split(" ", 1)
    return (location.rsplit(":", 1)[0], qualname)


def _print_diff(before: Profile, after: Profile, limit: int) -> None:
    namer = _summary.Namer()
    old = {_key(r): r for r in _summary.flat(before, namer)}
    new = {_key(r): r for r in _summary.flat(after, namer)}
    rows = []
    for key in set(old) | set(new):
        a, b = old.get(key), new.get(key)
        rows.append((
            (b.cum_ns if b else 0) - (a.cum_ns if a else 0),
            (b.own_ns if b else 0) - (a.own_ns if a else 0),
            a, b, (b or a).name))
    rows.sort(key=lambda r: (-abs(r[0]), r[4]))
    dur = _summary.duration
    tb, ta = before.traced_ns, after.traced_ns
    out = [f"bchook trace diff: {dur(tb)} -> {dur(ta)} in traced code ({_signed(ta - tb)})",
           f"{'before':>10} {'after':>10} {'change':>11} {'own change':>11} "
           f"{'calls':>15}  function"]
    counted = before.calls_counted and after.calls_counted
    for dc, do, a, b, name in rows[:limit] if limit > 0 else rows:
        calls = f"{a.calls if a else 0}->{b.calls if b else 0}" if counted else "-"
        out.append(f"{dur(a.cum_ns) if a else '-':>10} {dur(b.cum_ns) if b else '-':>10} "
                   f"{_signed(dc):>11} {_signed(do):>11} {calls:>15}  {name}")
    if limit > 0 and len(rows) > limit:
        out.append(f"(top {limit} of {len(rows)} by the change of cumulative time; "
                   "--limit N for more, -o diff.html for the flame graph)")
    print("\n".join(out))


def _signed(ns: float) -> str:
    return ("+" if ns > 0 else "") + _summary.duration(ns)


def _print_summary(profile: Profile, ns) -> None:
    header = ""
    if len(profile.processes) > 1:
        header = f"{len(profile.processes)} processes: " + ", ".join(
            f"pid {pid}" for pid, _ in profile.processes)
    _summary.summary(profile, sys.stdout, sort=ns.sort, limit=ns.limit, callers=ns.callers,
                     view="tree" if ns.tree else "table", header=header, spell=_as_flag)


def _as_flag(option: str, value: str) -> str:
    """The hints of the summary, in this command's flags."""
    if option == "buffer":  # not this command's: how the profile was recorded
        return f"trace.{option}={value} when recording"
    return "--tree" if option == "summary" else f"--{option} {value}"


def _rows(text: str) -> int:
    """``--limit``: as ``-o trace.limit``, a number of rows, 0 for all."""
    try:
        rows = int(text)
        if rows >= 0:
            return rows
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected a number of rows, 0 for all, got {text!r}")


def _parser():
    parser = _argument_parser(prog=PROG, description="Read back profiles bchook.trace wrote (any "
                     "output format) or pstats files: merge them, or compare two.")
    sub = parser.add_subparsers(dest="command", metavar="{merge,diff}",
                                help="what to do with the profiles")
    sub.required = True
    m = sub.add_parser("merge", help="combine profiles (one per process, or several runs) "
                       "into one", description="Combine profiles into one: the same "
                       "function is one function, each thread stays a thread, line hits "
                       "add up. pstats files merged into a pstats file are added exactly.")
    m.add_argument("files", nargs="+", metavar="FILE",
                   help="profiles bchook wrote (any format) or pstats files")
    m.add_argument("-o", "--output", metavar="OUT",
                   help="write the result here, in the format its extension names; "
                        "without it, print the summary")
    m.add_argument("--sort", choices=_summary.SORTS, default="cumtime",
                   help="the summary table's order (default: cumtime)")
    m.add_argument("--limit", type=_rows, default=_summary.DEFAULT_LIMIT,
                   help=f"rows of the summary table (default {_summary.DEFAULT_LIMIT}; 0: all)")
    m.add_argument("--callers", metavar="NAME", default="",
                   help="print the callers and callees of this function instead")
    m.add_argument("--tree", action="store_true",
                   help="print the call tree with percentages instead of the table")
    d = sub.add_parser("diff", help="compare two profiles: what a change bought",
                       description="Compare two profiles. Functions are matched by file "
                       "and qualified name, so moved lines still match.")
    d.add_argument("before", metavar="BEFORE", help="the profile to compare against")
    d.add_argument("after", metavar="AFTER", help="the profile after the change")
    d.add_argument("-o", "--output", metavar="OUT.html",
                   help="write an HTML page: the flame graph of AFTER coloured by the "
                        "change, the table and the call tree with before/after columns; "
                        "without it, print the largest changes")
    d.add_argument("--limit", type=_rows, default=_summary.DEFAULT_LIMIT,
                   help="rows of the table printed without -o (0: all)")
    return parser


COMMANDS = {"merge": merge, "diff": diff}


def main(argv: Sequence[str]) -> int:
    ns = _parser().parse_args(argv)
    return COMMANDS[ns.command](ns)
