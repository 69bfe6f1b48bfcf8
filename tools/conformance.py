"""Run a slice of CPython's own test suite plain and under bchook, and compare outcomes:
``bchook check --cpython-tests`` once per chain.

    python tools/conformance.py                       # identity, this interpreter
    python tools/conformance.py -p constfold          # another pass chain
    python tools/conformance.py -p identity -o identity.pad=1 --python .venvs/3.13/bin/python
    python tools/conformance.py -p identity -p constfold -p trace -p goto   # one check each
    python tools/conformance.py --modules test_grammar,test_with
    python tools/conformance.py --children --python .venvs/3.15/bin/python   # children too

Each test module runs with ``python -m test`` once plain, then once per chain under
``python -m bchook -p CHAIN --include '*' -m test``; the outcome of every test case
(passed, failed, error, skipped) must be the same (see ``bchook check --help``). bchook
must be installed in the interpreter under test. Exit status 0 when every module matches.

Only the test process is rewritten: the Python processes a test starts run plainly. With
``--children`` the start-up autoload (``bchook pth install``) is installed into each
interpreter under test for the run and removed after, so those processes are rewritten too,
as for a user who runs everything under bchook; the plain runs are unchanged (the autoload
acts only when ``BCHOOK_PASSES`` is set). The interpreters must be virtual environments.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
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
    parser.add_argument("--children", action="store_true",
                        help="rewrite the Python processes the tests start too (installs the "
                             "start-up autoload into each interpreter for the run)")
    args = parser.parse_args(argv)

    common = [f"-o{option}" for option in args.option] + \
        [f"--python={python}" for python in args.python] + \
        ["--programs", "0", "--no-corpus", "--cpython-tests",
         "--cpython-modules", args.modules, "--timeout", str(max(1, args.timeout / 10))]
    status = 0
    with contextlib.ExitStack() as stack:
        if args.children:
            for python in args.python or [sys.executable]:
                stack.enter_context(autoload_installed(python))
        for chain in args.passes or ["identity"]:
            status = max(status, bchook(["check", "-p", chain, *common]))
    return status


@contextlib.contextmanager
def autoload_installed(python: str):
    """bchook's start-up autoload in ``python``'s site-packages while the block runs."""
    def pth(action: str) -> None:
        subprocess.run([python, "-m", "bchook", "pth", action], check=True,
                       stdout=subprocess.DEVNULL)

    pth("install")
    try:
        yield
    finally:
        pth("uninstall")


if __name__ == "__main__":
    sys.exit(main())
