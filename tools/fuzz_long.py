"""The long differential fuzzing run: many generated programs, plain vs every chain that
must not change what programs do, through ``bchook check``.

    python tools/fuzz_long.py                          # 10,000 programs, this interpreter
    python tools/fuzz_long.py -n 20000 --workers 2 --python /path/to/python3.12
    python tools/fuzz_long.py --seed 7 --out fuzz-out  # other programs; reproductions there
    python tools/fuzz_long.py --generator hypothesis   # drawn by hypothesis (and hypothesmith)

Each chain (``identity`` with and without ``pad=1``, ``constfold``, ``trace``,
``constfold,trace``) is one ``bchook check --no-corpus`` per worker, each worker with its
own seed and its share of the programs: what the programs print, return and raise, their
warnings, final globals and clean-up, and for the chains that keep them their line events,
must be the same plainly and under the chain (see ``bchook check --help``). A program that
differs is cut down to a reproduction in ``--out``. Exit status 0 when nothing differed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile

#: The chains, as ``bchook check`` flags (``--pad`` adds identity with pad=1 before).
CHAINS = [["-p", "identity", "--pad"], ["-p", "constfold"], ["-p", "trace"],
          ["-p", "constfold,trace"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=10_000, help="generated programs")
    parser.add_argument("--python", action="append", default=[],
                        help="interpreter to test (repeatable; default: this one)")
    parser.add_argument("--workers", type=int, default=2, help="checks at once")
    parser.add_argument("--seed", type=int, default=1, help="seed of the whole run")
    parser.add_argument("--out", default=None, help="folder for the reproductions")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per program")
    parser.add_argument("--generator", default="builtin",
                        choices=("builtin", "hypothesis", "auto"),
                        help="who draws the programs (default: bchook's own generator)")
    args = parser.parse_args(argv)

    out = args.out or tempfile.mkdtemp(prefix="bchook-fuzz-")
    share = -(-args.count // args.workers)
    jobs = [[sys.executable, "-m", "bchook", "check", *chain, "--no-corpus",
             "--programs", str(min(share, args.count - k * share)),
             "--seed", str(args.seed * 1000 + k), "--out", out, "--timeout", str(args.timeout),
             "--generator", args.generator, *(f"--python={p}" for p in args.python)]
            for chain in CHAINS for k in range(args.workers)]
    status = 0
    while jobs:
        running = [subprocess.Popen(job) for job in jobs[:args.workers]]
        jobs = jobs[args.workers:]
        for proc in running:
            status = max(status, proc.wait())
    print(f"reproductions, if any: {out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
