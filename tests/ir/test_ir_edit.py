"""Editing code through ``bchook.ir``: inserting, removing, constants and names, jumps
that need EXTENDED_ARG or change direction, the helpers passes use, and the errors a bad
edit gets (a clear ``ir.IRError`` naming the code object and instruction, never a crash)."""

from __future__ import annotations

import types

import pytest

from bchook import ir
from bchook.pipeline.api import Context, Pass
from bchook.pipeline.driver import transform_code_tree

V = ir.version
OPS = V.OPMAP


def rebuild(func, code):
    return types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__,
                              func.__closure__)


def instrs(bc):
    return list(bc.instructions())


def index_of(bc, name, nth=0):
    """Position in ``bc.items`` of the nth instruction called ``name``."""
    seen = 0
    for k, item in enumerate(bc.items):
        if isinstance(item, ir.Instr) and item.name == name:
            if seen == nth:
                return k
            seen += 1
    raise LookupError(name)


def first_local_load(bc):
    """Position in ``bc.items`` of the first load of a local (3.14+: maybe a borrowed one)."""
    return next(k for k, x in enumerate(bc.items)
                if isinstance(x, ir.Instr) and x.op in V.LOCAL_LOADS)


def add_instrs(loc=ir.NO_LOCATION, handler=None):
    """Instructions that add the two values on top of the stack."""
    if "BINARY_ADD" in OPS:
        return [ir.Instr("BINARY_ADD", 0, loc, handler)]
    return [ir.Instr("BINARY_OP", 0, loc, handler)]  # NB_ADD


# -- insert and remove ------------------------------------------------------------------------

def plus_one(x):
    return x + 1


def test_insert_instructions_changes_behaviour():
    bc = ir.Bytecode.from_code(plus_one.__code__)
    ret = index_of(bc, "RETURN_VALUE")
    loc = bc.items[ret].loc
    k = bc.add_const(100)
    bc.items[ret:ret] = [ir.Instr("LOAD_CONST", k, loc), *add_instrs(loc)]
    f = rebuild(plus_one, bc.to_code())
    assert f(1) == 102
    assert f.__code__.co_consts[:len(plus_one.__code__.co_consts)] == plus_one.__code__.co_consts


def test_remove_instructions_changes_behaviour():
    bc = ir.Bytecode.from_code(plus_one.__code__)
    ret = index_of(bc, "RETURN_VALUE")
    # drop "+ 1": the constant load and the addition just before the return
    del bc.items[ret - 2:ret]
    f = rebuild(plus_one, bc.to_code())
    assert f(41) == 41
    assert f.__code__.co_stacksize >= 1


def test_instructions_inserted_in_a_try_block_are_covered_by_its_handler():
    def guarded(fail):
        try:
            value = 1
        except ZeroDivisionError:
            return "caught"
        return value

    bc = ir.Bytecode.from_code(guarded.__code__)
    store = index_of(bc, "STORE_FAST")
    anchor = bc.items[store]
    zero = bc.add_const(0)
    # value = 1 // 0 ... by dividing: push 1 (already there), then 0, then "//" or "/"
    if "BINARY_TRUE_DIVIDE" in OPS:
        divide = [ir.Instr("BINARY_TRUE_DIVIDE", 0, anchor.loc, anchor.handler)]
    else:
        divide = [ir.Instr("BINARY_OP", 11, anchor.loc, anchor.handler)]  # NB_TRUE_DIVIDE
    bc.items[store:store] = [ir.Instr("LOAD_CONST", zero, anchor.loc, anchor.handler), *divide]
    f = rebuild(guarded, bc.to_code())
    assert guarded(False) == 1
    assert f(False) == "caught"


# -- constants and names -----------------------------------------------------------------------

def uses_constants():
    return (1, "a", None)


def test_add_const_appends_and_never_renumbers():
    code = uses_constants.__code__
    bc = ir.Bytecode.from_code(code)
    before = list(bc.consts)
    values = [1, 1.0, True, 0.0, -0.0, 1j, "1", b"1", (1,), (1.0,), frozenset({1}), None, ...]
    indexes = [bc.add_const(v) for v in values]
    assert bc.consts[:len(before)] == before
    assert len(set(indexes)) == len(values)  # equal values of other types stay apart
    for v, k in zip(values, indexes):
        assert bc.consts[k] is v or (type(bc.consts[k]) is type(v) and repr(bc.consts[k]) == repr(v))
    assert [bc.add_const(v) for v in values] == indexes  # no duplicates the second time
    if 1 in before:
        assert bc.add_const(1) == before.index(1)
    new = bc.to_code()
    assert new.co_consts[:len(before)] == code.co_consts
    assert repr(new.co_consts[indexes[4]]) == "-0.0"  # values[4]
    assert repr(new.co_consts[indexes[3]]) == "0.0"


def test_add_name_appends_and_never_renumbers():
    def names():
        return len(print.__name__)

    bc = ir.Bytecode.from_code(names.__code__)
    before = list(bc.names)
    assert bc.add_name(before[0]) == 0
    k = bc.add_name("brand_new_name")
    assert k == len(before)
    assert bc.add_name("brand_new_name") == k
    new = bc.to_code()
    assert new.co_names == (*names.__code__.co_names, "brand_new_name")
    assert new.co_varnames == names.__code__.co_varnames


def test_three_hundred_new_constants_need_extended_arg():
    def base(x=0):
        return x

    bc = ir.Bytecode.from_code(base.__code__)
    ret = index_of(bc, "RETURN_VALUE")
    extra = []
    for k in range(300):
        extra.append(ir.Instr("LOAD_CONST", bc.add_const(k + 0.5)))
        extra.extend(add_instrs())
    bc.items[ret:ret] = extra
    code = bc.to_code()
    raw = code.co_code
    assert any(raw[i] == V.EXTENDED_ARG for i in range(0, len(raw), 2))
    assert rebuild(base, code)() == sum(k + 0.5 for k in range(300))


# -- jumps ---------------------------------------------------------------------------------------

def count_loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


def _pad_loop_body(bc, count):
    """``count`` NOPs before the loop and in its body: every jump of the loop gets
    longer than 255, and so does the offset of the loop's start (3.10 jumps back to it
    by absolute offset)."""
    store = index_of(bc, "STORE_FAST", 1)  # the loop variable
    loc = bc.items[store].loc
    bc.items[store + 1:store + 1] = [ir.Instr("NOP", 0, loc) for _ in range(count)]
    bc.items[1:1] = [ir.Instr("NOP", 0, loc) for _ in range(count)]


def _ext_before(code, names):
    """Names of the instructions that carry an EXTENDED_ARG prefix in ``code``."""
    raw = code.co_code
    found = set()
    i = 0
    caches = V.CACHES
    while i < len(raw):
        op = raw[i]
        if op == V.EXTENDED_ARG:
            j = i
            while raw[j] == V.EXTENDED_ARG:
                j += 2
            found.add(V.OPNAME[raw[j]])
            i = j
            continue
        i += 2 + 2 * caches[op]
    return found & set(names)


def test_long_loop_needs_extended_arg_on_forward_and_backward_jumps():
    bc = ir.Bytecode.from_code(count_loop.__code__)
    _pad_loop_body(bc, 300)
    code = bc.to_code()
    f = rebuild(count_loop, code)
    assert f(10) == count_loop(10) == 45
    assert f(0) == 0
    back = {"JUMP_ABSOLUTE", "JUMP_BACKWARD"}
    assert _ext_before(code, back | {"FOR_ITER"}) >= {"FOR_ITER"}
    assert _ext_before(code, back)
    # what was encoded decodes to the same instruction stream
    again = ir.Bytecode.from_code(code)
    assert [i.name for i in instrs(again)] == [i.name for i in instrs(bc)]
    assert again.to_code().co_code == code.co_code


def test_growing_jumps_reach_a_fixpoint_and_round_trip():
    bc = ir.Bytecode.from_code(count_loop.__code__)
    # just enough NOPs that some jumps need a prefix and that prefix moves others
    for count in (120, 126, 127, 128, 250, 254, 255, 256):
        bc = ir.Bytecode.from_code(count_loop.__code__)
        _pad_loop_body(bc, count)
        code = bc.to_code()
        assert rebuild(count_loop, code)(7) == 21, count
        assert ir.Bytecode.from_code(code).to_code().co_code == code.co_code


def _loop_with(cond_jump_name):
    """``while n: n -= 1`` built by hand, with a conditional jump *backward* to the top."""
    def template(n):
        return n

    bc = ir.Bytecode.from_code(template.__code__)
    ret = index_of(bc, "RETURN_VALUE")
    loc = bc.items[ret].loc
    top, done = ir.Label("top"), ir.Label("done")
    one = bc.add_const(1)
    if "INPLACE_SUBTRACT" in OPS:
        sub = ir.Instr("INPLACE_SUBTRACT", 0, loc)
    else:
        sub = ir.Instr("BINARY_OP", 23, loc)  # NB_INPLACE_SUBTRACT
    body = [
        ir.Instr("LOAD_FAST", 0, loc), ir.Instr("POP_JUMP_IF_FALSE", done, loc),
        top,
        ir.Instr("LOAD_FAST", 0, loc), ir.Instr("LOAD_CONST", one, loc), sub,
        ir.Instr("STORE_FAST", 0, loc),
        ir.Instr("LOAD_FAST", 0, loc), ir.Instr(cond_jump_name, top, loc),
        done,
    ]
    first = first_local_load(bc)
    bc.items[first:first] = body
    return template, bc


@pytest.mark.skipif(not V.BACKWARD_CONDITIONAL_JUMPS, reason="3.11 only")
def test_311_conditional_jump_flips_to_backward_variant():
    func, bc = _loop_with("POP_JUMP_IF_TRUE")
    code = bc.to_code()
    names = [i.name for i in instrs(ir.Bytecode.from_code(code))]
    assert "POP_JUMP_BACKWARD_IF_TRUE" in names
    assert "POP_JUMP_FORWARD_IF_FALSE" in names
    assert rebuild(func, code)(5) == 0


@pytest.mark.skipif(not V.BACKWARD_CONDITIONAL_JUMPS, reason="3.11 only")
def test_311_explicit_backward_variant_pointing_forward_flips_to_forward():
    def f(x):
        if x:
            return "yes"
        return "no"

    bc = ir.Bytecode.from_code(f.__code__)
    k = index_of(bc, "POP_JUMP_FORWARD_IF_FALSE")
    bc.items[k].op = OPS["POP_JUMP_BACKWARD_IF_FALSE"]  # wrong direction on purpose
    code = bc.to_code()
    assert "POP_JUMP_FORWARD_IF_FALSE" in [i.name for i in instrs(ir.Bytecode.from_code(code))]
    assert [rebuild(f, code)(v) for v in (1, 0)] == ["yes", "no"]


@pytest.mark.skipif(V.BACKWARD_CONDITIONAL_JUMPS or not V.PY312, reason="3.12+")
def test_backward_conditional_jump_is_a_clear_error_on_312_and_later():
    func, bc = _loop_with("POP_JUMP_IF_TRUE")
    with pytest.raises(ir.IRError) as info:
        bc.to_code()
    message = str(info.value)
    assert "template" in message and "POP_JUMP_IF_TRUE" in message
    assert "backward" in message and "JUMP" in message


@pytest.mark.skipif(V.PY311, reason="3.10 jumps are absolute")
def test_310_conditional_jump_backward_works():
    func, bc = _loop_with("POP_JUMP_IF_TRUE")
    assert rebuild(func, bc.to_code())(5) == 0


def test_version_neutral_jump_goes_both_ways():
    def f():
        return "end"

    bc = ir.Bytecode.from_code(f.__code__)
    if "RETURN_CONST" in [i.name for i in instrs(bc)]:  # 3.12+
        start = index_of(bc, "RETURN_CONST")
    else:
        start = index_of(bc, "RETURN_VALUE") - 1  # the LOAD_CONST of "end"
    fwd, back, end = ir.Label("fwd"), ir.Label("back"), ir.Label("end")
    # JUMP fwd; back: JUMP end; fwd: JUMP back; end: <original tail>
    bc.items[start:start] = [ir.Instr("JUMP", fwd), back, ir.Instr("JUMP", end),
                             fwd, ir.Instr("JUMP", back), end]
    code = bc.to_code()
    names = [i.name for i in instrs(ir.Bytecode.from_code(code))]
    if V.PY311:
        assert {"JUMP_FORWARD", "JUMP_BACKWARD"} <= set(names)
    else:
        assert "JUMP_ABSOLUTE" in names
    assert rebuild(f, code)() == "end"


# -- helpers: calls, global loads, depths ---------------------------------------------------------

def identity_of(x):
    return x


def _replace_load(func, make_call):
    """Replace ``return x`` by ``return <what make_call builds around loading x>``."""
    bc = ir.Bytecode.from_code(func.__code__)
    k = first_local_load(bc)
    loc = bc.items[k].loc
    bc.items[k:k + 1] = make_call(bc, loc)
    return rebuild(func, bc.to_code())


def test_load_global_with_null_and_call_call_a_builtin():
    def build(bc, loc):
        return [*ir.load_global(bc.add_name("len"), push_null=True, loc=loc),
                ir.Instr("LOAD_FAST", 0, loc), *ir.call(1, loc)]

    f = _replace_load(identity_of, build)
    assert f("abcd") == 4
    assert f([1, 2]) == 2


def test_callable_from_wraps_any_callable_load(capsys):
    def build(bc, loc):
        printer = ir.callable_from(ir.load_global(bc.add_name("print"), loc=loc), loc)
        return [*printer, ir.Instr("LOAD_FAST", 0, loc), *ir.call(1, loc)]

    f = _replace_load(identity_of, build)
    assert f("hello from rewritten code") is None
    assert capsys.readouterr().out == "hello from rewritten code\n"


def test_callable_from_a_local_with_two_arguments():
    def apply(fn, x):
        return x

    def build(bc, loc):
        return [*ir.callable_from([ir.Instr("LOAD_FAST", 0, loc)], loc),
                ir.Instr("LOAD_FAST", 1, loc), ir.Instr("LOAD_FAST", 1, loc),
                *ir.call(2, loc)]

    bc = ir.Bytecode.from_code(apply.__code__)
    k = first_local_load(bc)
    bc.items[k:k + 1] = build(bc, bc.items[k].loc)
    f = rebuild(apply, bc.to_code())
    assert f(pow, 3) == 27
    assert f(lambda a, b: (a, b), "x") == ("x", "x")


def test_call_helper_spelling_per_version():
    names = [i.name for i in ir.call(2)]
    if V.PY312:
        assert names == ["CALL"]
    elif V.PY311:
        assert names == ["PRECALL", "CALL"]
    else:
        assert names == ["CALL_FUNCTION"]
    assert all(i.arg == 2 for i in ir.call(2))


def test_depths_before_each_instruction():
    def add(a, b):
        return a + b

    bc = ir.Bytecode.from_code(add.__code__)
    depths = bc.depths()
    items = instrs(bc)
    assert len(depths) == len(items)
    assert depths[0] == V.entry_depth(items[0].op) == 0
    ret = [d for i, d in zip(items, depths) if i.name == "RETURN_VALUE"]
    assert ret == [1]
    assert max(d for d in depths if d is not None) + 1 >= bc.max_stack_depth() >= 2
    assert bc.max_stack_depth() == add.__code__.co_stacksize


def test_depths_mark_unreachable_code_and_count_handlers():
    def guarded(s):
        try:
            return int(s)
        except ValueError:
            return 2

    bc = ir.Bytecode.from_code(guarded.__code__)
    bc.items.append(ir.Instr("NOP"))  # after the last return: never reached
    depths = bc.depths()
    assert depths[0] == 0
    assert depths[-1] is None
    if V.HAS_EXCEPTION_TABLE:
        handler = next(i.handler for i in instrs(bc) if i.handler is not None)
        start = next(item for item in bc.items[bc.items.index(handler.label):]
                     if isinstance(item, ir.Instr))
        assert depths[instrs(bc).index(start)] == handler.depth + 1 + handler.lasti


def test_generator_entry_depth():
    def gen():
        yield 1

    bc = ir.Bytecode.from_code(gen.__code__)
    first = instrs(bc)[0]
    assert bc.depths()[0] == V.entry_depth(first.op)
    assert bc.max_stack_depth() <= gen.__code__.co_stacksize


# -- errors --------------------------------------------------------------------------------------

def _qualname(func):
    return func.__code__.co_qualname if hasattr(func.__code__, "co_qualname") \
        else func.__code__.co_name


def test_jump_to_a_label_not_in_the_list():
    bc = ir.Bytecode.from_code(plus_one.__code__)
    bc.items.insert(index_of(bc, "RETURN_VALUE"), ir.Instr("JUMP", ir.Label("nowhere")))
    with pytest.raises(ir.IRError) as info:
        bc.to_code()
    message = str(info.value)
    assert "plus_one" in message and "label" in message and "not in the instruction list" \
        in message


def test_handler_label_not_in_the_list():
    if not V.HAS_EXCEPTION_TABLE:
        pytest.skip("3.10 has no exception table")
    bc = ir.Bytecode.from_code(plus_one.__code__)
    k = index_of(bc, "RETURN_VALUE")
    bc.items[k].handler = ir.Handler(ir.Label("lost"), 0)
    with pytest.raises(ir.IRError, match="exception handler label"):
        bc.to_code()


def test_unknown_opcode_names():
    with pytest.raises(ir.IRError, match="unknown opcode 'NO_SUCH_OP' on Python 3"):
        ir.Instr("NO_SUCH_OP", 0)
    gone = "PRECALL" if V.PY312 or not V.PY311 else "CALL_FUNCTION"
    with pytest.raises(ir.IRError, match=gone):
        ir.Instr(gone, 0)


def test_undefined_numeric_opcode_is_an_error_not_a_crash():
    undefined = next(op for op in range(1, 256) if V.OPNAME[op].startswith("<"))
    bc = ir.Bytecode.from_code(plus_one.__code__)
    bc.items.insert(index_of(bc, "RETURN_VALUE"), ir.Instr(undefined, 0))
    with pytest.raises(ir.IRError) as info:
        bc.to_code()
    assert "plus_one" in str(info.value)


def test_bad_arguments():
    with pytest.raises(ir.IRError, match="takes no argument"):
        ir.Instr("NOP", 300)
    with pytest.raises(ir.IRError, match="needs an argument"):
        ir.Instr("LOAD_CONST")
    bc = ir.Bytecode.from_code(plus_one.__code__)
    k = index_of(bc, "RETURN_VALUE")
    bc.items.insert(k, ir.Instr("JUMP", 3))
    with pytest.raises(ir.IRError, match="needs a Label target"):
        bc.to_code()


def test_stack_underflow():
    bc = ir.Bytecode.from_code(plus_one.__code__)
    k = index_of(bc, "RETURN_VALUE")
    bc.items[k:k] = [ir.Instr("POP_TOP"), ir.Instr("POP_TOP")]
    with pytest.raises(ir.IRError) as info:
        bc.to_code()
    assert "stack underflow at POP_TOP" in str(info.value)
    assert "plus_one" in str(info.value)


def test_loop_that_grows_the_stack_is_an_error_not_a_hang():
    bc = ir.Bytecode.from_code(plus_one.__code__)
    top = ir.Label("top")
    k = index_of(bc, "RETURN_VALUE")
    bc.items[k:k] = [top, ir.Instr("LOAD_CONST", 0), ir.Instr("JUMP", top)]
    with pytest.raises(ir.IRError, match="inconsistent stack depth"):
        bc.to_code()


@pytest.mark.skipif(V.FOR_ITER_TARGET < 0, reason="FOR_ITER exits to END_FOR on 3.12+ only")
def test_for_iter_must_target_end_for():
    bc = ir.Bytecode.from_code(count_loop.__code__)
    k = index_of(bc, "FOR_ITER")
    # retarget the loop exit to the instruction after END_FOR
    after = index_of(bc, "END_FOR") + 1
    label = ir.Label("past-end-for")
    bc.items.insert(after + (1 if V.PY313 else 0), label)
    bc.items[k].arg = label
    with pytest.raises(ir.IRError) as info:
        bc.to_code()
    assert "FOR_ITER must jump to END_FOR" in str(info.value)
    assert "count_loop" in str(info.value)


@pytest.mark.skipif(not V.GLUED_NEXT, reason="no glued instruction pairs on 3.10")
def test_nothing_may_be_inserted_between_glued_pairs():
    def gen():
        yield 1

    bc = ir.Bytecode.from_code(gen.__code__)
    k = index_of(bc, "YIELD_VALUE")
    bc.items.insert(k + 1, ir.Instr("NOP", 0, bc.items[k].loc))
    with pytest.raises(ir.IRError) as info:
        bc.to_code()
    message = str(info.value)
    assert _qualname(gen) in message
    assert "YIELD_VALUE must be followed directly by RESUME, not NOP" in message


@pytest.mark.skipif(not V.PY313, reason="3.13+: END_FOR and what follows are one exit")
def test_313_end_for_and_what_follows_are_glued():
    follower = "POP_ITER" if "POP_ITER" in OPS else "POP_TOP"  # 3.14+ drop iterators so
    bc = ir.Bytecode.from_code(count_loop.__code__)
    k = index_of(bc, "END_FOR")
    bc.items.insert(k + 1, ir.Instr("NOP"))
    with pytest.raises(ir.IRError, match=f"END_FOR must be followed directly by {follower}"):
        bc.to_code()


# -- nested code and the driver ------------------------------------------------------------------

SOURCE = """
def outer():
    def inner():
        return "inner"
    return inner() + "+outer"

def untouched():
    return 1
"""


def test_walk_and_replace_nested_code():
    module = compile(SOURCE, "<nested>", "exec")
    names = [c.co_name for c in ir.walk_code(module)]
    assert names == ["inner", "outer", "untouched", "<module>"]
    assert [c.co_name for c in ir.nested_code(module)] == ["outer", "untouched"]

    def change_inner(code):
        if code.co_name != "inner":
            return code
        bc = ir.Bytecode.from_code(code)
        k = bc.consts.index("inner")
        bc.consts[k] = "INNER"
        return bc.to_code()

    new = ir.replace_nested_code(module, change_inner)
    ns = {}
    exec(new, ns)
    assert ns["outer"]() == "INNER+outer"
    old_untouched = next(c for c in module.co_consts if getattr(c, "co_name", "") == "untouched")
    assert ns["untouched"].__code__ is old_untouched  # parents of nothing changed are kept
    assert ir.replace_nested_code(module, lambda c: c) is module


def test_mentions_is_a_cheap_skip_test():
    module = compile(SOURCE, "<nested>", "exec")
    outer = next(ir.nested_code(module))
    assert not ir.mentions(outer, names=["len"])
    assert ir.mentions(outer, consts=["+outer"])
    assert not ir.mentions(outer, consts=[1.0])
    untouched = list(ir.nested_code(module))[1]
    assert ir.mentions(untouched, consts=[1])
    assert not ir.mentions(untouched, consts=[True])  # True == 1 but is another constant


class _Recorder(Pass):
    name = "recorder"

    def transform_ir(self, bytecode, ctx):
        ctx.state.setdefault("seen", []).append(bytecode.name)
        return False


def test_code_nobody_changed_is_not_reassembled():
    module = compile(SOURCE, "<nested>", "exec")
    ctx = Context("nested", "<nested>", {})
    new = transform_code_tree(module, [_Recorder()], [ctx])
    assert new is module
    assert sorted(ctx.state["seen"]) == sorted(
        getattr(c, "co_qualname", c.co_name) for c in ir.walk_code(module))


@pytest.mark.skipif(not V.BACKWARD_CONDITIONAL_JUMPS, reason="3.11 only: PRECALL + CALL")
def test_311_precall_and_call_are_glued():
    bc = ir.Bytecode.from_code(count_loop.__code__)
    k = index_of(bc, "PRECALL")
    bc.items.insert(k + 1, ir.Instr("NOP"))
    with pytest.raises(ir.IRError, match="count_loop.*PRECALL must be followed directly by CALL"):
        bc.to_code()
