"""A slice of CPython's own test suite, run plainly and under a chain.

Each test module runs as ``python -m test --junit-xml FILE MODULE``, once plainly and once
as ``python -m bchook -p CHAIN --include '*' -m test ...``: every module imported after the
hook is in place is rewritten, the standard library and the tests themselves included. The
outcome of every test case (passed, failed, error, skipped) must be the same. Needs the
``test`` package, which some Linux distributions leave out of their Python.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

__all__ = ["QUICK", "MODULES", "available", "outcomes", "run_module", "chain_flags",
           "compare"]

#: The default slice: the language's core, a few minutes plain and under a chain.
QUICK = ["test_grammar", "test_scope", "test_with", "test_contextlib", "test_generators",
         "test_exceptions", "test_class", "test_listcomps", "test_dict", "test_string",
         "test_keywordonlyarg", "test_unpack"]

#: The longer slice ``tools/conformance.py`` runs by default.
MODULES = [
    "test_grammar", "test_exceptions", "test_generators", "test_coroutines", "test_contextlib",
    "test_with", "test_scope", "test_class", "test_listcomps", "test_dict", "test_json",
    "test_re", "test_dataclasses", "test_functools", "test_itertools", "test_inspect",
    "test_traceback", "test_pickle", "test_typing", "test_enum", "test_argparse",
    "test_collections", "test_asyncio.test_tasks", "test_sys_settrace", "test_compile",
    "test_string", "test_textwrap", "test_statistics", "test_fractions", "test_heapq",
]


def available(python: str, env: dict) -> str | None:
    """None if ``python`` can run ``-m test``, else why not."""
    proc = subprocess.run([python, "-c", "import test.libregrtest"], capture_output=True,
                          text=True, env=env)
    if proc.returncode == 0:
        return None
    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
    return f"CPython's test package is not installed for {python} ({last})"


def outcomes(xml_path: str) -> dict[str, str]:
    """``{class.test: passed | failure | error | skipped}`` from a JUnit XML file."""
    result: dict[str, str] = {}
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return result
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}.{case.get('name', '')}"
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = child.tag
                break
        result[name] = status
    return result


def chain_flags(spec: list[dict]) -> list[str]:
    """The runner's ``-p``/``-o`` flags for a chain given by names."""
    names, flags = [], []
    for entry in spec:
        if "name" not in entry:
            raise ValueError(f"a pass given as a class ({entry['class']}) cannot run CPython's "
                             f"tests: install it and name it by its entry point")
        names.append(entry["name"])
        flags += [f"-o{entry['name']}.{key}={value}"
                  for key, value in entry.get("options", {}).items()]
    return ["-p", ",".join(names), *flags]


def run_module(python: str, module: str, spec: list[dict] | None, env: dict,
               timeout: float) -> tuple[dict[str, str], object, float, str]:
    """``(outcomes, exit status or "timeout", seconds, tail of the output)``."""
    with tempfile.TemporaryDirectory(prefix="bchook-check-cpython-") as tmp:
        xml_path = os.path.join(tmp, "result.xml")
        cmd = [python]
        if spec is not None:
            cmd += ["-m", "bchook", *chain_flags(spec), "--include", "*", "-m", "test"]
        else:
            cmd += ["-m", "test"]
        cmd += ["--junit-xml", xml_path, module]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                                  encoding="utf-8", errors="replace", timeout=timeout)
            code, tail = proc.returncode, (proc.stdout + proc.stderr)[-2000:]
        except subprocess.TimeoutExpired:
            code, tail = "timeout", ""
        return outcomes(xml_path), code, time.perf_counter() - start, tail


def compare(plain: dict[str, str], plain_rc, chained: dict[str, str], chained_rc
            ) -> list[str]:
    """One line per test case whose outcome differs ([] when the module ran alike)."""
    # a doctest-only module (3.10's test_listcomps) reports no cases: compare exits
    if plain == chained and (plain or plain_rc == chained_rc == 0):
        return []
    if plain and not chained:
        return [f"no results under the chain (exit {chained_rc})"]
    lines = []
    for name in sorted(set(plain) | set(chained)):
        before, after = plain.get(name, "missing"), chained.get(name, "missing")
        if before != after:
            lines.append(f"{name}: plain {before} / chain {after}")
    return lines or [f"exit status: plain {plain_rc} / chain {chained_rc}"]
