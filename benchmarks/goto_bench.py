"""Loops written with goto against the same loops written with while/for and break.

    python benchmarks/goto_bench.py [--n 300000] [--repeat 25]

Each pair computes the same thing; both timings come from this one run (best of
``--repeat``, in CPU time so that other processes on a busy machine count less), and the
ratio goto/while is printed for each. The goal is a ratio within 5% of 1.00: the rewritten
goto code should cost what the while loop costs.
"""

from __future__ import annotations

import argparse
import platform
import time

from bchook.goto import goto, label, with_goto


def while_sum(n):
    total = 0
    i = 0
    while i < n:
        total += i
        i += 1
    return total


@with_goto
def goto_sum(n):
    total = 0
    i = 0
    label .test
    if i >= n:
        goto .done
    total += i
    i += 1
    goto .test
    label .done
    return total


def while_collatz(n):
    steps = 0
    for start in range(1, n):
        x = start
        while x != 1:
            if x % 2:
                x = 3 * x + 1
            else:
                x //= 2
            steps += 1
    return steps


@with_goto
def goto_collatz(n):
    steps = 0
    for start in range(1, n):
        x = start
        label .step
        if x == 1:
            goto .next_start
        if x % 2:
            x = 3 * x + 1
        else:
            x //= 2
        steps += 1
        goto .step
        label .next_start
    return steps


def while_search(rows, wanted):
    found = None
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value == wanted:
                found = (r, c)
                break
        if found is not None:
            break
    return found


@with_goto
def goto_search(rows, wanted):
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value == wanted:
                goto .found
    return None
    label .found
    return (r, c)


def best(func, args, repeat):
    times = []
    for _ in range(repeat):
        start = time.process_time()
        func(*args)
        times.append(time.process_time() - start)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000, help="loop size")
    parser.add_argument("--repeat", type=int, default=25,
                        help="runs of each loop; the best is kept")
    args = parser.parse_args(argv)
    n = args.n
    grid = [[i * 100 + j for j in range(100)] for i in range(max(n // 100, 2))]
    wanted = grid[-1][-1]
    pairs = [
        ("count to n", while_sum, goto_sum, (n,)),
        ("collatz steps", while_collatz, goto_collatz, (max(n // 20, 2),)),
        ("grid search", while_search, goto_search, (grid, wanted)),
    ]
    print(f"Python {platform.python_version()}, n={n}, best of {args.repeat}")
    print(f"{'loop':16} {'while (s)':>10} {'goto (s)':>10} {'goto/while':>11}")
    for name, plain, jumping, call_args in pairs:
        assert plain(*call_args) == jumping(*call_args), name
        # alternate the two so that noise from other processes hits both alike
        t_plain = t_goto = float("inf")
        for _ in range(args.repeat):
            t_plain = min(t_plain, best(plain, call_args, 1))
            t_goto = min(t_goto, best(jumping, call_args, 1))
        print(f"{name:16} {t_plain:10.4f} {t_goto:10.4f} {t_goto / t_plain:11.3f}")


if __name__ == "__main__":
    main()
