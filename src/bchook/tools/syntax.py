"""The text form of instructions shared by ``bchook dis`` (writing) and ``bchook.asm`` (reading).

One instruction per line, ``OPNAME ARGUMENT``, the argument written by what it means:

===========================  =====================================================
``LOAD_CONST 1``             a constant, as a Python literal (``<code QUALNAME>`` for
                             code, ``slice(1, None, None)``, ``frozenset({...})``)
``LOAD_FAST x``              a local, cell or free variable by name
``LOAD_GLOBAL print``        a name; ``NULL + print`` (or ``print + NULL``) also pushes
                             the NULL a call needs, ``NULL|self + append`` loads a method
``BINARY_OP +``              an operator (``+=`` for the in-place form, ``[]`` subscript)
``COMPARE_OP <``             a comparison (``bool(<)``: the form a jump tests, 3.13+)
``LOAD_COMMON_CONSTANT None``  one of the interpreter's common constants (3.14+), by
                             value or name (``AssertionError``, ``all``)
``LOAD_SPECIAL __enter__``   the method of a ``with`` (3.14+)
``JUMP loop``                a label, defined by a line ``loop:``
``CALL 2``                   any other argument, as a number
``LOAD_ATTR !3``             a raw argument, when the meaning cannot be written
===========================  =====================================================

What the arguments mean on this interpreter (flag bits, operator numbers...) is asked of
``bchook.ir``, and so is what the words of other releases a listing may use stand for
(:func:`bchook.ir.idiom_of`): ``bchook.asm`` builds those idioms with ``bchook.ir``'s
builders.
"""

from __future__ import annotations

import __future__
import ast
import dis
import math
import re
import types
from dataclasses import dataclass, field

from .. import ir
from ..ir import _version as V

__all__ = [
    "SyntaxProblem", "Names", "Operand", "CodeRef", "render_arg", "parse_arg", "resolve",
    "render_const", "parse_const", "same_const", "split_top_level", "strip_comment",
    "render_name_list", "parse_name_list", "operand_kind", "OPERATORS",
    "flag_names", "flags_from_names",
]


class SyntaxProblem(ValueError):
    """An argument or constant that cannot be read; the message says what was expected."""


@dataclass(frozen=True)
class CodeRef:
    """``<code NAME>``: a nested code object, named by its listing block."""

    name: str


@dataclass
class Names:
    """The variable tables of one code object, for turning names into indexes and back."""

    varnames: list[str] = field(default_factory=list)
    cellvars: list[str] = field(default_factory=list)
    freevars: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, code: types.CodeType) -> "Names":
        return cls(list(code.co_varnames), list(code.co_cellvars), list(code.co_freevars))

    def deref_table(self) -> list[str]:
        """What LOAD_DEREF's argument indexes (see ``V.LOCALSPLUS``)."""
        if V.LOCALSPLUS:
            cells = [c for c in self.cellvars if c not in self.varnames]
            return self.varnames + cells + self.freevars
        return self.cellvars + self.freevars

    def local_table(self) -> list[str]:
        """What LOAD_FAST's argument indexes."""
        return self.deref_table() if V.LOCALSPLUS else self.varnames


#: The operators ``BINARY_OP`` can be written with, on every release.
OPERATORS: tuple[str, ...] = tuple(dict.fromkeys(V.OPERATOR_NAMES.values()))

# -- flags -----------------------------------------------------------------------------

_FLAG_VALUES = {name: value for value, name in dis.COMPILER_FLAG_NAMES.items()}
for _feature in __future__.all_feature_names:
    _FLAG_VALUES.setdefault("FUTURE_" + _feature.upper(),
                            getattr(__future__, _feature).compiler_flag)


def flag_names(flags: int) -> list[str]:
    """The names of the bits set in ``co_flags`` (unknown bits as hex)."""
    names = []
    rest = flags
    for name, value in _FLAG_VALUES.items():
        if value and flags & value == value and rest & value:
            names.append(name)
            rest &= ~value
    if rest:
        names.append(hex(rest))
    return names


def flags_from_names(names: list[str]) -> int:
    value = 0
    for name in names:
        key = name.upper().removeprefix("CO_")
        if key in _FLAG_VALUES:
            value |= _FLAG_VALUES[key]
        else:
            try:
                value |= int(name, 0)
            except ValueError:
                known = ", ".join(_FLAG_VALUES)
                raise ValueError(f"unknown flag {name!r} (known: {known})") from None
    return value


# -- constants -------------------------------------------------------------------------

_SPECIAL_NAMES = {"None": None, "True": True, "False": False, "Ellipsis": ...,
                  "inf": math.inf, "nan": math.nan}


def _evaluate(node: ast.AST):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[node.id]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(left, (int, float)) and isinstance(right, complex):
            return left + right if isinstance(node.op, ast.Add) else left - right
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        func, args = node.func.id, node.args
        if func == "complex" and len(args) == 2:
            real, imag = (_evaluate(a) for a in args)
            if all(isinstance(x, float) for x in (real, imag)):
                return complex(real, imag)
        if func == "frozenset" and len(args) <= 1:
            if not args:
                return frozenset()
            if isinstance(args[0], (ast.Set, ast.Tuple, ast.List)):
                return frozenset(_evaluate(e) for e in args[0].elts)
        if func == "slice" and 1 <= len(args) <= 3:  # 3.14+ keep constant slices
            return slice(*(_evaluate(a) for a in args))
    raise SyntaxProblem(f"not a constant: {ast.unparse(node)}")


_CODE_REF = re.compile(r"<code (.+)>\Z")


def parse_const(text: str):
    """A constant written as a Python literal, ``frozenset({...})``, ``slice(...)``,
    ``inf``, ``nan``, or ``<code NAME>`` (returns a :class:`CodeRef`)."""
    text = text.strip()
    match = _CODE_REF.match(text)
    if match:
        return CodeRef(match.group(1))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise SyntaxProblem(f"not a constant: {text!r}") from None
    return _evaluate(tree.body)


def same_const(a, b) -> bool:
    """Equal and of the same type all the way down (so ``1``, ``1.0``, ``True`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, frozenset)):
        if len(a) != len(b):
            return False
        if isinstance(a, tuple):
            return all(same_const(x, y) for x, y in zip(a, b))
        return sorted(map(repr, a)) == sorted(map(repr, b))
    if isinstance(a, slice):
        return all(same_const(x, y) for x, y in ((a.start, b.start), (a.stop, b.stop),
                                                 (a.step, b.step)))
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)
    return a == b


def render_const(value, code_names: dict[int, str] | None = None) -> str | None:
    """The text :func:`parse_const` reads back as ``value``; None when there is none."""
    if isinstance(value, types.CodeType):
        name = (code_names or {}).get(id(value))
        return None if name is None else f"<code {name}>"
    text = _const_text(value, code_names)
    if text is None:
        return None
    try:
        back = parse_const(text)
    except (SyntaxProblem, RecursionError):
        return None
    return text if same_const(back, value) else None


def _const_text(value, code_names) -> str | None:
    if isinstance(value, complex):
        text = repr(value)
        try:
            if same_const(parse_const(text), value):
                return text
        except SyntaxProblem:
            pass
        return f"complex({value.real!r}, {value.imag!r})"  # e.g. (-0-1j) reads back wrong
    if type(value) in (tuple, frozenset, slice):
        items = (value.start, value.stop, value.step) if type(value) is slice else value
        parts = [_const_text(v, code_names) for v in items]
        if None in parts:
            return None
        inner = ", ".join(parts)  # type: ignore[arg-type]
        if type(value) is slice:
            return f"slice({inner})"
        if type(value) is frozenset:
            return "frozenset({" + inner + "})" if parts else "frozenset()"
        return "(" + inner + ("," if len(parts) == 1 else "") + ")"
    if isinstance(value, types.CodeType):
        return render_const(value, code_names)
    return repr(value)


_PLAIN_NAME = re.compile(r"[^\s,'\"#]+\Z")


def render_name_list(names) -> str:
    """Names for a ``.names``/``.varnames`` line: bare, or quoted when they need it."""
    return ", ".join(n if _PLAIN_NAME.match(n) else repr(n) for n in names)


def parse_name_list(text: str) -> list[str]:
    out = []
    for part in split_top_level(text):
        if part[:1] in ("'", '"'):
            value = parse_const(part)
            if not isinstance(value, str):
                raise SyntaxProblem(f"not a name: {part}")
            out.append(value)
        else:
            out.append(part)
    return out


# -- lines -----------------------------------------------------------------------------

def strip_comment(line: str) -> str:
    """``line`` without a ``#`` comment (a ``#`` inside a quoted string is kept)."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i].rstrip()
        i += 1
    return line.rstrip()


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside brackets, quotes and ``<code ...>``."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    last = text[start:].strip()
    if last or parts:
        parts.append(last)
    return [p for p in parts if p]


# -- operands --------------------------------------------------------------------------

@dataclass(frozen=True)
class Operand:
    """An argument as written, before it becomes an int.

    ``kind``: ``int`` (value), ``raw`` (value, written ``!N``), ``label`` (value: name),
    ``const`` (value), ``name`` (value, flag: 1 for a NULL form), ``local``/``free``
    (value: name), ``pair`` (value: two local names), ``binary`` (value: symbol),
    ``compare`` (value: symbol, flag: 1 for ``bool()``), ``common`` and ``special``
    (value: index into the interpreter's table).
    """

    kind: str
    value: object
    flag: int = 0


_NULL_FORMS = (
    re.compile(r"NULL(?:\|self)?\s*\+\s*(.+)\Z"),
    re.compile(r"(.+?)\s*\+\s*NULL(?:\|self)?\Z"),
)
#: A BINARY_OP and a COMPARE_OP of this interpreter, to recognize the opcodes by.
_BINARY_OP = ir.operator("+")[0].op if V.BINARY_OP_TAKES_ARG else -1
_COMPARE_OP = ir.compare_op("<")[0].op


def operand_kind(op: int) -> str:
    """How the argument of ``op`` is written."""
    if not V.has_arg(op):
        return "none"
    if op in V.JUMPS:
        return "label"
    if op in V.HASCONST:
        return "const"
    if op in V.HASNAME:
        return "name"
    if op in V.LOCAL_PAIRS:
        return "pair"
    if op in V.DEREF_ARGS:
        return "free"
    if op in V.LOCAL_ARGS:
        return "local"
    if op == _BINARY_OP:
        return "binary"
    if op == _COMPARE_OP:
        return "compare"
    if op == V.LOAD_COMMON_CONSTANT:
        return "common"
    if op == V.LOAD_SPECIAL:
        return "special"
    return "int"


def _common_text(value) -> str:
    """A common constant as written: a literal, or the name of a builtin."""
    return render_const(value) or getattr(value, "__name__", repr(value))


def _table_index(kind: str, text: str) -> int | None:
    if kind == "common":
        for i, value in enumerate(V.COMMON_CONSTANTS):
            if _common_text(value) == text:
                return i
    elif text in V.SPECIAL_METHODS:
        return V.SPECIAL_METHODS.index(text)
    return None


def parse_arg(op: int, text: str) -> Operand | None:
    """Read the argument text of ``op`` (None: no argument written)."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("!"):
        try:
            return Operand("raw", int(text[1:], 0))
        except ValueError:
            raise SyntaxProblem(f"a raw argument is !NUMBER, not {text!r}") from None
    kind = operand_kind(op)
    if kind == "label":
        return parse_label(text)
    if kind == "const":
        return Operand("const", parse_const(text))
    if kind == "name":
        return parse_name(text)
    if kind == "pair":
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise SyntaxProblem(f"expected two local names 'a, b', got {text!r}")
        return Operand("pair", tuple(parts))
    if kind in ("local", "free"):
        return Operand(kind, text)
    if kind == "binary" and text in OPERATORS:
        return Operand("binary", text)
    if kind == "compare":
        to_bool = text.startswith("bool(") and text.endswith(")")
        symbol = text[5:-1] if to_bool else text
        if symbol in V.CMP_OP:
            return Operand("compare", symbol, int(to_bool))
    if kind in ("common", "special"):
        index = _table_index(kind, text)
        if index is not None:
            return Operand(kind, index)
    try:
        return Operand("int", int(text, 0))
    except ValueError:
        pass
    if kind == "binary":
        raise SyntaxProblem(f"expected an operator ({' '.join(OPERATORS)}), got {text!r}")
    if kind == "compare":
        raise SyntaxProblem(f"expected a comparison ({' '.join(V.CMP_OP)}, or bool(<) "
                            f"& co.), got {text!r}")
    if kind == "common":
        known = ", ".join(_common_text(v) for v in V.COMMON_CONSTANTS)
        raise SyntaxProblem(f"expected one of the common constants ({known}), got {text!r}")
    if kind == "special":
        raise SyntaxProblem(f"expected one of {', '.join(V.SPECIAL_METHODS)}, got {text!r}")
    raise SyntaxProblem(f"{V.OPNAME[op]} takes a number, got {text!r}")


def parse_label(text: str) -> Operand:
    if text.startswith(("to ", "from ")):  # as dis writes them
        text = text.split(None, 1)[1].strip()
    if not re.fullmatch(r"[\w.]+", text):
        raise SyntaxProblem(f"expected a label name, got {text!r}")
    return Operand("label", text)


def parse_name(text: str) -> Operand:
    for pattern in _NULL_FORMS:
        match = pattern.match(text)
        if match:
            return Operand("name", match.group(1).strip(), 1)
    return Operand("name", text)


def resolve(op: int, operand: Operand, ns: Names, add_const, add_name) -> int:
    """The int argument of ``operand`` for ``op`` (labels are resolved by the caller)."""
    kind = operand.kind
    if kind in ("int", "raw", "common", "special"):
        return operand.value  # type: ignore[return-value]
    if kind == "const":
        return add_const(operand.value)
    if kind == "name":
        try:
            return ir.name_arg(op, add_name(operand.value), operand.flag)
        except ir.IRError:
            raise SyntaxProblem(f"{V.OPNAME[op]} cannot push a NULL on this Python") from None
    if kind == "local":
        return _index(V.OPNAME[op], ns.local_table(), operand.value)
    if kind == "free":
        return _index(V.OPNAME[op], ns.deref_table(), operand.value)
    if kind == "pair":
        table = ns.local_table()
        first, second = (_index(V.OPNAME[op], table, n) for n in operand.value)
        try:
            return ir.local_pair_arg(first, second)
        except ir.IRError as exc:
            raise SyntaxProblem(f"{V.OPNAME[op]}: {exc}") from None
    if kind == "compare":
        return ir.compare_op(operand.value, bool(operand.flag))[0].arg
    if kind == "binary":
        built = ir.operator(operand.value)
        if len(built) == 1 and built[0].op == op:
            return built[0].arg
        raise SyntaxProblem(f"{V.OPNAME[op]} cannot apply {operand.value} on this Python")
    raise SyntaxProblem(f"{V.OPNAME[op]}: cannot use a {kind} argument")


def _index(opname: str, table: list[str], name: str) -> int:
    try:
        return table.index(name)
    except ValueError:
        raise SyntaxProblem(f"{opname}: no variable {name!r} (known: "
                            f"{', '.join(table) or 'none'})") from None


def render_arg(ins: ir.Instr, code: types.CodeType, ns: Names, label_names: dict[int, str],
               code_names: dict[int, str] | None = None) -> str:
    """The argument text of one instruction (its ``arg`` is an int or an ir.Label)."""
    op, arg = ins.op, ins.arg
    kind = operand_kind(op)
    if kind == "none":
        return "" if not arg else str(arg)
    if kind == "label":
        return label_names[id(arg)]
    text = _symbolic(ins, kind, code, ns, code_names)
    if text is None:
        return f"!{arg}"
    if kind == "int":
        return text
    # what we write must read back as the same argument, or we write the raw number
    try:
        operand = parse_arg(op, text)
        if operand is None:
            return f"!{arg}"
        back = resolve(op, operand, ns, _finder(list(code.co_consts), code_names),
                       _finder(list(code.co_names), None))
    except (SyntaxProblem, LookupError):
        return f"!{arg}"
    return text if back == arg else f"!{arg}"


def _finder(table: list, code_names):
    def find(value):
        if isinstance(value, CodeRef):
            for i, v in enumerate(table):
                if isinstance(v, types.CodeType) and (code_names or {}).get(id(v)) == value.name:
                    return i
            raise LookupError(value)
        for i, v in enumerate(table):
            if same_const(v, value):
                return i
        raise LookupError(value)
    return find


def _symbolic(ins: ir.Instr, kind: str, code, ns: Names, code_names) -> str | None:
    arg = ins.arg
    try:
        if kind == "const":
            return render_const(code.co_consts[arg], code_names)
        if kind == "name":
            name = code.co_names[ir.name_index_of(ins)]
            flags = ir.name_flags_of(ins)
            if not flags:
                return name
            if flags != 1 or not ir.pushes_null(ins):
                return None
            null = "NULL" if ins.op in V.GLOBAL_LOADS else "NULL|self"
            return f"{name} + {null}" if V.NULL_AFTER_CALLABLE else f"{null} + {name}"
        if kind == "local":
            return ns.local_table()[arg]
        if kind == "free":
            return ns.deref_table()[arg]
        if kind == "pair":
            table = ns.local_table()
            return ", ".join(table[index] for _, index in ir.local_accesses(ins))
        if kind == "binary":
            return ir.operator_of(ins)
        if kind == "compare":
            symbol = ir.compare_operator_of(ins)
            if symbol is None:
                return None
            return f"bool({symbol})" if ir.compare_makes_bool(ins) else symbol
        if kind == "common":
            return _common_text(V.COMMON_CONSTANTS[arg])
        if kind == "special":
            return V.SPECIAL_METHODS[arg]
    except IndexError:
        return None
    return str(arg)


# -- instruction words -------------------------------------------------------------------

def exists(opname: str) -> bool:
    """Is ``opname`` an instruction of this interpreter (or a version-neutral alias)?"""
    try:
        V.opcode_of(opname)
    except KeyError:
        return False
    return True

