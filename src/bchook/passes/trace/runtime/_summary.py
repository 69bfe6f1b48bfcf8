"""The summary a traced program prints on stderr at exit, and the names every report uses.

One table by default: the top functions by cumulative time, times scaled to what they
are (``1.23 s``, ``45.6 ms``, ``789 µs``), each function as ``pkg/mod.py:123 qualname``
(relative to the folder above its top package, or to the current folder, so that it
reads the same on every machine). ``trace.sort``, ``trace.limit``, ``trace.callers=NAME``
(who calls NAME and what it calls) and ``trace.summary=tree`` (the call tree with
percentages, small calls folded into one line) choose other views. In ``lines`` mode a
table of lines run and not run per file, with the ranges not run, as ``coverage report
-m`` prints them.
"""

from __future__ import annotations

import os
from typing import IO, Callable, NamedTuple

from ._profile import Function, Profile

__all__ = ["summary", "duration", "Namer", "flat", "SORTS", "SUMMARIES"]

SORTS = ("cumtime", "tottime", "calls", "name")
SUMMARIES = ("table", "tree", "off")
DEFAULT_LIMIT = 25
#: Calls under this share of the total fold into one line of the tree.
TREE_MIN_SHARE = 0.01
TREE_MAX_DEPTH = 40


def duration(ns: float) -> str:
    """Nanoseconds as a person reads them: three significant digits, unit to fit."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(ns) >= scale:
            break
    else:
        return f"{ns:.0f} ns"
    value = ns / scale
    digits = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    return f"{value:.{digits}f} {unit}"


class Namer:
    """Short, stable names of files and functions (one per profile: it caches)."""

    def __init__(self, cwd: str | None = None):
        self.cwd = os.path.realpath(cwd or os.getcwd())
        self._paths: dict[str, str] = {}

    def path(self, filename: str) -> str:
        short = self._paths.get(filename)
        if short is None:
            short = self._paths[filename] = self._shorten(filename)
        return short

    def _shorten(self, filename: str) -> str:
        if not os.path.isabs(filename):
            return filename  # "<string>", "<frozen runpy>", already relative
        folder = os.path.dirname(filename)
        top = None
        while os.path.isfile(os.path.join(folder, "__init__.py")):
            top = folder
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        if top is not None:  # inside a package: from the folder that holds the package
            return os.path.relpath(filename, os.path.dirname(top)).replace(os.sep, "/")
        real = os.path.realpath(filename)
        if real == self.cwd or real.startswith(self.cwd + os.sep):
            return os.path.relpath(real, self.cwd).replace(os.sep, "/")
        return os.path.basename(filename)

    def function(self, f: Function) -> str:
        return f"{self.path(f.filename)}:{f.lineno} {f.qualname}"


class Row(NamedTuple):
    label: tuple          # pstats' (file, line, name)
    name: str             # pkg/mod.py:12 qualname
    calls: int
    primitive: int
    own_ns: int
    cum_ns: int
    callers: dict         # {caller label: (calls, primitive, own s, cum s)}


def flat(profile: Profile, namer: Namer | None = None) -> list[Row]:
    """The flat profile (cProfile's counting rules), one row per function."""
    namer = namer or Namer()
    by_label: dict[tuple, Function] = {}
    for f in profile.functions:
        by_label.setdefault(f.label, f)
    return [Row(label, namer.function(by_label[label]), nc, cc, round(tt * 1e9),
                round(ct * 1e9), callers)
            for label, (cc, nc, tt, ct, callers) in profile.stats().items()]


#: How a front end writes ``trace.OPTION=VALUE`` in the hints (``-o`` for the runner).
Spelling = Callable[[str, str], str]


def as_option(option: str, value: str) -> str:
    return f"-o trace.{option}={value}"


def _sorted(rows: list[Row], sort: str) -> list[Row]:
    if sort == "tottime":
        return sorted(rows, key=lambda r: (-r.own_ns, r.name))
    if sort == "calls":
        return sorted(rows, key=lambda r: (-r.calls, r.name))
    if sort == "name":
        return sorted(rows, key=lambda r: (r.name.split(" ", 1)[1], r.name))  # as pstats
    return sorted(rows, key=lambda r: (-r.cum_ns, r.name))


def _calls(calls: int, primitive: int, counted: bool = True) -> str:
    if not counted:
        return "-"
    return str(calls) if calls == primitive else f"{calls}/{primitive}"


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f}%" if whole > 0 else "     -"


def summary(profile: Profile, stream: IO[str], *, sort: str = "cumtime",
            limit: int = DEFAULT_LIMIT, callers: str = "", view: str = "table",
            header: str = "", cwd: str | None = None, spell: Spelling = as_option,
            dropped_note: bool = True, empty_because: str = "") -> None:
    """Write the summary of ``profile`` to ``stream``. ``header`` (the process's pid and
    command line) goes first when given; the hints name options as ``spell`` writes them;
    ``dropped_note=False`` leaves out the line on timeline events the ring buffer dropped
    (for a caller that says it in its own words); ``empty_because`` says why nothing may
    have been recorded."""
    out: list[str] = []
    if header:
        out.append(f"bchook trace: {header}")
    namer = Namer(cwd)
    rows = flat(profile, namer) if profile.nodes else []
    if rows:
        total = profile.traced_ns
        counted = profile.calls_counted
        calls = f"{_count(sum(r.calls for r in rows), 'call')} of " if counted else ""
        out.append(f"bchook trace: {calls}{_count(len(rows), 'function')}, "
                   f"{duration(total)} in traced code"
                   + (f" ({len(profile.threads)} threads)" if len(profile.threads) > 1 else "")
                   + ("" if counted else "; calls not counted (the input has call paths "
                      "and times only)"))
        if callers:
            out += _callers(rows, callers, spell, counted)
        elif view == "tree":
            out += _tree(profile, namer, total, counted)
        else:
            out += _table(rows, sort, limit, total, spell, counted)
    if profile.lines or profile.statements:
        out += _lines(profile, namer)
    if profile.rewritten or profile.rewrite_ns:
        out.append(f"bchook rewrote {profile.rewritten} module"
                   f"{'s' if profile.rewritten != 1 else ''} in {duration(profile.rewrite_ns)}"
                   " (not counted in any function's time)")
    if profile.events_dropped and dropped_note:
        out.append(f"bchook trace: the timeline dropped its {profile.events_dropped:,} oldest "
                   f"events ({spell('buffer', 'N')} keeps more)")
    if not rows and not profile.lines and not profile.statements:
        out.append("bchook trace: nothing recorded" + (f" ({empty_because})" if empty_because
                                                        else ""))
    stream.write("\n".join(out) + "\n")
    stream.flush()


def _table(rows: list[Row], sort: str, limit: int, total: int, spell: Spelling,
           counted: bool = True) -> list[str]:
    shown = _sorted(rows, sort)[:limit] if limit > 0 else _sorted(rows, sort)
    out = [f"{'cumtime':>10} {'%':>6} {'tottime':>10} {'calls':>11} {'per call':>10}  function"]
    for r in shown:
        per_call = duration(r.cum_ns / r.calls) if r.calls and counted else "-"
        out.append(f"{duration(r.cum_ns):>10} {_percent(r.cum_ns, total):>6} "
                   f"{duration(r.own_ns):>10} {_calls(r.calls, r.primitive, counted):>11} "
                   f"{per_call:>10}  {r.name}")
    more = []
    if len(shown) < len(rows):
        more.append(f"top {len(shown)} of {len(rows)} by {sort}; {spell('limit', 'N')} for more")
    else:
        more.append(f"by {sort}")
    more.append(f"{spell('sort', '|'.join(SORTS))}, {spell('summary', 'tree')}, "
                f"{spell('callers', 'NAME')}")
    out.append("(" + "; ".join(more) + ")")
    return out


def _matches(row: Row, wanted: str) -> bool:
    path, qualname = row.name.split(" ", 1)
    module = path.rpartition(":")[0].removesuffix(".py").replace("/", ".")
    return (wanted in (row.label[2], qualname, f"{module}.{qualname}")
            or qualname.endswith("." + wanted)
            or (":" in wanted and row.name.startswith(wanted)))  # file:line


def _callers(rows: list[Row], wanted: str, spell: Spelling,
             counted: bool = True) -> list[str]:
    chosen = [r for r in rows if _matches(r, wanted)]
    if not chosen:
        chosen = [r for r in rows if wanted in r.name]
    if not chosen:
        return [f"bchook trace: no traced function matches {wanted!r} "
                f"({spell('callers', 'NAME')}: a function name, a qualified name, "
                "module.qualname or file:line)"]
    by_label = {r.label: r for r in rows}
    head = f"{'cumtime':>12} {'tottime':>10} {'calls':>11}  "
    out = []
    for row in sorted(chosen, key=lambda r: -r.cum_ns)[:10]:
        out.append(f"bchook trace: callers and callees of {row.name}")
        out.append(head + "function")
        callers = sorted(row.callers.items(), key=lambda kv: -kv[1][3])
        for label, (nc, cc, tt, ct) in callers:
            out.append(f"{duration(ct * 1e9):>12} {duration(tt * 1e9):>10} "
                       f"{_calls(nc, cc, counted):>11}  <- {by_label[label].name}")
        if not callers:
            out.append(f"{'':>36}  <- (called from untraced code)")
        out.append(f"{duration(row.cum_ns):>12} {duration(row.own_ns):>10} "
                   f"{_calls(row.calls, row.primitive, counted):>11}  {row.name}")
        callees = sorted(((r, r.callers[row.label]) for r in rows if row.label in r.callers),
                         key=lambda kv: -kv[1][3])
        for callee, (nc, cc, tt, ct) in callees:
            out.append(f"{duration(ct * 1e9):>12} {duration(tt * 1e9):>10} "
                       f"{_calls(nc, cc, counted):>11}  -> {callee.name}")
    return out


def _tree(profile: Profile, namer: Namer, total: int, counted: bool = True) -> list[str]:
    kids = profile.children()
    nodes = profile.nodes
    names = [namer.function(f) for f in profile.functions]
    floor = total * TREE_MIN_SHARE
    out = [f"{'%':>6} {'cumtime':>10} {'tottime':>10} {'calls':>8}  call tree (calls under "
           f"{TREE_MIN_SHARE:.0%} of the total folded)"]

    def line(ns, own, calls, text):
        out.append(f"{_percent(ns, total):>6} {duration(ns):>10} {own:>10} {calls:>8}  {text}")

    def group(children: list[int], prefix: str, depth: int) -> None:
        big = sorted((c for c in children if nodes[c].total_ns >= floor),
                     key=lambda c: -nodes[c].total_ns)
        small = [c for c in children if nodes[c].total_ns < floor]
        if depth >= TREE_MAX_DEPTH and big:
            ns = sum(nodes[c].total_ns for c in children)
            line(ns, "", "", prefix + "└─ … deeper calls")
            return
        for pos, child in enumerate(big):
            last = pos == len(big) - 1 and not small
            node = nodes[child]
            line(node.total_ns, duration(node.own_ns), node.count if counted else "-",
                 prefix + ("└─ " if last else "├─ ") + names[node.func])
            group(kids[child], prefix + ("   " if last else "│  "), depth + 1)
        if small:
            ns = sum(nodes[c].total_ns for c in small)
            line(ns, "", "", prefix + f"└─ … {len(small)} more, each under {duration(floor)}")

    for thread in profile.threads:
        roots = kids[thread.root]
        if not roots:
            continue
        if len(profile.threads) > 1:
            line(sum(nodes[c].total_ns for c in roots), "", "", f"[{thread.name}]")
        group(roots, "", 0)
    return out


def ranges(lines: list[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1-3, 7, 9-10' (as coverage report -m shows them)."""
    parts = []
    start = prev = None
    for n in lines:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def _lines(profile: Profile, namer: Namer) -> list[str]:
    files = sorted(set(profile.lines) | set(profile.statements), key=namer.path)
    rows = []
    all_lines = all_run = 0
    for filename in files:
        hits = profile.lines.get(filename, {})
        run = {n for n, v in hits.items() if v}
        known = set(profile.statements.get(filename, ())) | run
        missing = sorted(known - run)
        all_lines += len(known)
        all_run += len(run)
        rows.append((namer.path(filename), len(known), len(run), len(missing),
                     ranges(missing)))
    width = max([len(r[0]) for r in rows] + [5])
    out = [f"bchook trace: lines run ({profile.line_mode})",
           f"{'file':<{width}} {'lines':>7} {'run':>7} {'not run':>8} {'cover':>6}   not run"]
    for name, known, run, missing, text in rows:
        out.append(f"{name:<{width}} {known:>7} {run:>7} {missing:>8} "
                   f"{_cover(run, known):>6}   {text}")
    if len(rows) > 1:
        out.append(f"{'TOTAL':<{width}} {all_lines:>7} {all_run:>7} {all_lines - all_run:>8} "
                   f"{_cover(all_run, all_lines):>6}")
    if profile.line_mode == "count":
        hot = sorted(((v, namer.path(f), n) for f, hits in profile.lines.items()
                      for n, v in hits.items() if v), key=lambda t: (-t[0], t[1], t[2]))[:10]
        if hot:
            out.append("hottest lines: " + ", ".join(f"{p}:{n} ×{v:,}" for v, p, n in hot))
    return out


def _cover(run: int, known: int) -> str:
    """Rounded as ``coverage report`` rounds: never 0% when a line ran, nor 100% when one
    did not."""
    if not known:
        return "-"
    percent = min(max(round(100 * run / known), 1 if run else 0), 99 if run < known else 100)
    return f"{percent}%"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
