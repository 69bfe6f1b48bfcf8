#!/usr/bin/env python3
"""Time a ``bchook.ir`` round trip (decode + encode) of every code object of the standard
library against ``compile()`` of the same files and against the ``bytecode`` library.

    python benchmarks/ir_roundtrip.py               # the running interpreter
    python benchmarks/ir_roundtrip.py --all         # every supported CPython found (.venvs/)
    python benchmarks/ir_roundtrip.py --sample 300  # 300 files spread over the stdlib

All figures come from one run over the same files: compile() is timed per file, the round
trips per code object; the ratios divide the totals over the same code objects. Times are
CPU time of this process (``time.process_time``), so other load on the machine does not
count. Target: bchook.ir <= 3x compile(). Needs bchook importable (and ``bytecode`` for its
column).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGET = 3.0
clock = time.process_time


def _timed(func, arg):
    start = clock()
    result = func(arg)
    return clock() - start, result


def measure(sample: int | None, with_library: bool, repeat: int):
    sys.path.insert(0, os.path.join(ROOT, "tests", "ir"))
    import ir_stdlib
    from bchook import ir

    sources = []
    for path in ir_stdlib.stdlib_files(sample):
        try:
            with open(path, "rb") as f:
                sources.append((path, f.read()))
        except OSError:
            pass

    # compile(): best of `repeat` per file; files that do not compile are left out everywhere
    compile_time = 0.0
    codes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path, source in sources:
            best = None
            module = None
            for _ in range(repeat):
                gc.collect(0)
                try:
                    t, module = _timed(lambda s: compile(s, path, "exec", dont_inherit=True),
                                       source)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    module = None
                    break
                best = t if best is None else min(best, t)
            if module is not None:
                compile_time += best
                codes.extend(ir_stdlib.all_code(module))
    files = len(sources)

    Bytecode = ir.Bytecode
    decode = encode = 0.0
    for code in codes:
        best_d = best_e = None
        for _ in range(repeat):
            t0 = clock()
            bc = Bytecode.from_code(code)
            t1 = clock()
            bc.to_code()
            t2 = clock()
            best_d = t1 - t0 if best_d is None else min(best_d, t1 - t0)
            best_e = t2 - t1 if best_e is None else min(best_e, t2 - t1)
        decode += best_d
        encode += best_e

    library = None
    if with_library:
        try:
            import bytecode
        except ImportError:
            library = "not installed"
        else:
            lib_time = ours_same = 0.0
            handled = failed = 0
            for code in codes:
                try:
                    t, _ = _timed(lambda c: bytecode.Bytecode.from_code(c).to_code(), code)
                except Exception:  # the library's own limits: counted, left out
                    failed += 1
                    continue
                handled += 1
                lib_time += t
                t0 = clock()
                Bytecode.from_code(code).to_code()
                ours_same += clock() - t0
            library = (bytecode.__version__, lib_time, ours_same, handled, failed)
    return files, codes, compile_time, decode, encode, library


def report(sample, with_library, repeat) -> int:
    files, codes, compile_time, decode, encode, library = measure(sample, with_library, repeat)
    n = len(codes)
    ours = decode + encode
    ratio = ours / compile_time
    version = "%d.%d.%d" % sys.version_info[:3]
    per = lambda t, k=n: f"{1e6 * t / k:8.1f} us"  # noqa: E731
    print(f"Python {version}: {files} files, {n} code objects")
    print(f"  compile()                  {compile_time:7.2f} s  {per(compile_time)}/code  1.00x")
    print(f"  bchook.ir decode+encode    {ours:7.2f} s  {per(ours)}/code  {ratio:.2f}x compile"
          f"  (target <= {TARGET:.0f}x: {'met' if ratio <= TARGET else 'NOT MET'})")
    print(f"    decode                   {decode:7.2f} s  {per(decode)}/code  "
          f"{decode / compile_time:.2f}x compile")
    print(f"    encode                   {encode:7.2f} s  {per(encode)}/code  "
          f"{encode / compile_time:.2f}x compile")
    if isinstance(library, tuple):
        lib_version, lib_time, ours_same, handled, failed = library
        share = compile_time * handled / n  # compile time of the same objects, pro rata
        print(f"  bytecode {lib_version:<8} round trip {lib_time:7.2f} s  {per(lib_time, handled)}"
              f"/code  {lib_time / share:.2f}x compile, {lib_time / ours_same:.1f}x bchook.ir"
              f"  ({handled} code objects; {failed} it could not handle)")
    elif library:
        print(f"  bytecode library: {library}")
    sys.stdout.flush()
    return 0 if ratio <= TARGET else 1


def run_all(argv: list[str]) -> int:
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import tempfile

    import test_all

    found, missing = test_all.find_interpreters(list(test_all.SUPPORTED))
    for item in missing:
        print(f"SKIPPED {item}: no working interpreter found")
    if not found:
        print("no supported interpreter found")
        return 1
    with tempfile.TemporaryDirectory(prefix="bchook-bench-") as work:
        pythons = test_all.prepare(found, work)
    status = 0
    for version, python in pythons.items():
        proc = subprocess.run([python, os.path.abspath(__file__), *argv],
                              stdin=subprocess.DEVNULL, env=test_all.clean_env())
        status |= proc.returncode
    return status


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python benchmarks/ir_roundtrip.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true",
                        help="run on every supported interpreter found (venvs in .venvs/)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="N files spread over the stdlib (default: every file)")
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="best of K timings for compile() and bchook.ir (default 1)")
    parser.add_argument("--no-library", action="store_true",
                        help="skip the (slow) bytecode library column")
    args = parser.parse_args(argv)
    if args.all:
        return run_all([a for a in argv if a != "--all"])
    return report(args.sample, not args.no_library, max(1, args.repeat))


if __name__ == "__main__":
    sys.exit(main())
