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
    if _free_threaded():
        return (f"bchook does not support the free-threaded build of CPython {running} "
                f"yet; use the default build of {supported}")
    return None


def _free_threaded() -> bool:
    """Is this the free-threaded build? ``sys.abiflags`` says so on POSIX ("t"); sysconfig,
    which costs milliseconds at every start-up, is asked only where there is none."""
    abiflags = getattr(sys, "abiflags", None)
    if abiflags is not None:
        return "t" in abiflags
    import sysconfig
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


_REASON = unsupported_reason()
if _REASON is not None:
    raise ImportError(_REASON, name=__name__)  # bchook/__init__.py says it in one line

# Only ``opcode``, not ``dis``: every table here is in it, and ``dis`` (with the
# ``collections`` it imports) costs a millisecond or two at every start-up under bchook.
import opcode  # noqa: E402 - only once the interpreter is known

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
#: Arguments counted backwards: ``dis._is_backward_jump``'s test (3.11+; 3.10 has no
#: relative backward jump), and 3.14's END_ASYNC_FOR, which names its END_SEND backwards.
BACKWARD_JUMPS = frozenset(op for op in JREL if "JUMP_BACKWARD" in OPNAME[op]) | \
    NOT_CONTROL_FLOW

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
#: Instructions a tracer tells apart from a NOP that begins their line in their place:
#: 3.11 reports no line event for the jump back to a SEND that closes an
#: ``await``/``yield from`` loop (it would for a NOP there), and 3.12+ run a FOR_ITER or
#: SEND that begins a line unspecialized, so a generator ending there raises no
#: StopIteration event (it would if a NOP began the line instead).
OWN_LINE_START = frozenset(OPMAP[n] for n in ("SEND", "FOR_ITER") if n in OPMAP)
#: 3.14+: sys.monitoring reports a branch not taken from the NOT_TAKEN right after a
#: conditional jump (or the END_SEND of an ``async for``), naming the instruction before
#: it as the branch.
NOT_TAKEN = OPMAP.get("NOT_TAKEN", -1)
BRANCH_SOURCES = frozenset(OPMAP[n] for n in (
    "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE",
    "END_SEND") if n in OPMAP) if PY314 else frozenset()
#: Pairs that, where they occur, nothing may be put between. 3.14+: a branch and its
#: NOT_TAKEN (see above). 3.10: the ``f_lineno`` setter (a debugger's jump) misjudges the
#: stack when anything separates a comprehension's GET_ITER/GET_AITER from the
#: CALL_FUNCTION that consumes the iterator: it refuses legal jumps and, on a backward
#: jump, pops a value that is not there (a crash); GET_AWAITABLE words its error by the
#: instructions just before it ("'async with' received an object from
#: __aenter__/__aexit__ ...": BEFORE_ASYNC_WITH, WITH_EXCEPT_START, DUP_TOP then
#: CALL_FUNCTION).
KEEP_ADJACENT: frozenset[tuple[int, int]] = frozenset()
if PY314:
    KEEP_ADJACENT = frozenset((op, NOT_TAKEN) for op in BRANCH_SOURCES)
elif not PY311:
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


_stack_effect = opcode.stack_effect

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
NB_OPS: list = list(getattr(opcode, "_nb_ops", ()))
BINARY_OP_TAKES_ARG = PY311
#: COMPARE_OP's operators, by index.
CMP_OP: tuple = tuple(opcode.cmp_op)


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


# -- goto --
#: A conditional jump may go backward: 3.10's jumps are absolute, 3.11 has
#: ``POP_JUMP_BACKWARD_IF_*``; 3.12+ conditional jumps only go forward.
CONDITIONAL_JUMPS_GO_BACK = HAS_ABSOLUTE_JUMPS or BACKWARD_CONDITIONAL_JUMPS
#: What 3.14+ (PEP 765) says, as a SyntaxWarning, of a ``break`` that leaves a ``finally``
#: body, so that a pass which generates such a ``break`` can tell its own warning from the
#: user's; None where the compiler does not warn.
BREAK_IN_FINALLY_WARNING = "'break' in a 'finally' block" if PY314 else None
# -- trace --------------------------------------------------------------------------------
#: 3.10 frames hold at most this many blocks (CO_MAXBLOCKS): a pass that pushes blocks of
#: its own must leave room; 0 on 3.11+, which have no block stack.
MAX_BLOCKS = 0 if HAS_EXCEPTION_TABLE else 20
#: Instructions that hand a sent value to the iterator a ``yield from``/``await``
#: delegates to (3.10 YIELD_FROM, 3.11+ SEND).
DELEGATES = frozenset(OPMAP[n] for n in ("YIELD_FROM", "SEND") if n in OPMAP)
#: 3.10 and 3.11 suspend a delegating frame where no instruction can be put: inside
#: YIELD_FROM (3.10), or between SEND, YIELD_VALUE and RESUME, which are glued (3.11).
#: Code that must see those suspensions wraps the delegate instead.
SEALED_DELEGATION = not PY312
#: The jumps the compiler makes inside one ``yield from``/``await``: back to its SEND for
#: the next value, and (3.12+) from CLEANUP_THROW to its END_SEND. Going round is one
#: delegation, no new pass of a loop (no new line event).
DELEGATION_JUMPS = frozenset(OPMAP[n] for n in ("JUMP_BACKWARD_NO_INTERRUPT",)
                             if n in OPMAP)
#: 3.11 closes (or collects) a generator that never started by raising GeneratorExit in
#: its frame at the instruction that created it (RETURN_GENERATOR): code there is a call
#: for profilers. Empty elsewhere (3.12+ mark it closed; 3.10 raises before any
#: instruction).
UNSTARTED_CLOSE_RAISES_AT = frozenset(
    (OPMAP["RETURN_GENERATOR"],) if CLOSE_RUNS_UNSTARTED_GENERATOR else ())
#: RESUME's argument says where the frame takes up, in its low bits (by value), and
#: (3.13+) in one more bit that the yield before it is in no try block. 3.15 starts a
#: generator expression with a RESUME of its own, before it creates the generator.
RESUME_WHERE: tuple = ("start", "yield", "yield from", "await") + (
    ("generator expression start",) if PY315 else ())
RESUME_WHERE_MASK = 7 if PY315 else 3
RESUME_DEPTH1 = 8 if PY315 else 4 if PY313 else 0
#: 3.13+ finish a generator closed (or collected) at a yield in no try block without
#: running its frame; 3.14+ run it all the same (raising GeneratorExit at the yield)
#: when a sys.monitoring tool watches unwinding, as cProfile, profiling.tracing,
#: coverage and debuggers do: for them that close is a resumption and an unwind.
WATCHED_CLOSE_RUNS_FRAME = PY314
#: 3.13+ sys.monitoring counts lines from the line of the code's RESUME: an instruction
#: after it on that same line begins no line (no LINE event for ``lambda: x``), unless
#: something without a location comes between them. 3.11/3.12 begin a line there.
RESUME_LINE_IS_CURRENT = PY313
# -- the front ends: how the interpreter starts a program ----------------------------------
#: 3.10-3.13 give a new ``__main__`` module an empty ``__annotations__`` dict; from 3.14
#: module annotations are evaluated lazily (PEP 649) and it has none.
MAIN_HAS_ANNOTATIONS = not PY314
#: ``python script.py`` (and ``runpy``) set ``__main__.__cached__`` up to 3.14; 3.15 sets
#: ``__cached__`` on no module that was not loaded from a cache.
MAIN_HAS_CACHED = not PY315
#: 3.15+ (PEP 810): ``lazy import``, ``-X lazy_imports``, ``PYTHON_LAZY_IMPORTS`` and
#: ``sys.set_lazy_imports[_filter]``; a lazy import is found and executed when its name is
#: first used, not where the statement stands.
HAS_LAZY_IMPORTS = hasattr(sys, "set_lazy_imports")
#: 3.15+ (PEP 829): ``site`` calls the ``module:function`` entry points listed in
#: ``<name>.start`` files, and ``import`` lines in ``.pth`` files are deprecated (ignored
#: from 3.18; a ``.start`` file of the same name already silences them).
HAS_START_FILES = PY315
#: 3.15+ IMPORT_NAME's argument is ``namei << 2 | mode``: mode 1 is ``lazy import``, 2 an
#: import that is never lazy, 0 one that ``-X lazy_imports=all`` makes lazy at module level.
IMPORT_NAME_SHIFT = 2 if HAS_LAZY_IMPORTS else 0
IMPORT_EAGER = 2 if HAS_LAZY_IMPORTS else 0


# -- which values of the stack an instruction changes (goto's check of a jump) ------------
#: Instructions that push and leave every value below where it was, the same object
#: (those that change nothing on the stack too).
_PUSH_ONLY_NAMES = (
    "CACHE", "COPY", "COPY_FREE_VARS", "DELETE_DEREF", "DELETE_FAST", "DELETE_GLOBAL",
    "DELETE_NAME", "DUP_TOP", "DUP_TOP_TWO", "EXTENDED_ARG", "GET_ANEXT", "GET_LEN",
    "IMPORT_FROM", "JUMP_ABSOLUTE", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT",
    "JUMP_FORWARD", "KW_NAMES", "LOAD_ASSERTION_ERROR", "LOAD_BUILD_CLASS",
    "LOAD_CLASSDEREF", "LOAD_CLOSURE", "LOAD_COMMON_CONSTANT", "LOAD_CONST", "LOAD_DEREF",
    "LOAD_FAST", "LOAD_FAST_AND_CLEAR", "LOAD_FAST_BORROW",
    "LOAD_FAST_BORROW_LOAD_FAST_BORROW", "LOAD_FAST_CHECK", "LOAD_FAST_LOAD_FAST",
    "LOAD_GLOBAL", "LOAD_LOCALS", "LOAD_NAME", "LOAD_SMALL_INT", "MAKE_CELL", "MATCH_KEYS",
    "MATCH_MAPPING", "MATCH_SEQUENCE", "NOP", "NOT_TAKEN", "POP_BLOCK", "PUSH_NULL",
    "RESUME", "RETURN_GENERATOR", "SETUP_ANNOTATIONS", "SETUP_FINALLY", "WITH_EXCEPT_START",
)
#: Instructions that pop values and leave those below where they were, the same objects
#: (a list they append to is changed, not replaced).
_POP_ONLY_NAMES = (
    "DELETE_ATTR", "DELETE_SUBSCR", "DICT_MERGE", "DICT_UPDATE", "END_ASYNC_FOR", "END_FOR",
    "EXIT_INIT_CHECK", "GEN_START", "IMPORT_STAR", "INTERPRETER_EXIT",
    "JUMP_IF_FALSE_OR_POP", "JUMP_IF_NOT_EXC_MATCH", "JUMP_IF_TRUE_OR_POP", "LIST_APPEND",
    "LIST_EXTEND", "MAP_ADD", "POP_EXCEPT", "POP_ITER", "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_TRUE",
    "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE",
    "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_NONE",
    "POP_JUMP_IF_NOT_NONE", "POP_JUMP_IF_TRUE", "POP_TOP", "PRINT_EXPR", "RAISE_VARARGS",
    "RERAISE", "RETURN_CONST", "RETURN_VALUE", "SET_ADD", "SET_UPDATE", "STORE_ATTR",
    "STORE_DEREF", "STORE_FAST", "STORE_FAST_STORE_FAST", "STORE_GLOBAL", "STORE_NAME",
    "STORE_SLICE", "STORE_SUBSCR",
)
#: Instructions that take their inputs and push one value in their place.
_MAKES_ONE_NAMES = (
    "BINARY_ADD", "BINARY_AND", "BINARY_FLOOR_DIVIDE", "BINARY_LSHIFT",
    "BINARY_MATRIX_MULTIPLY", "BINARY_MODULO", "BINARY_MULTIPLY", "BINARY_OP", "BINARY_OR",
    "BINARY_POWER", "BINARY_RSHIFT", "BINARY_SLICE", "BINARY_SUBSCR", "BINARY_SUBTRACT",
    "BINARY_TRUE_DIVIDE", "BINARY_XOR", "BUILD_CONST_KEY_MAP", "BUILD_INTERPOLATION",
    "BUILD_LIST", "BUILD_MAP", "BUILD_SET", "BUILD_SLICE", "BUILD_STRING", "BUILD_TEMPLATE",
    "BUILD_TUPLE", "CALL", "CALL_FUNCTION", "CALL_FUNCTION_EX", "CALL_FUNCTION_KW",
    "CALL_INTRINSIC_1", "CALL_INTRINSIC_2", "CALL_KW", "CALL_METHOD", "COMPARE_OP",
    "CONTAINS_OP", "CONVERT_VALUE", "END_SEND", "FORMAT_SIMPLE", "FORMAT_VALUE",
    "FORMAT_WITH_SPEC", "IMPORT_NAME", "INPLACE_ADD", "INPLACE_AND", "INPLACE_FLOOR_DIVIDE",
    "INPLACE_LSHIFT", "INPLACE_MATRIX_MULTIPLY", "INPLACE_MODULO", "INPLACE_MULTIPLY",
    "INPLACE_OR", "INPLACE_POWER", "INPLACE_RSHIFT", "INPLACE_SUBTRACT",
    "INPLACE_TRUE_DIVIDE", "INPLACE_XOR", "IS_OP", "LIST_TO_TUPLE", "LOAD_FROM_DICT_OR_DEREF",
    "LOAD_FROM_DICT_OR_GLOBALS", "MAKE_FUNCTION", "PREP_RERAISE_STAR", "SEND",
    "SET_FUNCTION_ATTRIBUTE", "STORE_FAST_LOAD_FAST", "TO_BOOL", "UNARY_INVERT",
    "UNARY_NEGATIVE", "UNARY_NOT", "UNARY_POSITIVE", "YIELD_FROM", "YIELD_VALUE",
)
#: Instructions that take the top value and push their results in its place.
_TAKES_TOP_NAMES = (
    "ASYNC_GEN_WRAP", "BEFORE_ASYNC_WITH", "BEFORE_WITH", "CHECK_EXC_MATCH",
    "COPY_DICT_WITHOUT_KEYS", "FOR_ITER", "GET_AITER", "GET_AWAITABLE", "GET_ITER",
    "GET_YIELD_FROM_ITER", "LOAD_ATTR", "LOAD_METHOD", "LOAD_SPECIAL", "PUSH_EXC_INFO",
    "SETUP_ASYNC_WITH", "SETUP_WITH", "UNPACK_EX", "UNPACK_SEQUENCE",
)
#: Instructions that change values deeper than their stack effect says, by argument.
_DEEP_REACH = {
    "CHECK_EG_MATCH": lambda arg: 2,    # the exception and the type: rest, match
    "CLEANUP_THROW": lambda arg: 3,     # sub-iterator, last sent value, exception: 2 out
    "LOAD_SUPER_ATTR": lambda arg: 3,   # super, class, self: the attribute (and self)
    "MATCH_CLASS": lambda arg: 3,       # 3.10 leaves two results in place of three
    "PRECALL": lambda arg: arg + 2,     # 3.11 may fill in the method and self
    "ROT_FOUR": lambda arg: 4,
    "ROT_N": lambda arg: arg,
    "ROT_THREE": lambda arg: 3,
    "ROT_TWO": lambda arg: 2,
    "SWAP": lambda arg: arg,
}
#: What an instruction no list names may change: all of the stack.
UNKNOWN_REACH = 1 << 30


def _reach_table(counts: dict) -> dict:
    """``{opcode: reach(arg, lowest stack effect)}`` from the lists above, overridden by
    ``counts`` (``{name: (popped, pushed)}`` expressions of ``oparg``): CPython's own
    numbers, right by construction (bchook has them for 3.14+, see ``_stack_metadata``)."""
    kinds = (
        (_PUSH_ONLY_NAMES, lambda arg, low: 0),
        (_POP_ONLY_NAMES, lambda arg, low: max(0, -low)),
        (_MAKES_ONE_NAMES, lambda arg, low: 1 - low),
        (_TAKES_TOP_NAMES, lambda arg, low: max(1, -low)),
    )
    table = {}
    for names, reach in kinds:
        table.update((OPMAP[n], reach) for n in names if n in OPMAP)
    table.update((OPMAP[n], lambda arg, low, f=f: f(arg))
                 for n, f in _DEEP_REACH.items() if n in OPMAP)
    for name, (popped, _) in counts.items():
        if name in OPMAP:
            table[OPMAP[name]] = eval(f"lambda oparg, low: {popped}")
    return table


_REACH: dict | None = None


def stack_reach(op: int, arg: int | None) -> int:
    """How many values at the top of the stack instruction ``op`` may take or overwrite:
    an upper bound; every value below stays where it was, the same object. It tells which
    values a jump can keep (goto keeps the ``for`` iterators a jump does not leave). An
    instruction bchook does not know may change them all (:data:`UNKNOWN_REACH`)."""
    global _REACH
    if _REACH is None:
        from ._stack_metadata import TABLES
        _REACH = _reach_table(TABLES.get(VERSION, {}))
    reach = _REACH.get(op)
    if reach is None:
        return UNKNOWN_REACH
    arg = arg if type(arg) is int else 0
    return reach(arg, min(stack_effects(op, arg)))


# -- what the tools (``bchook dis``, ``bchook.asm``) need -----------------------------------
#: The running release as people write it ("3.14"), for headers and messages.
PYTHON = f"{VERSION[0]}.{VERSION[1]}"
#: Instructions whose argument names a cell or free variable. (3.14+ list LOAD_DEREF in
#: ``opcode.haslocal``, so ``HASFREE`` alone misses it.)
DEREF_ARGS = HASFREE | frozenset(OPMAP[n] for n in ("LOAD_DEREF",) if n in OPMAP)
#: Instructions whose argument names a local variable (LOAD_FAST & co.).
LOCAL_ARGS = HASLOCAL - DEREF_ARGS
#: Opcodes that take an argument here and none on some other release (or whose argument
#: is optional in spirit: RESUME at the start): a listing may leave it out, meaning 0.
OPTIONAL_ARGS = frozenset(OPMAP[n] for n in (
    "RESUME", "YIELD_VALUE", "GET_ITER", "MAKE_FUNCTION", "CALL_FUNCTION_EX")
    if n in OPMAP and OPMAP[n] in HASARG)
#: Instructions whose result 3.13+ conditional jumps test without a TO_BOOL first: they
#: push a bool. COMPARE_OP in its plain form counts too: the compiler jumps on it directly
#: where it compares ints (``match`` length tests, 3.14's ``__annotate__`` functions), as
#: every comparison of built-in types gives a bool.
BOOL_RESULTS = frozenset(OPMAP[n] for n in (
    "TO_BOOL", "COMPARE_OP", "IS_OP", "CONTAINS_OP", "UNARY_NOT", "CHECK_EXC_MATCH",
    "MATCH_MAPPING", "MATCH_SEQUENCE") if n in OPMAP)
#: 3.14+: a function's ``co_consts[0]`` is its docstring only when this ``co_flags`` bit is
#: set (0 before: there the first constant always is, None for no docstring).
def _docstring_flag() -> int:
    # dis.COMPILER_FLAG_NAMES' HAS_DOCSTRING, read from the compiler's own output instead
    def flags(body: str) -> int:
        module = compile(f"def f():\n    {body}\n", "<bchook.ir>", "exec", dont_inherit=True,
                         optimize=0)  # -OO would drop the docstring
        return next(c.co_flags for c in module.co_consts if hasattr(c, "co_flags"))

    return flags("'doc'") & ~flags("pass")


DOCSTRING_FLAG = _docstring_flag()
#: ``LOAD_SPECIAL``'s argument: which method of a ``with`` it loads (3.14+).
SPECIAL_METHODS: tuple = tuple(getattr(opcode, "_special_method_names", ()))
#: The one-opcode-per-operator names of earlier releases (3.10's ``BINARY_ADD``,
#: ``INPLACE_ADD``...; ``BINARY_SUBSCR`` until 3.13), by the operator they apply, on every
#: release: so that code or listings written for another release can still be read.
OPERATOR_NAMES: dict[str, str] = {"BINARY_SUBSCR": "[]"}
for _stem, _symbol in (
        ("ADD", "+"), ("SUBTRACT", "-"), ("MULTIPLY", "*"), ("TRUE_DIVIDE", "/"),
        ("FLOOR_DIVIDE", "//"), ("MODULO", "%"), ("POWER", "**"), ("LSHIFT", "<<"),
        ("RSHIFT", ">>"), ("AND", "&"), ("OR", "|"), ("XOR", "^"), ("MATRIX_MULTIPLY", "@")):
    OPERATOR_NAMES["BINARY_" + _stem] = _symbol
    OPERATOR_NAMES["INPLACE_" + _stem] = _symbol + "="
#: The instruction that loads ``COMMON_CONSTANTS[arg]`` and the one that loads the method
#: ``SPECIAL_METHODS[arg]`` of a ``with`` (3.14+; -1 before).
LOAD_COMMON_CONSTANT = OPMAP.get("LOAD_COMMON_CONSTANT", -1)
LOAD_SPECIAL = OPMAP.get("LOAD_SPECIAL", -1)
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
# -- tools: words of other releases (bchook.asm reads listings written for any release) ----
#: Words that stand for an idiom whatever release a listing was written for: bchook.asm
#: builds it with the ``bchook.ir`` builder of that name (a call is PRECALL and CALL on
#: 3.11, a NULL load differs everywhere...). ``"nothing"``: 3.11's PRECALL, which the call
#: idiom brings where it is needed.
IDIOM_WORDS: dict[str, str] = {
    "CALL": "call", "CALL_FUNCTION": "call", "PRECALL": "nothing",
    "LOAD_GLOBAL": "load_global", "LOAD_ATTR": "load_attr", "BINARY_OP": "operator",
    "RETURN_CONST": "return_const", "LOAD_SMALL_INT": "load_const",
    "LOAD_COMMON_CONSTANT": "load_const",
}
#: Words of other releases for an idiom, where this interpreter has no such instruction.
IDIOM_WORDS_ELSEWHERE: dict[str, str] = {
    "CALL_METHOD": "call_method", "LOAD_METHOD": "load_method",
    **dict.fromkeys(("JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_ABSOLUTE",
                     "JUMP_BACKWARD_NO_INTERRUPT"), "jump"),
}
#: Words of other releases that stand for nothing where the instruction does not exist:
#: the prologue is added by itself, 3.10 needs no NULL for a call, and what follows a
#: loop's exit or a branch is added as this release needs it.
NOTHING_ELSEWHERE = frozenset((
    "RESUME", "GEN_START", "MAKE_CELL", "COPY_FREE_VARS", "PUSH_NULL",
    "END_FOR", "POP_ITER", "NOT_TAKEN"))
#: Words of other releases for plain local variable instructions, where this interpreter
#: has no such instruction: 3.13's LOAD_CLOSURE is a LOAD_FAST of the cell, 3.14's
#: borrowed loads are plain loads elsewhere, and 3.13's pairs are two instructions.
PLAIN_LOCALS_ELSEWHERE: dict[str, tuple[str, ...]] = {
    "LOAD_CLOSURE": ("LOAD_FAST",), "LOAD_FAST_BORROW": ("LOAD_FAST",),
    "LOAD_FAST_LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
    "LOAD_FAST_BORROW_LOAD_FAST_BORROW": ("LOAD_FAST", "LOAD_FAST"),
    "STORE_FAST_LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
    "STORE_FAST_STORE_FAST": ("STORE_FAST", "STORE_FAST"),
}
#: Every release's spelling of a conditional jump (3.11's FORWARD/BACKWARD variants too),
#: with the sense ``jump_if`` takes: ``"false"``, ``"true"``, ``"none"``, ``"not_none"``.
CONDITIONAL_JUMP_WORDS: dict[str, str] = {
    f"POP_JUMP_{direction}IF_{sense}": sense.lower()
    for direction in ("", "FORWARD_", "BACKWARD_")
    for sense in ("TRUE", "FALSE", "NONE", "NOT_NONE")}
#: What to write instead of an instruction that some release lacks and no idiom covers:
#: the end of bchook.asm's "no instruction X on Python 3.N" message.
MISSING_INSTRUCTION_HINTS: dict[str, str] = {
    "JUMP_IF_FALSE_OR_POP": "; write COPY 1, POP_JUMP_IF_FALSE target, POP_TOP",
    "JUMP_IF_TRUE_OR_POP": "; write COPY 1, POP_JUMP_IF_TRUE target, POP_TOP",
    "RETURN_GENERATOR": " (3.10 generators start with GEN_START, which bchook.asm adds)",
    **dict.fromkeys(("KW_NAMES", "CALL_KW", "CALL_FUNCTION_KW"),
                    " (keyword calls differ between versions: CALL_FUNCTION_KW on 3.10, "
                    "KW_NAMES+CALL on 3.11/3.12, CALL_KW on 3.13+)"),
}
# -- tables an edit leaves unused (``Bytecode.drop_unused``) --------------------------------
#: CO_OPTIMIZED, the same bit on every release (dis.COMPILER_FLAG_NAMES' "OPTIMIZED"; this
#: module does not import dis, which costs start-up time)
_OPTIMIZED_FLAG = 0x0001


def first_const_is_docstring_slot(co_flags: int) -> bool:
    """Is ``co_consts[0]`` of a code object with these flags where a function made from it
    takes its ``__doc__``, so that nothing else may move there? 3.14+: when the
    ``DOCSTRING_FLAG`` bit says so. 3.10-3.13: in every function's code, whose first
    constant is its docstring or a None put there for want of one (a ``str`` moved there
    would become the docstring)."""
    if DOCSTRING_FLAG:
        return bool(co_flags & DOCSTRING_FLAG)
    return bool(co_flags & _OPTIMIZED_FLAG)


# -- trace: code compiled at run time --
#: Instructions that store the value on top into one variable (where a class statement
#: puts its class once decorated).
VARIABLE_STORES = frozenset(OPMAP[n] for n in (
    "STORE_NAME", "STORE_GLOBAL", "STORE_FAST", "STORE_DEREF") if n in OPMAP)
#: The stores of a module body's own names.
NAME_STORES = frozenset(OPMAP[n] for n in ("STORE_NAME", "STORE_GLOBAL"))
#: Instructions that leave on top what a call returned.
CALL_RESULTS = frozenset(OPMAP[n] for n in (
    "CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX",
    "CALL_METHOD") if n in OPMAP)


# -- with statements: interrupts during __enter__ --
#: 3.15+: a CALL right after a LOAD_SPECIAL (the ``with`` statement's ``__enter__()`` or
#: ``__aenter__()``) handles no pending interrupt as it returns, so that ``__exit__`` runs
#: even when a KeyboardInterrupt arrives during ``__enter__`` (CPython gh-148874). The
#: interpreter recognises the pair by the code unit before the CALL: nothing may go between.
if PY315:
    KEEP_ADJACENT = KEEP_ADJACENT | {(OPMAP["LOAD_SPECIAL"], OPMAP["CALL"])}
