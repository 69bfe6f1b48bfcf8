"""Random nests of blocks, left by gotos to random depths, against the same program
where exceptions do the leaving: both must unwind the same blocks in the same order
(``__exit__``, ``finally`` bodies, loops) and end in the same exception state."""

from __future__ import annotations

import sys
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from bchook.pipeline.driver import transform_source
from bchook.ir._version import PY311
from bchook.passes.goto.transform import GotoPass

KINDS = ["for", "while", "with", "try-finally", "try-except", "handler", "finally-body",
         "try-else", "else-finally", "for-else", "if", "match"] + (["try-star"] if PY311 else [])


def open_block(kind: str, n: int) -> list[str]:
    """Lines that open a block of ``kind``; its body goes one level deeper."""
    return {
        "for": [f"for i{n} in range(2):", f"    log.append('iter {n}')"],
        "while": [f"w{n} = 0", f"while w{n} < 2:", f"    w{n} += 1",
                  f"    log.append('iter {n}')"],
        "with": [f"with CM('{n}', log):"],
        "try-finally": ["try:"],
        "try-except": ["try:"],
        "handler": ["try:", f"    raise ValueError({n})", "except ValueError:"],
        "finally-body": ["try:", f"    log.append('try {n}')", "finally:"],
        "try-else": ["try:", "    pass", "except ValueError:", "    pass", "else:"],
        "else-finally": ["try:", "    pass", "except ValueError:", "    pass", "else:"],
        "for-else": [f"for i{n} in range(1):", f"    log.append('iter {n}')", "else:"],
        "try-star": ["try:"],
        "if": ["if log is not None:"],
        "match": [f"match {n}:", f"    case {n}:"],
    }[kind]


def close_block(kind: str, n: int) -> list[str]:
    """Lines after the body of a block of ``kind`` (at the block's own indentation)."""
    return {
        "try-finally": ["finally:", f"    log.append('finally {n}')"],
        "try-except": ["except ValueError:", "    log.append('never')"],
        "else-finally": ["finally:", f"    log.append('finally {n}')"],
        "try-star": ["except* ValueError:", "    log.append('never')"],
    }.get(kind, [])


def program(kinds: list[str], jumps: list[tuple[int, int]], jump: bool) -> str:
    """``f(log)``: blocks ``kinds`` nested outermost first. In the innermost body, jump
    ``j`` of ``jumps`` = ``(target, arrival)`` leaves block ``target`` on its ``arrival``-th
    run, by ``goto .out<j>`` (``jump``) or by raising ``Leave<j>``."""

    def body(level: int) -> list[str]:
        if level == len(kinds):
            lines = ["log.append('inner')"]
            for j, (_, arrival) in enumerate(jumps):
                leave = f"goto .out{j}" if jump else f"raise Leave{j}"
                lines += [f"if tick({j}) == {arrival}:", f"    {leave}"]
            return lines + ["log.append('inner after')"]
        kind = kinds[level]
        lines = open_block(kind, level)
        depth = 2 if kind == "match" else 1
        lines += ["    " * depth + line for line in body(level + 1)]
        lines += close_block(kind, level)
        here = [j for j, (target, _) in enumerate(jumps) if target == level]
        for j in here:
            if jump:
                lines += [f"label .out{j}"]
            else:
                lines = ["try:"] + ["    " + line for line in lines] + \
                        [f"except Leave{j}:", "    pass"]
        if here:
            lines += ["log.append(('after', exc_name()))"]
        return lines

    return "def f(log):\n" + textwrap.indent("\n".join(body(0)), "    ") + \
        "\n    log.append('end')\n    return log\n"


PRELUDE = """
import sys
from bchook.goto import goto, label

class Leave0(Exception):
    pass

class Leave1(Exception):
    pass

class CM:
    def __init__(self, name, log):
        self.name, self.log = name, log
    def __enter__(self):
        self.log.append('enter ' + self.name)
    def __exit__(self, *exc):
        self.log.append('exit ' + self.name)

arrivals = [0, 0]

def tick(j):
    arrivals[j] += 1
    return arrivals[j]

def exc_name():
    kind = sys.exc_info()[0]
    return None if kind is None else kind.__name__
"""


def run(source: str, rewrite: bool):
    text = PRELUDE + source
    if rewrite:
        code = transform_source(text, "<goto-prop>", "goto_prop", [GotoPass()])
    else:
        code = compile(text, "<goto-prop>", "exec")
    namespace = {"__name__": "goto_prop"}
    exec(code, namespace)
    return namespace["f"]([])


nests = st.lists(st.sampled_from(KINDS), min_size=1, max_size=5)


@given(kinds=nests, data=st.data())
def test_goto_unwinds_like_an_exception(kinds, data):
    jump = st.tuples(st.integers(0, len(kinds) - 1), st.integers(1, 4))
    jumps = data.draw(st.lists(jump, min_size=1, max_size=2), label="jumps")
    with_goto = program(kinds, jumps, jump=True)
    reference = program(kinds, jumps, jump=False)
    expected = run(reference, rewrite=False)
    assert run(with_goto, rewrite=True) == expected, with_goto
    assert sys.exc_info() == (None, None, None)


def test_the_generator_nests_what_it_claims():
    text = program(["handler", "for", "with"], [(2, 2)], jump=True)
    assert "goto .out0" in text and "label .out0" in text
    log = run(text, rewrite=True)
    assert log.count("enter 2") == 2 and log.count("exit 2") == 2
    assert log.count("inner") == 2 and log.count("inner after") == 1
    assert log.count(("after", "ValueError")) == 2
