#!/usr/bin/env python3
"""Round-trip every code object of the standard library through ``bchook.ir``.

    python tools/ir_roundtrip_all.py            # the running interpreter (bchook importable)
    python tools/ir_roundtrip_all.py --all      # every supported CPython found, in .venvs/X.Y
    python tools/ir_roundtrip_all.py --sample 200

For each code object of every ``.py`` file under the interpreter's ``Lib`` (``Lib/test``
included), ``ir.Bytecode.from_code(c).to_code()`` must give back the same ``co_code``,
``co_exceptiontable``, ``co_lines()``, ``co_positions()``, constants and names, and a
``co_stacksize`` no lower than CPython's; the IR's own stack analysis must not be lower
either, except in the documented cases (``tests/ir/ir_stdlib.py: stack_depth_excuse``), which
are counted. Prints one summary line per interpreter; exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_here(sample: int | None, show: int) -> int:
    sys.path.insert(0, os.path.join(ROOT, "tests", "ir"))
    import ir_stdlib
    from bchook import ir

    start = time.perf_counter()
    report = ir_stdlib.roundtrip_stdlib(ir, sample)
    seconds = time.perf_counter() - start
    version = "%d.%d.%d" % sys.version_info[:3]
    print(f"Python {version}: {report.summary()} in {seconds:.1f} s", flush=True)
    for failure in report.failures[:show]:
        print(f"  FAIL {failure}")
    if len(report.failures) > show:
        print(f"  ... and {len(report.failures) - show} more")
    return 1 if report.failures else 0


def run_all(sample: int | None, show: int) -> int:
    sys.path.insert(0, HERE)
    import test_all

    found, missing = test_all.find_interpreters(list(test_all.SUPPORTED))
    for item in missing:
        print(f"SKIPPED {item}: no working interpreter found")
    if not found:
        print("no supported interpreter found")
        return 1
    import tempfile
    with tempfile.TemporaryDirectory(prefix="bchook-ir-all-") as work:
        pythons = test_all.prepare(found, work)
    status = 0 if len(pythons) == len(found) else 1
    args = [os.path.abspath(__file__), "--show", str(show)]
    if sample:
        args += ["--sample", str(sample)]
    for version, python in pythons.items():
        proc = subprocess.run([python, *args], stdin=subprocess.DEVNULL,
                              env=test_all.clean_env())
        status |= proc.returncode != 0
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/ir_roundtrip_all.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true",
                        help="run on every supported interpreter found (venvs in .venvs/)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="only N files spread over the stdlib (default: every file)")
    parser.add_argument("--show", type=int, default=20, metavar="N",
                        help="print at most N failures (default 20)")
    args = parser.parse_args(argv)
    if args.all:
        return run_all(args.sample, args.show)
    return run_here(args.sample, args.show)


if __name__ == "__main__":
    sys.exit(main())
