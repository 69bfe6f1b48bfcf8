"""The folding engine: a walk over the instructions that knows the values at the top of
the stack when they come from constants, and replaces an operation on them by its result.

What the walk knows is a stack of :class:`Known` entries, each standing for one value
pushed by a contiguous run of pure instructions that ends where the next entry's run
starts; the top entry's run ends at the current instruction. A label, or any instruction
the walk does not model, forgets everything (other paths may arrive, or the stack is no
longer what the walk thinks). When an operation consumes known entries and its result may
be computed at compile time, the runs of those entries and the operation are replaced by
one constant load (or a jump, or nothing), within one line – keeping a NOP when the
line would otherwise vanish – so line events and coverage of the remaining code stay the
same.
"""

from __future__ import annotations

from ... import ir
from . import _values as Val
from ._values import NO

V = ir.version

# kinds of known entries
VALUE = "value"    # a Python value (maybe a ListValue or slice: not a constant then)
NULL = "null"      # the NULL of a call
FUNC = "func"      # a builtin, by name
METHOD = "method"  # (object, method name)
MODULE = "module"  # an imported stdlib module, by name


class Known:
    __slots__ = ("kind", "value", "start", "slots", "loose", "name", "local")

    def __init__(self, kind, value, start, slots=1, loose=False, name=None, local=False):
        self.name = name        # the global it was loaded from, for the report
        self.local = local      # computed from a propagated local (see Folder.branch)
        self.kind = kind
        self.value = value
        self.start = start      # index in the output list where its run begins
        self.slots = slots      # stack slots it stands for (a callable and its NULL: 2)
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
        self.from_locals = from_locals  # id -> constant load standing for a local's value
        self.bc = bc
        self.global_value = global_value
        self.builtins = builtins
        self.module_scope = module_scope
        self.made = made
        self.report = report
        self.out: list = []
        self.stack: list[Known] = []
        self.changed = False
        self.decided = False  # the instruction just handled was a decided branch

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
            nop = ir.Instr("NOP", 0, (removed or [ins])[0].loc, h)
            self.made[id(nop)] = nop
            self.out.append(nop)
        self.out.extend(new)
        self.changed = True
        return True

    def load_const(self, value, ins: ir.Instr) -> ir.Instr:
        return ir.load_const(self.bc, value, ins.loc, ins.handler)

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
        self.push(Known(VALUE, value, start, local=local))
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
        stops = V.NO_FALLTHROUGH
        instr = ir.Instr
        operation_of = ir.operation_of
        for item in self.bc.items:
            if type(item) is not instr:
                out.append(item)
                stack.clear()
                self.decided = False
                continue
            operation = operation_of(item)
            decided, self.decided = self.decided, False
            if operation is None:
                out.append(item)
                stack.clear()
                continue
            kind, detail = operation
            if kind == "not_taken":
                # where sys.monitoring reports the branch not taken: it goes with the
                # conditional jump it follows
                if not decided:
                    out.append(item)
                continue
            handlers[kind](self, item, detail)
            if item.op in stops:
                stack.clear()
        self.bc.items = out
        return self.changed

    # -- one method per kind of operation (see _HANDLERS) --------------------------------

    def nop(self, ins: ir.Instr, _):
        self.out.append(ins)

    def keep_unknown(self, ins: ir.Instr, _):
        self.keep(ins)

    def constant(self, ins: ir.Instr, _):
        self.push(Known(VALUE, ir.constant_of(self.bc, ins), len(self.out),
                        local=id(ins) in self.from_locals))
        self.out.append(ins)

    def load_name(self, ins: ir.Instr, _):
        if self.module_scope:
            self.load_global(ins, False)
        else:
            self.keep(ins)  # a class body: its namespace comes first

    def call_prefix(self, ins: ir.Instr, _):
        self.out.append(ins)  # glued to its CALL, which does the work

    def binary(self, ins: ir.Instr, symbol: str):
        args = self.top(2)
        if not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.binary(symbol, args[0].value, args[1].value))

    def binary_slice(self, ins: ir.Instr, _):
        args = self.top(3)
        if not self.values(args):
            self.keep(ins)
            return
        key = Val.make_slice(args[1].value, args[2].value)
        self.fold_value(args, ins, NO if key is NO else Val.subscript(args[0].value, key))

    def build_slice(self, ins: ir.Instr, count: int):
        args = self.top(count)
        if count not in (2, 3) or not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.make_slice(*(a.value for a in args)))

    def build_tuple(self, ins: ir.Instr, count: int):
        items = self._items(ins, count)
        if items is not None:
            self.fold_value(self.top(count), ins, Val.result(items))

    def build_list(self, ins: ir.Instr, count: int):
        items = self._items(ins, count)
        if items is not None:
            self.fold_value(self.top(count), ins,
                            Val.ListValue(items) if Val.is_safe(items) else NO)

    def _items(self, ins: ir.Instr, count: int):
        args = self.top(count)
        if not self.values(args) or any(type(a.value) in (Val.ListValue, slice) for a in args):
            self.keep(ins)
            return None
        return tuple(a.value for a in args)

    def list_extend(self, ins: ir.Instr, depth: int):
        args = self.top(2)
        if depth != 1 or not self.values(args) or (
                type(args[0].value) is not Val.ListValue or type(args[1].value) is not tuple):
            self.keep(ins)
            return
        items = args[0].value.items + args[1].value
        self.fold_value(args, ins, Val.ListValue(items) if Val.is_safe(items) else NO)

    def unary(self, ins: ir.Instr, symbol: str):
        args = self.top(1)
        if not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.unary(symbol, args[0].value))

    def compare(self, ins: ir.Instr, symbol: str | None):
        args = self.top(2)
        if symbol is None or not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.compare(symbol, args[0].value, args[1].value))

    def contains(self, ins: ir.Instr, negated: bool):
        self._test(ins, Val.contains, negated)

    def is_(self, ins: ir.Instr, negated: bool):
        self._test(ins, Val.identical, negated)

    def _test(self, ins: ir.Instr, test, negated: bool):
        args = self.top(2)
        if not self.values(args):
            self.keep(ins)
            return
        value = test(args[0].value, args[1].value)
        if value is not NO and negated:
            value = not value
        self.fold_value(args, ins, value)

    def to_bool(self, ins: ir.Instr, _):
        args = self.top(1)
        if not self.values(args):
            self.keep(ins)
        else:
            self.fold_value(args, ins, Val.truth(args[0].value))

    @staticmethod
    def values(entries) -> bool:
        return entries is not None and all(e.kind == VALUE for e in entries)

    # -- loads ---------------------------------------------------------------------------

    def load_global(self, ins: ir.Instr, with_null: bool):
        name = self.bc.names[ir.name_index_of(ins)]
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
            if (ir.constant_of(self.bc, new) is value or Val.identity_safe(value)
                    or fact.origin == "stdlib"):
                self.report.globals[name] = self.report.globals.get(name, 0) + 1
                self.out.append(new)
                self.changed = True
                self.push(Known(VALUE, value, start))
            else:
                self.out.append(ins)
                self.push(Known(VALUE, value, start, loose=True, name=name))
            return
        if fact is None and name in self.builtins:
            if with_null:
                self.out.append(ins)
                self.push(Known(FUNC, name, start, slots=2))
                return
            below = self.top(1)
            if not V.NULL_AFTER_CALLABLE and below and below[0].kind == NULL:
                self.stack.pop()  # 3.11/3.12: the NULL pushed just before the callable
                self.out.append(ins)
                self.push(Known(FUNC, name, below[0].start, slots=2))
                return
            self.out.append(ins)
            self.push(Known(FUNC, name, start, slots=1))
            return
        self.keep(ins)

    def push_null(self, ins: ir.Instr, _):
        below = self.top(1)
        if V.NULL_AFTER_CALLABLE and below and below[0].kind == FUNC and below[0].slots == 1:
            below[0].slots = 2
            self.out.append(ins)
            return
        self.push(Known(NULL, None, len(self.out)))
        self.out.append(ins)

    def load_attr(self, ins: ir.Instr, method: bool):
        name = self.bc.names[ir.name_index_of(ins)]
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

    def call(self, ins: ir.Instr, shape: tuple[int, int]):
        nargs, slots = shape
        args = self.top(nargs + 1)
        if args is None or not self.values(args[1:]):
            self.keep(ins)
            return
        callee = args[0]
        # the callable's slots must be what this call takes: on 3.10, a builtin is called
        # with CALL_FUNCTION (one slot), a method of a constant with CALL_METHOD (two)
        if callee.slots != slots:
            self.keep(ins)
            return
        values = tuple(a.value for a in args[1:])
        if any(type(v) is slice for v in values):
            self.keep(ins)
            return
        if callee.kind == FUNC:
            self.fold_value(args, ins, Val.call_builtin(callee.value, values))
        elif callee.kind == METHOD:
            obj, name = callee.value
            self.fold_value(args, ins, Val.call_method(obj, name, values))
        else:
            self.keep(ins)

    def subscript(self, ins: ir.Instr, _):
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

    def pop_top(self, ins: ir.Instr, _):
        args = self.top(1)
        if args and args[0].slots == 1 and args[0].kind in (VALUE, MODULE, FUNC):
            self.stack.pop()
            if self.replace(args[0].start, ins, []):
                self.count(args)
                self.report.folds += 1
                return
        self.keep(ins)

    def copy(self, ins: ir.Instr, depth: int):
        """A copy of the top known value is that value again; the instruction stays
        unless what uses the copy folds (3.12+ ``x and y`` tests a copy)."""
        args = self.top(1)
        if depth == 1 and self.values(args):
            below = args[0]
            start = len(self.out)
            self.out.append(ins)
            self.push(Known(VALUE, below.value, start, loose=below.loose, name=below.name,
                            local=below.local))
            return
        self.keep(ins)

    @staticmethod
    def _decide(sense: str, value):
        """Whether a conditional jump of ``sense`` on ``value`` is taken, or NO."""
        if sense == "none":
            return value is None
        if sense == "not_none":
            return value is not None
        truth = Val.truth(value)
        if truth is NO:
            return NO
        return truth if sense == "true" else not truth

    def _decidable(self, ins: ir.Instr, sense: str):
        """The top entry and whether the jump is taken, or None (then ``ins`` is kept).

        Not when the test comes from a propagated local: a debugger may jump into either
        arm (``frame.f_lineno = n`` needs both to stay reachable) and may rebind locals.
        """
        args = self.top(1)
        if not self.values(args) or type(args[0].value) in (Val.ListValue, slice) or (
                args[0].local):
            self.keep(ins)
            return None
        taken = self._decide(sense, args[0].value)
        if taken is NO:
            self.keep(ins)
            return None
        return args, taken

    def jump_if(self, ins: ir.Instr, sense: str):
        """Decide a conditional jump on a constant: the dead side goes (with the jump's
        NOT_TAKEN, 3.14+)."""
        decided = self._decidable(ins, sense)
        if decided is None:
            return
        args, taken = decided
        self.stack.pop()
        new = ir.jump(ins.arg, ins.loc) if taken else []
        for x in new:
            x.handler = ins.handler
        if not self.replace(args[0].start, ins, new):
            self.keep(ins)
            return
        self.decided = True
        self.count(args)
        self.report.branches += 1
        if taken:
            self.forget()

    def jump_if_or_pop(self, ins: ir.Instr, sense: str):
        """3.10/3.11 ``JUMP_IF_FALSE_OR_POP``: jump keeping the value, or pop it."""
        decided = self._decidable(ins, sense)
        if decided is None:
            return
        args, taken = decided
        if taken:
            jump = ir.jump(ins.arg, ins.loc)
            for x in jump:
                x.handler = ins.handler
            self.out.extend(jump)
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

    def return_(self, ins: ir.Instr, values: int):
        """3.12/3.13: a constant load just before RETURN_VALUE becomes RETURN_CONST, as
        CPython writes ``return <constant>``."""
        args = self.top(1)
        out = self.out
        if values == 1 and self.values(args) and out and len(out) - 1 == args[0].start and (
                ir.loads_constant(out[-1])):
            self.stack.pop()
            new = ir.return_const(self.bc, ir.constant_of(self.bc, out[-1]), ins.loc,
                                  ins.handler)
            if self.replace(args[0].start, ins, new):
                return
        self.keep(ins)


#: What the walk does with each kind of operation (``ir.operation_of``); any other
#: instruction forgets the stack.
_HANDLERS = {
    "nop": Folder.nop, "constant": Folder.constant, "global": Folder.load_global,
    "name": Folder.load_name, "push_null": Folder.push_null, "attr": Folder.load_attr,
    "call_prefix": Folder.call_prefix, "call": Folder.call, "subscript": Folder.subscript,
    "slice": Folder.binary_slice, "build_slice": Folder.build_slice,
    "build_tuple": Folder.build_tuple, "build_list": Folder.build_list,
    "list_extend": Folder.list_extend, "binary": Folder.binary, "unary": Folder.unary,
    "compare": Folder.compare, "contains": Folder.contains, "is": Folder.is_,
    "to_bool": Folder.to_bool, "pop_top": Folder.pop_top, "copy": Folder.copy,
    "jump_if": Folder.jump_if, "jump_if_or_pop": Folder.jump_if_or_pop,
    "return": Folder.return_ if V.CONSTANT_RETURNS else Folder.keep_unknown,
}
