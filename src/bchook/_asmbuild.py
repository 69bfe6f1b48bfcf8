"""Turning a parsed ``bchook.asm`` block into a code object on the running interpreter.

Steps: work out the signature and variable tables; translate version-specific spellings
(``BINARY_ADD``/``BINARY_OP +``, ``CALL``/``PRECALL``/``CALL_FUNCTION``, ``LOAD_METHOD``/
``LOAD_ATTR NULL|self + x``, ``RESUME``...) to what this interpreter runs; resolve
arguments; add what the interpreter requires and the listing may leave out (the 3.11+
prologue, ``RESUME`` after ``YIELD_VALUE``, 3.13's ``TO_BOOL`` before a conditional jump,
backward conditional jumps on 3.12+); then encode with ``bchook.ir`` on a template code
object compiled from a stub with the right signature.
"""

from __future__ import annotations

import types
from typing import Any, Callable

from . import ir
from ._asmparse import Block, Line
from ._asmsyntax import (
    LEGACY_BINARY, CodeRef, Names, Operand, SyntaxProblem, binary_ops, compare_ops,
    operand_kind, parse_arg, resolve, same_const,
)
from ._listing import flags_from_names
from .ir import _version as V

__all__ = ["BuildError", "build_block", "Signature"]

_FLAG = {name: flags_from_names([name]) for name in (
    "OPTIMIZED", "NEWLOCALS", "VARARGS", "VARKEYWORDS", "NESTED", "GENERATOR", "COROUTINE",
    "ASYNC_GENERATOR", "ITERABLE_COROUTINE")}


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


# -- translation between versions ------------------------------------------------------

def _has(name: str) -> bool:
    try:
        V.opcode_of(name)
        return True
    except KeyError:
        return False


_FORWARD_BACKWARD = ("POP_JUMP_FORWARD_IF_", "POP_JUMP_BACKWARD_IF_")
_PAIR_SPLIT = {
    "LOAD_FAST_LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
    "STORE_FAST_LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
    "STORE_FAST_STORE_FAST": ("STORE_FAST", "STORE_FAST"),
}
_JUMP_SPELLINGS = ("JUMP_ABSOLUTE", "JUMP_FORWARD", "JUMP_BACKWARD",
                   "JUMP_BACKWARD_NO_INTERRUPT")
_GENERATOR_FLAGS = ("GENERATOR", "COROUTINE", "ASYNC_GENERATOR")


def _translate(line: Line, opname: str, operand: Operand | None
               ) -> list[tuple[str, Operand | None]]:
    """The instructions that mean ``opname operand`` on this interpreter."""
    if _has(opname):
        if opname in ("CALL", "CALL_FUNCTION", "CALL_METHOD") and _has("PRECALL"):
            return [("PRECALL", operand), ("CALL", operand)]
        if opname == "PRECALL":
            return []  # 3.11: every CALL brings its PRECALL
        if opname == "LOAD_ATTR" and operand is not None and operand.kind == "name" \
                and operand.flag and not V.NAME_ARG_SHIFT.get(V.OPMAP["LOAD_ATTR"]):
            return [("LOAD_METHOD", Operand("name", operand.value))]
        if opname == "LOAD_GLOBAL" and operand is not None and operand.kind == "name" \
                and operand.flag and not V.NAME_ARG_SHIFT.get(V.OPMAP["LOAD_GLOBAL"]):
            return [("LOAD_GLOBAL", Operand("name", operand.value))]  # 3.10: no NULL
        if opname == "BINARY_OP" and operand is not None and operand.kind == "binary":
            op, arg = binary_ops()[operand.value]
            return [(V.OPNAME[op], Operand("int", arg) if V.has_arg(op) else None)]
        return [(opname, operand)]
    # spellings of other versions
    if opname in ("RESUME", "GEN_START", "MAKE_CELL", "COPY_FREE_VARS", "PUSH_NULL",
                  "PRECALL", "END_FOR"):
        return []  # what this version does without an instruction (see _prologue)
    if opname == "LOAD_CLOSURE":  # 3.13: LOAD_FAST of the cell's slot pushes the cell
        return [("LOAD_FAST", operand)]
    if opname in _PAIR_SPLIT and operand is not None and operand.kind == "pair":
        first, second = _PAIR_SPLIT[opname]
        return [(first, Operand("local", operand.value[0])),
                (second, Operand("local", operand.value[1]))]
    if opname in ("CALL", "CALL_FUNCTION", "CALL_METHOD"):
        return [("CALL" if _has("CALL") else "CALL_FUNCTION", operand)]
    if opname == "LOAD_METHOD":
        return [("LOAD_ATTR", Operand("name", operand.value if operand else "", 1))]
    if opname == "RETURN_CONST":
        return [("LOAD_CONST", operand), ("RETURN_VALUE", None)]
    if opname in _JUMP_SPELLINGS:
        return [("JUMP", operand)]
    for prefix in _FORWARD_BACKWARD:
        if opname.startswith(prefix):
            return [("POP_JUMP_IF_" + opname[len(prefix):], operand)]
    legacy = None
    if opname.startswith("BINARY_") and opname[7:] in LEGACY_BINARY:
        legacy = LEGACY_BINARY[opname[7:]]
    elif opname.startswith("INPLACE_") and opname[8:] in LEGACY_BINARY:
        legacy = LEGACY_BINARY[opname[8:]] + "="
    if legacy is not None:
        op, arg = binary_ops()[legacy]
        return [(V.OPNAME[op], Operand("int", arg) if V.has_arg(op) else None)]
    if opname == "BINARY_OP" and operand is not None:
        if operand.kind == "binary":
            op, arg = binary_ops()[operand.value]
            return [(V.OPNAME[op], Operand("int", arg) if V.has_arg(op) else None)]
        raise BuildError("BINARY_OP takes an operator here: " + " ".join(binary_ops()), line)
    raise BuildError(f"no instruction {opname} on Python {V.VERSION[0]}.{V.VERSION[1]}"
                     + _HINTS.get(opname, ""), line)


_HINTS = {
    "JUMP_IF_FALSE_OR_POP": "; write COPY 1, TO_BOOL, POP_JUMP_IF_FALSE target, POP_TOP",
    "JUMP_IF_TRUE_OR_POP": "; write COPY 1, TO_BOOL, POP_JUMP_IF_TRUE target, POP_TOP",
    "RETURN_GENERATOR": " (3.10 generators start with GEN_START, which bchook.asm adds)",
    "KW_NAMES": " (keyword calls differ between versions: CALL_FUNCTION_KW on 3.10, "
                "KW_NAMES+CALL on 3.11/3.12, CALL_KW on 3.13)",
    "CALL_KW": " (keyword calls differ between versions: CALL_FUNCTION_KW on 3.10, "
               "KW_NAMES+CALL on 3.11/3.12, CALL_KW on 3.13)",
    "CALL_FUNCTION_KW": " (keyword calls differ between versions: CALL_FUNCTION_KW on 3.10, "
                        "KW_NAMES+CALL on 3.11/3.12, CALL_KW on 3.13)",
}


def _operand(line: Line, opname: str) -> Operand | None:
    """The argument of an instruction line, read for ``opname`` as spelt."""
    try:
        op = V.opcode_of(opname)
    except KeyError:
        op = None
    if line.value is not None:  # a tuple: the argument is a Python value
        value = line.value[0]
        kind = operand_kind(op) if op is not None else "int"
        if kind == "const":
            return Operand("const", value)
        if isinstance(value, str) and kind in ("name", "local", "free", "label"):
            return parse_arg(op, value)
        if isinstance(value, int):
            return Operand("raw" if kind not in ("int", "none") else "int", value)
        return Operand("const", value) if op is None else parse_arg(op, str(value))
    if op is None:
        # another version's opcode: read its argument by what the name says
        text = line.arg_text
        if not text:
            return None
        if opname in ("LOAD_METHOD",):
            return Operand("name", text)
        if opname == "LOAD_CLOSURE":
            return Operand("local", text)
        if opname in _PAIR_SPLIT:
            parts = [p.strip() for p in text.split(",")]
            if len(parts) == 2 and all(parts):
                return Operand("pair", tuple(parts))
        if opname == "RETURN_CONST":
            return parse_arg(V.OPMAP["LOAD_CONST"], text)
        if opname in _JUMP_SPELLINGS or opname.startswith(_FORWARD_BACKWARD):
            return parse_arg(V.opcode_of("JUMP"), text)
        if opname == "BINARY_OP":
            if text in binary_ops():
                return Operand("binary", text)
            raise SyntaxProblem(f"expected an operator ({' '.join(binary_ops())}), got "
                                f"{text!r}")
        try:
            return Operand("int", int(text, 0))
        except ValueError:
            return Operand("int", text)  # only kept to name it in an error
    return parse_arg(op, line.arg_text)


# -- building --------------------------------------------------------------------------

class _Emitted:
    """An instruction on its way to an ir.Instr."""

    __slots__ = ("opname", "operand", "line", "lineno", "handler", "prefixes")

    def __init__(self, opname, operand, line, lineno, handler, prefixes=0):
        self.opname = opname
        self.operand = operand
        self.line = line
        self.lineno = lineno
        self.handler = handler
        self.prefixes = prefixes


def build_block(block: Block, code_ref: Callable[[str], types.CodeType],
                defaults: dict[str, Any]) -> types.CodeType:
    """Build one block; ``code_ref`` builds the block a ``<code NAME>`` constant names."""
    header = dict(defaults)
    for key, value in block.header.items():
        header[key] = value
    name = header.get("name") or block.ident or "<asm>"
    qualname = header.get("qualname") or name
    filename = header.get("filename") or "<asm>"
    firstlineno = int(header.get("firstlineno") or 1)
    try:
        signature = Signature(list(header.get("args") or []))
    except SyntaxProblem as exc:
        raise BuildError(f".args: {exc}") from None
    template = signature.stub()
    if "flags" in block.header:
        flags = flags_from_names(block.header["flags"])
    else:
        flags = template.co_flags | flags_from_names(list(header.get("extra_flags") or []))
    flags |= (_FLAG["VARARGS"] if signature.varargs else 0) | (
        _FLAG["VARKEYWORDS"] if signature.varkw else 0)

    varnames = signature.varnames()
    given = list(header.get("varnames") or [])
    if given:
        if given[:len(varnames)] != varnames:
            raise BuildError(f".varnames {', '.join(given)} must start with the parameters "
                             f"{', '.join(varnames) or '(none)'}")
        varnames = given
    ns = Names(varnames, list(header.get("cellvars") or []),
               list(header.get("freevars") or []))
    if ns.freevars:
        flags |= _FLAG["NESTED"] if "flags" not in block.header else 0

    emitted = _read_body(block, firstlineno)
    _add_locals(emitted, ns)
    emitted = _prologue(emitted, ns, flags)

    consts: list = []
    if "consts" in header and header["consts"] is not None:
        consts = [_const_value(c, code_ref, None) for c in header["consts"]]
    elif flags & _FLAG["OPTIMIZED"]:
        consts = [header.get("doc")]  # a function's docstring is its first constant
    names = list(header.get("names") or [])

    def add_const(value) -> int:
        value = _const_value(value, code_ref, current)
        for i, c in enumerate(consts):
            if c is value or (not isinstance(value, types.CodeType) and same_const(c, value)):
                return i
        consts.append(value)
        return len(consts) - 1

    def add_name(n: str) -> int:
        if n not in names:
            names.append(n)
        return names.index(n)

    labels: dict[str, ir.Label] = {}
    handlers: dict[tuple, ir.Handler] = {}
    origin: dict[int, Line] = {}
    used_at: dict[str, Line] = {}
    items: list = []
    current: Line | None = None
    for entry in emitted:
        if isinstance(entry, Line):  # a label
            label = labels.setdefault(entry.value, ir.Label(entry.value))
            if any(x is label for x in items):
                raise BuildError(f"label {entry.value!r} is defined twice", entry)
            items.append(label)
            continue
        current = entry.line
        try:
            op = V.opcode_of(entry.opname)
        except KeyError:
            raise BuildError(f"no instruction {entry.opname} on Python "
                             f"{V.VERSION[0]}.{V.VERSION[1]}", entry.line) from None
        arg: Any
        operand = entry.operand
        try:
            if operand is None:
                if V.has_arg(op):
                    if V.OPNAME[op] in ("YIELD_VALUE", "RESUME"):
                        arg = 0
                    else:
                        raise BuildError(f"{entry.opname} needs an argument", entry.line)
                else:
                    arg = None
            elif op in V.JUMPS and operand.kind == "label":
                arg = labels.setdefault(operand.value, ir.Label(operand.value))
                used_at.setdefault(operand.value, entry.line)
            elif not V.has_arg(op):
                if operand.kind not in ("int", "raw") or not isinstance(operand.value, int):
                    raise BuildError(f"{entry.opname} takes no argument", entry.line)
                arg = operand.value
            else:
                if operand.kind == "int" and not isinstance(operand.value, int):
                    raise BuildError(f"{entry.opname} takes a number, got "
                                     f"{operand.value!r}", entry.line)
                arg = resolve(op, operand, consts, names, ns, add_const, add_name)
        except (SyntaxProblem, LookupError) as exc:
            raise BuildError(str(exc), entry.line) from None
        handler = None
        if entry.handler is not None:
            label_name, depth, lasti = entry.handler
            key = (label_name, depth, lasti)
            handler = handlers.get(key)
            if handler is None:
                label = labels.setdefault(label_name, ir.Label(label_name))
                handler = handlers[key] = ir.Handler(label, depth, lasti)
        loc = (entry.lineno, entry.lineno, None, None)
        try:
            instr = ir.Instr(op, arg, loc, handler)
        except ir.IRError as exc:
            raise BuildError(str(exc), entry.line) from None
        if entry.prefixes:
            instr._size = entry.prefixes + 1  # the IR keeps at least this many code units
        items.append(instr)
        origin[id(instr)] = entry.line
    defined = {id(x) for x in items if type(x) is ir.Label}
    for label_name, label in labels.items():
        if id(label) not in defined:
            raise BuildError(f"label {label_name!r} is used but never defined (add a line "
                             f"'{label_name}:')", used_at.get(label_name))
    items = _fix_for_version(items)

    replace: dict[str, Any] = dict(
        co_name=name, co_filename=filename, co_firstlineno=firstlineno, co_flags=flags,
        co_varnames=tuple(ns.varnames), co_nlocals=len(ns.varnames),
        co_cellvars=tuple(ns.cellvars), co_freevars=tuple(ns.freevars),
        co_consts=tuple(consts), co_names=tuple(names),
        # the encoder keeps the larger of this and the depth it computes
        co_stacksize=int(header.get("stacksize") or 0),
    )
    if hasattr(template, "co_qualname"):
        replace["co_qualname"] = qualname
    try:
        template = template.replace(**replace)
    except (ValueError, TypeError) as exc:
        raise BuildError(f"bad code object fields: {exc}") from None
    bc = ir.Bytecode(template, items)
    try:
        _method_calls_310(bc)
        _check_calls(bc, origin)
        return bc.to_code()
    except ir.IRError as exc:
        raise BuildError(_explain(str(exc))) from None


_NULL_HINT = ("on this Python a call needs the callable and a NULL (or self) below the "
              "arguments: LOAD_GLOBAL NULL + f, LOAD_ATTR NULL|self + m, or PUSH_NULL")


def _explain(message: str) -> str:
    if "stack underflow at CALL" in message and _has("PUSH_NULL"):
        message += "; " + _NULL_HINT
    return message


def _method_calls_310(bc: ir.Bytecode) -> None:
    """3.10 calls what LOAD_METHOD loaded with CALL_METHOD, not CALL_FUNCTION: a listing
    written ``LOAD_ATTR NULL|self + m ... CALL n`` (the 3.12 way) gets the right one."""
    if not _has("CALL_METHOD"):
        return
    call, method_call = V.OPMAP["CALL_FUNCTION"], V.OPMAP["CALL_METHOD"]
    load_method = V.OPMAP["LOAD_METHOD"]
    if not any(type(x) is ir.Instr and x.op == load_method for x in bc.items):
        return
    done: set[int] = set()
    while True:
        instrs = list(bc.instructions())
        depths = bc.depths()
        for k, ins in enumerate(instrs):
            if ins.op != call or id(ins) in done or depths[k] is None:
                continue
            done.add(id(ins))
            # CALL_FUNCTION's callable sits in slot ``base``; had a LOAD_METHOD (with
            # ``base`` values below it) loaded it, that slot holds its self, untouched since
            base = depths[k] - ins.arg - 1
            for j in range(k - 1, -1, -1):
                d = depths[j]
                if d is None:
                    break
                if instrs[j].op == load_method and d == base:
                    ins.op = method_call
                    break
                if d <= base:
                    break
            if ins.op == method_call:
                break  # depths after it changed
        else:
            return


def _check_calls(bc: ir.Bytecode, origin: dict[int, Line]) -> None:
    """3.11+: a CALL n needs n + 2 values (callable, NULL or self, arguments); a listing
    written the 3.10 way leaves the NULL out, which would crash when run."""
    if not _has("PUSH_NULL"):
        return
    first = "PRECALL" if _has("PRECALL") else "CALL"
    try:
        depths = bc.depths()
    except ir.IRError:
        depths = _straight_line_depths(bc)  # the missing NULL underflows a later instruction
    for ins, depth in zip(bc.instructions(), depths):
        if ins.name == first and depth is not None and depth < ins.arg + 2:
            raise BuildError(f"{ins.name} {ins.arg} finds {depth} values on the stack, "
                             f"needs {ins.arg + 2}; {_NULL_HINT}", origin.get(id(ins)))


def _straight_line_depths(bc: ir.Bytecode) -> list:
    """Depths in listing order, as if no instruction jumped: enough to find the first
    instruction that takes more than the stack holds."""
    depths = []
    depth = 0
    for ins in bc.instructions():
        depths.append(depth)
        try:
            depth += ir.version.stack_effects(ins.op, ins.arg if type(ins.arg) is int else 0)[0]
        except ValueError:
            break
    return depths


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


def _read_body(block: Block, firstlineno: int) -> list:
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
            try:
                operand = _operand(line, line.opname)
            except SyntaxProblem as exc:
                raise BuildError(str(exc), line) from None
            for opname, arg in _translate(line, line.opname, operand):
                out.append(_Emitted(opname, arg, line, lineno, handler, prefixes))
                prefixes = 0
    return out


def _add_locals(emitted: list, ns: Names) -> None:
    """New local variable names used by LOAD_FAST & co. become locals."""
    for e in emitted:
        if isinstance(e, Line) or e.operand is None:
            continue
        try:
            op = V.opcode_of(e.opname)
        except KeyError:
            continue
        if e.operand.kind == "local" and op in V.HASLOCAL:
            names = [e.operand.value]
        elif e.operand.kind == "pair":
            names = list(e.operand.value)
        else:
            continue
        for n in names:
            if n not in ns.varnames and n not in ns.cellvars and n not in ns.freevars:
                ns.varnames.append(n)


def _first_instr(emitted, names) -> bool:
    return any(not isinstance(e, Line) and e.opname in names for e in emitted)


def _prologue(emitted: list, ns: Names, flags: int) -> list:
    """What the interpreter needs at the start and the listing did not say."""
    start = next((e for e in emitted if not isinstance(e, Line)), None)
    line = start.line if start is not None else None
    lineno = start.lineno if start is not None else None
    kind = next((i for i, f in enumerate(_GENERATOR_FLAGS) if flags & _FLAG[f]), None)
    pre: list = []

    def add(opname, arg=None):
        pre.append(_Emitted(opname, None if arg is None else Operand("int", arg), line,
                            None, None))

    if _has("RESUME"):
        if _first_instr(emitted, ("RESUME",)):
            return emitted
        if ns.freevars and not _first_instr(emitted, ("COPY_FREE_VARS",)):
            add("COPY_FREE_VARS", len(ns.freevars))
        if not _first_instr(emitted, ("MAKE_CELL",)):
            for cell in ns.cellvars:
                pre.append(_Emitted("MAKE_CELL", Operand("free", cell), line, None, None))
        if kind is not None:
            add("RETURN_GENERATOR")
            add("POP_TOP")
        add("RESUME", 0)
        if pre and lineno is not None:
            pre[-1].lineno = lineno
    elif kind is not None and not _first_instr(emitted, ("GEN_START",)):
        add("GEN_START", kind)
    return pre + emitted


_BOOL_MAKERS = ("TO_BOOL", "IS_OP", "CONTAINS_OP", "UNARY_NOT", "CHECK_EXC_MATCH",
                "MATCH_MAPPING", "MATCH_SEQUENCE")


def _fix_for_version(items: list) -> list:
    """Insert what this interpreter requires around certain instructions."""
    Instr, Label = ir.Instr, ir.Label
    glued = V.GLUED_NEXT
    bool_compare = {arg for text, arg in compare_ops().items() if text.startswith("bool(")}
    cond = {V.opcode_of(n): n for n in ("POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE",
                                        "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE")
            if _has(n)}
    opposite = {"POP_JUMP_IF_FALSE": "POP_JUMP_IF_TRUE", "POP_JUMP_IF_TRUE": "POP_JUMP_IF_FALSE",
                "POP_JUMP_IF_NONE": "POP_JUMP_IF_NOT_NONE",
                "POP_JUMP_IF_NOT_NONE": "POP_JUMP_IF_NONE"}
    label_pos = {}
    count = 0
    for item in items:
        if type(item) is Label:
            label_pos[id(item)] = count
        else:
            count += 1
    out: list = []
    prev = None
    index = 0
    for pos, item in enumerate(items):
        if type(item) is Label:
            out.append(item)
            continue
        op = item.op
        if op in cond and V.JUMP_NEEDS_BOOL and cond[op] in ("POP_JUMP_IF_FALSE",
                                                              "POP_JUMP_IF_TRUE"):
            makes_bool = prev is not None and (
                prev.name in _BOOL_MAKERS or (prev.name == "COMPARE_OP" and (
                    prev.arg in bool_compare or _compares_a_length(out))))
            if not makes_bool:
                out.append(Instr("TO_BOOL", None, item.loc, item.handler))
        if (op in cond and not V.HAS_ABSOLUTE_JUMPS and not V.BACKWARD_CONDITIONAL_JUMPS
                and label_pos.get(id(item.arg), count) <= index):
            # 3.12+: conditional jumps go forward only; hop over an unconditional one
            skip = Label()
            out.append(Instr(opposite[cond[op]], skip, item.loc, item.handler))
            out.append(Instr("JUMP", item.arg, item.loc, item.handler))
            out.append(skip)
            prev = None
            index += 1
            continue
        out.append(item)
        prev = item
        index += 1
        follower = glued.get(op)
        if follower is not None:
            nxt = next((x for x in items[pos + 1:] if type(x) is Instr), None)
            if nxt is None or nxt.op != follower:
                arg = 1 if V.OPNAME[follower] == "RESUME" else (
                    item.arg if V.has_arg(follower) else None)
                out.append(Instr(follower, arg, item.loc, item.handler))
    return _fix_for_iter(out)


def _compares_a_length(out: list) -> bool:
    """``GET_LEN; LOAD_CONST n; COMPARE_OP``: the compiler's length test of a ``match``
    case compares two ints, so it jumps on the plain comparison."""
    recent = [x for x in out[-3:] if type(x) is ir.Instr]
    return len(recent) == 3 and recent[0].name == "GET_LEN" and recent[1].name == "LOAD_CONST"


def _fix_for_iter(items: list) -> list:
    """3.12+: FOR_ITER must jump to END_FOR; add one where the loop exit lacks it."""
    if V.FOR_ITER_TARGET < 0:
        return items
    Instr, Label = ir.Instr, ir.Label
    for ins in [x for x in items if type(x) is Instr and x.op == V.FOR_ITER]:
        at = next(i for i, x in enumerate(items) if x is ins.arg)
        nxt = next((x for x in items[at:] if type(x) is Instr), None)
        if nxt is not None and nxt.op == V.FOR_ITER_TARGET:
            continue
        before = next((x for x in reversed(items[:at]) if type(x) is Instr), None)
        if before is None or before.op not in V.NO_FALLTHROUGH:
            continue  # the encoder reports it
        exit_label = Label()
        loc = nxt.loc if nxt is not None else ins.loc
        extra = [exit_label, Instr(V.FOR_ITER_TARGET, None, loc)]
        follower = V.GLUED_NEXT.get(V.FOR_ITER_TARGET)
        if follower is not None:
            extra.append(Instr(follower, None, loc))
        items[at:at] = extra
        ins.arg = exit_label
    return items
