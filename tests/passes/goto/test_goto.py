"""goto/label semantics, each test run twice: through the goto pass (as the import hook
compiles modules) and through the ``@with_goto`` decorator."""

from __future__ import annotations

import asyncio
import dis
import gc
import sys
import traceback

import pytest

from bchook.ir._version import PY311
from goto_helpers import MODES, line_of, load


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


@pytest.fixture
def build(tmp_path, mode):
    return lambda source: load(tmp_path, source, mode)


# -- plain jumps ------------------------------------------------------------------------

def test_forward_and_backward_jumps(build):
    m = build("""
        @rewrite
        def count(n):
            out = []
            i = 0
            goto .test
            label .body
            out.append(i)
            i += 1
            label .test
            if i < n:
                goto .body
            return out
    """)
    assert m.count(4) == [0, 1, 2, 3]
    assert m.count(0) == []


def test_many_gotos_to_one_label_from_different_blocks(build):
    m = build("""
        class CM:
            def __init__(self, log): self.log = log
            def __enter__(self): return self
            def __exit__(self, *exc): self.log.append("exit")

        @rewrite
        def pick(how):
            log = []
            if how == "if":
                goto .done
            for x in range(3):
                if how == "for":
                    goto .done
            with CM(log):
                if how == "with":
                    goto .done
            try:
                raise KeyError
            except KeyError:
                if how == "except":
                    goto .done
            log.append("fell through")
            label .done
            log.append(how)
            return log
    """)
    assert m.pick("if") == ["if"]
    assert m.pick("for") == ["for"]
    assert m.pick("with") == ["exit", "with"]
    assert m.pick("except") == ["exit", "except"]
    assert m.pick("none") == ["exit", "fell through", "none"]


def test_label_as_last_statement(build):
    m = build("""
        @rewrite
        def f(log):
            log.append(1)
            goto .end
            log.append(2)
            label .end

        @rewrite
        def g(n):
            while n:
                n -= 1
                if n == 5:
                    goto .next
                label .next
            return n
    """)
    log = []
    assert m.f(log) is None
    assert log == [1]
    assert m.g(9) == 0


def test_goto_into_while_body_and_loop_else(build):
    m = build("""
        @rewrite
        def f(n):
            log = []
            goto .inside
            while n > 0:
                log.append("top")
                label .inside
                log.append(n)
                n -= 1
            else:
                log.append("else")
            return log

        @rewrite
        def g():
            log = []
            goto .after
            for x in range(2):
                log.append(x)
            else:
                label .after
                log.append("else")
            return log
    """)
    assert m.f(2) == [2, "top", 1, "else"]
    assert m.g() == ["else"]


def test_match_case_bodies_may_be_entered_and_left(build):
    m = build("""
        @rewrite
        def f(x):
            log = []
            match x:
                case 1:
                    log.append("one")
                    goto .two
                case 2:
                    label .two
                    log.append("two")
                case _:
                    goto .out
            log.append("after match")
            label .out
            return log
    """)
    assert m.f(1) == ["one", "two", "after match"]
    assert m.f(2) == ["two", "after match"]
    assert m.f(3) == []


def test_many_labels_need_extended_arg(build):
    n = 160
    lines = ["@rewrite", "def chain():", "    out = []", f"    goto .l{n - 1}"]
    for i in range(n):
        lines += [f"    label .l{i}", f"    out.append({i})",
                  "    goto .end" if i == 0 else f"    goto .l{i - 1}"]
    lines += ["    label .end", "    return out"]
    m = build("\n".join(lines) + "\n")
    assert m.chain() == list(range(n - 1, -1, -1))
    ops = {ins.opname for ins in dis.get_instructions(m.chain)}
    assert "EXTENDED_ARG" in ops


# -- leaving loops --------------------------------------------------------------------

def test_leaving_nested_for_loops_at_once(build):
    m = build("""
        @rewrite
        def find(grid, wanted):
            for r, row in enumerate(grid):
                for c, value in enumerate(row):
                    while True:
                        if value == wanted:
                            goto .found
                        break
            return None
            label .found
            return r, c
    """)
    assert m.find([[1, 2], [3, 4]], 3) == (1, 0)
    assert m.find([[1, 2], [3, 4]], 9) is None


def test_100000_jumps_out_of_loops_release_every_iterator(build):
    m = build("""
        import weakref

        class Counted:
            alive = 0
            def __init__(self): Counted.alive += 1; self.i = 0
            def __del__(self): Counted.alive -= 1
            def __iter__(self): return self
            def __next__(self):
                self.i += 1
                return self.i

        @rewrite
        def spin(n):
            most = 0
            done = 0
            label .again
            for a in Counted():
                for b in Counted():
                    most = max(most, Counted.alive)
                    done += 1
                    if done < n:
                        goto .again
                    goto .out
            label .out
            return done, most, Counted.alive
    """)
    done, most, alive = m.spin(100_000)
    assert done == 100_000
    assert most == 2  # the iterators of earlier rounds were all released
    assert alive == 0


def test_iterator_is_collected_right_after_the_jump(build):
    m = build("""
        import weakref

        class It:
            def __iter__(self): return self
            def __next__(self): return 1

        @rewrite
        def f():
            it = It()
            ref = weakref.ref(it)
            for x in it:
                del it
                goto .out
            label .out
            return ref() is None
    """)
    assert m.f() is True


def test_generator_iterator_is_closed_by_the_jump(build):
    m = build("""
        log = []

        def numbers():
            try:
                yield 1
                yield 2
            finally:
                log.append("closed")

        @rewrite
        def f():
            for x in numbers():
                goto .out
            label .out
            log.append("after jump")
            return log
    """)
    assert m.f() == ["closed", "after jump"]


# -- try/except -----------------------------------------------------------------------

def test_after_leaving_a_try_body_the_label_handlers_apply(build):
    m = build("""
        @rewrite
        def f(log):
            try:
                try:
                    try:
                        goto .out
                    except ValueError:
                        log.append("skipped handler")
                    label .out
                    raise ValueError
                except ValueError:
                    log.append("handler around the label")
                goto .bare
            except ValueError:
                log.append("wrong")
            label .bare
            raise KeyError
    """)
    log = []
    with pytest.raises(KeyError):
        m.f(log)
    assert log == ["handler around the label"]


def test_leaving_an_except_handler_clears_the_exception(build):
    m = build("""
        import sys

        @rewrite
        def f():
            try:
                raise ValueError
            except ValueError:
                goto .out
            label .out
            return sys.exc_info()

        @rewrite
        def g():
            try:
                raise KeyError("outer")
            except KeyError:
                for x in range(3):
                    try:
                        raise ValueError("inner")
                    except ValueError as e:
                        goto .out
                label .out
                inner_gone = "e" not in locals()
                return sys.exc_info()[0], inner_gone
    """)
    assert m.f() == (None, None, None)
    assert m.g() == (KeyError, True)


def test_jumping_within_a_handler_keeps_the_exception(build):
    m = build("""
        import sys

        @rewrite
        def f():
            try:
                raise ValueError
            except ValueError:
                n = 0
                label .again
                n += 1
                if n < 3:
                    goto .again
                return n, sys.exc_info()[0]
    """)
    assert m.f() == (3, ValueError)


# -- with and finally -----------------------------------------------------------------

CM = """
class CM:
    def __init__(self, name, log): self.name, self.log = name, log
    def __enter__(self):
        self.log.append("enter " + self.name)
        return self
    def __exit__(self, *exc):
        self.log.append(("exit", self.name, exc))
        return False
"""


def test_leaving_with_blocks_calls_exit_once_inner_first(build):
    m = build(CM + """
@rewrite
def f():
    log = []
    with CM("a", log):
        with CM("b", log), CM("c", log):
            goto .out
            log.append("not run")
    log.append("not run either")
    label .out
    log.append("out")
    return log
""")
    assert m.f() == ["enter a", "enter b", "enter c", ("exit", "c", (None, None, None)),
                     ("exit", "b", (None, None, None)), ("exit", "a", (None, None, None)),
                     "out"]


def test_leaving_try_finally_runs_the_finally_body_once(build):
    m = build(CM + """
@rewrite
def f(rounds):
    log = []
    n = 0
    label .again
    try:
        with CM("w", log):
            try:
                n += 1
                if n < rounds:
                    goto .again
                goto .out
            finally:
                log.append("inner finally")
    finally:
        log.append("outer finally")
    log.append("not run")
    label .out
    return log
""")
    one = ["enter w", "inner finally", ("exit", "w", (None, None, None)), "outer finally"]
    assert m.f(3) == one * 3


def test_goto_inside_a_finally_body_on_both_paths(build):
    m = build("""
        @rewrite
        def f(fail):
            log = []
            try:
                try:
                    if fail:
                        raise ValueError
                finally:
                    n = 0
                    label .again
                    n += 1
                    if n < 3:
                        goto .again
                    log.append(n)
            except ValueError:
                log.append("caught")
            return log
    """)
    assert m.f(False) == [3]
    assert m.f(True) == [3, "caught"]


def test_goto_out_of_a_finally_body_drops_the_exception_like_break(build):
    m = build("""
        import sys

        @rewrite
        def f(log):
            try:
                raise ValueError
            finally:
                log.append("finally")
                goto .out
            label .out
            log.append(sys.exc_info()[0])
            return "done"
    """)
    log = []
    assert m.f(log) == "done"
    assert log == ["finally", None]


def test_exception_in_exit_during_the_jump_propagates(build):
    m = build("""
        class Bad:
            def __enter__(self): return self
            def __exit__(self, *exc): raise RuntimeError("exit failed")

        @rewrite
        def f(log):
            try:
                with Bad():
                    goto .out
            except RuntimeError as e:
                log.append(str(e))
            return log
            label .out
            log.append("jumped")
            return log
    """)
    assert m.f([]) == ["exit failed"]


def test_break_and_continue_still_work_in_blocks_a_goto_leaves(build):
    m = build(CM + """
@rewrite
def f(data):
    log = []
    for x in data:
        with CM(str(x), log):
            if x == 1:
                continue
            if x == 3:
                break
            if x == 2:
                goto .skip
            log.append(x)
        log.append("after with")
        label .skip
    else:
        log.append("else")
    return [e if isinstance(e, (int, str)) else e[1] for e in log]
""")
    assert m.f([0, 1, 2, 3, 4]) == ["enter 0", 0, "0", "after with", "enter 1", "1",
                                    "enter 2", "2", "enter 3", "3"]
    assert m.f([0]) == ["enter 0", 0, "0", "after with", "else"]


# -- generators, coroutines, closures, methods --------------------------------------------

def test_generator_yields_around_gotos(build):
    m = build(CM + """
log = []

@rewrite
def gen(n):
    i = 0
    label .top
    with CM("w", log):
        sent = yield i
        if sent == "stop":
            goto .out
    i += 1
    if i < n:
        goto .top
    label .out
    return i
""")
    g = m.gen(5)
    assert next(g) == 0
    assert g.send(None) == 1
    with pytest.raises(StopIteration) as stop:
        g.send("stop")
    assert stop.value.value == 1
    assert [e[0] if isinstance(e, tuple) else e for e in m.log] == [
        "enter w", "exit", "enter w", "exit"]


def test_async_function_with_async_with_and_async_for(build):
    m = build("""
        import asyncio

        class ACM:
            def __init__(self, log): self.log = log
            async def __aenter__(self):
                self.log.append("aenter")
            async def __aexit__(self, *exc):
                await asyncio.sleep(0)
                self.log.append(("aexit", exc))

        async def ticks():
            for i in range(10):
                await asyncio.sleep(0)
                yield i

        @rewrite
        async def f():
            log = []
            async for i in ticks():
                async with ACM(log):
                    if i == 2:
                        goto .out
                    log.append(i)
            label .out
            await asyncio.sleep(0)
            return log
    """)
    assert asyncio.run(m.f()) == ["aenter", 0, ("aexit", (None, None, None)), "aenter", 1,
                                  ("aexit", (None, None, None)), "aenter",
                                  ("aexit", (None, None, None))]


def test_closures_cell_and_free_variables(build):
    m = build("""
        def outer(start):
            total = start

            @rewrite
            def add(n):
                nonlocal total
                label .again
                total += 1
                n -= 1
                if n:
                    goto .again
                return total
            return add

        @rewrite
        def counter(n):
            seen = []
            def remember(x):
                seen.append(x)
            i = 0
            label .top
            remember(i)
            i += 1
            if i < n:
                goto .top
            return seen
    """)
    add = m.outer(10)
    assert add(3) == 13
    assert add(2) == 15
    assert m.counter(3) == [0, 1, 2]


def test_method_with_zero_argument_super(build):
    m = build("""
        class Base:
            def walk(self, n):
                return ["base", n]

        class Child(Base):
            @rewrite
            def walk(self, n):
                out = []
                label .again
                out.append(n)
                n -= 1
                if n:
                    goto .again
                return out + super().walk(n)
    """)
    assert m.Child().walk(3) == [3, 2, 1, "base", 0]


# -- unreachable labels, tracebacks ----------------------------------------------------

def test_labels_the_compiler_would_drop_still_work(build):
    m = build("""
        @rewrite
        def after_return():
            goto .later
            return "early"
            label .later
            return "later"

        @rewrite
        def after_endless_loop(n):
            goto .start
            while True:
                n += 1
            label .start
            return n

        @rewrite
        def under_if_false():
            goto .dead
            if False:
                label .dead
                return "dead branch"
            return "live"

        @rewrite
        def in_else_of_try_that_returns():
            goto .other
            try:
                return "try"
            except KeyError:
                pass
            else:
                label .other
                return "else"
    """)
    assert m.after_return() == "later"
    assert m.after_endless_loop(1) == 1
    assert m.under_if_false() == "dead branch"
    assert m.in_else_of_try_that_returns() == "else"


def test_tracebacks_show_the_right_lines_after_jumps(build):
    m = build("""
        class Boom:
            def __enter__(self): return self
            def __exit__(self, *exc): return False

        @rewrite
        def f(n):
            label .top
            n -= 1
            if n == 0:
                with Boom():
                    goto .crash
            goto .top
            label .crash
            x = 1 // n  # CRASH
    """)
    with pytest.raises(ZeroDivisionError) as info:
        m.f(3)
    frame = traceback.extract_tb(info.tb)[-1]
    assert frame.name == "f"
    assert frame.lineno == line_of(m, "# CRASH")
    assert frame.line == "x = 1 // n  # CRASH"


def test_unrewritten_goto_raises_a_clear_error(tmp_path):
    from bchook.goto import goto, label

    def plain():
        goto .nowhere

    with pytest.raises(RuntimeError, match=r"'goto \.nowhere' ran without being rewritten"):
        plain()
    with pytest.raises(RuntimeError, match="with_goto"):
        label .x  # noqa: B018
    assert repr(goto) == "bchook.goto.goto"
    assert not hasattr(goto, "__wrapped__")


# -- module level and class bodies (the pass only) -----------------------------------------

def test_module_level_and_class_body_gotos(tmp_path):
    m = load(tmp_path, """
        log = []
        n = 0
        label .again
        try:
            n += 1
            if n < 3:
                goto .again
            if n == 3:
                goto .done
        finally:
            log.append("finally")
        label .done

        class K:
            items = []
            i = 0
            label .top
            for x in range(3):
                with open(__file__) as fh:
                    if i == 1:
                        goto .second
                    if x == 1:
                        goto .first
                items.append((i, x))
            label .first
            items.append("first")
            i += 1
            goto .top
            label .second
            items.append("second")
    """, "hook")
    assert m.log == ["finally"] * 3
    assert m.K.items == [(0, 0), "first", "second"]
    assert "@goto:exit" not in vars(m) and "@goto:exit" not in vars(m.K)


def test_decorator_keeps_what_callers_see(tmp_path):
    d = load(tmp_path, """
        def factory(scale):
            @rewrite
            def scaled(x: int, *, times: int = 2, extra=[]) -> int:
                "Multiply by repeated addition."
                total = 0
                label .add
                total += x * scale
                times -= 1
                if times:
                    goto .add
                return total
            return scaled
    """, "decorator")
    f = d.factory(3)
    assert f(5) == 30 and f(5, times=3) == 45
    assert f.__name__ == "scaled"
    assert f.__qualname__ == "factory.<locals>.scaled"
    assert f.__module__ == d.__name__
    assert f.__doc__ == "Multiply by repeated addition."
    assert f.__kwdefaults__ == {"times": 2, "extra": []}
    assert f.__defaults__ is None
    assert f.__annotations__ == {"x": int, "times": int, "return": int}
    assert str(__import__("inspect").signature(f)) == \
        "(x: int, *, times: int = 2, extra=[]) -> int"
    assert [c.cell_contents for c in f.__closure__] == [3]
    assert f.__code__.co_freevars == ("scale",)


def test_decorator_returns_a_rewritten_copy(tmp_path):
    from bchook.goto import with_goto

    m = load(tmp_path, """
        def f(a, b=2):
            goto .x
            return 1
            label .x
            return 2
        f.tag = "kept"
    """, "decorator")
    original = m.f
    copy = with_goto(original)
    assert copy is not original
    assert copy(1) == 2 and copy.tag == "kept" and copy.__defaults__ == (2,)
    assert copy.__globals__ is original.__globals__
    with pytest.raises(RuntimeError, match="without being rewritten"):
        original(1)
    # already rewritten: decorating again changes nothing
    assert with_goto(copy).__code__ is copy.__code__


def test_decorator_leaves_code_the_pass_rewrote_alone(tmp_path):
    # The pass leaves no marker names behind, and ``goto`` here also names a method: the
    # decorator must tell rewritten code by its statements, or it would compile the function
    # again from source, undoing what the import hook's other passes did to it.
    from bchook.goto import with_goto

    m = load(tmp_path, """
        class Player:
            def goto(self, where):
                self.at = where

        def move(p):
            p.goto("start")
            goto .end
            p.goto("never")
            label .end
            return p.at
    """, "hook")
    assert "goto" in m.move.__code__.co_names  # the method's name
    assert m.move(m.Player()) == "start"
    again = with_goto(m.move)
    assert again.__code__ is m.move.__code__
    assert again(m.Player()) == "start"


def test_decorator_rejects_non_functions():
    from bchook.goto import with_goto

    with pytest.raises(TypeError, match="functions defined with def"):
        with_goto(len)


def test_functions_without_goto_are_left_alone(tmp_path):
    from bchook.goto import with_goto

    def f():
        return 1

    code = f.__code__
    assert with_goto(f).__code__ is code


@pytest.mark.skipif(not PY311, reason="except* is new in 3.11")
def test_leaving_try_star_body_is_fine(build):
    m = build("""
        @rewrite
        def f(log):
            try:
                goto .out
            except* ValueError:
                log.append("handler")
            label .out
            log.append("out")
            return log
    """)
    assert m.f([]) == ["out"]


def test_gc_does_not_see_leaked_frames(build):
    m = build(CM + """
@rewrite
def f(log):
    for i in range(3):
        with CM("x", log):
            try:
                goto .out
            finally:
                log.append("f")
    label .out
    return len(log)
""")
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(200):
        m.f([])
    gc.collect()
    assert len(gc.get_objects()) - before < 50


def test_error_in_a_loop_test_reports_the_test_line(build):
    m = build("""
        @rewrite
        def f(items):
            i = 0
            label .top
            if items[i] is None:  # TEST
                goto .done
            i += 1
            goto .top
            label .done
            return i
    """)
    assert m.f([1, 2, None]) == 2
    with pytest.raises(IndexError) as info:
        m.f([1, 2])
    frame = traceback.extract_tb(info.tb)[-1]
    assert frame.lineno == line_of(m, "# TEST")


def test_method_of_a_class_inside_a_function(build):
    m = build("""
        def make(offset):
            class Base:
                def value(self, n):
                    return n
            class Child(Base):
                @rewrite
                def value(self, n):
                    total = 0
                    label .again
                    total += super().value(n) + offset
                    n -= 1
                    if n > 0:
                        goto .again
                    return total
            return Child
    """)
    child = m.make(10)
    assert child().value(3) == (3 + 10) + (2 + 10) + (1 + 10)
    assert child.value.__qualname__ == "make.<locals>.Child.value"
    assert child.value.__code__.co_freevars == ("__class__", "offset")


def test_nested_decorated_functions(build):
    m = build("""
        @rewrite
        def outer(n):
            @rewrite
            def inner(k):
                label .again
                k -= 1
                if k > 0:
                    goto .again
                return k
            i = 0
            label .loop
            i += 1
            if i < n:
                goto .loop
            return i, inner(5), inner.__qualname__
    """)
    assert m.outer(3) == (3, 0, "outer.<locals>.inner")


def test_decorator_with_an_unusual_qualname(tmp_path):
    from bchook.goto import with_goto

    m = load(tmp_path, """
        def make(step):
            def f(n):
                i = 0
                label .again
                i += step
                if i < n:
                    goto .again
                def helper():
                    return step
                return i, helper.__qualname__
            return f
    """, "decorator")
    f = m.make(2)
    f.__qualname__ = "renamed by hand"
    g = with_goto(f)
    assert g(5)[0] == 6
    assert g.__qualname__ == "renamed by hand"
    assert [c.cell_contents for c in g.__closure__] == [2]
    if PY311:
        assert g.__code__.co_qualname == "renamed by hand"


def test_decorator_keeps_future_annotations(tmp_path):
    m = load(tmp_path, """
        from __future__ import annotations

        @rewrite
        def f(n):
            def typed(x: int) -> int:
                return x
            label .end
            return typed.__annotations__
    """, "decorator")
    assert m.f(1) == {"x": "int", "return": "int"}


def test_from_a_try_body_or_handler_into_its_else(build):
    m = build("""
        import sys

        @rewrite
        def f(items):
            log = []
            for x in items:
                try:
                    if x == 1:
                        goto .other
                    if x == 2:
                        raise ValueError
                    log.append(("body", x))
                except ValueError:
                    log.append(("handler", x))
                    goto .other
                else:
                    log.append(("else", x))
                    label .other
                    log.append(("other", x, sys.exc_info()[0]))
                    if x == 3:
                        break
                    if x == 0:
                        continue
                    log.append("end of else")
            return log
    """)
    assert m.f([0, 1, 2, 3, 4]) == [
        ("body", 0), ("else", 0), ("other", 0, None),
        ("other", 1, None), "end of else",
        ("handler", 2), ("other", 2, None), "end of else",
        ("body", 3), ("else", 3), ("other", 3, None)]
