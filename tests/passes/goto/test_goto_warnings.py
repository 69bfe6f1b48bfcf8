"""PEP 765 (3.14+): the compiler warns of ``return``/``break``/``continue`` leaving a
``finally`` body. A goto out of a ``finally`` body is lowered to a ``break`` of the goto
pass's own: that one must not warn, while the user's own statements still do."""

from __future__ import annotations

import contextlib
import sys
import warnings

import pytest

from bchook.pipeline.driver import transform_source
from bchook.passes.goto.transform import GotoPass
from goto_helpers import MODES, load, write

PEP765 = sys.version_info >= (3, 14)
FINALLY_BREAK = "'break' in a 'finally' block"
FINALLY_RETURN = "'return' in a 'finally' block"


def compile_warnings(tmp_path, source: str) -> list:
    """``(message, line)`` of every warning compiling ``source`` through the goto pass
    gives (each reported, none turned into an error)."""
    path, text = write(tmp_path, source, "hook")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        transform_source(text, str(path), path.stem, [GotoPass()])
    return [(str(w.message), w.lineno) for w in caught]


LEAVE_FINALLY = """
    @rewrite
    def f(log, fail):
        try:
            if fail:
                raise ValueError
        finally:
            log.append("finally")
            goto .out
        log.append("not here")
        label .out
        log.append("out")
        return log
"""


@pytest.mark.parametrize("mode", MODES)
def test_goto_out_of_a_finally_body_gives_no_warning_even_as_errors(tmp_path, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = load(tmp_path, LEAVE_FINALLY, mode)
    assert m.f([], False) == ["finally", "out"]
    assert m.f([], True) == ["finally", "out"]  # the exception is dropped, as by break
    assert compile_warnings(tmp_path, LEAVE_FINALLY) == []


def test_goto_out_of_a_finally_body_inside_a_with_inside_the_finally(tmp_path):
    source = """
        class CM:
            def __init__(self, log): self.log = log
            def __enter__(self): return self
            def __exit__(self, *exc): self.log.append("exit")

        def f(log):
            try:
                pass
            finally:
                with CM(log):
                    goto .out
            label .out
            return log
    """
    assert compile_warnings(tmp_path, source) == []
    assert load(tmp_path, source, "hook").f([]) == ["exit"]


def test_the_users_own_return_in_a_finally_body_still_warns(tmp_path):
    source = """
        def f(x):
            try:
                if x:
                    goto .out
            finally:
                goto .out
            return 1
            label .out
            try:
                pass
            finally:
                return 2  # USER RETURN
    """
    found = compile_warnings(tmp_path, source)
    path, text = write(tmp_path, source, "hook")
    line = text.splitlines().index("        return 2  # USER RETURN") + 1
    assert found == ([(FINALLY_RETURN, line)] if PEP765 else [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SyntaxError) if PEP765 else contextlib.nullcontext():
            transform_source(text, str(path), path.stem, [GotoPass()])


def test_the_users_own_break_and_continue_in_a_finally_body_still_warn(tmp_path):
    source = """
        def f(items):
            for x in items:
                try:
                    pass
                finally:
                    if x == 1:
                        goto .out
                    if x == 2:
                        break  # USER BREAK
            label .out
            for x in items:
                try:
                    pass
                finally:
                    if x: goto .again; break  # SAME LINE
            label .again
            for x in items:
                try:
                    pass
                finally:
                    continue  # USER CONTINUE
            return x
    """
    found = compile_warnings(tmp_path, source)
    if not PEP765:
        assert found == []
        return
    text = write(tmp_path, source, "hook")[1].splitlines()

    def line(tail):
        return next(n for n, t in enumerate(text, 1) if t.endswith(tail))

    assert (FINALLY_BREAK, line("# USER BREAK")) in found
    assert (FINALLY_BREAK, line("# SAME LINE")) in found
    assert ("'continue' in a 'finally' block", line("# USER CONTINUE")) in found
    assert {w for w in found if w[1] == line("goto .out")} == set()


#: A user's ``continue`` that the wrapper of a block a goto leaves turns into a ``break``,
#: in a ``finally`` body of the wrapped block (``in_u``) or only in one around it (``around``).
CONTINUE_IN_FINALLY = {
    "in_u": """
        @rewrite
        def f(items, log):
            for x in items:
                try:
                    log.append(x)
                finally:
                    if x == 9:
                        goto .out
                    continue  # USER CONTINUE
                log.append("not here")
            label .out
            return log
    """,
    "in_u_twice": """
        @rewrite
        def f(items, log):
            for x in items:
                try:
                    log.append(x)
                finally:
                    try:
                        pass
                    finally:
                        if x == 9:
                            goto .out
                        continue  # USER CONTINUE
                log.append("not here")
            label .out
            return log
    """,
    "around": """
        @rewrite
        def f(items, log):
            for x in items:
                try:
                    log.append(x)
                finally:
                    with open(__file__):
                        if x == 9:
                            goto .out
                        continue  # USER CONTINUE
                log.append("not here")
            label .out
            return log
    """,
    "in_u_and_around": """
        @rewrite
        def f(items, log):
            for x in items:
                try:
                    log.append(x)
                finally:
                    with open(__file__):
                        try:
                            pass
                        finally:
                            if x == 9:
                                goto .out
                            continue  # USER CONTINUE
                log.append("not here")
            label .out
            return log
    """,
}


@pytest.mark.parametrize("case", sorted(CONTINUE_IN_FINALLY))
def test_the_users_continue_left_by_a_wrapper_still_warns_as_a_continue(tmp_path, case):
    source = CONTINUE_IN_FINALLY[case]
    path, text = write(tmp_path, source, "hook")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile(text, str(path), "exec")  # the user's own warnings, without the goto pass
    users = [(str(w.message), w.lineno) for w in caught]
    line = text.splitlines().index(next(t for t in text.splitlines()
                                         if t.endswith("# USER CONTINUE"))) + 1
    assert users == ([("'continue' in a 'finally' block", line)] if PEP765 else [])
    assert compile_warnings(tmp_path, source) == users
    if PEP765:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(SyntaxError, match="'continue' in a 'finally' block") as info:
                transform_source(text, str(path), path.stem, [GotoPass()])
            assert info.value.lineno == line
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        for mode in MODES:
            assert load(tmp_path, source, mode).f([1, 2, 9, 3], []) == [1, 2, 9]
