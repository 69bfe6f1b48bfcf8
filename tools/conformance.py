"""Run a slice of CPython's own test suite plain and under bchook, and compare outcomes.

    python tools/conformance.py                       # identity pass, this interpreter
    python tools/conformance.py -p constfold          # another pass chain
    python tools/conformance.py -p identity -o identity.pad=1 --python .venvs/3.13/bin/python
    python tools/conformance.py -p identity -p constfold -p trace -p goto   # one plain run each
    python tools/conformance.py --modules test_grammar,test_with

Each module runs with ``python -m test --junit-xml`` once plain, then once per chain as
``python -m bchook -p CHAIN --include '*' -m test``. The outcome of every test case
(passed, failed, error, skipped) must be the same. bchook must be installed in the
interpreter under test. Exit status 0 when every module matches.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

MODULES = [
    "test_grammar", "test_exceptions", "test_generators", "test_coroutines", "test_contextlib",
    "test_with", "test_scope", "test_class", "test_listcomps", "test_dict", "test_json",
    "test_re", "test_dataclasses", "test_functools", "test_itertools", "test_inspect",
    "test_traceback", "test_pickle", "test_typing", "test_enum", "test_argparse",
    "test_collections", "test_asyncio.test_tasks", "test_sys_settrace", "test_compile",
    "test_string", "test_textwrap", "test_statistics", "test_fractions", "test_heapq",
]


def outcomes(xml_path: str) -> dict[str, str]:
    result = {}
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


def run_module(python: str, module: str, hook_args: list[str] | None, timeout: int):
    with tempfile.TemporaryDirectory() as tmp:
        xml_path = os.path.join(tmp, "result.xml")
        cmd = [python]
        if hook_args is not None:
            cmd += ["-m", "bchook", *hook_args, "--include", "*", "-m", "test"]
        else:
            cmd += ["-m", "test"]
        cmd += ["--junit-xml", xml_path, module]
        env = dict(os.environ, PYTHONHASHSEED="0")
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=timeout)
            code, tail = proc.returncode, (proc.stdout + proc.stderr)[-2000:]
        except subprocess.TimeoutExpired:
            code, tail = "timeout", ""
        return outcomes(xml_path), code, time.perf_counter() - start, tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--passes", action="append", default=[],
                        help="pass chain to run under (repeatable; default: identity)")
    parser.add_argument("-o", "--option", action="append", default=[],
                        help="pass option PASS.KEY=VALUE (repeatable)")
    parser.add_argument("--python", action="append", default=[],
                        help="interpreter to test (repeatable; default: this one)")
    parser.add_argument("--modules", help="comma-separated test modules (default: 30 modules)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per module run")
    args = parser.parse_args(argv)

    modules = args.modules.split(",") if args.modules else MODULES
    chains = args.passes or ["identity"]
    options = [arg for opt in args.option for arg in ("-o", opt)]
    all_ok = True
    for python in args.python or [sys.executable]:
        version = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True, text=True).stdout.strip()
        print(f"== Python {version} ({python}), chains: {' | '.join(chains)}", flush=True)
        matched = dict.fromkeys(chains, 0)
        cases = 0
        for module in modules:
            plain, plain_rc, t_plain, _ = run_module(python, module, None, args.timeout)
            counts = {s: sum(1 for v in plain.values() if v == s)
                      for s in ("passed", "failed", "error", "skipped")}
            print(f"  {module:28} {len(plain):5} cases ({counts['passed']} passed, "
                  f"{counts['failed'] + counts['error']} failed, {counts['skipped']} skipped)"
                  f"  plain {t_plain:5.1f}s", flush=True)
            if not plain:
                print(f"    no results from the plain run (exit {plain_rc})")
            cases += len(plain)
            for chain in chains:
                hooked, hook_rc, t_hook, tail = run_module(
                    python, module, ["-p", chain, *options], args.timeout)
                # a doctest-only module (3.10's test_listcomps) reports no cases: compare exits
                same = plain == hooked and (bool(plain) or plain_rc == hook_rc == 0)
                print(f"    {chain:26} {'same' if same else 'DIFFERENT':9}  {t_hook:5.1f}s",
                      flush=True)
                if same:
                    matched[chain] += 1
                    continue
                all_ok = False
                diff = sorted(set(plain.items()) ^ set(hooked.items()))
                for name, outcome in diff[:10]:
                    side = "plain " if plain.get(name) == outcome else "hooked"
                    print(f"      {side}: {name} {outcome}")
                if not hooked:
                    print(f"      no results under bchook (exit {hook_rc}):\n" +
                          "\n".join("        " + line for line in tail.splitlines()[-15:]))
        for chain in chains:
            print(f"  {chain}: {matched[chain]}/{len(modules)} modules identical "
                  f"({cases} test cases plain)", flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
