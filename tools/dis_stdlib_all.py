#!/usr/bin/env python3
"""Check ``bchook dis`` and ``bchook.asm`` against the whole standard library.

    python tools/dis_stdlib_all.py                 # the running interpreter (bchook importable)
    python tools/dis_stdlib_all.py --all           # every supported CPython, in .venvs/X.Y
    python tools/dis_stdlib_all.py --sample 200    # 200 files spread over the stdlib
    python tools/dis_stdlib_all.py --check raw     # only the --raw self-check

For every code object of every ``.py`` file under the interpreter's ``Lib`` (``Lib/test``
included): the ``--raw`` hand decoder must agree with ``dis`` on every instruction, the
listing's rows must be ``dis``'s instructions with the same jump targets, and the
``bchook.asm`` listing of each file must assemble back into the same code objects (see
``tests/tools/dis_stdlib.py``). Prints one summary line per interpreter; exit status 1 on any
failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHECKS = ("raw", "listing", "asm")


def run_here(sample: int | None, checks: list[str], show: int) -> int:
    sys.path[:0] = [os.path.join(ROOT, "tests", "tools"), os.path.join(ROOT, "tests", "ir")]
    import dis_stdlib

    report = dis_stdlib.check_stdlib(sample, checks)
    version = "%d.%d.%d" % sys.version_info[:3]
    print(f"Python {version} ({', '.join(checks)}): {report.summary()}", flush=True)
    for failure in report.failures[:show]:
        print(f"  FAIL {failure}")
    if len(report.failures) > show:
        print(f"  ... and {len(report.failures) - show} more")
    return 1 if report.failures else 0


def run_all(sample: int | None, checks: list[str], show: int) -> int:
    sys.path.insert(0, HERE)
    import test_all

    found, missing = test_all.find_interpreters(list(test_all.SUPPORTED))
    for item in missing:
        print(f"SKIPPED {item}: no working interpreter found")
    if not found:
        print("no supported interpreter found")
        return 1
    import tempfile
    with tempfile.TemporaryDirectory(prefix="bchook-dis-all-") as work:
        pythons = test_all.prepare(found, work)
    status = 0 if len(pythons) == len(found) else 1
    args = [os.path.abspath(__file__), "--show", str(show), "--check", ",".join(checks)]
    if sample:
        args += ["--sample", str(sample)]
    for python in pythons.values():
        proc = subprocess.run([python, *args], stdin=subprocess.DEVNULL,
                              env=test_all.clean_env())
        status |= proc.returncode != 0
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/dis_stdlib_all.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true",
                        help="run on every supported interpreter found (venvs in .venvs/)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="only N files spread over the stdlib (default: every file)")
    parser.add_argument("--check", default=",".join(CHECKS), metavar="CHECK[,CHECK]",
                        help=f"which checks ({', '.join(CHECKS)}; default: all)")
    parser.add_argument("--show", type=int, default=20, metavar="N",
                        help="print at most N failures (default 20)")
    args = parser.parse_args(argv)
    checks = [c.strip() for c in args.check.split(",") if c.strip()]
    unknown = [c for c in checks if c not in CHECKS]
    if unknown or not checks:
        parser.error(f"unknown check {unknown[0] if unknown else '(none)'!r} "
                     f"(choose from {', '.join(CHECKS)})")
    if args.all:
        return run_all(args.sample, checks, args.show)
    return run_here(args.sample, checks, args.show)


if __name__ == "__main__":
    sys.exit(main())
