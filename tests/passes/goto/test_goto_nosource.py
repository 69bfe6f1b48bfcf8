"""``@with_goto`` on functions without a source file (made by ``exec``): the bytecode-only
fallback. Jumps within one try/with/except block work; jumps that would need cleanup code
are refused with a SyntaxError that says the source is needed."""

from __future__ import annotations

import dis
import weakref

import pytest

from bchook.goto import with_goto


def make_function(lines, name="func", env=None):
    """python-goto's helper: the function ``name`` made by exec from ``lines``."""
    text = "\n".join([f"def {name}():"] + ["    " + line for line in lines] + ["    pass"])
    namespace = dict(env or {})
    exec(text, namespace)
    return with_goto(namespace[name])


def test_loop_with_labels():
    func = make_function([
        "x = 0",
        "label .start",
        "if x == 10:",
        "    goto .end",
        "x += 1",
        "goto .start",
        "label .end",
        "return x",
    ])
    assert func() == 10


def test_many_labels_use_extended_arg():
    lines = ["result = True", "goto .foo"]
    for i in range(2000):
        lines += [f"label .l{i}", "result = 'dead code'"]
    lines += ["label .foo", "return result"]
    func = make_function(lines)
    assert func() is True
    assert "EXTENDED_ARG" in {ins.opname for ins in dis.get_instructions(func)}


@pytest.mark.slow
def test_python_goto_extended_arg_case():
    lines = ["result = True", "goto .foo"]
    for i in range(2 ** 16):
        lines += [f"label .l{i}", "result = 'dead code'"]
    lines += ["label .foo", "return result"]
    assert make_function(lines)() is True


def test_leaving_nested_loops_releases_the_iterators():
    class It:
        def __iter__(self):
            return self

        def __next__(self):
            return 1

    seen = []
    func = make_function([
        "it = It()",
        "seen.append(weakref.ref(it))",
        "for a in it:",
        "    for b in range(3):",
        "        del it",
        "        goto .out",
        "label .out",
        "return seen[0]() is None",
    ], env={"It": It, "seen": seen, "weakref": weakref})
    assert func() is True
    count = make_function([
        "n = 0",
        "label .again",
        "for a in range(5):",
        "    for b in range(5):",
        "        n += 1",
        "        if n < 100000:",
        "            goto .again",
        "        goto .done",
        "label .done",
        "return n",
    ])
    assert count() == 100000


def test_jumps_within_one_try_or_handler_block():
    func = make_function([
        "log = []",
        "try:",
        "    n = 0",
        "    label .a",
        "    n += 1",
        "    if n < 3:",
        "        goto .a",
        "    raise ValueError(n)",
        "except ValueError as e:",
        "    m = 0",
        "    label .b",
        "    m += 1",
        "    if m < 2:",
        "        goto .b",
        "    log.append((e.args[0], m))",
        "finally:",
        "    k = 0",
        "    label .c",
        "    k += 1",
        "    if k < 4:",
        "        goto .c",
        "    log.append(k)",
        "return log",
    ])
    assert func() == [(3, 2), 4]


def test_goto_in_a_finally_body_on_the_exception_path():
    func = make_function([
        "log = []",
        "try:",
        "    try:",
        "        raise KeyError",
        "    finally:",
        "        k = 0",
        "        label .c",
        "        k += 1",
        "        if k < 3:",
        "            goto .c",
        "        log.append(k)",
        "except KeyError:",
        "    log.append('caught')",
        "return log",
    ])
    assert func() == [3, "caught"]


def test_goto_into_a_sibling_for_loop_is_refused():
    # the same stack depth at both ends, but the iterator on the stack at the goto is not
    # the one the label's loop needs (accepted, this gave ['x', 'b', 'b'])
    with pytest.raises(SyntaxError) as info:
        make_function([
            "out = []",
            "for a in ['x', 'y']:",
            "    out.append(a)",
            "    goto .inside",
            "for b in ['b', 'c']:",
            "    label .inside",
            "    out.append(b)",
            "return out",
        ])
    assert str(info.value).startswith(
        "goto .inside jumps into a for loop body (line 6) from outside it; label .inside "
        "is at line 7")
    assert (info.value.filename, info.value.lineno) == ("<string>", 5)


def test_goto_into_a_sibling_inner_loop_is_refused():
    message = r"goto \.inner jumps into a for loop body \(line 6\)"
    with pytest.raises(SyntaxError, match=message):
        make_function([
            "for a in range(2):",
            "    for b in range(2):",
            "        if b:",
            "            goto .inner",
            "    for c in range(2):",
            "        label .inner",
        ])


def test_goto_from_an_outer_loop_into_its_inner_loop_is_refused():
    with pytest.raises(SyntaxError) as info:
        make_function([
            "for a in range(2):",
            "    goto .inner",
            "    for b in range(2):",
            "        label .inner",
        ])
    assert "goto .inner jumps into a for loop body (line 4)" in str(info.value)
    assert info.value.lineno == 3


def test_goto_from_an_inner_loop_into_the_outer_loop_body():
    # the jump pops the inner iterator and goes on with the outer one
    forward = make_function([
        "out = []",
        "for a in 'xy':",
        "    for b in '123':",
        "        if b == '2':",
        "            goto .after_inner",
        "        out.append(a + b)",
        "    out.append('not here')",
        "    label .after_inner",
        "    out.append('after ' + a)",
        "return out",
    ])
    assert forward() == ["x1", "after x", "y1", "after y"]
    backward = make_function([
        "out = []",
        "n = 0",
        "for a in 'xy':",
        "    label .again",
        "    n += 1",
        "    for b in '12':",
        "        out.append(a + b)",
        "        if n % 2:",
        "            goto .again",
        "    out.append('end ' + a)",
        "return out",
    ])
    assert backward() == ["x1", "x1", "x2", "end x", "y1", "y1", "y2", "end y"]


def test_goto_within_one_loop():
    func = make_function([
        "out = []",
        "for a in 'xyz':",
        "    if a == 'y':",
        "        goto .skip",
        "    out.append(a)",
        "    label .skip",
        "    out.append('-')",
        "    for b in '12':",
        "        label .inner",
        "        out.append(b)",
        "        if len(out) % 4 == 0:",
        "            goto .inner",
        "return ''.join(out)",
    ])
    assert func() == "x-122-122z-112"


@pytest.mark.parametrize("lines, message, line", [
    (["goto .nowhere"], "there is no label .nowhere", 2),
    (["label .x", "label .x"], "duplicate label .x (first defined at line 2)", 3),
    (["goto .inside", "for i in range(3):", "    label .inside"],
     "goto .inside jumps into a for loop body", 2),
    (["with cm:", "    goto .out", "label .out"], "needs the function's source code", 3),
    (["try:", "    goto .out", "finally:", "    pass", "label .out"],
     "needs the function's source code", 3),
    (["goto .later", "return", "label .later"], "removed it as unreachable", 2),
])
def test_refused_without_source(lines, message, line):
    with pytest.raises(SyntaxError) as info:
        make_function(lines, env={"cm": None})
    assert message in str(info.value)
    assert info.value.lineno == line
    assert info.value.filename == "<string>"


def test_label_in_another_function():
    with pytest.raises(SyntaxError, match=r"label \.x is in another function"):
        make_function(["def inner():", "    label .x", "goto .x"])


def test_outer_and_inner_functions_are_both_rewritten():
    func = make_function([
        "def inner(n):",
        "    label .again",
        "    n -= 1",
        "    if n > 0:",
        "        goto .again",
        "    return n",
        "i = 0",
        "label .loop",
        "i += 1",
        "if i < 3:",
        "    goto .loop",
        "return i, inner(4)",
    ])
    assert func() == (3, 0)


def test_goto_and_label_as_local_and_free_variables():
    # 3.14 loads such locals with LOAD_FAST_BORROW, and its dis lists LOAD_DEREF
    # among the local opcodes
    import bchook.goto as words

    text = "\n".join([
        "def count(n, goto, label):",
        "    i = 0",
        "    label .top",
        "    i += 1",
        "    if i < n:",
        "        goto .top",
        "    return i",
        "def outer(n):",
        "    goto, label = words.goto, words.label",
        "    def count():",
        "        i = 0",
        "        label .top",
        "        i += 1",
        "        if i < n:",
        "            goto .top",
        "        return i",
        "    return count",
    ])
    namespace = {"words": words}
    exec(text, namespace)
    assert with_goto(namespace["count"])(5, words.goto, words.label) == 5
    assert with_goto(namespace["outer"](4))() == 4
