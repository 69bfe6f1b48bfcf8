"""Run a slice of CPython's own test suite plain and under bchook, and compare outcomes:
``bchook check --cpython-tests`` once per chain.

    python tools/conformance.py                       # identity, this interpreter
    python tools/conformance.py -p constfold          # another pass chain
    python tools/conformance.py -p identity -o identity.pad=1 --python .venvs/3.13/bin/python
    python tools/conformance.py -p identity -p constfold -p trace -p goto   # one check each
    python tools/conformance.py --modules test_grammar,test_with

Each test module runs with ``python -m test`` once plain, then once per chain under
``python -m bchook -p CHAIN --include '*' -m test``; the outcome of every test case
(passed, failed, error, skipped) must be the same (see ``bchook check --help``). bchook
must be installed in the interpreter under test. Exit status 0 when every module matches.
"""

from __future__ import annotations

import argparse
import sys

from bchook.frontends.cli import main as bchook
from bchook.tools.check.cpython import MODULES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--passes", action="append", default=[],
                        help="pass chain to run under (repeatable: one check each; "
                             "default: identity)")
    parser.add_argument("-o", "--option", action="append", default=[],
                        help="pass option PASS.KEY=VALUE (repeatable)")
    parser.add_argument("--python", action="append", default=[],
                        help="interpreter to test (repeatable; default: this one)")
    parser.add_argument("--modules", default=",".join(MODULES),
                        help="comma-separated test modules (default: 30 modules)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per module run")
    args = parser.parse_args(argv)

    common = [f"-o{option}" for option in args.option] + \
        [f"--python={python}" for python in args.python] + \
        ["--programs", "0", "--no-corpus", "--cpython-tests",
         "--cpython-modules", args.modules, "--timeout", str(max(1, args.timeout / 10))]
    status = 0
    for chain in args.passes or ["identity"]:
        status = max(status, bchook(["check", "-p", chain, *common]))
    return status


if __name__ == "__main__":
    sys.exit(main())
