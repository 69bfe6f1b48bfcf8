"""Everything bchook knows about the running interpreter's bytecode, in one place.

Every ``sys.version_info`` test of the project lives here; other modules ask for the
capability they need (``HAS_EXCEPTION_TABLE``, ``CACHES``...) or for an instruction
sequence from :mod:`._builders`, instead of testing the version.
The tables are derived from the interpreter's own ``opcode``/``dis`` data, never typed in.
Supporting a new CPython release means teaching this module (and the builders) its
differences; passes and tools stay as they are.
"""

from __future__ import annotations

import sys

#: The CPython releases whose bytecode bchook knows.
SUPPORTED = ((3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15))
VERSION = tuple(sys.version_info[:2])


def unsupported_reason() -> str | None:
    """Why bchook cannot run on this interpreter (one line), or None if it can."""
    supported = f"CPython {SUPPORTED[0][0]}.{SUPPORTED[0][1]} to " \
                f"{SUPPORTED[-1][0]}.{SUPPORTED[-1][1]}"
    running = "%d.%d.%d" % tuple(sys.version_info[:3])
    if sys.implementation.name != "cpython":
        return f"bchook supports {supported}, not {sys.implementation.name} {running}"
    if VERSION not in SUPPORTED:
        return f"bchook supports {supported}, not {running}"
    import sysconfig
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return (f"bchook does not support the free-threaded build of CPython {running} "
                f"yet; use the default build of {supported}")
    return None


_REASON = unsupported_reason()
if _REASON is not None:
    raise ImportError(_REASON)

import dis  # noqa: E402 - only once the interpreter is known
import opcode  # noqa: E402

PY311 = VERSION >= (3, 11)
PY312 = VERSION >= (3, 12)
PY313 = VERSION >= (3, 13)
PY314 = VERSION >= (3, 14)
PY315 = VERSION >= (3, 15)

HAS_EXCEPTION_TABLE = PY311
HAS_POSITIONS = PY311
#: 3.10 jumps count instructions absolutely (``hasjabs``); 3.11+ only relative ones.
HAS_ABSOLUTE_JUMPS = not PY311
#: 3.12+ conditional jumps go forward only.
BACKWARD_CONDITIONAL_JUMPS = VERSION == (3, 11)

OPNAME: list[str] = list(opcode.opname)
OPMAP: dict[str, int] = {name: op for name, op in opcode.opmap.items() if op < 256}
HAVE_ARGUMENT = opcode.HAVE_ARGUMENT
EXTENDED_ARG = opcode.EXTENDED_ARG
CACHE = OPMAP.get("CACHE", -1)
NOP = OPMAP["NOP"]


def _cache_table() -> list[int]:
    entries = getattr(opcode, "_inline_cache_entries", None)
    table = [0] * 256
    if entries is None:
        return table
    if hasattr(entries, "items"):  # 3.13+ keys by name (3.15: a frozendict)
        for name, n in entries.items():
            if name in OPMAP:
                table[OPMAP[name]] = n
        return table
    for op, n in enumerate(entries[:256]):
        table[op] = n
    return table


#: Inline CACHE code units that follow each opcode (hidden from passes).
CACHES: list[int] = _cache_table()

JREL = frozenset(op for op in opcode.hasjrel if op < 256)
JABS = frozenset(op for op in opcode.hasjabs if op < 256)
#: Instructions whose argument names another instruction (a label in the IR).
JUMPS = JREL | JABS
#: 3.14+ END_ASYNC_FOR names the END_SEND its loop came from, for sys.monitoring's
#: BRANCH events; control never goes there. Its argument is a label, but no edge.
NOT_CONTROL_FLOW = frozenset(OPMAP[n] for n in ("END_ASYNC_FOR",) if n in OPMAP) \
    if PY314 else frozenset()
#: Instructions that really transfer control to their target.
FLOW_JUMPS = JUMPS - NOT_CONTROL_FLOW
_BACKWARD_TEST = getattr(dis, "_is_backward_jump", None)
BACKWARD_JUMPS = frozenset(
    op for op in JREL
    if (_BACKWARD_TEST(op) if _BACKWARD_TEST is not None else "BACKWARD" in OPNAME[op]))

_UNCONDITIONAL_NAMES = (
    "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_ABSOLUTE",
)
UNCONDITIONAL_JUMPS = frozenset(OPMAP[n] for n in _UNCONDITIONAL_NAMES if n in OPMAP)
_STOP_NAMES = (
    "RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE", "INTERPRETER_EXIT",
)
#: Instructions after which control never falls through to the next one.
NO_FALLTHROUGH = UNCONDITIONAL_JUMPS | frozenset(OPMAP[n] for n in _STOP_NAMES if n in OPMAP)

#: Instructions the interpreter expects to be followed at once by a certain one:
#: 3.11 PRECALL specializations skip the CALL after them; ``_PyGen_yf`` finds a
#: delegating generator by the RESUME right after YIELD_VALUE (3.11+); 3.13 FOR_ITER
#: exits by skipping both END_FOR and the POP_TOP after it.
GLUED_NEXT: dict[int, int] = {}
if PY311:
    GLUED_NEXT[OPMAP["YIELD_VALUE"]] = OPMAP["RESUME"]
if VERSION == (3, 11):
    GLUED_NEXT[OPMAP["PRECALL"]] = OPMAP["CALL"]
    # 3.11 gen.throw() into a delegating generator backs up to the SEND found just
    # before the YIELD_VALUE (genobject.c ``_gen_throw``); anything between them crashes.
    GLUED_NEXT[OPMAP["SEND"]] = OPMAP["YIELD_VALUE"]
if PY314:
    # 3.14: FOR_ITER exits by skipping END_FOR, onto the POP_ITER that drops the iterator
    GLUED_NEXT[OPMAP["END_FOR"]] = OPMAP["POP_ITER"]
elif PY313:
    GLUED_NEXT[OPMAP["END_FOR"]] = OPMAP["POP_TOP"]
#: Instructions nothing may be put before: FOR_ITER and SEND jump to (3.13: past)
#: END_FOR/END_SEND, END_ASYNC_FOR is found from its handler, and GEN_START and RESUME
#: begin the code they belong to.
FIXED_PLACE = frozenset(OPMAP[n] for n in (
    "END_FOR", "END_SEND", "END_ASYNC_FOR", "RESUME", "GEN_START") if n in OPMAP)
#: Pairs that, where they occur, nothing may be put between (3.10). The ``f_lineno``
#: setter (a debugger's jump) misjudges the stack when anything separates a
#: comprehension's GET_ITER/GET_AITER from the CALL_FUNCTION that consumes the iterator:
#: it refuses legal jumps and, on a backward jump, pops a value that is not there (a
#: crash). GET_AWAITABLE words its error by the instructions just before it ("'async with'
#: received an object from __aenter__/__aexit__ ...": BEFORE_ASYNC_WITH, WITH_EXCEPT_START,
#: DUP_TOP then CALL_FUNCTION).
KEEP_ADJACENT: frozenset[tuple[int, int]] = frozenset()
#: 3.14+: sys.monitoring reports a branch not taken from the NOT_TAKEN right after a
#: conditional jump (or the END_SEND of an ``async for``), naming the instruction before
#: it as the branch: nothing may come between them.
NOT_TAKEN = OPMAP.get("NOT_TAKEN", -1)
BRANCH_SOURCES = frozenset(OPMAP[n] for n in (
    "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE",
    "END_SEND") if n in OPMAP) if PY314 else frozenset()
if PY314:
    KEEP_ADJACENT = frozenset((op, NOT_TAKEN) for op in BRANCH_SOURCES)
if not PY311:
    KEEP_ADJACENT = frozenset((OPMAP[a], OPMAP[b]) for a, b in (
        ("GET_ITER", "CALL_FUNCTION"), ("GET_AITER", "CALL_FUNCTION"),
        ("BEFORE_ASYNC_WITH", "GET_AWAITABLE"), ("WITH_EXCEPT_START", "GET_AWAITABLE"),
        ("CALL_FUNCTION", "GET_AWAITABLE"), ("DUP_TOP", "CALL_FUNCTION")))
#: 3.12+ FOR_ITER must target END_FOR (the exit skips over it).
FOR_ITER_TARGET = OPMAP["END_FOR"] if PY312 else -1
FOR_ITER = OPMAP["FOR_ITER"]

HASCONST = frozenset(opcode.hasconst)
HASNAME = frozenset(opcode.hasname)
HASLOCAL = frozenset(opcode.haslocal)
HASFREE = frozenset(opcode.hasfree)

#: 3.11+ local, cell and free variables share one array ("localsplus": co_varnames, then
#: cells that are not arguments, then co_freevars) that LOAD_FAST/LOAD_DEREF... index;
#: 3.10 LOAD_DEREF indexes co_cellvars + co_freevars.
LOCALSPLUS = PY311
#: Opcodes whose argument is a co_names index shifted left to make room for flag bits
#: (bit 0: also push NULL / the method's self).
NAME_ARG_SHIFT: dict[int, int] = {}
if PY311:
    NAME_ARG_SHIFT[OPMAP["LOAD_GLOBAL"]] = 1
if PY312:
    NAME_ARG_SHIFT[OPMAP["LOAD_ATTR"]] = 1
    NAME_ARG_SHIFT[OPMAP["LOAD_SUPER_ATTR"]] = 2
if PY315:
    # bits 0-1: the import is explicitly lazy (1) or eager (2), PEP 810
    NAME_ARG_SHIFT[OPMAP["IMPORT_NAME"]] = 2
#: 3.13 pushes the NULL of a call after the callable; 3.11/3.12 before it.
NULL_AFTER_CALLABLE = PY313
#: 3.13 superinstructions whose argument holds two local indexes, 4 bits each.
LOCAL_PAIRS = frozenset(OPMAP[n] for n in (
    "LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST",
    "LOAD_FAST_BORROW_LOAD_FAST_BORROW") if n in OPMAP)
#: 3.14+ loads locals without a new reference where CPython proves it safe
#: (``LOAD_FAST_BORROW``); the encoder keeps that proof true in edited code (``_borrow``).
BORROWED_LOADS = PY314
#: 3.13 POP_JUMP_IF_TRUE/FALSE test for the True/False objects: the compiler puts a
#: TO_BOOL (or an instruction that makes a bool) before them.
JUMP_NEEDS_BOOL = PY313

#: Opcode pairs that differ only by jump direction (3.11 names both ways).
_DIRECTIONS = [
    ("JUMP_FORWARD", "JUMP_BACKWARD"),
    ("POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_FALSE"),
    ("POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_TRUE"),
    ("POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NONE"),
    ("POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE"),
]
FORWARD_OF: dict[int, int] = {}
BACKWARD_OF: dict[int, int] = {}
if not HAS_ABSOLUTE_JUMPS:
    for fwd, back in _DIRECTIONS:
        if fwd in OPMAP and back in OPMAP:
            FORWARD_OF[OPMAP[back]] = OPMAP[fwd]
            BACKWARD_OF[OPMAP[fwd]] = OPMAP[back]

#: Version-neutral spellings a pass or ``bchook.asm`` may use; resolved when encoding.
#: ``POP_JUMP_IF_FALSE`` on 3.11 becomes the forward or backward variant by layout.
ALIASES: dict[str, str] = {}
if HAS_ABSOLUTE_JUMPS:
    ALIASES["JUMP"] = "JUMP_ABSOLUTE"
else:
    ALIASES["JUMP"] = "JUMP_FORWARD"
if VERSION == (3, 11):
    for _cond in ("FALSE", "TRUE", "NONE", "NOT_NONE"):
        ALIASES[f"POP_JUMP_IF_{_cond}"] = f"POP_JUMP_FORWARD_IF_{_cond}"


def opcode_of(name: str) -> int:
    """The opcode for ``name`` on this interpreter, accepting version-neutral aliases."""
    op = OPMAP.get(name)
    if op is None:
        alias = ALIASES.get(name)
        if alias is None:
            raise KeyError(name)
        op = OPMAP[alias]
    return op


#: Opcodes that take an argument. 3.13 numbers some argument-less opcodes (e.g.
#: WITH_EXCEPT_START) above HAVE_ARGUMENT, so ``op >= HAVE_ARGUMENT`` is not the test there.
HASARG = frozenset(getattr(opcode, "hasarg", range(HAVE_ARGUMENT, 256)))


def has_arg(op: int) -> bool:
    return op in HASARG


_stack_effect = dis.stack_effect

#: Where ``dis.stack_effect`` differs from what the instruction does once the code runs.
#: 3.11/3.12 insert RETURN_GENERATOR (and the POP_TOP of the value it is resumed with)
#: after computing the stack depth, so their tables say 0.
_EFFECT_OVERRIDES: dict[int, tuple[int, int]] = {}
if PY311 and not PY313:
    _EFFECT_OVERRIDES[OPMAP["RETURN_GENERATOR"]] = (1, 1)
#: 3.10 generators start with the sent value on the stack, which GEN_START pops.
GEN_START = OPMAP.get("GEN_START", -1)


def entry_depth(first_op: int) -> int:
    return 1 if first_op == GEN_START else 0


def stack_effects(op: int, arg: int | None) -> tuple[int, int]:
    """(effect when falling through, effect when jumping) of one instruction."""
    if op not in HASARG:
        fixed = _EFFECT_OVERRIDES.get(op)
        if fixed is not None:
            return fixed
        arg = None
    elif op in JUMPS:
        return _stack_effect(op, arg, jump=False), _stack_effect(op, arg, jump=True)
    effect = _stack_effect(op, arg)
    return effect, effect


def cell_offset(code) -> int:
    """Index that ``LOAD_DEREF`` arg 0 refers to: cells come after locals on 3.11+."""
    return code.co_nlocals if PY311 else 0


# -- what the constfold pass needs to read operands ---------------------------------------
#: ``COMPARE_OP``'s argument is ``index into dis.cmp_op << COMPARE_OP_SHIFT``; the low bits
#: are a specialization mask (3.12+) and, on 3.13, ``COMPARE_OP_TO_BOOL`` (result made bool).
COMPARE_OP_SHIFT = 5 if PY313 else 4 if PY312 else 0
COMPARE_OP_TO_BOOL = 16 if PY313 else 0
#: 3.11+: ``LOAD_GLOBAL``'s argument is ``namei << 1 | push_null``.
LOAD_GLOBAL_SHIFT = 1 if PY311 else 0
#: 3.12+: ``LOAD_ATTR``'s argument is ``namei << 1 | is_method`` (3.10/3.11 have LOAD_METHOD).
LOAD_ATTR_SHIFT = 1 if PY312 else 0
#: Where a call's NULL goes: before the callable on 3.11/3.12, after it on 3.13, none on 3.10.
CALL_NULL = "after" if PY313 else "before" if PY311 else None


#: 3.11+ BINARY_OP's argument says which operator: ``(name, symbol)`` by argument.
NB_OPS: list = list(getattr(dis, "_nb_ops", ()))
BINARY_OP_TAKES_ARG = PY311
#: COMPARE_OP's operators, by index.
CMP_OP: tuple = tuple(dis.cmp_op)


def _binary_operators() -> dict:
    table = {}
    if PY311:
        for i, (_name, symbol) in enumerate(NB_OPS):
            if not symbol.endswith("=") and symbol != "[]":  # 3.14+: "[]" is a subscript
                table[(OPMAP["BINARY_OP"], i)] = symbol
        return table
    for name, symbol in (("ADD", "+"), ("SUBTRACT", "-"), ("MULTIPLY", "*"),
                         ("TRUE_DIVIDE", "/"), ("FLOOR_DIVIDE", "//"), ("MODULO", "%"),
                         ("POWER", "**"), ("LSHIFT", "<<"), ("RSHIFT", ">>"), ("AND", "&"),
                         ("OR", "|"), ("XOR", "^"), ("MATRIX_MULTIPLY", "@")):
        table[(OPMAP["BINARY_" + name], None)] = symbol
    return table


#: ``(opcode, oparg)`` of a non-inplace binary operator -> its symbol (``oparg`` is None
#: where the opcode alone says which operator: 3.10's ``BINARY_ADD``...).
BINARY_OPERATORS: dict = _binary_operators()
#: 3.13's fused instructions -> the two plain ones they stand for (4-bit args, first high).
SUPERINSTRUCTIONS: dict[int, tuple[int, int]] = {}
for _fused, _first, _second in (
        ("LOAD_FAST_LOAD_FAST", "LOAD_FAST", "LOAD_FAST"),
        ("STORE_FAST_LOAD_FAST", "STORE_FAST", "LOAD_FAST"),
        ("STORE_FAST_STORE_FAST", "STORE_FAST", "STORE_FAST"),
        ("LOAD_FAST_BORROW_LOAD_FAST_BORROW", "LOAD_FAST_BORROW", "LOAD_FAST_BORROW")):
    if _fused in OPMAP:
        SUPERINSTRUCTIONS[OPMAP[_fused]] = (OPMAP[_first], OPMAP[_second])

# -- what the trace pass needs to place line probes ----------------------------------------
#: 3.13 reports a line event whenever an exception handler starts, even when the exception
#: was raised on the handler's own line; 3.11 and 3.12 only when the line changes.
HANDLER_ALWAYS_STARTS_LINE = PY313
#: 3.11 closes (or collects) a generator that never started by running its frame with
#: GeneratorExit raised at the first instruction; 3.12+ just mark it closed (3.10 too runs
#: it, but before any instruction: nothing can see it there).
CLOSE_RUNS_UNSTARTED_GENERATOR = VERSION == (3, 11)


# -- what the builders (``_builders``) need ------------------------------------------------
#: 3.14+ loads ints 0-255 with ``LOAD_SMALL_INT`` (the argument is the value).
SMALL_INT_LOADS = "LOAD_SMALL_INT" in OPMAP
#: ``LOAD_COMMON_CONSTANT``'s values, by argument (3.14+).
COMMON_CONSTANTS: tuple = tuple(getattr(opcode, "_common_constants", ()))
#: 3.15 also loads None, True, False, '' and -1 with ``LOAD_COMMON_CONSTANT`` (3.14 uses
#: it only for exception classes).
COMMON_CONSTANT_LOADS_VALUES = None in COMMON_CONSTANTS
#: Return instructions -> how many stack values each takes (3.12/3.13 RETURN_CONST: 0).
RETURNS: dict[int, int] = {OPMAP[n]: k for n, k in (("RETURN_VALUE", 1), ("RETURN_CONST", 0))
                           if n in OPMAP}
RESUME = OPMAP.get("RESUME", -1)
#: What may come before RESUME at the start of a code object (3.11+).
PROLOGUE = frozenset(OPMAP[n] for n in (
    "COPY_FREE_VARS", "MAKE_CELL", "RETURN_GENERATOR", "POP_TOP") if n in OPMAP)
#: 3.11+ code objects know their qualified name (3.10: only ``co_name``).
HAS_QUALNAME = PY311
#: 3.10's block stack: the instructions that push a block (they name their handler as a
#: jump target) and those that pop one.
BLOCK_SETUPS = frozenset(OPMAP[n] for n in (
    "SETUP_FINALLY", "SETUP_WITH", "SETUP_ASYNC_WITH") if n in OPMAP)
BLOCK_POPS = frozenset(OPMAP[n] for n in ("POP_BLOCK", "POP_EXCEPT") if n in OPMAP)
#: Instructions that push the value of a local variable (``co_varnames``).
LOCAL_LOADS = frozenset(OPMAP[n] for n in (
    "LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW") if n in OPMAP)
#: Instructions that load a global (or, in a class body or module, a name).
GLOBAL_LOADS = frozenset(OPMAP[n] for n in (
    "LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS") if n in OPMAP)

# -- constfold -----------------------------------------------------------------------------
#: Instructions that may push a constant (``ir.constant_of`` says which value): LOAD_CONST,
#: 3.14+'s LOAD_SMALL_INT, and 3.15's LOAD_COMMON_CONSTANT (3.14 loads only classes and
#: functions with it, which are no constants). For cheap scans of raw code; a decoded
#: instruction is asked with ``ir.loads_constant``.
CONSTANT_LOADS = frozenset(OPMAP[n] for n in ("LOAD_CONST", "LOAD_SMALL_INT") if n in OPMAP) | (
    frozenset((OPMAP["LOAD_COMMON_CONSTANT"],)) if COMMON_CONSTANT_LOADS_VALUES
    else frozenset())
#: Instructions that unbind a local: ``del x``, and 3.12+'s LOAD_FAST_AND_CLEAR (which
#: saves and clears a local around an inlined comprehension).
LOCAL_CLEARS = frozenset(OPMAP[n] for n in ("DELETE_FAST", "LOAD_FAST_AND_CLEAR") if n in OPMAP)
#: 3.12 and 3.13 return a constant with one instruction (``RETURN_CONST``).
CONSTANT_RETURNS = "RETURN_CONST" in OPMAP


def _operations() -> dict[int, str]:
    kinds = {
        "constant": ("LOAD_CONST", "LOAD_SMALL_INT", "LOAD_COMMON_CONSTANT"),
        "unary": ("UNARY_NEGATIVE", "UNARY_POSITIVE", "UNARY_INVERT", "UNARY_NOT"),
        "subscript": ("BINARY_SUBSCR",),
        "slice": ("BINARY_SLICE",),
        "compare": ("COMPARE_OP",),
        "contains": ("CONTAINS_OP",),
        "is": ("IS_OP",),
        "build_slice": ("BUILD_SLICE",),
        "build_tuple": ("BUILD_TUPLE",),
        "build_list": ("BUILD_LIST",),
        "list_extend": ("LIST_EXTEND",),
        "to_bool": ("TO_BOOL",),
        "copy": ("COPY", "DUP_TOP"),
        "pop_top": ("POP_TOP",),
        "push_null": ("PUSH_NULL",),
        "global": ("LOAD_GLOBAL",),
        "name": ("LOAD_NAME",),
        "attr": ("LOAD_ATTR", "LOAD_METHOD"),
        "call_prefix": ("PRECALL",),
        "call": ("CALL", "CALL_FUNCTION", "CALL_METHOD"),
        "jump_if_or_pop": ("JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP"),
        "return": ("RETURN_VALUE", "RETURN_CONST"),
        "not_taken": ("NOT_TAKEN",),
        "nop": ("NOP",),
    }
    table = {OPMAP[n]: kind for kind, names in kinds.items() for n in names if n in OPMAP}
    for op, _arg in BINARY_OPERATORS:
        table[op] = "binary"  # 3.11+: BINARY_OP, whose argument may also mean a subscript
    for prefix in ("POP_JUMP_IF_", "POP_JUMP_FORWARD_IF_", "POP_JUMP_BACKWARD_IF_"):
        for cond in ("TRUE", "FALSE", "NONE", "NOT_NONE"):
            if prefix + cond in OPMAP:
                table[OPMAP[prefix + cond]] = "jump_if"
    return table


#: What each instruction computes, named the same on every release, for passes that
#: follow values through the stack (``ir.operation_of`` reads the details): "constant",
#: "binary", "unary", "subscript", "slice" (``x[a:b]`` in one instruction), "compare",
#: "contains", "is", "build_slice", "build_tuple", "build_list", "list_extend", "to_bool",
#: "copy", "pop_top", "push_null", "global", "name", "attr", "call_prefix" (3.11's PRECALL),
#: "call", "jump_if", "jump_if_or_pop" (3.10/3.11), "return", "not_taken", "nop".
OPERATIONS: dict[int, str] = _operations()
