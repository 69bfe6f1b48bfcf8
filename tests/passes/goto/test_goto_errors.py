"""Jumps the goto pass refuses: SyntaxError at decoration or import time, naming the file,
the line of the offending goto or label, and the label."""

from __future__ import annotations

import pytest

from bchook.ir._version import PY311
from goto_helpers import MODES, load, write

CASES = {
    "missing label": ("""
        @rewrite
        def f():
            goto .nowhere  # HERE
    """, "there is no label .nowhere"),
    "duplicate label": ("""
        @rewrite
        def f():
            label .twice
            if f:
                label .twice  # HERE
    """, "duplicate label .twice (first defined at line"),
    "into a for body": ("""
        @rewrite
        def f(xs):
            goto .inside  # HERE
            for x in xs:
                label .inside
    """, "goto .inside jumps into a for loop body"),
    "into a for body from its else": ("""
        @rewrite
        def f(xs):
            for x in xs:
                label .inside
            else:
                goto .inside  # HERE
    """, "goto .inside jumps into a for loop body"),
    "into a with block": ("""
        @rewrite
        def f(cm):
            goto .inside  # HERE
            with cm:
                label .inside
    """, "goto .inside jumps into a with block"),
    "into a try body": ("""
        @rewrite
        def f():
            try:
                pass
            except ValueError:
                goto .retry  # HERE
            try:
                label .retry
            finally:
                pass
    """, "goto .retry jumps into a try body"),
    "into an except handler": ("""
        @rewrite
        def f():
            goto .handler  # HERE
            try:
                pass
            except ValueError:
                label .handler
    """, "goto .handler jumps into an except handler"),
    "into a finally body": ("""
        @rewrite
        def f():
            try:
                goto .cleanup  # HERE
            finally:
                label .cleanup
    """, "goto .cleanup jumps into a finally body"),
    "into the else of a try/finally": ("""
        @rewrite
        def f():
            goto .other  # HERE
            try:
                pass
            except KeyError:
                pass
            else:
                label .other
            finally:
                pass
    """, "jumps into the else block of a try with a finally"),
    "into another function": ("""
        @rewrite
        def f():
            def g():
                label .there
            goto .there  # HERE
    """, "label .there is in another scope (function 'g'"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_rejected_jumps(tmp_path, mode, case):
    source, message = CASES[case]
    with pytest.raises(SyntaxError) as info:
        load(tmp_path, source, mode)
    err = info.value
    path, text = write(tmp_path, source, mode)  # same text, to find the line
    expected_line = next(n for n, line in enumerate(text.splitlines(), 1) if "# HERE" in line)
    assert message in str(err)
    assert err.lineno == expected_line
    assert err.filename.endswith(".py") and "goto_case_" in err.filename
    assert err.text is not None and "# HERE" in err.text


def test_goto_to_a_label_in_another_module_level_function(tmp_path):
    with pytest.raises(SyntaxError, match=r"label \.end is in another scope \(function 'g'"):
        load(tmp_path, """
            def f():
                goto .end

            def g():
                label .end
        """, "hook")


@pytest.mark.skipif(not PY311, reason="except* is new in 3.11")
@pytest.mark.parametrize("mode", MODES)
def test_leaving_an_except_star_handler_is_rejected(tmp_path, mode):
    with pytest.raises(SyntaxError, match=r"goto \.out cannot leave an except\* handler"):
        load(tmp_path, """
            @rewrite
            def f():
                try:
                    raise ValueError
                except* ValueError:
                    goto .out
                label .out
        """, mode)


@pytest.mark.parametrize("mode", MODES)
def test_entering_while_if_and_match_blocks_is_allowed(tmp_path, mode):
    m = load(tmp_path, """
        @rewrite
        def f(x):
            log = []
            goto .w
            while x < 3:
                log.append("loop")
                label .w
                x += 1
            if x:
                goto .m
            if x:
                label .i
                log.append("if")
                return log
            match x:
                case _:
                    label .m
                    log.append("case")
                    goto .i
        """, mode)
    assert m.f(0) == ["loop", "loop", "case", "if"]

