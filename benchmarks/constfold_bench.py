"""constfold: hot code plain against folded, each tier, ratios from one run.

    python benchmarks/constfold_bench.py [--repeat 25] [--scale 0.3]

Every case is a module compiled twice in this process: plain, and through the constfold
pass with one tier's options (``tier1``: no option; ``tier2``: builtins, stdlib, caps,
membership_sets; ``tier3``: tier 2 plus guard). Timings are interleaved and the best of
``--repeat`` (CPU time of this process, which other work on the machine disturbs less
than wall time) is kept; a ratio is plain time / folded time (above 1: faster); ``=`` means
the tier left the bytecode exactly as CPython compiled it (so there is nothing to time).
The result of every variant is checked against plain Python's.

B1 ``if DEBUG:`` in a hot loop (``DEBUG: Final``), B2 ``ord('a')``/``len('lit')``,
B3 ``2*math.pi*r`` over float radii, B4 ``x in (9 strings)`` (3 words in 10 are in the tuple), B5 locals assigned once from constants and the
folds they reveal (methods, subscripts, shifts), B6 a tiny function reading a plain module
global that is neither ``Final`` nor ALL_CAPS (tier 3 folds it with no per-call check), and ``lexer``: a small tokenizer of real
code with a keyword table, a DEBUG flag and ``string`` constants.
Targets on 3.11 and 3.13: B1 >= 1.10, B2 >= 1.30, B3 >= 1.60, B4 >= 2.0, none below 0.98.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import textwrap
import time
import types
import warnings

from bchook.pipeline.driver import transform_source
from bchook.passes.constfold import ConstFoldPass

TIERS = {
    "tier1": {},
    "tier2": {"builtins": 1, "stdlib": 1, "caps": 1, "membership_sets": 1},
    "tier3": {"builtins": 1, "stdlib": 1, "caps": 1, "membership_sets": 1, "guard": 1},
}

B1 = """
from typing import Final
DEBUG: Final = False

def log(*args):
    print(*args)

def run(n):
    total = 0
    for i in range(n):
        if DEBUG:
            log("step", i)
        total += i
    return total
"""

B2 = """
def run(n):
    total = 0
    for i in range(n):
        total += ord('a') + len('lit')
    return total
"""

B3 = """
import math

RADII = [0.5 * i for i in range(1000)]

def run(n):
    total = 0.0
    for _ in range(n // 1000):
        for r in RADII:
            total += 2 * math.pi * r
    return total
"""

B4 = """
# like a keyword test over a program's words: most are not keywords
WORDS = ['x', 'total', 'delta', 'self', 'value', 'iota', 'items', 'alpha', 'result', 'n'] * 10

def run(n):
    count = 0
    for _ in range(n // 100):
        for w in WORDS:
            if w in ('alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta',
                     'iota'):
                count += 1
    return count
"""

B5 = """
def run(n):
    bits = 8
    fmt = 'a-b-c'
    table = 'xyz'
    total = 0
    for i in range(n):
        total += (i & ((1 << bits) - 1)) + len(fmt.split('-')) + fmt.count('-')
        total += [10, 20, 30][1] + ('y' in table) + table.index('z')
    return total
"""

B6 = """
factor = 3

def scale(x):
    return x * factor

def run(n):
    total = 0
    for i in range(n):
        total += scale(i)
    return total
"""

LEXER = '''
import string
from typing import Final

DEBUG: Final = False
KEYWORDS = ('and', 'as', 'def', 'elif', 'else', 'for', 'if', 'in', 'not', 'or',
            'return', 'while', 'import', 'from', 'class', 'pass')
OPERATORS = ('+', '-', '*', '/', '(', ')', '=', '<', '>', ',', ':', '.', '[', ']')

def trace(*args):
    print(*args)

def tokenize(text):
    tokens = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in string.whitespace:
            i += 1
            continue
        if c in string.ascii_letters or c == '_':
            j = i + 1
            while j < n and (text[j] in string.ascii_letters or text[j] in string.digits
                             or text[j] == '_'):
                j += 1
            word = text[i:j]
            tokens.append(('keyword' if word in KEYWORDS else 'name', word))
            i = j
        elif c in string.digits:
            j = i + 1
            while j < n and text[j] in string.digits:
                j += 1
            tokens.append(('number', int(text[i:j])))
            i = j
        elif c in OPERATORS:
            tokens.append(('op', c))
            i += 1
        else:
            tokens.append(('error', c))
            i += 1
        if DEBUG:
            trace(tokens[-1])
    return tokens

SOURCE = """
def area(shapes, scale):
    total = 0
    for shape in shapes:
        if shape.kind == 'circle' and not shape.hidden:
            total = total + 3 * shape.r * shape.r
        elif shape.kind in ('square', 'rect'):
            total = total + shape.w * shape.h
    return total * scale
""" * 4

def run(n):
    count = 0
    for _ in range(max(1, n // 2000)):
        count += len(tokenize(SOURCE))
    return count
'''

CASES = [
    ("B1 if DEBUG (Final)", B1, 300_000),
    ("B2 ord/len of literals", B2, 300_000),
    ("B3 2*math.pi*r", B3, 300_000),
    ("B4 x in 9 strings", B4, 300_000),
    ("B5 locals + folds", B5, 200_000),
    ("B6 tiny fn, global", B6, 300_000),
    ("lexer (real code)", LEXER, 200_000),
]


_serial = itertools.count()


def build(source: str, options: dict | None):
    """``(run function, fingerprint of every code object's bytecode)``."""
    source = textwrap.dedent(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if options is None:
            code = compile(source, "<bench>", "exec", dont_inherit=True)
        else:
            code = transform_source(source, "<bench>", "constfold_bench",
                                    [ConstFoldPass(**options)])
    # a real module in sys.modules, as an import makes it (tier 3 guards the module object)
    module = types.ModuleType(f"constfold_bench_{next(_serial)}")
    sys.modules[module.__name__] = module
    exec(code, module.__dict__)
    return module.run, _fingerprint(code)


def _fingerprint(code) -> tuple:
    inner = tuple(_fingerprint(c) for c in code.co_consts if type(c) is type(code))
    return (code.co_code, inner)


def best_times(funcs: dict, n: int, repeat: int) -> dict:
    best = {name: float("inf") for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            start = time.process_time()
            func(n)
            best[name] = min(best[name], time.process_time() - start)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--scale", type=float, default=0.3, help="multiply loop sizes")
    args = parser.parse_args(argv)
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"constfold benchmark on Python {version}: plain time / folded time, best of "
          f"{args.repeat}")
    print(f"{'case':24} {'plain':>9} " + " ".join(f"{t:>7}" for t in TIERS))
    worst = float("inf")
    for label, source, n in CASES:
        n = max(100, int(n * args.scale))
        funcs = {}
        funcs["plain"], plain_print = build(source, None)
        same = set()
        for tier, options in TIERS.items():
            funcs[tier], fingerprint = build(source, options)
            if fingerprint == plain_print:
                same.add(tier)  # nothing folded: timing it would only measure noise
        expected = funcs["plain"](n)
        for name, func in funcs.items():
            got = func(n)
            if got != expected:
                print(f"{label}: {name} returned {got!r}, plain {expected!r}")
                return 1
        best = best_times({k: f for k, f in funcs.items() if k not in same}, n, args.repeat)
        ratios = {t: best["plain"] / best[t] for t in TIERS if t not in same}
        worst = min(worst, *ratios.values()) if ratios else worst
        print(f"{label:24} {best['plain'] * 1e3:7.1f}ms " + " ".join(
            f"{'=':>7}" if t in same else f"{ratios[t]:6.2f}x" for t in TIERS))
    print(f"lowest ratio: {worst:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
