"""The folding engine: a walk over the instructions that knows the values at the top of
the stack when they come from constants, and replaces an operation on them by its result.

What the walk knows is a stack of :class:`Known` entries, each standing for one value
pushed by a contiguous run of pure instructions that ends where the next entry's run
starts; the top entry's run ends at the current instruction. A label, or any instruction
the walk does not model, forgets everything (other paths may arrive, or the stack is no
longer what the walk thinks). When an operation consumes known entries and its result may
be computed at compile time, the runs of those entries and the operation are replaced by
one ``LOAD_CONST`` (or a jump, or nothing), within one line – keeping a NOP when the
line would otherwise vanish – so line events and coverage of the remaining code stay the
same.
"""

from __future__ import annotations

import dis

from ... import ir
from . import _values as Val
from ._values import NO

V = ir.version
_OP = V.OPMAP


def _op(name: str) -> int:
    return _OP.get(name, -1)


LOAD_CONST = _op("LOAD_CONST")
LOAD_GLOBAL = _op("LOAD_GLOBAL")
LOAD_NAME = _op("LOAD_NAME")
LOAD_ATTR = _op("LOAD_ATTR")
LOAD_METHOD = _op("LOAD_METHOD")
PUSH_NULL = _op("PUSH_NULL")
PRECALL = _op("PRECALL")
CALL = _op("CALL")
CALL_FUNCTION = _op("CALL_FUNCTION")
CALL_METHOD = _op("CALL_METHOD")
BUILD_LIST = _op("BUILD_LIST")
BUILD_TUPLE = _op("BUILD_TUPLE")
LIST_EXTEND = _op("LIST_EXTEND")
BUILD_SLICE = _op("BUILD_SLICE")
BINARY_SUBSCR = _op("BINARY_SUBSCR")
BINARY_SLICE = _op("BINARY_SLICE")
COMPARE_OP = _op("COMPARE_OP")
CONTAINS_OP = _op("CONTAINS_OP")
IS_OP = _op("IS_OP")
TO_BOOL = _op("TO_BOOL")
POP_TOP = _op("POP_TOP")
COPY = _op("COPY")
DUP_TOP = _op("DUP_TOP")
RETURN_VALUE = _op("RETURN_VALUE")
RETURN_CONST = _op("RETURN_CONST")
NOP = V.NOP
UNARY = {_op("UNARY_NEGATIVE"): "-", _op("UNARY_POSITIVE"): "+", _op("UNARY_INVERT"): "~",
         _op("UNARY_NOT"): "not"}
UNARY.pop(-1, None)
BINARY = V.BINARY_OPERATORS
BINARY_OPS = frozenset(op for op, _ in BINARY)


def _jump_ops(*names):
    return frozenset(op for op in (_op(n) for n in names) if op >= 0)


POP_IF_FALSE = _jump_ops("POP_JUMP_IF_FALSE", "POP_JUMP_FORWARD_IF_FALSE",
                         "POP_JUMP_BACKWARD_IF_FALSE")
POP_IF_TRUE = _jump_ops("POP_JUMP_IF_TRUE", "POP_JUMP_FORWARD_IF_TRUE",
                        "POP_JUMP_BACKWARD_IF_TRUE")
POP_IF_NONE = _jump_ops("POP_JUMP_IF_NONE", "POP_JUMP_FORWARD_IF_NONE",
                        "POP_JUMP_BACKWARD_IF_NONE")
POP_IF_NOT_NONE = _jump_ops("POP_JUMP_IF_NOT_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE",
                            "POP_JUMP_BACKWARD_IF_NOT_NONE")
OR_POP_IF_FALSE = _jump_ops("JUMP_IF_FALSE_OR_POP")
OR_POP_IF_TRUE = _jump_ops("JUMP_IF_TRUE_OR_POP")
_NO_FALLTHROUGH = V.NO_FALLTHROUGH

# kinds of known entries
VALUE = "value"    # a Python value (maybe a ListValue or slice: not a constant then)
NULL = "null"      # the NULL of a call
FUNC = "func"      # a builtin, by name
METHOD = "method"  # (object, method name)
MODULE = "module"  # an imported stdlib module, by name


class Known:
    __slots__ = ("kind", "value", "start", "slots", "const", "loose", "name", "local")

    def __init__(self, kind, value, start, slots=1, const=-1, loose=False, name=None,
                 local=False):
        self.name = name        # the global it was loaded from, for the report
        self.local = local      # computed from a propagated local (see Folder.branch)
        self.kind = kind
        self.value = value
        self.start = start      # index in the output list where its run begins
        self.slots = slots      # stack slots it stands for (a callable and its NULL: 2)
        self.const = const      # co_consts index already loading exactly this object
        self.loose = loose      # identity not guaranteed by a copy: fold it, never load it


class Report:
    """What one run folded, for ``constfold.report``."""

    def __init__(self):
        self.folds = 0
        self.branches = 0
        self.dead = 0
        self.globals: dict[str, int] = {}
        self.locals = 0
        self.membership = 0

    def merge(self, other: "Report") -> None:
        self.folds += other.folds
        self.branches += other.branches
        self.dead += other.dead
        self.locals += other.locals
        self.membership += other.membership
        for k, v in other.globals.items():
            self.globals[k] = self.globals.get(k, 0) + v


class Folder:
    """One walk over ``bc.items``. ``global_value(instr, name)`` says what a global load
    may be taken for (a :class:`._module.GlobalFact`) or None; ``builtins`` the builtin
    names that may be called; ``module_scope`` whether ``LOAD_NAME`` reads globals here."""

    def __init__(self, bc: ir.Bytecode, global_value, builtins: frozenset,
                 module_scope: bool, made: dict, report: Report, from_locals: dict):
        self.from_locals = from_locals  # id -> LOAD_CONST standing for a local's value
        self.bc = bc
        self.global_value = global_value
        self.builtins = builtins
        self.module_scope = module_scope
        self.made = made
        self.report = report
        self.out: list = []
        self.stack: list[Known] = []
        self.changed = False

    # -- helpers -----------------------------------------------------------------------

    def forget(self):
        self.stack.clear()

    def push(self, entry: Known):
        self.stack.append(entry)

    def top(self, n: int):
        """The top ``n`` entries (bottom first) if known, else None."""
        if n > len(self.stack):
            return None
        return self.stack[len(self.stack) - n:] if n else []

    def replace(self, start: int, ins: ir.Instr, new: list) -> bool:
        """Replace ``out[start:]`` and ``ins`` by ``new`` (plus a NOP that keeps the line
        if nothing else does).

        Only within one line: the instructions that start each line, and the stack there,
        stay as they were, so line events and a debugger's jumps (``frame.f_lineno = n``)
        see no difference; and only within one exception handler.
        """
        h = ins.handler
        line = ins.loc[0]
        removed = self.out[start:]
        for x in removed:
            if x.handler is not h or x.loc[0] != line:
                return False
        del self.out[start:]
        if line is not None:
            nop = ir.Instr(NOP, 0, (removed or [ins])[0].loc, h)
            self.made[id(nop)] = nop
            self.out.append(nop)
        self.out.extend(new)
        self.changed = True
        return True

    def load_const(self, value, ins: ir.Instr) -> ir.Instr:
        return ir.Instr(LOAD_CONST, self.bc.add_const(value), ins.loc, ins.handler)

    def fold_value(self, consumed: list[Known], ins: ir.Instr, value) -> bool:
        """Replace consumed entries and ``ins`` by the constant ``value``; on failure the
        instruction is kept and the stack forgotten. Values that cannot be constants
        (a list, a slice) stay virtual: the code is kept until something folds them."""
        if value is NO:
            self.keep(ins)
            return False
        start = consumed[0].start if consumed else len(self.out)
        loose = any(value is e.value and e.loose for e in consumed if e.kind == VALUE)
        local = any(e.local for e in consumed)
        del self.stack[len(self.stack) - len(consumed):]
        if type(value) is Val.ListValue or type(value) is slice or loose:
            self.out.append(ins)
            self.push(Known(VALUE, value, start, loose=loose, local=local,
                            name=next((e.name for e in consumed if e.name), None)))
            return True
        new = self.load_const(value, ins)
        if not self.replace(start, ins, [new]):
            self.keep(ins)
            return False
        self.count(consumed)
        self.report.folds += 1
        if local:
            self.from_locals[id(new)] = new
        self.push(Known(VALUE, value, start, const=new.arg, local=local))
        return True

    def count(self, consumed) -> None:
        globs = self.report.globals
        for e in consumed:
            if e.name is not None:
                globs[e.name] = globs.get(e.name, 0) + 1

    def keep(self, ins: ir.Instr):
        self.out.append(ins)
        self.forget()

    # -- the walk ------------------------------------------------------------------------

    def run(self) -> bool:
        out = self.out
        stack = self.stack
        handlers = _HANDLERS
        stops = _NO_FALLTHROUGH
        instr = ir.Instr
        for item in self.bc.items:
            if type(item) is not instr:
                out.append(item)
                stack.clear()
                continue
            handler = handlers.get(item.op)
            if handler is None:
                out.append(item)
                stack.clear()
                continue
            handler(self, item)
            if item.op in stops:
                stack.clear()
        self.bc.items = out
        return self.changed

    # -- one method per kind of instruction (see _HANDLERS) --------------------------------

    def nop(self, ins: ir.Instr):
        self.out.append(ins)

    def on_load_const(self, ins: ir.Instr):
        self.push(Known(VALUE, self.bc.consts[ins.arg], len(self.out), const=ins.arg,
                        local=id(ins) in self.from_locals))
        self.out.append(ins)

    def load_name(self, ins: ir.Instr):
        if self.module_scope:
            self.load_global(ins)
        else:
            self.keep(ins)  # a class body: its namespace comes first

    def precall(self, ins: ir.Instr):
        self.out.append(ins)  # glued to its CALL, which does the work

    def binary(self, ins: ir.Instr):
        symbol = BINARY.get((ins.op, ins.arg if V.PY311 else None))
        args = self.top(2)
        if symbol is None or not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.binary(symbol, args[0].value, args[1].value))

    def binary_slice(self, ins: ir.Instr):
        args = self.top(3)
        if not self.values(args):
            self.keep(ins)
            return
        key = Val.make_slice(args[1].value, args[2].value)
        self.fold_value(args, ins, NO if key is NO else Val.subscript(args[0].value, key))

    def build_slice(self, ins: ir.Instr):
        args = self.top(ins.arg)
        if ins.arg not in (2, 3) or not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.make_slice(*(a.value for a in args)))

    def build(self, ins: ir.Instr):
        args = self.top(ins.arg)
        if not self.values(args) or any(type(a.value) in (Val.ListValue, slice) for a in args):
            self.keep(ins)
            return
        items = tuple(a.value for a in args)
        if ins.op == BUILD_TUPLE:
            value = Val.result(items)
        else:
            value = Val.ListValue(items) if Val.is_safe(items) else NO
        self.fold_value(args, ins, value)

    def list_extend(self, ins: ir.Instr):
        args = self.top(2)
        if ins.arg != 1 or not self.values(args) or (
                type(args[0].value) is not Val.ListValue or type(args[1].value) is not tuple):
            self.keep(ins)
            return
        items = args[0].value.items + args[1].value
        self.fold_value(args, ins, Val.ListValue(items) if Val.is_safe(items) else NO)

    def unary(self, ins: ir.Instr):
        args = self.top(1)
        if not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.unary(UNARY[ins.op], args[0].value))

    def compare(self, ins: ir.Instr):
        args = self.top(2)
        if not self.values(args):
            self.keep(ins)
        else:
            symbol = dis.cmp_op[ins.arg >> V.COMPARE_OP_SHIFT]
            self.fold_value(args, ins, Val.compare(symbol, args[0].value, args[1].value))

    def contains_or_is(self, ins: ir.Instr):
        args = self.top(2)
        if not self.values(args):
            self.keep(ins)
            return
        a, b = args[0].value, args[1].value
        value = Val.contains(a, b) if ins.op == CONTAINS_OP else Val.identical(a, b)
        if value is not NO and ins.arg:
            value = not value
        self.fold_value(args, ins, value)

    def to_bool(self, ins: ir.Instr):
        args = self.top(1)
        if not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.truth(args[0].value))

    @staticmethod
    def values(entries) -> bool:
        return entries is not None and all(e.kind == VALUE for e in entries)

    # -- loads ---------------------------------------------------------------------------

    def load_global(self, ins: ir.Instr):
        names = self.bc.names
        if ins.op == LOAD_GLOBAL:
            name = names[ins.arg >> V.LOAD_GLOBAL_SHIFT]
            with_null = bool(V.LOAD_GLOBAL_SHIFT and ins.arg & 1)
        else:
            name, with_null = names[ins.arg], False
        start = len(self.out)
        fact = self.global_value(ins, name)
        if fact is not None and not with_null:
            if fact.kind == "module":
                self.out.append(ins)
                self.push(Known(MODULE, fact.value, start))
                return
            value = fact.value
            new = self.load_const(value, ins)
            # The value is the module's own constant object, and CPython shares equal
            # constants across a module's code objects (marshal keeps the sharing), so
            # loading it from here is the same object unless an equal one was already here.
            if (self.bc.consts[new.arg] is value or Val.identity_safe(value)
                    or fact.origin == "stdlib"):
                self.report.globals[name] = self.report.globals.get(name, 0) + 1
                self.out.append(new)
                self.changed = True
                self.push(Known(VALUE, value, start, const=new.arg))
            else:
                self.out.append(ins)
                self.push(Known(VALUE, value, start, loose=True, name=name))
            return
        if fact is None and name in self.builtins:
            if with_null:
                self.out.append(ins)
                self.push(Known(FUNC, name, start, slots=2))
                return
            if V.CALL_NULL == "before":
                below = self.top(1)
                if below and below[0].kind == NULL:
                    self.stack.pop()
                    self.out.append(ins)
                    self.push(Known(FUNC, name, below[0].start, slots=2))
                    return
            self.out.append(ins)
            self.push(Known(FUNC, name, start, slots=1))
            return
        self.keep(ins)

    def push_null(self, ins: ir.Instr):
        below = self.top(1)
        if V.CALL_NULL == "after" and below and below[0].kind == FUNC and below[0].slots == 1:
            below[0].slots = 2
            self.out.append(ins)
            return
        self.push(Known(NULL, None, len(self.out)))
        self.out.append(ins)

    def load_attr(self, ins: ir.Instr):
        names = self.bc.names
        if ins.op == LOAD_METHOD:
            name, method = names[ins.arg], True
        else:
            name = names[ins.arg >> V.LOAD_ATTR_SHIFT]
            method = bool(V.LOAD_ATTR_SHIFT and ins.arg & 1)
        args = self.top(1)
        if not args:
            self.keep(ins)
            return
        obj = args[0]
        if obj.kind == MODULE and not method:
            value = Val.stdlib_value(obj.value, name)
            if value is not NO:
                self.report.globals[f"{obj.value}.{name}"] = (
                    self.report.globals.get(f"{obj.value}.{name}", 0) + 1)
            self.fold_value(args, ins, value)
            return
        if obj.kind == VALUE and method and Val.has_method(obj.value, name):
            self.stack.pop()
            self.out.append(ins)
            self.push(Known(METHOD, (obj.value, name), obj.start, slots=2, local=obj.local))
            return
        self.keep(ins)

    # -- calls ---------------------------------------------------------------------------

    def call(self, ins: ir.Instr):
        n = ins.arg
        args = self.top(n + 1)
        if args is None or not self.values(args[1:]):
            self.keep(ins)
            return
        callee = args[0]
        slots = 1 if ins.op == CALL_FUNCTION else 2
        if callee.slots != slots:
            self.keep(ins)
            return
        values = tuple(a.value for a in args[1:])
        if any(type(v) is slice for v in values):
            self.keep(ins)
            return
        if callee.kind == FUNC and ins.op != CALL_METHOD:
            self.fold_value(args, ins, Val.call_builtin(callee.value, values))
        elif callee.kind == METHOD and ins.op != CALL_FUNCTION:
            obj, name = callee.value
            self.fold_value(args, ins, Val.call_method(obj, name, values))
        else:
            self.keep(ins)

    def subscript(self, ins: ir.Instr):
        args = self.top(2)
        if not self.values(args):
            self.keep(ins)
            return
        container, key = args[0].value, args[1].value
        if type(container) is Val.ListValue:
            value = Val.subscript(container.items, key) if type(key) in (int, bool) else NO
        else:
            value = Val.subscript(container, key)
        self.fold_value(args, ins, value)

    # -- stack and branches ----------------------------------------------------------------

    def pop_top(self, ins: ir.Instr):
        args = self.top(1)
        if args and args[0].slots == 1 and args[0].kind in (VALUE, MODULE, FUNC):
            self.stack.pop()
            if self.replace(args[0].start, ins, []):
                self.count(args)
                self.report.folds += 1
                return
        self.keep(ins)

    def copy(self, ins: ir.Instr):
        """``COPY 1``/``DUP_TOP`` of a known value is that value again; the instruction
        stays unless what uses the copy folds (3.12+ ``x and y`` tests a copy)."""
        args = self.top(1)
        if (ins.op == DUP_TOP or ins.arg == 1) and self.values(args):
            below = args[0]
            start = len(self.out)
            self.out.append(ins)
            self.push(Known(VALUE, below.value, start, loose=below.loose, name=below.name,
                            local=below.local))
            return
        self.keep(ins)

    def _decide(self, op: int, value):
        """Whether a conditional jump on ``value`` is taken, or NO."""
        if op in POP_IF_NONE:
            return value is None
        if op in POP_IF_NOT_NONE:
            return value is not None
        truth = Val.truth(value)
        if truth is NO:
            return NO
        if op in POP_IF_TRUE or op in OR_POP_IF_TRUE:
            return truth
        return not truth

    def branch(self, ins: ir.Instr):
        """Decide a conditional jump on a constant: the dead side goes.

        Not when the test comes from a propagated local: a debugger may jump into either
        arm (``frame.f_lineno = n`` needs both to stay reachable) and may rebind locals.
        """
        args = self.top(1)
        if not self.values(args) or type(args[0].value) in (Val.ListValue, slice) or (
                args[0].local):
            self.keep(ins)
            return
        taken = self._decide(ins.op, args[0].value)
        if taken is NO:
            self.keep(ins)
            return
        self.stack.pop()
        new = [ir.Instr("JUMP", ins.arg, ins.loc, ins.handler)] if taken else []
        if not self.replace(args[0].start, ins, new):
            self.keep(ins)
            return
        self.count(args)
        self.report.branches += 1
        if taken:
            self.forget()

    def branch_or_pop(self, ins: ir.Instr):
        """3.10/3.11 ``JUMP_IF_FALSE_OR_POP``: jump keeping the value, or pop it."""
        args = self.top(1)
        if not self.values(args) or type(args[0].value) in (Val.ListValue, slice) or (
                args[0].local):
            self.keep(ins)
            return
        taken = self._decide(ins.op, args[0].value)
        if taken is NO:
            self.keep(ins)
            return
        if taken:
            jump = ir.Instr("JUMP", ins.arg, ins.loc, ins.handler)
            self.out.append(jump)
            self.changed = True
            self.report.branches += 1
            self.forget()
            return
        self.stack.pop()
        if self.replace(args[0].start, ins, []):
            self.count(args)
            self.report.branches += 1
        else:
            self.keep(ins)

    def return_value(self, ins: ir.Instr):
        args = self.top(1)
        if self.values(args) and args[0].const >= 0 and self.out and (
                self.out[-1].op == LOAD_CONST and len(self.out) - 1 == args[0].start):
            new = ir.Instr(RETURN_CONST, args[0].const, ins.loc, ins.handler)
            self.stack.pop()
            if self.replace(args[0].start, ins, [new]):
                return
        self.keep(ins)


def _handlers() -> dict:
    table = {NOP: Folder.nop, LOAD_CONST: Folder.on_load_const, LOAD_GLOBAL: Folder.load_global,
             LOAD_NAME: Folder.load_name, PUSH_NULL: Folder.push_null,
             LOAD_ATTR: Folder.load_attr, LOAD_METHOD: Folder.load_attr,
             PRECALL: Folder.precall, CALL: Folder.call, CALL_FUNCTION: Folder.call,
             CALL_METHOD: Folder.call, BINARY_SUBSCR: Folder.subscript,
             BINARY_SLICE: Folder.binary_slice, BUILD_SLICE: Folder.build_slice,
             BUILD_TUPLE: Folder.build, BUILD_LIST: Folder.build,
             LIST_EXTEND: Folder.list_extend, COMPARE_OP: Folder.compare,
             CONTAINS_OP: Folder.contains_or_is, IS_OP: Folder.contains_or_is,
             TO_BOOL: Folder.to_bool, POP_TOP: Folder.pop_top, COPY: Folder.copy,
             DUP_TOP: Folder.copy}
    for op in BINARY_OPS:
        table[op] = Folder.binary
    for op in UNARY:
        table[op] = Folder.unary
    for op in POP_IF_FALSE | POP_IF_TRUE | POP_IF_NONE | POP_IF_NOT_NONE:
        table[op] = Folder.branch
    for op in OR_POP_IF_FALSE | OR_POP_IF_TRUE:
        table[op] = Folder.branch_or_pop
    if RETURN_CONST >= 0:
        table[RETURN_VALUE] = Folder.return_value
    table.pop(-1, None)  # opcodes this Python does not have
    return table


#: What the walk does with each opcode; any other instruction forgets the stack.
_HANDLERS = _handlers()
