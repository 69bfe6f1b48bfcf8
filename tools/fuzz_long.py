"""The long differential fuzzing run: many generated programs, plain vs every chain.

    python tools/fuzz_long.py                          # 10,000 programs, this interpreter
    python tools/fuzz_long.py -n 20000 --workers 2 --python /path/to/python3.12
    python tools/fuzz_long.py --seed 7 --out fuzz-out  # other programs; failures kept there

Each program (``tests/fuzz_helpers.py``: functions, closures, generators, coroutines,
classes, ``try``/``with``/``match``, the walrus, comprehensions, errors of every kind) runs
plain and under ``identity``, ``identity`` with ``pad=1``, ``constfold``, ``trace`` and
``constfold,trace``; its output, return values, exceptions (type, args, traceback lines,
chaining), warnings, final globals and clean-up must be the same, and for ``identity`` and
``trace`` its ``sys.settrace`` line events too. hypothesmith's grammar-generated programs
(``--hypothesmith N``, when it is installed) must compile under every chain and run alike.

Workers are subprocesses with their own seeds, each running ``--chunk`` programs, so a
crash of the interpreter is caught and reported with the program that caused it. A program
that differs is written to ``--out`` with the differences. Exit status 0 when nothing
differed and nothing crashed. The interpreter needs bchook and hypothesis installed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")


# -- worker (runs in the interpreter under test) -------------------------------------------

def worker(args) -> int:
    sys.path.insert(0, TESTS)
    import warnings

    from hypothesis import HealthCheck, Phase, given, seed, settings

    import fuzz_helpers as fh

    stats = {"programs": 0, "skipped": 0, "differing": 0, "escaped": 0, "returned": 0,
             "raised": 0, "hypothesmith": 0, "hypothesmith_differing": 0}
    os.makedirs(args.out, exist_ok=True)
    current = os.path.join(args.out, f"current-{os.getpid()}.py")
    line_events = () if args.no_line_events else ("identity", "identity.pad=1", "trace")

    def keep(source, text, kind):
        path = os.path.join(args.out, f"{kind}-{args.seed}-{stats['programs']}.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        with open(path[:-3] + ".txt", "w", encoding="utf-8") as f:
            f.write(text)

    common = dict(database=None, deadline=None, derandomize=False,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))

    @seed(args.seed)
    @settings(max_examples=args.count, **common)
    @given(fh.programs())
    def generated(source):
        with open(current, "w", encoding="utf-8") as f:
            f.write(source)
        stats["programs"] += 1
        expected, found = fh.differences(source, line_events=line_events)
        if expected is None:
            stats["skipped"] += 1
            return
        stats["escaped"] += expected["exception"] is not None
        stats["returned"] += expected["output"].count(" returned ")
        stats["raised"] += expected["output"].count(" raised ")
        if found:
            stats["differing"] += 1
            keep(source, fh.explain(source, expected, found), "differs")

    generated()
    if args.hypothesmith:
        try:
            import hypothesmith
        except ImportError:
            hypothesmith = None
        if hypothesmith is not None:
            import test_fuzz_differential as tfd

            @seed(args.seed)
            @settings(max_examples=args.hypothesmith, **common)
            @given(hypothesmith.from_grammar(auto_target=False))
            def grammar(source):
                with open(current, "w", encoding="utf-8") as f:
                    f.write(source)
                stats["hypothesmith"] += 1
                fh.outcome(fh.compile_program("", fh.make_chain("trace")))
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        plain = fh.compile_program(source)
                except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
                    return
                expected = tfd._limited(plain, 500)
                if expected == ("too long",):
                    return
                for chain in fh.CHAINS:
                    try:
                        got = tfd._limited(fh.compile_program(source, fh.make_chain(chain)),
                                           5000)
                    except Exception as exc:
                        got = ("compile error", f"{type(exc).__name__}: {exc}")
                    if got != expected:
                        stats["hypothesmith_differing"] += 1
                        keep(source, f"{chain}: plain {expected!r}\n  got {got!r}\n",
                             "hypothesmith")
                        return

            grammar()
    os.unlink(current)
    print(json.dumps(stats), flush=True)
    return 0


# -- driver ---------------------------------------------------------------------------------

def run_chunks(python: str, args, out: str) -> dict:
    total: dict = {}
    crashes = []
    chunks = [(args.seed * 100_003 + i, min(args.chunk, args.count - i * args.chunk))
              for i in range((args.count + args.chunk - 1) // args.chunk)]
    per_chunk_hm = (args.hypothesmith + len(chunks) - 1) // len(chunks) if chunks else 0
    running: list = []
    start = time.perf_counter()
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    pending = list(chunks)
    while pending or running:
        while pending and len(running) < args.workers:
            chunk_seed, count = pending.pop(0)
            cmd = [python, os.path.abspath(__file__), "--worker", "--seed", str(chunk_seed),
                   "-n", str(count), "--out", out, "--hypothesmith", str(per_chunk_hm)]
            if args.no_line_events:
                cmd.append("--no-line-events")
            if args.nice and hasattr(os, "nice"):
                cmd = ["nice", "-n", "10", *cmd]
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            running.append((proc, chunk_seed, time.monotonic()))
        time.sleep(0.5)
        for item in list(running):
            proc, chunk_seed, began = item
            if proc.poll() is None:
                if time.monotonic() - began > args.timeout:
                    proc.kill()
                else:
                    continue
            out_text, err_text = proc.communicate()
            running.remove(item)
            lines = [ln for ln in out_text.splitlines() if ln.startswith("{")]
            if proc.returncode == 0 and lines:
                for key, value in json.loads(lines[-1]).items():
                    total[key] = total.get(key, 0) + value
                print(f"  chunk seed {chunk_seed}: {lines[-1]}", flush=True)
            else:
                crashes.append((chunk_seed, proc.returncode, err_text[-1500:]))
                print(f"  chunk seed {chunk_seed}: FAILED (exit {proc.returncode}); the "
                      f"program it was running is in {out}/current-{proc.pid}.py\n"
                      f"{err_text[-1500:]}", flush=True)
    total["seconds"] = round(time.perf_counter() - start, 1)
    total["crashes"] = len(crashes)
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=10_000, help="generated programs")
    parser.add_argument("--hypothesmith", type=int, default=1000,
                        help="hypothesmith programs as well (0: none)")
    parser.add_argument("--python", action="append", default=[],
                        help="interpreter to test (repeatable; default: this one)")
    parser.add_argument("--workers", type=int, default=2, help="subprocesses at once")
    parser.add_argument("--chunk", type=int, default=500, help="programs per subprocess")
    parser.add_argument("--seed", type=int, default=1, help="seed of the whole run")
    parser.add_argument("--out", default=None, help="folder for failing programs")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per subprocess")
    parser.add_argument("--no-line-events", action="store_true",
                        help="do not compare sys.settrace line events (faster)")
    parser.add_argument("--nice", action="store_true", help="run the workers with nice")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    out = args.out or tempfile.mkdtemp(prefix="bchook-fuzz-")
    all_ok = True
    for python in args.python or [sys.executable]:
        version = subprocess.run([python, "-c", "import platform; print(platform."
                                  "python_version())"], capture_output=True, text=True
                                 ).stdout.strip()
        print(f"== Python {version} ({python}): {args.count} programs, seed {args.seed}",
              flush=True)
        total = run_chunks(python, args, out)
        ok = not total.get("differing") and not total.get("hypothesmith_differing") and \
            not total["crashes"]
        all_ok &= ok
        print(f"  Python {version}: {total.get('programs', 0)} programs "
              f"({total.get('skipped', 0)} not compilable), "
              f"{total.get('differing', 0)} differing; "
              f"{total.get('hypothesmith', 0)} hypothesmith programs, "
              f"{total.get('hypothesmith_differing', 0)} differing; "
              f"{total['crashes']} crashed chunks; {total.get('returned', 0)} calls returned, "
              f"{total.get('raised', 0)} raised, {total.get('escaped', 0)} programs ended by "
              f"an exception; {total['seconds']} s", flush=True)
    print(f"failing programs, if any: {out}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
