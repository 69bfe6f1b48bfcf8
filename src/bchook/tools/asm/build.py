"""Turning a parsed ``bchook.asm`` block into a code object on the running interpreter.

Steps: work out the signature and variable tables; build each instruction line, the
idioms that releases spell differently (a call, a method load, a conditional jump, an
operator, a constant return...: see :func:`bchook.ir.idiom_of`) with
``bchook.ir``'s builders, everything else as written; add what the interpreter requires
and the listing may leave out (the prologue, what must follow an instruction, a loop's
exit); then encode with ``bchook.ir`` on a template code object compiled from a stub with
the right signature.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable

from ... import ir
from .parse import Block, Line
from ..syntax import (
    OPERATORS, CodeRef, Names, Operand, SyntaxProblem, exists, flags_from_names, operand_kind,
    parse_arg, parse_const, parse_label, parse_name, resolve, same_const,
)
from ...ir import _version as V

__all__ = ["BuildError", "build_block", "Signature"]


class BuildError(ValueError):
    """A problem with one instruction (``line`` is the listing line) or with the block."""

    def __init__(self, message: str, line: Line | None = None):
        self.line = line
        if line is not None:
            message = f"line {line.number} ({line.source.strip()!r}): {message}"
        super().__init__(message)


# -- signature -------------------------------------------------------------------------

class Signature:
    """Parameters written like a ``def``: ``a, b, /, c, *args, d, **kw``."""

    def __init__(self, parts: list[str]):
        self.posonly: list[str] = []
        self.positional: list[str] = []
        self.kwonly: list[str] = []
        self.varargs: str | None = None
        self.varkw: str | None = None
        star = False
        for part in parts:
            if part == "/":
                if self.posonly or star:
                    raise SyntaxProblem("'/' must come once, after the positional-only "
                                        "parameters")
                self.posonly, self.positional = self.positional, []
            elif part == "*":
                star = True
            elif part.startswith("**"):
                self.varkw = part[2:].strip()
            elif part.startswith("*"):
                self.varargs = part[1:].strip()
                star = True
            elif star:
                self.kwonly.append(part)
            else:
                self.positional.append(part)
        if self.varkw == "" or self.varargs == "":
            raise SyntaxProblem("'*' and '**' need a parameter name")

    def varnames(self) -> list[str]:
        """In CPython's order: positional, keyword-only, then ``*args``, ``**kw``."""
        out = self.posonly + self.positional + self.kwonly
        if self.varargs:
            out.append(self.varargs)
        if self.varkw:
            out.append(self.varkw)
        return out

    def stub(self) -> types.CodeType:
        """A compiled empty function with this signature (placeholder parameter names)."""
        count = iter(range(1000))
        names = lambda seq: [f"a{next(count)}" for _ in seq]  # noqa: E731
        params = names(self.posonly)
        if self.posonly:
            params.append("/")
        params += names(self.positional)
        if self.varargs:
            params.append("*" + names([0])[0])
        elif self.kwonly:
            params.append("*")
        params += names(self.kwonly)
        if self.varkw:
            params.append("**" + names([0])[0])
        module = compile(f"def f({', '.join(params)}):\n    pass\n", "<bchook.asm>", "exec",
                         dont_inherit=True)
        return next(c for c in module.co_consts if isinstance(c, types.CodeType))


# -- reading instruction lines ---------------------------------------------------------

class _Step:
    """One instruction line, read: its spelling, idiom and argument."""

    __slots__ = ("line", "opname", "idiom", "detail", "operand", "lineno", "handler",
                 "prefixes")

    def __init__(self, line: Line, lineno, handler, prefixes: int):
        self.line = line
        self.opname = line.opname
        self.idiom, self.detail = ir.idiom_of(line.opname) or (None, None)
        if self.idiom is None and not exists(line.opname):
            raise BuildError(f"no instruction {line.opname} on Python {V.PYTHON}"
                             + V.MISSING_INSTRUCTION_HINTS.get(line.opname, ""), line)
        try:
            self.operand = _operand(line, self.opname, self.idiom, self.detail)
        except SyntaxProblem as exc:
            raise BuildError(str(exc), line) from None
        self.lineno = lineno
        self.handler = handler
        self.prefixes = prefixes


def _operand(line: Line, opname: str, idiom, detail) -> Operand | None:
    """The argument of an instruction line, read as the word it is spelt with asks."""
    op = V.opcode_of(opname) if exists(opname) else None
    if line.value is not None:  # a tuple: the argument is a Python value
        value = line.value[0]
        kind = operand_kind(op) if op is not None else (
            "const" if idiom in ("return_const", "load_const") else "int")
        if kind == "const":
            return Operand("const", value)
        if isinstance(value, str) and op is not None and kind in (
                "name", "local", "free", "label"):
            return parse_arg(op, value)
        if isinstance(value, int):
            return Operand("raw" if kind not in ("int", "none") else "int", value)
        return parse_arg(op, str(value)) if op is not None else Operand("const", value)
    text = line.arg_text
    if not text or idiom == "nothing":
        return None
    if op is not None:
        try:
            return parse_arg(op, text)
        except SyntaxProblem:
            if idiom not in ("return_const", "load_const"):
                raise
            # e.g. 3.15's LOAD_COMMON_CONSTANT None on 3.14: a constant all the same
            return Operand("const", parse_const(text))
    if idiom in ("load_method", "load_global", "load_attr"):
        return parse_name(text)
    if idiom in ("jump", "jump_if"):
        return parse_label(text)
    if idiom in ("return_const", "load_const"):
        return Operand("const", parse_const(text))
    if idiom == "operator":  # BINARY_OP on 3.10
        if text in OPERATORS:
            return Operand("binary", text)
        raise SyntaxProblem(f"expected an operator ({' '.join(OPERATORS)}), got {text!r}")
    if idiom == "locals":
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != len(detail) or not all(parts):
            raise SyntaxProblem(f"expected {len(detail)} local name(s), got {text!r}")
        return Operand("pair", tuple(parts)) if len(parts) == 2 else Operand("local", text)
    try:
        return Operand("int", int(text, 0))
    except ValueError:
        raise SyntaxProblem(f"{opname} takes a number, got {text!r}") from None


def _read_body(block: Block, firstlineno: int) -> list:
    """The body as ``_Step`` and label ``Line`` entries, directives applied."""
    out: list = []
    lineno: int | None = firstlineno  # until a .line says otherwise
    handler = None
    prefixes = 0
    for line in block.body:
        if line.kind == "instr" and line.opname == "EXTENDED_ARG" and not line.arg_text \
                and line.value is None:
            prefixes += 1  # the encoder adds prefixes by itself; these ask for more
            continue
        if prefixes and line.kind != "instr":
            raise BuildError("a bare EXTENDED_ARG must be followed by an instruction", line)
        if line.kind == "line":
            lineno = line.value
        elif line.kind == "handler":
            if line.value is not None and not V.HAS_EXCEPTION_TABLE:
                raise BuildError(".handler needs Python 3.11+ (on 3.10 a try block is "
                                 "SETUP_FINALLY LABEL ... POP_BLOCK)", line)
            handler = line.value
        elif line.kind == "label":
            out.append(line)
        else:
            out.append(_Step(line, lineno, handler, prefixes))
            prefixes = 0
    return out


def _add_locals(body: list, ns: Names) -> None:
    """New variable names used by LOAD_FAST & co. become locals (all of them before any
    argument is resolved: on 3.11+ a new local moves the cells and free variables)."""
    for step in body:
        if isinstance(step, Line) or step.operand is None:
            continue
        if step.operand.kind == "pair":
            names = list(step.operand.value)
        elif step.operand.kind == "local":
            names = [step.operand.value]
        else:
            continue
        for n in names:
            if n not in ns.varnames and n not in ns.cellvars and n not in ns.freevars:
                ns.varnames.append(n)


# -- building --------------------------------------------------------------------------

def build_block(block: Block, code_ref: Callable[[str], types.CodeType],
                defaults: dict[str, Any]) -> types.CodeType:
    """Build one block; ``code_ref`` builds the block a ``<code NAME>`` constant names."""
    header = dict(defaults)
    header.update(block.header)
    name = header.get("name") or block.ident or "<asm>"
    firstlineno = int(header.get("firstlineno") or 1)
    try:
        signature = Signature(list(header.get("args") or []))
    except SyntaxProblem as exc:
        raise BuildError(f".args: {exc}") from None
    template = signature.stub()
    doc = header.get("doc")
    if "flags" in block.header:
        flags = flags_from_names(block.header["flags"])
    else:
        flags = template.co_flags | flags_from_names(list(header.get("extra_flags") or []))
        if doc is not None:
            flags |= V.DOCSTRING_FLAG
    flags |= (inspect.CO_VARARGS if signature.varargs else 0) | (
        inspect.CO_VARKEYWORDS if signature.varkw else 0)

    varnames = signature.varnames()
    given = list(header.get("varnames") or [])
    if given:
        if given[:len(varnames)] != varnames:
            raise BuildError(f".varnames {', '.join(given)} must start with the parameters "
                             f"{', '.join(varnames) or '(none)'}")
        varnames = given
    ns = Names(varnames, list(header.get("cellvars") or []),
               list(header.get("freevars") or []))
    if ns.freevars and "flags" not in block.header:
        flags |= inspect.CO_NESTED

    body = _read_body(block, firstlineno)
    _add_locals(body, ns)

    if header.get("consts") is not None:
        consts = [_const_value(c, code_ref, None) for c in header["consts"]]
    elif flags & inspect.CO_OPTIMIZED and (doc is not None or not V.DOCSTRING_FLAG):
        consts = [doc]  # a function's docstring is its first constant
    else:
        consts = []
    replace: dict[str, Any] = dict(
        co_name=name, co_filename=header.get("filename") or "<asm>",
        co_firstlineno=firstlineno, co_flags=flags,
        co_varnames=tuple(ns.varnames), co_nlocals=len(ns.varnames),
        co_cellvars=tuple(ns.cellvars), co_freevars=tuple(ns.freevars),
        co_consts=tuple(consts), co_names=tuple(header.get("names") or ()),
        # the encoder keeps the larger of this and the depth it computes
        co_stacksize=int(header.get("stacksize") or 0),
    )
    if hasattr(template, "co_qualname"):
        replace["co_qualname"] = header.get("qualname") or name
    try:
        template = template.replace(**replace)
    except (ValueError, TypeError) as exc:
        raise BuildError(f"bad code object fields: {exc}") from None

    builder = _Builder(ir.Bytecode(template, []), ns, code_ref)
    items = builder.build(body)
    items = _add_loop_exits(items)
    items = _add_followers(items)
    items = _add_prologue(items, ns, flags)
    bc = builder.bc
    bc.items = items
    try:
        _method_calls(bc, builder)
        _check_calls(bc, builder)
        return bc.to_code()
    except ir.IRError as exc:
        raise BuildError(_explain(str(exc))) from None


class _Builder:
    """Instruction lines to ``ir`` items: labels, handlers and arguments resolved."""

    def __init__(self, bc: ir.Bytecode, ns: Names, code_ref):
        self.bc = bc
        self.ns = ns
        self.code_ref = code_ref
        self.labels: dict[str, ir.Label] = {}
        self.defined: set[str] = set()
        self.used_at: dict[str, Line] = {}
        self.handlers: dict[tuple, ir.Handler] = {}
        self.origin: dict[int, Line] = {}
        #: calls built from the listing: (first instruction, argument count)
        self.calls: list[tuple[ir.Instr, int]] = []

    def label(self, name: str, used: Line | None = None) -> ir.Label:
        if used is not None:
            self.used_at.setdefault(name, used)
        return self.labels.setdefault(name, ir.Label(name))

    def add_const(self, value, line: Line | None = None) -> int:
        value = _const_value(value, self.code_ref, line)
        for i, c in enumerate(self.bc.consts):
            if c is value or (not isinstance(value, types.CodeType) and same_const(c, value)):
                return i
        return self.bc.add_const(value)

    def add_name(self, name: str) -> int:
        return self.bc.add_name(name)

    def build(self, body: list) -> list:
        items: list = []
        prev: ir.Instr | None = None
        for k, step in enumerate(body):
            if isinstance(step, Line):  # a label
                if step.value in self.defined:
                    raise BuildError(f"label {step.value!r} is defined twice", step)
                self.defined.add(step.value)
                items.append(self.label(step.value))
                prev = None
                continue
            try:
                built = self.instructions(step, prev, _next_is_not_taken(body, k))
            except (SyntaxProblem, LookupError, ir.IRError) as exc:
                raise BuildError(str(exc), step.line) from None
            handler = self.handler(step.handler)
            for ins in built:
                if type(ins) is ir.Instr:
                    ins.handler = handler
                    self.origin[id(ins)] = step.line
                    prev = ins
            first = next((x for x in built if type(x) is ir.Instr), None)
            if first is not None and step.prefixes:
                first._size = step.prefixes + 1  # the IR keeps at least this many units
            items.extend(built)
        for name, label in self.labels.items():
            if name not in self.defined:
                raise BuildError(f"label {name!r} is used but never defined (add a line "
                                 f"'{name}:')", self.used_at.get(name))
        return items

    def handler(self, spec) -> ir.Handler | None:
        if spec is None:
            return None
        handler = self.handlers.get(spec)
        if handler is None:
            label_name, depth, lasti = spec
            handler = self.handlers[spec] = ir.Handler(self.label(label_name), depth, lasti)
        return handler

    def instructions(self, step: _Step, prev, not_taken_follows: bool) -> list:
        """The items one instruction line stands for on this interpreter."""
        idiom, operand, line = step.idiom, step.operand, step.line
        loc = (step.lineno, step.lineno, None, None)
        kind = operand.kind if operand is not None else None
        if idiom == "nothing":
            return []
        if idiom in ("call", "call_method"):
            n = self.count(step)
            built = (ir.call if idiom == "call" else ir.call_method)(n, loc)
            self.calls.append((built[0], n))
            return built
        if idiom in ("load_global", "load_attr", "load_method") and kind == "name":
            index = self.add_name(operand.value)
            if idiom == "load_global":
                return ir.load_global(index, bool(operand.flag), loc)
            if idiom == "load_attr" and not operand.flag:
                return ir.load_attr(index, loc)
            return ir.load_method(index, loc)
        if idiom in ("jump", "jump_if"):
            if kind != "label":
                raise SyntaxProblem(f"{step.opname} needs a label")
            label = self.label(operand.value, line)
            if idiom == "jump":
                return ir.jump(label, loc)
            value_is_bool = prev is not None and ir.makes_bool(prev)
            build = ir.jump_back_if if operand.value in self.defined else ir.jump_if
            built = build(step.detail, label, loc, None, value_is_bool)
            if not_taken_follows and built[-1].op == V.NOT_TAKEN:
                built.pop()  # the listing's own comes next, with its own line
            return built
        if idiom == "operator" and kind in (None, "binary"):
            if kind is None and step.opname not in V.OPERATOR_NAMES:
                raise SyntaxProblem(f"{step.opname} needs an operator "
                                    f"({' '.join(OPERATORS)})")
            return ir.operator(operand.value if kind else V.OPERATOR_NAMES[step.opname], loc)
        if idiom in ("return_const", "load_const") and kind == "const":
            value = _const_value(operand.value, self.code_ref, line)
            if idiom == "return_const":
                return ir.return_const(self.bc, value, loc)
            return [ir.load_const(self.bc, value, loc)]
        if idiom == "locals":
            names = operand.value if kind == "pair" else (operand.value,)
            return [ir.Instr(opname, self.resolve(V.opcode_of(opname), Operand("local", n),
                                                  line), loc)
                    for opname, n in zip(step.detail, names)]
        return [self.plain(step, loc)]

    def count(self, step: _Step) -> int:
        operand = step.operand
        if operand is None or operand.kind not in ("int", "raw") or \
                not isinstance(operand.value, int):
            raise SyntaxProblem(f"{step.opname} takes the number of arguments")
        return operand.value

    def resolve(self, op: int, operand: Operand, line: Line) -> int:
        return resolve(op, operand, self.ns, lambda v: self.add_const(v, line), self.add_name)

    def plain(self, step: _Step, loc) -> ir.Instr:
        """The instruction as written (its opcode exists here)."""
        op = V.opcode_of(step.opname)
        operand, line = step.operand, step.line
        if operand is None:
            if not V.has_arg(op):
                arg = None
            elif op in V.OPTIONAL_ARGS:
                arg = 0
            else:
                raise SyntaxProblem(f"{step.opname} needs an argument")
        elif op in V.JUMPS:
            if operand.kind != "label":
                raise SyntaxProblem(f"{step.opname} needs a label")
            arg = self.label(operand.value, line)
        elif not V.has_arg(op):
            if operand.kind not in ("int", "raw") or not isinstance(operand.value, int):
                raise SyntaxProblem(f"{step.opname} takes no argument")
            arg = operand.value
        else:
            if operand.kind == "int" and not isinstance(operand.value, int):
                raise SyntaxProblem(f"{step.opname} takes a number, got {operand.value!r}")
            arg = self.resolve(op, operand, line)
        return ir.Instr(op, arg, loc)


def _next_is_not_taken(body: list, k: int) -> bool:
    """Does the listing write a NOT_TAKEN right after instruction ``k``?"""
    nxt = body[k + 1] if k + 1 < len(body) else None
    return isinstance(nxt, _Step) and nxt.idiom is None and \
        V.opcode_of(nxt.opname) == V.NOT_TAKEN


def _const_value(value, code_ref, line):
    if isinstance(value, CodeRef):
        try:
            return code_ref(value.name)
        except BuildError:
            raise
        except KeyError:
            raise BuildError(f"no code object named {value.name!r} in this listing",
                             line) from None
    return value


# -- what the interpreter needs and the listing may leave out --------------------------

def _instrs(items: list) -> list[ir.Instr]:
    return [x for x in items if type(x) is ir.Instr]


def _add_followers(items: list) -> list:
    """What must come right after an instruction (a RESUME after YIELD_VALUE, 3.14's
    POP_ITER after END_FOR...), where the listing left it out."""
    out: list = []
    for pos, item in enumerate(items):
        out.append(item)
        if type(item) is not ir.Instr:
            continue
        follower = ir.follower_of(item)
        if follower:
            nxt = next((x for x in items[pos + 1:] if type(x) is ir.Instr), None)
            if nxt is None or nxt.op != follower[0].op:
                out.extend(follower)
    return out


def _add_loop_exits(items: list) -> list:
    """3.12+: FOR_ITER jumps to END_FOR (and what is glued to it): add them where the
    loop's exit, after an instruction that does not fall through, lacks them."""
    exit_ops = [ins.op for ins in ir.for_loop_exit()]
    if not exit_ops:
        return items
    for ins in [x for x in _instrs(items) if x.op == V.FOR_ITER]:
        at = next(i for i, x in enumerate(items) if x is ins.arg)
        nxt = next((x for x in items[at:] if type(x) is ir.Instr), None)
        if nxt is not None and nxt.op == exit_ops[0]:
            continue
        before = next((x for x in reversed(items[:at]) if type(x) is ir.Instr), None)
        if before is None or before.op not in V.NO_FALLTHROUGH:
            continue  # the encoder reports it
        exit_label = ir.Label()
        loc = nxt.loc if nxt is not None else ins.loc
        items[at:at] = [exit_label, *ir.for_loop_exit(loc)]
        ins.arg = exit_label
    return items


def _add_prologue(items: list, ns: Names, flags: int) -> list:
    """CPython's prologue (``ir.prologue``), where the listing does not start with one."""
    instrs = _instrs(items)
    if ir.body_start(instrs):
        return items
    first = instrs[0] if instrs else None
    cells = [ns.deref_table().index(c) for c in ns.cellvars] if V.LOCALSPLUS else []
    wanted = ir.prologue(flags, len(ns.freevars), cells,
                         first.loc if first is not None else ir.NO_LOCATION)
    lead = []
    for ins in instrs:  # prologue pieces the listing wrote itself stay
        if ins.op not in V.PROLOGUE:
            break
        lead.append(ins)
    written = {(ins.op, ins.arg) for ins in lead}
    missing = [ins for ins in wanted if (ins.op, ins.arg) not in written]
    at = items.index(lead[-1]) + 1 if lead else 0
    return items[:at] + missing + items[at:]


# -- calls -----------------------------------------------------------------------------

_NULL_HINT = ("on this Python a call needs the callable and a NULL (or self) below the "
              "arguments: LOAD_GLOBAL NULL + f, LOAD_ATTR NULL|self + m, or PUSH_NULL")
#: 3.10 calls a method loaded by LOAD_METHOD with an instruction of its own.
_METHOD_CALLS_DIFFER = [i.op for i in ir.call_method(0)] != [i.op for i in ir.call(0)]


def _explain(message: str) -> str:
    if "stack underflow at CALL" in message and V.CALL_NULL is not None:
        message += "; " + _NULL_HINT
    return message


def _method_calls(bc: ir.Bytecode, builder: _Builder) -> None:
    """Where a method call has an instruction of its own (3.10), a listing that loads a
    method (``LOAD_ATTR NULL|self + m``, the 3.12 way) and calls it with ``CALL n`` gets
    that instruction: for each call whose callable slot a method load filled."""
    if not _METHOD_CALLS_DIFFER or not builder.calls:
        return
    pending = {id(first): n for first, n in builder.calls}
    changed = True
    while changed:  # a method call takes one more value: depths after it change
        changed = False
        flow = bc.flow()
        depths = flow.depths()
        for k, ins in enumerate(flow.instrs):
            n = pending.pop(id(ins), None)
            if n is None or depths[k] is None:
                continue
            if _filled_by_method_load(flow.instrs, depths, k, depths[k] - n - 1):
                method_call = ir.call_method(n, ins.loc)
                for new in method_call:
                    new.handler = ins.handler
                at = next(i for i, x in enumerate(bc.items) if x is ins)
                bc.items[at:at + 1] = method_call
                changed = True
                break


def _filled_by_method_load(instrs, depths, k: int, base: int) -> bool:
    """Was stack slot ``base`` at instruction ``k`` last filled by a method load (one
    that pushes the method's self too)?"""
    for j in range(k - 1, -1, -1):
        d = depths[j]
        if d is None or d < base:
            return False
        if d == base:
            return ir.pushes_null(instrs[j])
    return False


def _check_calls(bc: ir.Bytecode, builder: _Builder) -> None:
    """Where a call needs a NULL (or self) below the callable (3.11+), a ``CALL n`` must
    find n + 2 values: a listing written the 3.10 way leaves the NULL out, which would
    crash when run."""
    if V.CALL_NULL is None or not builder.calls:
        return
    flow = bc.flow()
    depths: list = [None] * len(flow.instrs)
    try:
        flow.max_depth(depths)
    except ir.IRError:
        pass  # the missing NULL underflows a later instruction: the depths before it do
    depth_of = {id(ins): d for ins, d in zip(flow.instrs, depths)}
    for first, n in builder.calls:
        depth = depth_of.get(id(first))
        if depth is not None and depth < n + 2:
            raise BuildError(f"{first.name} {n} finds {depth} values on the stack, "
                             f"needs {n + 2}; {_NULL_HINT}", builder.origin.get(id(first)))
