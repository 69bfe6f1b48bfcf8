"""``bchook.asm``: functions written by hand on 3.10-3.15, clear errors, and the round trip
``bchook dis --asm`` listing -> ``asm.assemble`` -> an equivalent code object."""

from __future__ import annotations

import asyncio
import dis
import os
import traceback
import types

import pytest

from bchook import asm, ir
from bchook.ir import _version as V

import dis_stdlib
import ir_stdlib


def fn(name, body, **kw):
    return asm.function(name, body, **kw)


# -- writing functions by hand ---------------------------------------------------------

def test_add_one():
    add_one = fn("add_one", ["LOAD_FAST x", "LOAD_CONST 1", "BINARY_OP +", "RETURN_VALUE"],
                 args=["x"])
    assert add_one(41) == 42
    assert add_one.__name__ == "add_one" and add_one.__doc__ is None
    assert add_one.__code__.co_varnames == ("x",) and add_one.__code__.co_argcount == 1


def test_labels_loop_and_stack_size():
    count = fn("count", [
        "LOAD_CONST 0", "STORE_FAST i",
        "loop:",
        "LOAD_FAST i", "LOAD_FAST n", "COMPARE_OP <", "POP_JUMP_IF_FALSE end",
        "LOAD_FAST i", "LOAD_CONST 1", "BINARY_OP +=", "STORE_FAST i",
        "JUMP loop",
        "end:",
        "LOAD_FAST i", "RETURN_VALUE",
    ], args=["n"])
    assert count(7) == 7 and count(-1) == 0
    assert count.__code__.co_stacksize == 2
    assert count.__code__.co_varnames == ("n", "i")  # new names became locals


def test_backward_conditional_jump_everywhere():
    down = fn("down", ["top:", "LOAD_FAST n", "LOAD_CONST 1", "BINARY_OP -", "STORE_FAST n",
                       "LOAD_FAST n", "LOAD_CONST 0", "COMPARE_OP >", "POP_JUMP_IF_TRUE top",
                       "LOAD_FAST n", "RETURN_VALUE"], args="n")
    assert down(10) == 0


def test_truthiness_of_non_bools_in_conditional_jumps():
    pick = fn("pick", ["LOAD_FAST x", "POP_JUMP_IF_FALSE no", "RETURN_CONST 'yes'", "no:",
                       "RETURN_CONST 'no'"], args=["x"])
    assert [pick(v) for v in (0, 3, "", "a", [], None)] == ["no", "yes", "no", "yes", "no",
                                                              "no"]


@pytest.mark.parametrize("spelling", ["BINARY_OP +", "BINARY_ADD"])
def test_operators_in_any_version_spelling(spelling):
    add = fn("add", ["LOAD_FAST a", "LOAD_FAST b", spelling, "RETURN_VALUE"], args="a, b")
    assert add(2, 3) == 5 and add("x", "y") == "xy"
    inplace = fn("iadd", ["LOAD_FAST a", "LOAD_FAST b", "INPLACE_ADD", "RETURN_VALUE"],
                 args="a, b")
    items = [1]
    assert inplace(items, [2]) is items and items == [1, 2]


@pytest.mark.parametrize("call", ["CALL 2", "CALL_FUNCTION 2"])
def test_calls_hide_precall_and_null(call):
    greet = fn("greet", ["LOAD_GLOBAL NULL + format", "LOAD_FAST x", "LOAD_CONST '>5'", call,
                         "RETURN_VALUE"], args=["x"])
    assert greet(7) == "    7"


def test_method_calls():
    push = fn("push", ["LOAD_FAST xs", "LOAD_METHOD append", "LOAD_FAST x", "CALL_METHOD 1",
                       "POP_TOP", "LOAD_FAST xs", "RETURN_VALUE"], args=["xs", "x"])
    assert push([1], 2) == [1, 2]
    spelled = "LOAD_ATTR NULL|self + append"
    push2 = fn("push2", ["LOAD_FAST xs", spelled, "LOAD_FAST x", "CALL 1", "POP_TOP",
                         "LOAD_FAST xs", "RETURN_VALUE"], args=["xs", "x"])
    assert push2([], "a") == ["a"]


@pytest.mark.parametrize("exit", [[], ["END_FOR"], ["END_FOR", "POP_ITER"]],
                         ids=["3.10", "3.12", "3.14"])
def test_for_loop_in_any_version_spelling(exit):
    total = fn("total", ["LOAD_CONST 0", "STORE_FAST t", "LOAD_FAST xs", "GET_ITER", "loop:",
                         "FOR_ITER done", "LOAD_FAST t", "BINARY_OP +", "STORE_FAST t",
                         "JUMP loop", "done:", *exit, "LOAD_FAST t", "RETURN_VALUE"],
               args=["xs"])
    assert total([1, 2, 3]) == 6 and total([]) == 0 and total(range(5)) == 10
    ops = [i.opname for i in dis.get_instructions(total)]
    wanted = [ins.name for ins in ir.for_loop_exit()]  # END_FOR, then POP_TOP or POP_ITER
    if wanted:
        at = ops.index(wanted[0])
        assert ops[at:at + len(wanted)] == wanted


def test_generator_gets_its_prologue():
    gen = fn("gen", ["LOAD_FAST n", "YIELD_VALUE", "POP_TOP", "LOAD_FAST n", "LOAD_CONST 1",
                     "BINARY_OP +", "YIELD_VALUE", "POP_TOP", "RETURN_CONST None"],
             args=["n"], flags=["GENERATOR"])
    assert list(gen(3)) == [3, 4]
    assert gen.__code__.co_flags & 0x20


def test_closure_with_free_and_cell_variables():
    inner = asm.code(["LOAD_DEREF base", "LOAD_FAST x", "BINARY_OP +", "RETURN_VALUE"],
                     name="inner", args=["x"], freevars=["base"])
    add = fn("adder", ["LOAD_DEREF base", "RETURN_VALUE"], freevars=["base"],
             closure={"base": 10})
    assert add() == 10
    outer = fn("outer", [
        "LOAD_FAST b", "STORE_DEREF base",
        "LOAD_CLOSURE base", "BUILD_TUPLE 1", ("LOAD_CONST", inner),
        *(["MAKE_FUNCTION", "SET_FUNCTION_ATTRIBUTE 8"] if "SET_FUNCTION_ATTRIBUTE" in V.OPMAP
          else ["LOAD_CONST 'inner'", "MAKE_FUNCTION 8"] if not V.PY311
          else ["MAKE_FUNCTION 8"]),
        "RETURN_VALUE"], args=["b"], cellvars=["base"])
    plus5 = outer(5)
    assert plus5(1) == 6 and plus5.__closure__[0].cell_contents == 5


def test_docstring_constants_and_tuple_instructions():
    sentinel = object()
    get = fn("get", [("LOAD_CONST", sentinel), "RETURN_VALUE"], doc="Return the sentinel.")
    assert get() is sentinel and get.__doc__ == "Return the sentinel."
    # without doc, the first constant is None so a string constant is not a docstring
    hello = fn("hello", ["RETURN_CONST 'hi'"])
    assert hello() == "hi" and hello.__doc__ is None


def test_signature_forms():
    f = fn("f", ["LOAD_FAST a", "LOAD_FAST b", "LOAD_FAST rest", "LOAD_FAST c",
                 "LOAD_FAST kw", "BUILD_TUPLE 5", "RETURN_VALUE"],
           args="a, /, b, *rest, c, **kw", defaults=(2,), kwdefaults={"c": 3})
    assert f(1) == (1, 2, (), 3, {})
    assert f(1, 5, 6, c=7, d=8) == (1, 5, (6,), 7, {"d": 8})
    with pytest.raises(TypeError):
        f(a=1)


def test_line_numbers_for_tracebacks():
    boom = fn("boom", [".line 41", "LOAD_CONST 1", ".line 42", "LOAD_CONST 0", "BINARY_OP /",
                       "RETURN_VALUE"], filename="hand.py", firstlineno=40)
    with pytest.raises(ZeroDivisionError) as info:
        boom()
    frame = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (frame.filename, frame.lineno, frame.name) == ("hand.py", 42, "boom")


@pytest.mark.skipif(not V.HAS_EXCEPTION_TABLE, reason="3.10 has no exception table")
def test_handler_directive_catches():
    safe = fn("safe", [
        ".handler on_error depth=0",
        "LOAD_CONST 1", "LOAD_FAST d", "BINARY_OP /", "RETURN_VALUE",
        ".handler none",
        "on_error:",
        ".handler cleanup depth=1 lasti",
        "PUSH_EXC_INFO", "POP_TOP", "POP_EXCEPT", "RETURN_CONST 'failed'",
        ".handler none",
        "cleanup:", "COPY 3", "POP_EXCEPT", "RERAISE 1",
    ], args=["d"])
    assert safe(2) == 0.5 and safe(0) == "failed"


def test_conditional_jumps_get_what_the_version_needs():
    """3.13+: TO_BOOL before a jump on a value that may not be a bool, none after a
    comparison; 3.14+: NOT_TAKEN after the jump, once even when the listing writes it."""
    body = ["LOAD_FAST x", "POP_JUMP_IF_FALSE no", "LOAD_FAST x", "LOAD_CONST 3",
            "COMPARE_OP <", "POP_JUMP_IF_TRUE no", "NOT_TAKEN", "RETURN_CONST 'big'",
            "no:", "RETURN_CONST 'small'"]
    pick = fn("pick", body, args=["x"])
    assert [pick(v) for v in (0, 1, 5)] == ["small", "small", "big"]
    ops = [i.opname for i in dis.get_instructions(pick)]
    jumps = [k for k, op in enumerate(ops) if op.startswith("POP_JUMP")]
    assert len(jumps) == 2
    if V.JUMP_NEEDS_BOOL:
        assert ops[jumps[0] - 1] == "TO_BOOL" and ops[jumps[1] - 1] == "COMPARE_OP"
    assert ops.count("TO_BOOL") == (1 if V.JUMP_NEEDS_BOOL else 0)
    if V.NOT_TAKEN >= 0:
        assert [ops[k + 1] for k in jumps] == ["NOT_TAKEN", "NOT_TAKEN"]
    assert ops.count("NOT_TAKEN") == (2 if V.NOT_TAKEN >= 0 else 0)


@pytest.mark.parametrize("spelling", ["BINARY_SUBSCR", "BINARY_OP []"])
def test_subscript_in_any_version_spelling(spelling):
    second = fn("second", ["LOAD_FAST xs", "LOAD_CONST 1", spelling, "RETURN_VALUE"],
                args=["xs"])
    assert second("abc") == "b" and second({1: "one"}) == "one"


def test_constants_in_any_version_spelling():
    """3.14's LOAD_SMALL_INT and 3.15's LOAD_COMMON_CONSTANT load the constant before;
    3.12's RETURN_CONST is a load and a return elsewhere."""
    seven = fn("seven", ["LOAD_SMALL_INT 7", "RETURN_VALUE"])
    nothing = fn("nothing", ["LOAD_COMMON_CONSTANT None", "RETURN_VALUE"])
    empty = fn("empty", ["RETURN_CONST ''"])
    assert seven() == 7 and nothing() is None and empty() == ""
    ops = [i.opname for i in dis.get_instructions(seven)]
    assert ops[-2:] == ["LOAD_SMALL_INT" if V.SMALL_INT_LOADS else "LOAD_CONST",
                        "RETURN_VALUE"]


def test_borrowed_and_paired_loads_in_any_version_spelling():
    add = fn("add", ["LOAD_FAST_BORROW_LOAD_FAST_BORROW a, b", "BINARY_OP +",
                     "LOAD_FAST_BORROW a", "BINARY_OP *", "RETURN_VALUE"], args="a, b")
    assert add(2, 3) == 10


@pytest.mark.skipif(not V.SMALL_INT_LOADS, reason="3.14+ instructions")
def test_instructions_of_314_by_hand():
    events = []

    class Manager:
        def __enter__(self):
            events.append("enter")
            return "value"

        def __exit__(self, *exc):
            events.append(exc)

    # with cm as v: return v, written out: the exit and its self stay below
    use = fn("use", [
        "LOAD_FAST cm", "COPY 1", "LOAD_SPECIAL __exit__", "SWAP 2", "SWAP 3",
        "LOAD_SPECIAL __enter__", "CALL 0", "STORE_FAST v",
        "LOAD_COMMON_CONSTANT None", "LOAD_COMMON_CONSTANT None", "LOAD_CONST None",
        "CALL 3", "POP_TOP", "LOAD_FAST_BORROW v", "RETURN_VALUE"], args=["cm"])
    assert use(Manager()) == "value" and events == ["enter", (None, None, None)]
    # t"a{x}b": strings, then each interpolation's value and text
    template = fn("template", ["LOAD_CONST ('a', 'b')", "LOAD_FAST x", "LOAD_CONST 'x'",
                               "BUILD_INTERPOLATION 2", "BUILD_TUPLE 1", "BUILD_TEMPLATE",
                               "RETURN_VALUE"], args=["x"])
    t = template(42)
    assert t.strings == ("a", "b") and t.interpolations[0].value == 42
    assert t.interpolations[0].expression == "x"
    error = fn("error", ["LOAD_COMMON_CONSTANT AssertionError", "RETURN_VALUE"])
    assert error() is AssertionError
    tail = fn("tail", ["LOAD_FAST xs", "LOAD_CONST slice(1, None, None)", "BINARY_OP []",
                       "RETURN_VALUE"], args=["xs"])
    assert tail([1, 2, 3]) == [2, 3]


def test_import_names_a_module():
    """The imported name's index is not the argument everywhere: 3.15 keeps the lazy and
    eager bits below it."""
    load = asm.code(["LOAD_CONST 0", "LOAD_CONST None", "IMPORT_NAME os.path",
                     "RETURN_VALUE"], name="load", names=["unused", "other"])
    assert types.FunctionType(load, {"__builtins__": __builtins__})().__name__ == "os"
    assert load.co_names.index("os.path") == 2
    bc = ir.Bytecode.from_code(load)
    built = ir.import_from(bc, "os", "sep")
    body = [i for i in bc.instructions()]
    bc.items = body[:ir.body_start(body)] + built + ir.return_value()
    assert types.FunctionType(bc.to_code(), {})() == os.sep


# -- errors ----------------------------------------------------------------------------

ERRORS = [
    (["LOAD_FAST x", "NOT_AN_OPCODE 1"], "line 2 ('NOT_AN_OPCODE 1'): no instruction "
                                         "NOT_AN_OPCODE"),
    (["LOAD_FAST x", "JUMP nowhere"], "line 2 ('JUMP nowhere'): label 'nowhere' is used "
                                      "but never defined"),
    (["a:", "a:", "RETURN_CONST 1"], "label 'a' is defined twice"),
    (["LOAD_FAST x", "BINARY_OP +++"], "'+++'"),
    (["LOAD_CONST foo(", "RETURN_VALUE"], "line 1 ('LOAD_CONST foo('): not a constant"),
    (["LOAD_DEREF nope", "RETURN_VALUE"], "no variable 'nope'"),
    (["BUILD_TUPLE", "RETURN_VALUE"], "BUILD_TUPLE needs an argument"),
    (["BUILD_TUPLE many", "RETURN_VALUE"], "takes a number"),
    (["POP_TOP", "RETURN_VALUE"], "stack underflow"),
    ([".bogus 1", "RETURN_CONST 1"], "unknown directive .bogus"),
    (["RETURN_CONST 1", ".consts 1"], ".consts must come before the instructions"),
    (["LOAD_CONST <code missing>", "RETURN_VALUE"], "no code object named 'missing'"),
    ([".handler L1", "RETURN_CONST 1"], ".handler takes"),
]


@pytest.mark.parametrize("listing,message", ERRORS, ids=[e[1][:30] for e in ERRORS])
def test_errors_name_the_line(listing, message):
    with pytest.raises(asm.AsmError) as info:
        asm.function("bad", listing)
    assert message in str(info.value)


def test_call_without_null_is_refused_where_it_would_crash():
    listing = ["LOAD_GLOBAL len", "LOAD_FAST x", "CALL 1", "RETURN_VALUE"]
    if V.OPMAP.get("PUSH_NULL") is None:  # 3.10: no NULL convention, this is right
        assert fn("n", listing, args=["x"])("abc") == 3
        return
    with pytest.raises(asm.AsmError) as info:
        fn("n", listing, args=["x"])
    assert "line 3 ('CALL 1')" in str(info.value) and "NULL" in str(info.value)


@pytest.mark.skipif(V.HAS_EXCEPTION_TABLE, reason="3.11+ has exception tables")
def test_handler_directive_on_310_explains():
    with pytest.raises(asm.AsmError, match="SETUP_FINALLY"):
        fn("f", [".handler h depth=0", "RETURN_CONST 1", "h:", "RETURN_CONST 2"])


def test_error_is_a_usage_error():
    from bchook import UsageError

    assert issubclass(asm.AsmError, UsageError)


# -- round trip ------------------------------------------------------------------------

SAMPLE = '''
import contextlib


def simple(a, b=2, *args, c, d=4, **kw):
    return a + b + len(args) + c + d + len(kw)


def branches(x):
    if x > 10 and x < 20 or x == 99:
        return "teen-ish"
    elif not x:
        return "zero"
    return "other" if x % 2 else "even"


def loops(n):
    total = 0
    for i in range(n):
        if i == 7:
            break
        while total < i:
            total += 3
            continue
    else:
        total = -total
    return total


def comprehensions(xs):
    squares = [x * x for x in xs if x % 2]
    table = {x: str(x) for x in xs}
    unique = {x // 2 for x in xs}
    lazy = sum(x for x in xs)
    return squares, table, unique, lazy


def closures(start):
    count = start

    def bump(by=1):
        nonlocal count
        count += by
        return count

    return bump


def exceptions(value):
    log = []
    try:
        try:
            log.append(1 / value)
        except ZeroDivisionError as exc:
            log.append(type(exc).__name__)
            raise ValueError("no") from exc
        finally:
            log.append("finally")
    except ValueError as exc:
        log.append(str(exc))
    else:
        log.append("else")
    return log


def withs(path):
    out = []
    with contextlib.suppress(KeyError):
        with contextlib.nullcontext(path) as p:
            out.append(p)
            {}["missing"]
    return out


def generators(n):
    yield from range(n)
    received = yield "done"
    return received


async def coroutine(n):
    total = 0
    for i in range(n):
        total += await helper(i)
    return total


async def helper(i):
    return i * 2


class AsyncSource:
    def __init__(self, items):
        self.items = list(items)

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self.items:
            raise StopAsyncIteration
        return self.items.pop(0)

    async def __aenter__(self):
        return "entered"

    async def __aexit__(self, *exc):
        return False


async def async_loops(items):
    out = []
    source = AsyncSource(items)
    async for item in source:
        out.append(item)
    async with source as entered:
        out.append(entered)
    return out


def slices(xs):
    return xs[1:2], xs[::2], xs[:-1], xs[1:]


def matching(command):
    match command:
        case ["go", direction] if direction in ("north", "south"):
            return "moving " + direction
        case {"action": action, **rest}:
            return action + str(len(rest))
        case int(n) | float(n):
            return n * 2
        case _:
            return None


def formats(name, width):
    return f"{name!r:>{width}} {width:#x} {name.upper()}"


def calls(xs):
    return sorted(xs, key=lambda v: -v), max(*xs), dict(a=1, **{"b": 2}), print.__name__


class Base:
    def greet(self):
        return "base"


class Child(Base):
    level: int = 3

    def greet(self):
        return "child of " + super().greet()

    @property
    def double(self):
        return self.level * 2

    @staticmethod
    def make(*args):
        return Child()


def globals_and_deletes(x):
    global COUNTER
    COUNTER = x
    y = x
    del y
    return COUNTER


def big(x):
''' + "".join(f"    v{i} = x + {i}.5\n" for i in range(300)) + '''    if x:
        return v299
    return v0
'''


def _sample_module():
    return compile(SAMPLE, "sample.py", "exec", dont_inherit=True)


def _stream(code):
    """Each instruction's name and resolved argument; jumps by target index."""
    instrs = list(dis.get_instructions(code))
    index = {i.offset: n for n, i in enumerate(instrs)}
    out = []
    for ins in instrs:
        arg = ins.argval
        if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
            arg = ("->", index.get(arg, arg))
        elif isinstance(arg, types.CodeType):
            arg = ("code", arg.co_name)
        out.append((ins.opname, repr(arg)))
    return out


def _codes(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _assert_equivalent(original, rebuilt):
    for a, b in zip(_codes(original), _codes(rebuilt), strict=True):
        assert _stream(a) == _stream(b), a.co_name
        assert a.co_code == b.co_code, a.co_name
        for field in ("co_varnames", "co_cellvars", "co_freevars", "co_names", "co_flags",
                      "co_argcount", "co_posonlyargcount", "co_kwonlyargcount",
                      "co_stacksize", "co_firstlineno", "co_name"):
            assert getattr(a, field) == getattr(b, field), (a.co_name, field)
        if V.HAS_EXCEPTION_TABLE:
            assert a.co_exceptiontable == b.co_exceptiontable, a.co_name
        assert [line for _, _, line in a.co_lines()] == [line for _, _, line in b.co_lines()]


def test_round_trip_of_a_sample_of_functions():
    original = _sample_module()
    rebuilt = asm.assemble(asm.listing(original))
    _assert_equivalent(original, rebuilt)

    # and they behave the same
    before, after = {}, {}
    exec(original, before)
    exec(rebuilt, after)
    cases = [
        ("simple", (1,), {"c": 3, "e": 5}), ("branches", (15,), {}), ("branches", (0,), {}),
        ("branches", (7,), {}), ("branches", (8,), {}), ("loops", (20,), {}),
        ("loops", (3,), {}), ("comprehensions", ([1, 2, 3, 4],), {}),
        ("exceptions", (0,), {}), ("exceptions", (2,), {}), ("withs", ("p",), {}),
        ("matching", (["go", "north"],), {}), ("matching", ({"action": "x", "y": 1},), {}),
        ("matching", (2.5,), {}), ("matching", ("?",), {}), ("formats", ("ab", 6), {}),
        ("calls", ([3, 1, 2],), {}), ("globals_and_deletes", (5,), {}), ("big", (1,), {}),
        ("big", (0,), {}),
    ]
    for name, args, kwargs in cases:
        assert after[name](*args, **kwargs) == before[name](*args, **kwargs), name
    assert after["closures"](1)() == 2
    gen = after["generators"](2)
    assert [next(gen), next(gen), next(gen)] == [0, 1, "done"]
    with pytest.raises(StopIteration) as stop:
        gen.send("sent")
    assert stop.value.value == "sent"
    assert asyncio.run(after["coroutine"](4)) == 12
    assert asyncio.run(after["async_loops"]([1, 2])) == [1, 2, "entered"]
    assert after["slices"]("abcd") == ("b", "ac", "abc", "bcd")
    assert after["Child"]().greet() == "child of base" and after["Child"].make().double == 6


@pytest.mark.parametrize("module_name", ["json.decoder", "argparse", "asyncio.tasks",
                                         "dataclasses"])
def test_round_trip_of_stdlib_modules(module_name):
    import importlib

    module = importlib.import_module(module_name)
    with open(module.__file__, "rb") as f:
        original = compile(f.read(), module.__file__, "exec", dont_inherit=True)
    _assert_equivalent(original, asm.assemble(asm.listing(original)))


ASM_SAMPLE = ir_stdlib.stdlib_files(10)


@pytest.mark.parametrize("path", ASM_SAMPLE,
                         ids=[os.path.relpath(p, ir_stdlib.stdlib_dir()) for p in ASM_SAMPLE])
def test_round_trip_of_a_stdlib_sample(path):
    """Files spread over the standard library (``tools/dis_stdlib_all.py`` does them all)."""
    module = ir_stdlib.compile_file(path)
    if module is None:
        pytest.skip("not compilable on this interpreter")
    assert dis_stdlib.asm_problems(module) == []


@pytest.mark.skipif(not V.SMALL_INT_LOADS, reason="t-strings are 3.14+")
def test_round_trip_of_template_strings():
    source = ("def render(name, width):\n"
              "    return t'{name!r:>{width}} is {width:#x} {name.upper()}'\n")
    original = compile(source, "tstrings.py", "exec", dont_inherit=True)
    rebuilt = asm.assemble(asm.listing(original))
    _assert_equivalent(original, rebuilt)
    namespace: dict = {}
    exec(rebuilt, namespace)
    t = namespace["render"]("ab", 6)
    assert t.strings == ("", " is ", " ", "")
    assert [i.value for i in t.interpolations] == ["ab", 6, "AB"]
    assert t.interpolations[0].conversion == "r" and t.interpolations[0].format_spec == ">6"


def test_listing_of_a_function_reassembles_to_the_same_function():
    def sample(x, y=3):
        """Doc."""
        return [x * i for i in range(y)]

    text = asm.listing(sample)
    assert text.startswith(".code test_listing_of_a_function_reassembles_to_the_same_function"
                           ".<locals>.sample\n")
    assert "\n.name sample\n" in text and "\n.args x, y\n" in text
    rebuilt = asm.assemble(text)
    _assert_equivalent(sample.__code__, rebuilt)
    clone = types.FunctionType(rebuilt, globals(), "sample", sample.__defaults__)
    assert clone(2) == [0, 2, 4] and clone.__doc__ == "Doc."


def test_listing_rejects_other_objects():
    with pytest.raises(asm.AsmError, match="code object or a function"):
        asm.listing(42)


def test_code_takes_a_name_first_or_by_keyword():
    first = asm.code("twice", ["LOAD_FAST x", "LOAD_CONST 2", "BINARY_OP *", "RETURN_VALUE"],
                     args=["x"])
    keyword = asm.code(["LOAD_FAST x", "LOAD_CONST 2", "BINARY_OP *", "RETURN_VALUE"],
                       name="twice", args=["x"])
    assert first.co_name == keyword.co_name == "twice" and first.co_code == keyword.co_code
    assert types.FunctionType(first, {})(21) == 42
    with pytest.raises(asm.AsmError, match="takes the instructions"):
        asm.code()


def test_listing_of_another_version_spelling():
    """The 3.12 spelling of comparisons and returns runs everywhere."""
    smaller = fn("smaller", ["LOAD_FAST a", "LOAD_FAST b", "COMPARE_OP bool(<)",
                             "POP_JUMP_IF_FALSE no", "RETURN_CONST True", "no:",
                             "RETURN_CONST False"], args="a, b")
    assert smaller(1, 2) is True and smaller(2, 1) is False



@pytest.mark.parametrize("word,idiom", [
    ("POP_JUMP_FORWARD_IF_FALSE", ("jump_if", "false")),
    ("POP_JUMP_IF_NOT_NONE", ("jump_if", "not_none")),
    ("INPLACE_ADD", ("operator", "+=")),
    ("CALL_FUNCTION", ("call", None)),
    ("PRECALL", ("nothing", None)),
    ("LOAD_GLOBAL", ("load_global", None)),
    ("STORE_FAST", None),
    ("NO_SUCH_THING", None),
])
def test_words_of_every_release_read_the_same_everywhere(word, idiom):
    assert ir.idiom_of(word) == idiom


@pytest.mark.parametrize("word,elsewhere", [
    ("LOAD_METHOD", ("load_method", None)),
    ("JUMP_ABSOLUTE", ("jump", None)),
    ("RESUME", ("nothing", None)),
    ("NOT_TAKEN", ("nothing", None)),
    ("LOAD_FAST_BORROW", ("locals", ("LOAD_FAST",))),
    ("STORE_FAST_LOAD_FAST", ("locals", ("STORE_FAST", "LOAD_FAST"))),
])
def test_words_of_other_releases_stand_for_an_idiom_where_missing(word, elsewhere):
    """A word this release has is its own instruction; elsewhere it stands for the idiom."""
    assert ir.idiom_of(word) == (None if word in V.OPMAP else elsewhere)


@pytest.mark.parametrize("word,hint", [
    ("CALL_KW", "keyword calls differ between versions"),
    ("JUMP_IF_TRUE_OR_POP", "write COPY 1, POP_JUMP_IF_TRUE target, POP_TOP"),
])
def test_missing_instructions_say_what_to_write(word, hint):
    if word in V.OPMAP:
        pytest.skip(f"{word} is an instruction of this release")
    with pytest.raises(asm.AsmError, match=f"no instruction {word} on Python {V.PYTHON}"
                       ) as info:
        asm.function("f", [f"{word} 1", "RETURN_CONST 1"])
    assert hint in str(info.value)


def test_bare_extended_arg_keeps_a_prefix():
    plain = asm.code(["LOAD_CONST 7", "RETURN_VALUE"])
    wide = asm.code(["EXTENDED_ARG", "LOAD_CONST 7", "RETURN_VALUE"])
    assert len(wide.co_code) == len(plain.co_code) + 2
    names = [i.opname for i in dis.get_instructions(wide)]
    assert names[names.index("LOAD_CONST") - 1] == "EXTENDED_ARG"
    assert types.FunctionType(wide, {})() == 7
    with pytest.raises(asm.AsmError, match="must be followed by an instruction"):
        asm.code(["EXTENDED_ARG", "x:", "RETURN_CONST 1"])
