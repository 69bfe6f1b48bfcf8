"""One run of ``bchook check``: which programs, which processes, what differs, the report.

For each interpreter, one worker runs every program plainly and one worker per *variant*
of the chain runs it under that variant (the chain itself; with ``pad``, also the chain
after ``identity`` with ``pad=1``, which puts a NOP before every instruction the chain then
sees). The plain outcome is compared with each variant's (line events too, for the chains
whose passes all say ``keeps_lines``). A difference is reported in one line, and the
program is cut down (:mod:`.minimize`) to a reproduction file in the output folder.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import cpython, generate, minimize, observe
from .worker import Worker, WorkerError, spec_label, worker_environment

__all__ = ["Settings", "Report", "Difference", "Row", "run", "corpus_paths", "CORPUS"]

#: The installed corpus of hand-written tricky programs.
CORPUS = Path(__file__).resolve().parent / "corpus"

#: Line events a grammar-generated program may take, plainly and under the chain: a program
#: that just fits plainly must not be cut short under a chain that adds a few (one that
#: does not fit plainly is not compared at all).
PLAIN_LIMIT, CHAIN_LIMIT = 500, 5000

#: Lines at the top of a reproduction file (kept fixed, so that the lines of the program
#: below it are those its minimization ran).
HEADER_LINES = 4


def corpus_paths() -> list[Path]:
    return sorted(CORPUS.glob("*.py"))


@dataclass
class Settings:
    """What to check. ``spec``: the chain (see :func:`.worker.chain_spec`)."""

    spec: list[dict]
    programs: int = 100
    corpus: bool = True
    files: list[str] = field(default_factory=list)  # programs of the user's own
    pad: bool = False
    pythons: list[str] = field(default_factory=lambda: [sys.executable])
    seed: int = 0
    generator: str = "auto"  # auto, builtin or hypothesis
    cpython_modules: list[str] | None = None
    out: str = "bchook-check"
    timeout: float = 60.0
    minimize: bool = True
    path: list[str] = field(default_factory=list)  # for chains given as classes
    echo: Callable[[str], None] | None = None


@dataclass
class Program:
    kind: str  # corpus, generated, grammar
    label: str
    path: str
    mode: str = "program"  # or grammar


@dataclass
class Difference:
    """One program (or CPython test module) that does not behave the same under a variant."""

    python: str
    variant: str
    program: str
    summary: str
    reproduction: str | None = None

    def line(self) -> str:
        text = f"DIFFERENT {self.program} (Python {self.python}, {self.variant}): {self.summary}"
        return text + (f" -> {self.reproduction}" if self.reproduction else "")


@dataclass
class Row:
    python: str
    variant: str
    kind: str
    run: int = 0
    same: int = 0
    different: int = 0
    skipped: int = 0


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    out: str | None = None

    @property
    def ok(self) -> bool:
        return not self.differences

    def table(self) -> str:
        header = ("python", "chain", "programs", "run", "same", "different", "skipped")
        rows = [header] + [(r.python, r.variant, r.kind, str(r.run), str(r.same),
                            str(r.different), str(r.skipped)) for r in self.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = []
        for row in rows:
            cells = [c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in
                     enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def verdict(self) -> str:
        if self.ok:
            return "bchook check: no difference"
        n = len(self.differences)
        where = f"; reproductions in {self.out}{os.sep}" if self.out and any(
            d.reproduction for d in self.differences) else ""
        return f"bchook check: {n} difference{'s' if n != 1 else ''}{where}"

    def text(self) -> str:
        """Every difference, the table and the verdict, as the command prints them."""
        return "\n".join([*(d.line() for d in self.differences), *self.notes, "",
                          self.table(), "", self.verdict()])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


class _Variant:
    def __init__(self, spec: list[dict]):
        self.spec = spec
        self.worker: Worker | None = None
        self.keeps_lines = False
        self.names = [entry.get("name", "?") for entry in spec]

    def started(self, info: dict) -> None:
        """The worker is set up: passes given as classes are known by name now."""
        self.keeps_lines = bool(info.get("keeps_lines"))
        self.names = list(info.get("passes") or self.names)

    @property
    def chain(self) -> str:
        """``identity(pad=1),shout``: the chain by its passes' names, with options."""
        return spec_label([{"name": name, "options": entry.get("options", {})}
                           for name, entry in zip(self.names, self.spec)])

    @property
    def label(self) -> str:
        return f"-p {self.chain}"

    def command(self, filename: str) -> str:
        """The runner's command line that runs ``filename`` under this chain."""
        options = [f"-o{name}.{key}={value}" for name, entry in zip(self.names, self.spec)
                   for key, value in entry.get("options", {}).items()]
        return " ".join(["bchook", "-p", ",".join(self.names), *options, filename])


def _variants(settings: Settings) -> list[_Variant]:
    chain = settings.spec
    found = [_Variant(chain)]
    if settings.pad:
        found.append(_Variant([{"name": "identity", "options": {"pad": "1"}}, *chain]))
    return found


class _Interpreter:
    """The workers of one interpreter: one plain, one per variant."""

    def __init__(self, plain: Worker, variants: list[_Variant]):
        self.plain = plain
        self.variants = variants
        self.info: dict = {}

    def close(self) -> None:
        self.plain.close()
        for variant in self.variants:
            if variant.worker is not None:
                variant.worker.close()


class _Run:
    def __init__(self, settings: Settings, report: Report, work: str):
        self.settings = settings
        self.report = report
        self.work = work
        self.env = worker_environment()
        self.counter = 0

    def say(self, line: str) -> None:
        if self.settings.echo is not None:
            self.settings.echo(line)

    # -- programs ---------------------------------------------------------------------------
    def programs(self) -> list[Program]:
        s = self.settings
        found = [Program("corpus", f"corpus/{p.name}", str(p)) for p in corpus_paths()] \
            if s.corpus else []
        found += [Program("yours", path, os.path.abspath(path)) for path in s.files]
        use_hypothesis = s.programs > 0 and (s.generator == "hypothesis" or (
            s.generator == "auto" and generate.have_hypothesis()))
        grammar = s.programs // 10 if use_hypothesis and generate.have_hypothesmith() else 0
        count = s.programs - grammar
        sources, how = None, "built-in generator"
        if use_hypothesis:
            try:
                sources, how = generate.hypothesis_programs(count, s.seed), "hypothesis"
            except Exception as exc:  # a hypothesis this generator does not know
                self.note(f"hypothesis could not draw the programs ({type(exc).__name__}: "
                          f"{exc}): bchook's own generator draws them")
                grammar, count = 0, s.programs
        if sources is None:
            sources = generate.random_programs(count, s.seed)
        of_seed = f" of seed {s.seed}" if s.seed else ""
        for i, source in enumerate(sources, 1):
            found.append(Program("generated", f"generated #{i}{of_seed}",
                                 self.write(f"generated_{i:05}.py", source)))
        if grammar:
            try:
                grammar_sources = generate.grammar_programs(grammar, s.seed)
            except Exception as exc:
                self.note(f"hypothesmith could not draw programs ({type(exc).__name__}: "
                          f"{exc}): none from its grammar")
                grammar_sources = []
            grammar = len(grammar_sources)
            for i, source in enumerate(grammar_sources, 1):
                found.append(Program("grammar", f"grammar #{i}{of_seed}",
                                     self.write(f"grammar_{i:05}.py", source), "grammar"))
        if s.programs:
            self.generated_note = (f"{len(sources)} generated ({how}, seed {s.seed})" +
                                   (f", {grammar} from hypothesmith's grammar" if grammar
                                    else ""))
        else:
            self.generated_note = ""
        return found

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.work, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # -- one interpreter --------------------------------------------------------------------
    def start(self, python: str) -> _Interpreter:
        """The workers for ``python``, set up (an interpreter that cannot run the check
        says so now, before any program is generated)."""
        s = self.settings
        started = _Interpreter(Worker(python, None, cwd=self.work, env=self.env),
                               _variants(s))
        try:
            started.info = started.plain.setup()
            for variant in started.variants:
                variant.worker = Worker(python, variant.spec, cwd=self.work, path=s.path,
                                        env=self.env)
                variant.started(variant.worker.setup())
        except BaseException:
            started.close()
            raise
        return started

    def interpreter(self, started: _Interpreter, programs: list[Program]) -> None:
        s = self.settings
        info, plain, variants = started.info, started.plain, started.variants
        version = info["python"]
        corpus = sum(p.kind == "corpus" for p in programs)
        yours = sum(p.kind == "yours" for p in programs)
        parts = [f"{corpus} corpus programs"] if corpus else []
        parts += [f"{yours} of yours"] if yours else []
        parts += [self.generated_note] if self.generated_note else []
        if s.cpython_modules:
            n = len(s.cpython_modules)
            parts.append(f"{n} module{'s' if n != 1 else ''} of CPython's tests")
        self.say(f"bchook check: {variants[0].label} on Python {version} "
                 f"({info['executable']}): {', '.join(parts) or 'no programs'}")
        for variant in variants:
            if not variant.keeps_lines:
                self.note(f"{variant.label}: line events not compared (a pass of the "
                          f"chain says keeps_lines = False)")
        self.programs_on(version, plain, variants, programs)
        if s.cpython_modules:
            self.cpython_on(started.plain.python, version, variants)

    def note(self, text: str) -> None:
        if text not in self.report.notes:
            self.report.notes.append(text)
            self.say(text)

    def programs_on(self, version: str, plain: Worker, variants: list[_Variant],
                    programs: list[Program]) -> None:
        rows = {}
        for variant in variants:
            for kind in ("corpus", "yours", "generated", "grammar"):
                if any(p.kind == kind for p in programs):
                    rows[variant.label, kind] = Row(version, variant.label, kind)
                    self.report.rows.append(rows[variant.label, kind])
        timeout = self.settings.timeout
        want_lines = any(v.keeps_lines for v in variants)
        for program in programs:
            request = {"file": program.path, "mode": program.mode}
            plain.send({**request, "line_events": want_lines, "limit": PLAIN_LIMIT})
            for variant in variants:
                variant.worker.send({**request, "line_events": variant.keeps_lines,
                                     "limit": CHAIN_LIMIT})
            expected = plain.receive(timeout)
            results = [variant.worker.receive(timeout) for variant in variants]
            for variant, got in zip(variants, results):
                row = rows[variant.label, program.kind]
                if any(key in expected for key in ("skip", "crashed", "timeout")):
                    row.skipped += 1
                    continue
                row.run += 1
                want = expected if variant.keeps_lines else \
                    {k: v for k, v in expected.items() if k != "line events"}
                fields = observe.differences(want, got)
                if not fields:
                    row.same += 1
                    continue
                row.different += 1
                self.difference(version, plain, variant, program, want, got, fields)

    def difference(self, version, plain, variant, program, want, got, fields) -> None:
        summary = observe.describe(fields[0], want, got, "chain")
        if len(fields) > 1:
            summary += f" (and {', '.join(fields[1:])})"
        reproduction = self.reproduce(version, plain, variant, program, got)
        found = Difference(version, variant.label, program.label, summary, reproduction)
        self.report.differences.append(found)
        self.say(found.line())

    # -- reproductions ----------------------------------------------------------------------
    def reproduce(self, version, plain, variant, program, got) -> str | None:
        s = self.settings
        with open(program.path, encoding="utf-8") as f:
            source = f.read()
        timeout = min(s.timeout, 10.0)
        lines_flag = variant.keeps_lines

        def outcomes(text: str):
            self.counter += 1
            path = self.write(f"candidate_{self.counter}.py", "#\n" * HEADER_LINES + text)
            request = {"file": path, "mode": program.mode, "line_events": lines_flag}
            expected = plain.run({**request, "limit": PLAIN_LIMIT}, timeout)
            if any(key in expected for key in ("skip", "crashed", "timeout")):
                return expected, None
            return expected, variant.worker.run({**request, "limit": CHAIN_LIMIT}, timeout)

        def differs(text: str) -> bool:
            expected, chained = outcomes(text)
            return chained is not None and bool(observe.differences(expected, chained))

        small = source
        if s.minimize and "timeout" not in got:
            small = minimize.minimize(source, differs)
        expected, chained = outcomes(small)
        if chained is None or not observe.differences(expected, chained):
            small = source  # cut down too far to differ any more (it should not happen)
            expected, chained = outcomes(small)
            if chained is None or not observe.differences(expected, chained):
                return None
        fields = observe.differences(expected, chained)
        what = observe.describe(fields[0], expected, chained, "chain")
        try:
            os.makedirs(s.out, exist_ok=True)
        except OSError as exc:
            self.note(f"cannot write reproductions into {s.out}: {exc.strerror or exc}")
            return None
        label = program.label[:-3] if program.label.endswith(".py") else program.label
        name = _slug(f"{variant.chain}-{version}-{label}") + ".py"
        target = os.path.join(s.out, name)
        header = [
            f"# bchook check: this program does not do the same under {variant.label} "
            f"(Python {version}).",
            f"# Compare `python {name}` with `{variant.command(name)}`.",
            "# " + " ".join(what.split()),
            f"# Cut down from {program.label}: {len(source.splitlines())} -> "
            f"{len(small.splitlines())} lines.",
        ]
        with open(target, "w", encoding="utf-8") as f:
            f.write("\n".join(header) + "\n" + small)
        self.report.out = s.out
        return target

    # -- CPython's tests --------------------------------------------------------------------
    def cpython_on(self, python: str, version: str, variants: list[_Variant]) -> None:
        s = self.settings
        env = dict(self.env)
        reason = cpython.available(python, env)
        modules = s.cpython_modules or []
        rows = []
        for variant in variants:
            row = Row(version, variant.label, "cpython tests")
            self.report.rows.append(row)
            rows.append(row)
        if reason:
            for row in rows:
                row.skipped = len(modules)
            self.note(f"CPython's tests skipped on Python {version}: {reason}")
            return
        for module in modules:
            plain, plain_rc, _, _ = cpython.run_module(python, module, None, env, s.timeout * 10)
            for variant, row in zip(variants, rows):
                try:
                    chained, rc, _, tail = cpython.run_module(python, module, variant.spec, env,
                                                              s.timeout * 10)
                except ValueError as exc:
                    row.skipped += 1
                    self.note(str(exc))
                    continue
                if not plain and plain_rc != 0:
                    row.skipped += 1
                    self.note(f"{module}: no results from the plain run on Python {version} "
                              f"(exit {plain_rc})")
                    continue
                row.run += 1
                lines = cpython.compare(plain, plain_rc, chained, rc)
                if not lines:
                    row.same += 1
                    continue
                row.different += 1
                target = self.cpython_details(version, variant, module, lines, tail)
                more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
                found = Difference(version, variant.label, f"CPython's {module}",
                                   lines[0] + more, target)
                self.report.differences.append(found)
                self.say(found.line())

    def cpython_details(self, version, variant, module, lines, tail) -> str | None:
        out = self.settings.out
        try:
            os.makedirs(out, exist_ok=True)
        except OSError as exc:
            self.note(f"cannot write reproductions into {out}: {exc.strerror or exc}")
            return None
        target = os.path.join(out, _slug(f"{variant.chain}-{version}-cpython-{module}") +
                              ".txt")
        flags = " ".join(cpython.chain_flags(variant.spec))
        with open(target, "w", encoding="utf-8") as f:
            f.write(f"CPython's {module} does not give the same results under {variant.label} "
                    f"(Python {version}).\nCompare:\n  python -m test {module}\n"
                    f"  python -m bchook {flags} --include '*' -m test {module}\n\n"
                    "Test cases that differ:\n" + "".join(f"  {line}\n" for line in lines) +
                    "\nEnd of the output under the chain:\n" + tail + "\n")
        self.report.out = out
        return target


def run(settings: Settings) -> Report:
    """Check the chain on every interpreter; raises WorkerError when an interpreter cannot
    run the check at all (bchook not importable there, a pass that cannot be created)."""
    report = Report()
    work = tempfile.mkdtemp(prefix="bchook-check-")
    started: list[_Interpreter] = []
    try:
        session = _Run(settings, report, work)
        for python in settings.pythons:
            started.append(session.start(python))
        programs = session.programs()
        for interpreter in started:
            session.interpreter(interpreter, programs)
    finally:
        for interpreter in started:
            interpreter.close()
        shutil.rmtree(work, ignore_errors=True)
    return report


__all__ += ["WorkerError"]
