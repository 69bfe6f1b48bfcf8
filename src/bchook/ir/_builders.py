"""Instruction sequences for the idioms that differ between CPython releases, and the
readers that say what a decoded instruction means whatever the release.

A pass asks for "a call with two arguments", "exchange the top two values", "jump to L if
the value is false" or "the constant this instruction loads", never for an opcode name that
changed between 3.10 and 3.15. Everything here returns lists of :class:`Instr` (one
idiom may take one instruction on one release and three on another), located at ``loc``
and covered by ``handler``.
"""

from __future__ import annotations

import types

from . import _version as V
from ._model import NO_LOCATION, Instr, IRError

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from ._bytecode import Bytecode
    from ._model import Handler, Label

__all__ = [
    "NOT_CONSTANT", "load_const", "constant_of", "loads_constant",
    "load_global", "load_attr", "load_method", "name_index_of", "pushes_null",
    "local_name", "local_accesses",
    "pop_top", "swap", "copy", "sink", "dup_top_two",
    "subscript", "is_subscript", "binary_op", "binary_operator_of", "compare_operator_of",
    "callable_from", "call", "call_method", "import_from", "import_name",
    "jump", "jump_if", "jump_sense", "invert_jump", "for_loop_exit", "return_value",
    "returns_values", "body_start",
    "jump_if_at", "exception_regions",
    "resumes_after", "block_setup", "block_pop", "lift", "call_on_top",
    "run_frame_on_close",
    "operator", "operator_of", "compare_op", "compare_makes_bool", "makes_bool",
    "return_const", "prologue", "follower_of", "jump_back_if", "name_arg",
    "name_flags_of", "local_pair_arg",
    "operation_of", "call_on_copy", "fuse",
]

_OP = V.OPMAP


def _op(name: str) -> int:
    return _OP.get(name, -1)


def _at(instrs: list[Instr], handler) -> list[Instr]:
    if handler is not None:
        for ins in instrs:
            ins.handler = handler
    return instrs


class _NotConstant:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_CONSTANT"


#: What :func:`constant_of` returns for an instruction that loads no constant.
NOT_CONSTANT = _NotConstant()

# -- constants ----------------------------------------------------------------------------

_LOAD_CONST = _op("LOAD_CONST")
_LOAD_SMALL_INT = _op("LOAD_SMALL_INT")
_LOAD_COMMON_CONSTANT = _op("LOAD_COMMON_CONSTANT")
#: LOAD_COMMON_CONSTANT's values that are plain immutable constants (3.15 loads None,
#: True, False, '' and -1 with it; the classes and functions it also loads are not
#: constants a pass may fold), by (type, value).
_COMMON = {(type(v), v): i for i, v in enumerate(V.COMMON_CONSTANTS)
           if type(v) in (type(None), bool, str, int)}


def load_const(bc: Bytecode, value, loc=NO_LOCATION, handler: Handler | None = None
               ) -> Instr:
    """The one instruction that loads ``value`` as CPython would load it: ``LOAD_SMALL_INT``
    for ints 0-255 (3.14+), ``LOAD_COMMON_CONSTANT`` for None, True, False, '' and -1
    (3.15), else ``LOAD_CONST`` (adding ``value`` to ``bc.consts`` if needed)."""
    t = type(value)
    if t is int and V.SMALL_INT_LOADS and 0 <= value < 256:
        return Instr(_LOAD_SMALL_INT, value, loc, handler)
    if _COMMON and V.COMMON_CONSTANT_LOADS_VALUES:
        try:
            index = _COMMON.get((t, value))
        except TypeError:  # unhashable: a LOAD_CONST
            index = None
        if index is not None:
            return Instr(_LOAD_COMMON_CONSTANT, index, loc, handler)
    return Instr(_LOAD_CONST, bc.add_const(value), loc, handler)


def loads_constant(ins: Instr) -> bool:
    """Does ``ins`` push a constant (whose value :func:`constant_of` gives)?"""
    op = ins.op
    if op == _LOAD_CONST or op == _LOAD_SMALL_INT:
        return True
    if op == _LOAD_COMMON_CONSTANT:
        value = V.COMMON_CONSTANTS[ins.arg] if ins.arg < len(V.COMMON_CONSTANTS) else None
        return (type(value), value) in _COMMON
    return False


def constant_of(bc: Bytecode, ins: Instr):
    """The constant ``ins`` loads, or :data:`NOT_CONSTANT`."""
    op = ins.op
    if op == _LOAD_CONST:
        return bc.consts[ins.arg]
    if op == _LOAD_SMALL_INT:
        return ins.arg
    if op == _LOAD_COMMON_CONSTANT and loads_constant(ins):
        return V.COMMON_CONSTANTS[ins.arg]
    return NOT_CONSTANT


# -- names and locals ---------------------------------------------------------------------

_LOAD_GLOBAL = _op("LOAD_GLOBAL")
_LOAD_ATTR = _op("LOAD_ATTR")
_LOAD_METHOD = _op("LOAD_METHOD")
_LOAD_SUPER_ATTR = _op("LOAD_SUPER_ATTR")
#: Name loads whose argument's low bit asks for a NULL (or ``self``) pushed after them
#: (3.15's IMPORT_NAME has flag bits there too, which mean something else).
_NULL_PUSHERS = frozenset(op for op in (_LOAD_GLOBAL, _LOAD_ATTR, _LOAD_SUPER_ATTR) if op >= 0)


def load_global(name_index: int, push_null: bool = False, loc=NO_LOCATION) -> list[Instr]:
    """Load global ``co_names[name_index]``; with ``push_null`` ready for :func:`call`."""
    shift = V.NAME_ARG_SHIFT.get(_LOAD_GLOBAL, 0)
    if shift:
        return [Instr(_LOAD_GLOBAL, (name_index << shift) | int(push_null), loc)]
    load = [Instr(_LOAD_GLOBAL, name_index, loc)]
    return callable_from(load, loc) if push_null else load


def load_attr(name_index: int, loc=NO_LOCATION) -> list[Instr]:
    """Replace the object on top of the stack by its attribute ``co_names[name_index]``."""
    return [Instr(_LOAD_ATTR, name_index << V.NAME_ARG_SHIFT.get(_LOAD_ATTR, 0), loc)]


def load_method(name_index: int, loc=NO_LOCATION) -> list[Instr]:
    """Replace the object on top of the stack by its method ``co_names[name_index]``,
    ready for :func:`call_method` (``LOAD_METHOD`` on 3.10/3.11, ``LOAD_ATTR`` with its
    method bit on 3.12+)."""
    if _LOAD_METHOD >= 0:
        return [Instr(_LOAD_METHOD, name_index, loc)]
    return [Instr(_LOAD_ATTR, (name_index << 1) | 1, loc)]


def name_index_of(ins: Instr) -> int:
    """The ``co_names`` index an instruction that uses a name refers to (the flag bits of
    3.11+ LOAD_GLOBAL, 3.12+ LOAD_ATTR and LOAD_SUPER_ATTR, 3.15+ IMPORT_NAME taken off)."""
    return ins.arg >> V.NAME_ARG_SHIFT.get(ins.op, 0)


def pushes_null(ins: Instr) -> bool:
    """Does this name load also push the NULL (or ``self``) of a call after it?"""
    op = ins.op
    if op == _LOAD_METHOD:
        return True
    return op in _NULL_PUSHERS and bool(V.NAME_ARG_SHIFT.get(op, 0) and ins.arg & 1)


def local_name(code: types.CodeType, ins: Instr) -> str | None:
    """The variable a LOAD_FAST/LOAD_DEREF-like instruction names, or None."""
    op = ins.op
    if V.LOCALSPLUS and (op in V.HASLOCAL or op in V.HASFREE):
        # one array for both (3.14's dis lists LOAD_DEREF among the local opcodes)
        names = code.co_varnames + tuple(
            c for c in code.co_cellvars if c not in code.co_varnames) + code.co_freevars
    elif op in V.HASLOCAL:
        names = code.co_varnames
    elif op in V.HASFREE:
        names = code.co_cellvars + code.co_freevars
    else:
        return None
    return names[ins.arg] if 0 <= ins.arg < len(names) else None


def local_accesses(ins: Instr) -> tuple[tuple[int, int], ...]:
    """``(plain opcode, local index)`` for each local an instruction touches: two for the
    superinstructions of 3.13+ (``LOAD_FAST_LOAD_FAST``...), one otherwise."""
    pair = V.SUPERINSTRUCTIONS.get(ins.op)
    if pair is None:
        return ((ins.op, ins.arg),)
    return ((pair[0], ins.arg >> 4), (pair[1], ins.arg & 15))


# -- the stack ----------------------------------------------------------------------------

def pop_top(loc=NO_LOCATION) -> list[Instr]:
    return [Instr("POP_TOP", 0, loc)]


def swap(n: int, loc=NO_LOCATION) -> list[Instr]:
    """Exchange the top of the stack with the ``n``-th value (``n`` >= 2)."""
    if V.PY311:
        return [Instr("SWAP", n, loc)]
    if n == 2:
        return [Instr("ROT_TWO", 0, loc)]
    if n == 3:  # [a, b, c] -> [c, a, b] -> [c, b, a]
        return [Instr("ROT_THREE", 0, loc), Instr("ROT_TWO", 0, loc)]
    raise IRError(f"swap({n}) has no short form on Python 3.10")


def copy(n: int, loc=NO_LOCATION) -> list[Instr]:
    """Push a copy of the ``n``-th value (1 is the top)."""
    if V.PY311:
        return [Instr("COPY", n, loc)]
    if n == 1:
        return [Instr("DUP_TOP", 0, loc)]
    raise IRError(f"copy({n}) has no short form on Python 3.10")


def dup_top_two(loc=NO_LOCATION) -> list[Instr]:
    """``[a, b] -> [a, b, a, b]``."""
    if V.PY311:
        return [Instr("COPY", 2, loc), Instr("COPY", 2, loc)]
    return [Instr("DUP_TOP_TWO", 0, loc)]


def sink(n: int, loc=NO_LOCATION) -> list[Instr]:
    """Move the top value ``n - 1`` places down: ``[a, b, c] -> [c, a, b]`` for 3."""
    if V.PY311:
        return [Instr("SWAP", k, loc) for k in range(n, 1, -1)]
    names = {2: "ROT_TWO", 3: "ROT_THREE", 4: "ROT_FOUR"}
    if n in names:
        return [Instr(names[n], 0, loc)]
    return [Instr("ROT_N", n, loc)]


# -- operators ----------------------------------------------------------------------------

_BINARY_SUBSCR = _op("BINARY_SUBSCR")
_BINARY_OP = _op("BINARY_OP")
_SUBSCRIPT_ARG = next((i for i, (_, symbol) in enumerate(V.NB_OPS) if symbol == "[]"), -1)
_SYMBOL_OF = {key: symbol for key, symbol in V.BINARY_OPERATORS.items()}
_OPERATOR = {symbol: key for key, symbol in _SYMBOL_OF.items()}


def subscript(loc=NO_LOCATION) -> list[Instr]:
    """``[container, key] -> [container[key]]`` (``BINARY_OP []`` on 3.14+)."""
    if _BINARY_SUBSCR >= 0:
        return [Instr(_BINARY_SUBSCR, 0, loc)]
    return [Instr(_BINARY_OP, _SUBSCRIPT_ARG, loc)]


def is_subscript(ins: Instr) -> bool:
    if ins.op == _BINARY_SUBSCR:
        return True
    return ins.op == _BINARY_OP and ins.arg == _SUBSCRIPT_ARG


def binary_op(symbol: str, loc=NO_LOCATION) -> list[Instr]:
    """The non-in-place binary operator ``symbol`` (``"+"``, ``"//"``, ``"@"``...)."""
    key = _OPERATOR.get(symbol)
    if key is None:
        raise IRError(f"no binary operator {symbol!r}")
    op, arg = key
    return [Instr(op, 0 if arg is None else arg, loc)]


def binary_operator_of(ins: Instr) -> str | None:
    """The symbol of the non-in-place binary operator ``ins`` applies, or None."""
    return _SYMBOL_OF.get((ins.op, ins.arg if V.BINARY_OP_TAKES_ARG else None))


_COMPARE_OP = _op("COMPARE_OP")


def compare_operator_of(ins: Instr) -> str | None:
    """``"<"``, ``"=="``... for a COMPARE_OP, else None."""
    if ins.op != _COMPARE_OP:
        return None
    index = ins.arg >> V.COMPARE_OP_SHIFT
    return V.CMP_OP[index] if index < len(V.CMP_OP) else None


# -- calls --------------------------------------------------------------------------------

def callable_from(load: list[Instr], loc=NO_LOCATION) -> list[Instr]:
    """Wrap instructions that push a callable so that :func:`call` can call it.

    3.11 and 3.12 want a NULL below the callable, 3.13+ above it, 3.10 none.
    """
    if V.CALL_NULL == "after":
        return [*load, Instr("PUSH_NULL", 0, loc)]
    if V.CALL_NULL == "before":
        return [Instr("PUSH_NULL", 0, loc), *load]
    return list(load)


def call(nargs: int, loc=NO_LOCATION) -> list[Instr]:
    """Call with ``nargs`` positional arguments: ``CALL_FUNCTION`` on 3.10,
    ``PRECALL``+``CALL`` on 3.11, ``CALL`` on 3.12+. The callable was pushed with
    :func:`callable_from` or ``load_global(..., push_null=True)``, then the arguments.
    """
    if V.PY312:
        return [Instr("CALL", nargs, loc)]
    if V.PY311:
        return [Instr("PRECALL", nargs, loc), Instr("CALL", nargs, loc)]
    return [Instr("CALL_FUNCTION", nargs, loc)]


def call_method(nargs: int, loc=NO_LOCATION) -> list[Instr]:
    """Call a method loaded by :func:`load_method` with ``nargs`` arguments."""
    if not V.PY311:
        return [Instr("CALL_METHOD", nargs, loc)]
    return call(nargs, loc)


def import_from(bc: Bytecode, module: str, name: str, loc=NO_LOCATION) -> list[Instr]:
    """Push ``name`` as ``from module import name`` would bind it (nothing is stored),
    importing now even where imports are lazy (3.15 ``-X lazy_imports=all``)."""
    return [load_const(bc, 0, loc), Instr("LOAD_CONST", bc.add_const((name,)), loc),
            *import_name(bc, module, loc),
            Instr("IMPORT_FROM", bc.add_name(name), loc), *swap(2, loc), *pop_top(loc)]


# -- control flow -------------------------------------------------------------------------

_SENSES = ("true", "false", "none", "not_none")
_JUMP_OF_SENSE = {}
for _sense in _SENSES:
    try:
        _JUMP_OF_SENSE[_sense] = V.opcode_of(f"POP_JUMP_IF_{_sense.upper()}")
    except KeyError:  # 3.10 tests for None with IS_OP
        pass
_SENSE_OF: dict[int, str] = {}
for _sense in _SENSES:
    for _name in (f"POP_JUMP_IF_{_sense.upper()}", f"POP_JUMP_FORWARD_IF_{_sense.upper()}",
                  f"POP_JUMP_BACKWARD_IF_{_sense.upper()}"):
        if _name in _OP:
            _SENSE_OF[_OP[_name]] = _sense
_INVERSE = {"true": "false", "false": "true", "none": "not_none", "not_none": "none"}
_NOT_TAKEN = V.NOT_TAKEN
_TO_BOOL = _op("TO_BOOL")


def jump(label: Label, loc=NO_LOCATION) -> list[Instr]:
    """An unconditional jump, forward or backward (the encoder picks the opcode)."""
    return [Instr("JUMP", label, loc)]


def jump_if(sense: str, label: Label, loc=NO_LOCATION, handler: Handler | None = None,
            value_is_bool: bool = False) -> list[Instr]:
    """Pop the top value and jump to ``label`` if it is ``"true"``, ``"false"``,
    ``"none"`` or ``"not_none"``.

    3.13+ test for the bool objects themselves: a ``TO_BOOL`` comes first unless
    ``value_is_bool``; 3.14+ follow the jump with ``NOT_TAKEN`` (where sys.monitoring
    reports the branch not taken).
    """
    if sense not in _JUMP_OF_SENSE:
        raise IRError(f"jump_if: no jump if {sense!r} on this Python (choose from "
                      f"{', '.join(_JUMP_OF_SENSE)})")
    seq = []
    if V.JUMP_NEEDS_BOOL and sense in ("true", "false") and not value_is_bool:
        seq.append(Instr(_TO_BOOL, 0, loc))
    seq.append(Instr(_JUMP_OF_SENSE[sense], label, loc))
    if _NOT_TAKEN >= 0:
        seq.append(Instr(_NOT_TAKEN, 0, loc))
    return _at(seq, handler)


def jump_sense(ins: Instr) -> str | None:
    """``"true"``, ``"false"``, ``"none"`` or ``"not_none"`` for a conditional jump that
    pops its value, else None."""
    return _SENSE_OF.get(ins.op)


def invert_jump(ins: Instr, label: Label) -> Instr:
    """The conditional jump of the opposite sense to ``ins``'s, to ``label``."""
    sense = _SENSE_OF.get(ins.op)
    if sense is None or _INVERSE[sense] not in _JUMP_OF_SENSE:
        raise IRError(f"{ins.name} has no conditional jump of the opposite sense")
    return Instr(_JUMP_OF_SENSE[_INVERSE[sense]], label, ins.loc, ins.handler)


def for_loop_exit(loc=NO_LOCATION) -> list[Instr]:
    """What FOR_ITER's exit target must be: ``END_FOR`` and what is glued to it (3.12+),
    nothing before (FOR_ITER pops the iterator itself)."""
    if V.FOR_ITER_TARGET < 0:
        return []
    seq = [Instr(V.FOR_ITER_TARGET, 0, loc)]
    follower = V.GLUED_NEXT.get(V.FOR_ITER_TARGET)
    if follower is not None:
        seq.append(Instr(follower, 0, loc))
    return seq


def return_value(loc=NO_LOCATION) -> list[Instr]:
    """Return the value on top of the stack."""
    return [Instr("RETURN_VALUE", 0, loc)]


def returns_values(ins: Instr) -> int:
    """How many stack values a return instruction takes: 1, or 0 for 3.12/3.13's
    ``RETURN_CONST``; -1 if ``ins`` is no return."""
    return V.RETURNS.get(ins.op, -1)


def body_start(instrs: list[Instr]) -> int:
    """Index of the first instruction after CPython's prologue (``RESUME`` and what
    comes before it; 3.10: ``GEN_START``), where a function's own code begins."""
    if V.PY311:
        genexpr = False  # 3.15: a generator expression gets its iterator before RESUME 0
        for idx, ins in enumerate(instrs):
            if ins.op == V.RESUME:
                where = resumes_after(ins)
                if where == "start":
                    return idx + 1
                if genexpr or where != "generator expression start":
                    break
                genexpr = True
            elif ins.op not in V.PROLOGUE and not genexpr:
                break
        return 0
    return 1 if instrs and instrs[0].op == V.GEN_START else 0


# -- goto --

def jump_if_at(instrs: list[Instr], k: int) -> tuple[int, int] | None:
    """Read a conditional jump as :func:`jump_if` builds it, starting at ``instrs[k]``:
    ``(index of the jump, index after the sequence)``; the sequence is 3.13+'s ``TO_BOOL``
    if there, the jump, and 3.14+'s ``NOT_TAKEN`` (which belongs to the jump: removing the
    jump removes it too). None if no conditional jump starts at ``k``."""
    n = len(instrs)
    if k < n and instrs[k].op == _TO_BOOL:
        k += 1
    if k >= n or instrs[k].op not in _SENSE_OF:
        return None
    end = k + 1
    if end < n and instrs[end].op == _NOT_TAKEN:
        end += 1
    return k, end


#: 3.10: ends the handler it runs in (``async for``'s StopAsyncIteration), as POP_EXCEPT does.
_END_ASYNC_FOR = _op("END_ASYNC_FOR")


def exception_regions(flow) -> list:
    """For each instruction of ``flow`` (an :class:`ir.Flow`), a key that two instructions
    share exactly when an exception raised in either goes to the same place: the handler
    on 3.11+ (handlers of different exception-table entries that agree count as one), the
    block stack on 3.10 (its ``SETUP_*`` blocks and the handlers being run; None where no
    path reaches)."""
    instrs = flow.instrs
    if V.HAS_EXCEPTION_TABLE:
        return [None if ins.handler is None else
                (id(ins.handler.label), ins.handler.depth, ins.handler.lasti)
                for ins in instrs]
    out: list = [None] * len(instrs)
    todo = [(0, ())] if instrs else []
    while todo:
        k, blocks = todo.pop()
        if out[k] is not None:
            continue
        out[k] = blocks
        op = instrs[k].op
        target = flow.jump_to[k]
        if op in V.BLOCK_SETUPS:
            todo.append((target, blocks + (("handler", k),)))
            blocks = blocks + (("block", k),)
        elif op in V.BLOCK_POPS or op == _END_ASYNC_FOR:
            blocks = blocks[:-1]
        elif target >= 0:
            todo.append((target, blocks))
        if flow.falls_through(k):
            todo.append((k + 1, blocks))
    return out
# -- trace --------------------------------------------------------------------------------

def resumes_after(ins: Instr) -> str | None:
    """Where a ``RESUME`` takes up again: ``"start"``, ``"yield"``, ``"yield from"``,
    ``"await"`` or (3.15) ``"generator expression start"``, before the generator exists;
    None for any other instruction (3.10 has no RESUME: a frame resumes right after its
    YIELD_VALUE or inside its YIELD_FROM)."""
    if ins.op != V.RESUME:
        return None
    return V.RESUME_WHERE[ins.arg & V.RESUME_WHERE_MASK]


def block_setup(label: Label, loc=NO_LOCATION) -> list[Instr]:
    """3.10: push a block whose exceptions go to ``label`` (``SETUP_FINALLY``); the
    code there starts with the exception's three values pushed. Other releases have an
    exception table instead (give instructions a :class:`Handler`)."""
    if V.HAS_EXCEPTION_TABLE:
        raise IRError("block_setup: this Python has an exception table, not a block stack")
    return [Instr("SETUP_FINALLY", label, loc)]


def block_pop(loc=NO_LOCATION) -> list[Instr]:
    """3.10: pop the block :func:`block_setup` pushed (``POP_BLOCK``)."""
    if V.HAS_EXCEPTION_TABLE:
        raise IRError("block_pop: this Python has an exception table, not a block stack")
    return [Instr("POP_BLOCK", 0, loc)]


def lift(n: int, loc=NO_LOCATION) -> list[Instr]:
    """Move the ``n``-th value to the top: ``[a, b, c] -> [b, c, a]`` for 3 (the inverse
    of :func:`sink`)."""
    if V.PY311:
        return [Instr("SWAP", k, loc) for k in range(2, n + 1)]
    return [ins for _ in range(n - 1) for ins in sink(n, loc)]


def call_on_top(load: list[Instr], args: list[Instr], nargs: int,
                loc=NO_LOCATION) -> list[Instr]:
    """``[x] -> [f(x, *args)]``: call what ``load`` pushes with the value on top of the
    stack as its first argument, then the ``nargs`` values ``args`` pushes."""
    callable_values = 1 + len(callable_from([], loc))  # its NULL too, on 3.11+
    return [*callable_from(load, loc), *lift(callable_values + 1, loc), *args,
            *call(nargs + 1, loc)]


def run_frame_on_close(ins: Instr) -> None:
    """Make a generator suspended at the RESUME ``ins`` (after a yield) run its frame
    when it is closed, GeneratorExit raised at the yield, instead of being finished
    without it (3.13+ do that after a yield in no try block; the flag says so)."""
    if ins.op == V.RESUME:
        ins.arg &= ~V.RESUME_DEPTH1
# -- the front ends: imports bchook adds ---------------------------------------------------
_IMPORT_NAME = _OP["IMPORT_NAME"]


def import_name(bc: Bytecode, module: str, loc=NO_LOCATION) -> list[Instr]:
    """``IMPORT_NAME module`` (its level and fromlist already pushed), never lazy.

    An import a pass adds is bchook's machinery: it must run where it stands even under
    ``-X lazy_imports=all`` (3.15), and a program's ``sys.set_lazy_imports_filter`` must
    not be asked about it, as it never is without bchook.
    """
    return [Instr(_IMPORT_NAME, bc.add_name(module) << V.IMPORT_NAME_SHIFT | V.IMPORT_EAGER,
                  loc)]
# -- tools (bchook dis, bchook.asm) -------------------------------------------------------

_NB_ARG = {symbol: i for i, (_, symbol) in enumerate(V.NB_OPS)}


def operator(symbol: str, loc=NO_LOCATION) -> list[Instr]:
    """Any binary operator, in-place ones (``"+="``) and the subscript (``"[]"``)
    included: ``BINARY_OP`` on 3.11+, one opcode per operator on 3.10."""
    if symbol == "[]":
        return subscript(loc)
    arg = _NB_ARG.get(symbol)
    if arg is not None and _BINARY_OP >= 0:
        return [Instr(_BINARY_OP, arg, loc)]
    for name, sym in V.OPERATOR_NAMES.items():
        if sym == symbol and name in _OP:
            return [Instr(_OP[name], 0, loc)]
    raise IRError(f"no binary operator {symbol!r}")


def operator_of(ins: Instr) -> str | None:
    """The symbol of the binary operator ``ins`` applies (``"+"``, ``"+="``, ``"[]"``...),
    or None."""
    if ins.op == _BINARY_OP:
        return V.NB_OPS[ins.arg][1] if type(ins.arg) is int and ins.arg < len(V.NB_OPS) \
            else None
    return V.OPERATOR_NAMES.get(V.OPNAME[ins.op])


_COMPARE_ARGS: dict[tuple[str, bool], int] = {}


def _compare_args() -> dict[tuple[str, bool], int]:
    """``{(symbol, to_bool): argument}`` of COMPARE_OP as this interpreter's compiler
    writes it (3.12+ add a specialization mask to the operator index; 3.13+ a bit that
    makes the result a bool), read from its own output rather than typed in (once)."""
    from . import _raw

    if _COMPARE_ARGS:
        return _COMPARE_ARGS
    table = {}
    for symbol in V.CMP_OP:
        for to_bool, body in ((False, f"return a {symbol} b"),
                              (True, f"if a {symbol} b:\n        return 1")):
            module = compile(f"def f(a, b):\n    {body}\n", "<bchook.ir>", "exec",
                             dont_inherit=True)
            code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
            table[(symbol, to_bool)] = next(arg for op, arg in _raw.instructions_of(code)
                                            if op == _COMPARE_OP)
    _COMPARE_ARGS.update(table)  # whole, so another thread never sees half of it
    return _COMPARE_ARGS


def compare_op(symbol: str, to_bool: bool = False, loc=NO_LOCATION) -> list[Instr]:
    """COMPARE_OP applying ``symbol`` (``"<"``, ``"=="``...) as the compiler writes it;
    ``to_bool``: the form a conditional jump tests, whose result 3.13+ make a bool (the
    same instruction before 3.13)."""
    arg = _compare_args().get((symbol, bool(to_bool)))
    if arg is None:
        raise IRError(f"no comparison {symbol!r} (choose from {' '.join(V.CMP_OP)})")
    return [Instr(_COMPARE_OP, arg, loc)]


def compare_makes_bool(ins: Instr) -> bool:
    """Is ``ins`` a COMPARE_OP in the form that makes its result a bool (3.13+)?"""
    return ins.op == _COMPARE_OP and bool(V.COMPARE_OP_TO_BOOL) and bool(
        ins.arg & V.COMPARE_OP_TO_BOOL)


def makes_bool(ins: Instr) -> bool:
    """Does ``ins`` push a bool, so that a 3.13+ conditional jump after it needs no
    TO_BOOL (see ``version.BOOL_RESULTS``)?"""
    return ins.op in V.BOOL_RESULTS


_RETURN_CONST = _op("RETURN_CONST")
#: CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR (inspect's names; importing it costs ms)
_GENERATOR_KINDS = (0x20, 0x80, 0x200)


def prologue(flags: int, nfree: int = 0, cells=(), loc=NO_LOCATION) -> list[Instr]:
    """What CPython puts before the body of a code object with these ``co_flags``, free
    variables and cells (``cells``: their MAKE_CELL arguments): on 3.11+ COPY_FREE_VARS,
    MAKE_CELL for each cell, RETURN_GENERATOR and POP_TOP for a generator or coroutine,
    then RESUME; on 3.10 GEN_START for a generator or coroutine, nothing else. ``loc`` is
    where the body starts (the free-variable and cell set-up has no location)."""
    kind = next((i for i, flag in enumerate(_GENERATOR_KINDS) if flags & flag), None)
    if V.RESUME < 0:
        return [] if kind is None else [Instr(V.GEN_START, kind, loc)]
    out = []
    if nfree:
        out.append(Instr("COPY_FREE_VARS", nfree))
    out.extend(Instr("MAKE_CELL", index) for index in cells)
    if kind is not None:
        out += [Instr("RETURN_GENERATOR", 0, loc), *pop_top(loc)]
    out.append(Instr(V.RESUME, 0, loc))
    return out


def follower_of(ins: Instr) -> list[Instr]:
    """The instruction the interpreter expects right after ``ins`` (``version.GLUED_NEXT``),
    at its location: RESUME after YIELD_VALUE (resumed after a yield), 3.11's CALL after
    PRECALL, 3.13+'s POP_TOP/POP_ITER after END_FOR...; [] if ``ins`` needs none."""
    follower = V.GLUED_NEXT.get(ins.op)
    if follower is None:
        return []
    if follower == V.RESUME:
        arg = 1  # RESUME's argument 1: after a yield
    elif follower in V.HASARG:
        arg = ins.arg
    else:
        arg = 0
    return [Instr(follower, arg, ins.loc, ins.handler)]


def jump_back_if(sense: str, label: Label, loc=NO_LOCATION, handler: Handler | None = None,
                 value_is_bool: bool = False) -> list:
    """:func:`jump_if` to a ``label`` placed before it. 3.12+ conditional jumps go forward
    only: there the opposite jump hops over an unconditional one (a fresh label after it
    is part of the returned items)."""
    if V.HAS_ABSOLUTE_JUMPS or V.BACKWARD_CONDITIONAL_JUMPS:
        return jump_if(sense, label, loc, handler, value_is_bool)
    from ._model import Label

    skip = Label()
    seq = jump_if(_INVERSE.get(sense, sense), skip, loc, handler, value_is_bool)
    return [*seq, *_at(jump(label, loc), handler), skip]


def name_arg(op: int, name_index: int, flags: int = 0) -> int:
    """The argument of name instruction ``op`` for ``co_names[name_index]``, with the flag
    bits that 3.11+ LOAD_GLOBAL, 3.12+ LOAD_ATTR/LOAD_SUPER_ATTR and 3.15 IMPORT_NAME keep
    below the index (the inverse of :func:`name_index_of` and :func:`name_flags_of`)."""
    shift = V.NAME_ARG_SHIFT.get(op, 0)
    if flags >> shift:
        raise IRError(f"{V.OPNAME[op]} has no flag bits {flags:#x} on this Python")
    return (name_index << shift) | flags


def name_flags_of(ins: Instr) -> int:
    """The flag bits below the name index of ``ins``'s argument (0 for most)."""
    return ins.arg & ((1 << V.NAME_ARG_SHIFT.get(ins.op, 0)) - 1)


def local_pair_arg(first: int, second: int) -> int:
    """The argument of a 3.13+ superinstruction (``LOAD_FAST_LOAD_FAST``...) naming locals
    ``first`` and ``second`` (the inverse of :func:`local_accesses`); IRError if either
    does not fit its 4 bits."""
    if not (0 <= first < 16 and 0 <= second < 16):
        raise IRError("a superinstruction can only name locals 0-15")
    return (first << 4) | second
# -- constfold --

_UNARY_SYMBOL = {_OP[n]: s for n, s in (("UNARY_NEGATIVE", "-"), ("UNARY_POSITIVE", "+"),
                                        ("UNARY_INVERT", "~"), ("UNARY_NOT", "not"))
                 if n in _OP}
_OR_POP_SENSE = {_OP[n]: s for n, s in (("JUMP_IF_TRUE_OR_POP", "true"),
                                        ("JUMP_IF_FALSE_OR_POP", "false")) if n in _OP}
#: Calls, by how many stack slots the callable takes below the arguments: 3.10's
#: CALL_FUNCTION one, its CALL_METHOD two (method and self, or NULL and callable), and
#: 3.11+'s CALL two (callable and NULL, in the order ``callable_from`` makes).
_CALLABLE_SLOTS = {_OP[n]: k for n, k in (("CALL_FUNCTION", 1), ("CALL_METHOD", 2),
                                          ("CALL", 2)) if n in _OP}


def _binary_detail(ins):
    symbol = binary_operator_of(ins)
    if symbol is not None:
        return ("binary", symbol)
    return ("subscript", None) if is_subscript(ins) else None  # in-place: None


_DETAILS = {
    "constant": lambda ins: ("constant", None) if loads_constant(ins) else None,
    "binary": _binary_detail,
    "unary": lambda ins: ("unary", _UNARY_SYMBOL[ins.op]),
    "compare": lambda ins: ("compare", compare_operator_of(ins)),
    "contains": lambda ins: ("contains", bool(ins.arg)),
    "is": lambda ins: ("is", bool(ins.arg)),
    "build_slice": lambda ins: ("build_slice", ins.arg),
    "build_tuple": lambda ins: ("build_tuple", ins.arg),
    "build_list": lambda ins: ("build_list", ins.arg),
    "list_extend": lambda ins: ("list_extend", ins.arg),
    "copy": lambda ins: ("copy", ins.arg if ins.op in V.HASARG else 1),  # 3.10: DUP_TOP
    "global": lambda ins: ("global", pushes_null(ins)),
    "attr": lambda ins: ("attr", pushes_null(ins)),
    "call": lambda ins: ("call", (ins.arg, _CALLABLE_SLOTS[ins.op])),
    "jump_if": lambda ins: ("jump_if", jump_sense(ins)),
    "jump_if_or_pop": lambda ins: ("jump_if_or_pop", _OR_POP_SENSE[ins.op]),
    "return": lambda ins: ("return", returns_values(ins)),
}


def operation_of(ins: Instr):
    """``(kind, detail)``: what ``ins`` computes, in the same words on every release, or
    None for anything else (see ``ir.version.OPERATIONS`` for the kinds).

    ``detail`` is the operator's symbol for "binary", "unary" and "compare"; whether the
    test is negated (``not in``, ``is not``) for "contains" and "is"; the item count for
    the "build_*" kinds and "list_extend"; the depth for "copy" (1: the top); whether a
    NULL (or ``self``) is pushed too for "global" and "attr" (a method load); ``(number of
    arguments, stack slots of the callable)`` for "call"; the sense (as :func:`jump_sense`)
    for "jump_if" and "jump_if_or_pop"; the number of stack values for "return"; None
    otherwise. An in-place operator (``+=``) and 3.14's LOAD_COMMON_CONSTANT of a class
    are None.
    """
    kind = V.OPERATIONS.get(ins.op)
    if kind is None:
        return None
    read = _DETAILS.get(kind)
    return (kind, None) if read is None else read(ins)


def return_const(bc: Bytecode, value, loc=NO_LOCATION, handler: Handler | None = None
                 ) -> list[Instr]:
    """Return the constant ``value``: one ``RETURN_CONST`` on 3.12 and 3.13 (as CPython
    writes ``return 1``), else its load and ``RETURN_VALUE``."""
    if V.CONSTANT_RETURNS:
        return [Instr("RETURN_CONST", bc.add_const(value), loc, handler)]
    return [load_const(bc, value, loc, handler), *_at(return_value(loc), handler)]


def call_on_copy(name_index: int, loc=NO_LOCATION) -> list[Instr]:
    """``[x] -> [x, g(x)]``: call the global ``g`` (``co_names[name_index]``) with the top
    value, keeping that value below the result."""
    if V.CALL_NULL is None:  # 3.10: no NULL; the callable goes under a copy of x
        return [*copy(1, loc), *load_global(name_index, False, loc), *swap(2, loc),
                *call(1, loc)]
    # the callable and its NULL take two slots above x, whichever comes first
    return [*load_global(name_index, True, loc), *copy(3, loc), *call(1, loc)]


_FUSED_OF = {pair: fused for fused, pair in V.SUPERINSTRUCTIONS.items()}


def fuse(first: Instr, second: Instr) -> Instr | None:
    """The superinstruction (3.13+) that does ``first`` then ``second``, as CPython would
    write them, or None if this release has none for them or an argument does not fit."""
    fused = _FUSED_OF.get((first.op, second.op))
    if fused is None or type(first.arg) is not int or type(second.arg) is not int or not (
            0 <= first.arg < 16 and 0 <= second.arg < 16):
        return None
    return Instr(fused, (first.arg << 4) | second.arg, first.loc, first.handler)


# -- tools: words of other releases ---------------------------------------------------------

def idiom_of(word: str) -> tuple[str, object] | None:
    """What an instruction word of any release stands for here, when it needs more than
    its own opcode: ``(idiom, detail)``, the idiom named as the builder that makes it
    (``("call", None)``, ``("jump_if", "false")``, ``("operator", "+=")``), or
    ``("nothing", None)`` (added where this release needs it), or ``("locals",
    ("LOAD_FAST", "LOAD_FAST"))`` (plain local instructions, one per name); None for a
    word that is just its own opcode here (or no instruction at all)."""
    sense = V.CONDITIONAL_JUMP_WORDS.get(word)
    if sense is not None:
        return "jump_if", sense
    if word in V.OPERATOR_NAMES:
        return "operator", V.OPERATOR_NAMES[word]
    if word in V.IDIOM_WORDS:
        return V.IDIOM_WORDS[word], None
    if word in V.OPMAP or word in V.ALIASES:
        return None
    if word in V.IDIOM_WORDS_ELSEWHERE:
        return V.IDIOM_WORDS_ELSEWHERE[word], None
    if word in V.NOTHING_ELSEWHERE:
        return "nothing", None
    if word in V.PLAIN_LOCALS_ELSEWHERE:
        return "locals", V.PLAIN_LOCALS_ELSEWHERE[word]
    return None


# -- constfold: imports that may be lazy --------------------------------------------------

def import_may_be_lazy(ins: Instr) -> bool:
    """Can this ``IMPORT_NAME`` bind a lazy proxy instead of importing where it stands
    (3.15+, PEP 810)? Yes for ``lazy import`` and for a module-level import that
    ``-X lazy_imports=all`` or ``sys.set_lazy_imports('all')`` (at any time before it runs)
    makes lazy; only an import the compiler marked eager (in ``try``, a function or a class
    body) never is. A proxy imports the module when its name is first used, so a pass that
    reads the module's attributes without that use would leave the module unloaded."""
    mode = ins.arg & ((1 << V.IMPORT_NAME_SHIFT) - 1)
    return V.HAS_LAZY_IMPORTS and mode != V.IMPORT_EAGER
