"""Walrus in conditions, loops and comprehensions (binding in the enclosing scope), nested
comprehensions, comprehension scoping (inlined since 3.12), class-body comprehensions."""

import re


def find_first(values, limit):
    if any((hit := v) > limit for v in values):
        return hit
    return None


print(find_first([1, 5, 9], 4), find_first([1, 2], 4))


def walrus_in_while(data):
    out = []
    it = iter(data)
    while (item := next(it, None)) is not None:
        out.append(item * 2)
    return out, item


print(walrus_in_while([1, 2, 3]))


def running_total(values):
    total = 0
    sums = [total := total + v for v in values]
    return sums, total


print(running_total([1, 2, 3, 4]))


def nested_comprehensions(n):
    matrix = [[i * j for j in range(n)] for i in range(n)]
    flat = [x for row in matrix for x in row if x % 2 == 0]
    transposed = [[row[i] for row in matrix] for i in range(n)]
    pairs = {(i, j) for i in range(n) for j in range(i)}
    lookup = {k: [v for v in range(k)] for k in range(n)}
    return matrix, flat, transposed, sorted(pairs), lookup


print(nested_comprehensions(3))


def comprehension_scope():
    x = "outer"
    values = [x for x in range(3)]
    y = [lambda: x for x in range(2)]
    return x, values, [f() for f in y]


print(comprehension_scope())


class Config:
    base = 10
    scaled = [base * i for i in range(3)] if False else None
    names = [name.upper() for name in ("a", "b")]
    table = {n: len(n) for n in names}


print(Config.scaled, Config.names, Config.table)


def regex_walrus(lines):
    found = []
    for line in lines:
        if (m := re.match(r"(\w+)=(\d+)", line)) and (value := int(m.group(2))) > 1:
            found.append((m.group(1), value))
    return found, m is None


print(regex_walrus(["a=1", "b=22", "junk", "c=3"]))


def generator_in_comprehension():
    gens = [(x * y for y in range(3)) for x in range(3)]
    return [list(g) for g in gens]


print(generator_in_comprehension())


def comprehension_error(values):
    return [10 // v for v in values]


try:
    comprehension_error([1, 2, 0])
except ZeroDivisionError as exc:
    tb = exc.__traceback__
    frames = []
    while tb:
        frames.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    print("comprehension error frames", frames[1:])

print([(a, b) for a in range(3) if a for b in range(a) if (c := a + b) > 1], c)
