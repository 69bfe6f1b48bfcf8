"""Random nests of blocks, left by a goto at a random depth, against the same program
where an exception does the leaving: both must unwind the same blocks in the same order
(``__exit__``, ``finally`` bodies, loops) and end in the same exception state."""

from __future__ import annotations

import sys
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from bchook._passes import transform_source
from bchook.passes.goto import GotoPass

KINDS = ["for", "while", "with", "try-finally", "try-except", "handler", "finally-body",
         "try-else", "if", "match"]


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
        "if": ["if log is not None:"],
        "match": [f"match {n}:", f"    case {n}:"],
    }[kind]


def close_block(kind: str, n: int) -> list[str]:
    """Lines after the body of a block of ``kind`` (at the block's own indentation)."""
    return {
        "try-finally": ["finally:", f"    log.append('finally {n}')"],
        "try-except": ["except ValueError:", "    log.append('never')"],
    }.get(kind, [])


def program(kinds: list[str], target: int, arrival: int, jump: bool) -> str:
    """``f(log)``: blocks ``kinds`` nested outermost first; the innermost body leaves
    block ``target`` on its ``arrival``-th run, by goto (``jump``) or by an exception."""

    def body(level: int) -> list[str]:
        if level == len(kinds):
            leave = "goto .out" if jump else "raise Leave"
            return ["log.append('inner')", f"if step() == {arrival}:", f"    {leave}",
                    "log.append('inner after')"]
        kind = kinds[level]
        lines = open_block(kind, level)
        depth = 2 if kind == "match" else 1
        inner = body(level + 1)
        lines += ["    " * depth + line for line in inner]
        lines += close_block(kind, level)
        if level == target:
            if jump:
                lines += ["label .out"]
            else:
                lines = ["try:"] + ["    " + line for line in lines] + \
                        ["except Leave:", "    pass"]
            lines += ["log.append(('after', exc_name()))"]
        return lines

    text = "def f(log):\n" + textwrap.indent("\n".join(body(0)), "    ") + \
        "\n    log.append('end')\n    return log\n"
    return text


PRELUDE = """
import sys
from bchook.goto import goto, label

class Leave(Exception):
    pass

class CM:
    def __init__(self, name, log):
        self.name, self.log = name, log
    def __enter__(self):
        self.log.append('enter ' + self.name)
    def __exit__(self, *exc):
        self.log.append('exit ' + self.name)

arrivals = [0]

def step():
    arrivals[0] += 1
    return arrivals[0]

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
    target = data.draw(st.integers(0, len(kinds) - 1), label="target")
    arrival = data.draw(st.integers(1, 4), label="arrival")
    with_goto = program(kinds, target, arrival, jump=True)
    reference = program(kinds, target, arrival, jump=False)
    expected = run(reference, rewrite=False)
    assert run(with_goto, rewrite=True) == expected, with_goto
    assert sys.exc_info() == (None, None, None)


def test_the_generator_nests_what_it_claims():
    text = program(["handler", "for", "with"], 2, 2, jump=True)
    assert "goto .out" in text and "label .out" in text
    log = run(text, rewrite=True)
    assert log.count("enter 2") == 2 and log.count("exit 2") == 2
    assert log.count("inner") == 2 and log.count("inner after") == 1
    assert log.count(("after", "ValueError")) == 2
