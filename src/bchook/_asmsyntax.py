"""The text form of instructions shared by ``bchook dis`` (writing) and ``bchook.asm`` (reading).

One instruction per line, ``OPNAME ARGUMENT``, the argument written by what it means:

=====================  ===========================================================
``LOAD_CONST 1``       a constant, as a Python literal (``<code QUALNAME>`` for code)
``LOAD_FAST x``        a local, cell or free variable by name
``LOAD_GLOBAL print``  a name; ``NULL + print`` (or ``print + NULL``) also pushes the
                       NULL a call needs, ``NULL|self + append`` loads a method
``BINARY_OP +``        an operator (``+=`` for the in-place form)
``COMPARE_OP <``       a comparison (``bool(<)``: 3.13's form that makes a bool)
``JUMP loop``          a label, defined by a line ``loop:``
``CALL 2``             any other argument, as a number
``LOAD_ATTR !3``       a raw argument, when the meaning cannot be written
=====================  ===========================================================

The operator tables are read from the running interpreter's own compiler output.
"""

from __future__ import annotations

import ast
import functools
import math
import re
import types
from dataclasses import dataclass, field

from .ir import _version as V

__all__ = [
    "SyntaxProblem", "Names", "Operand", "CodeRef", "render_arg", "parse_arg",
    "render_const", "parse_const", "split_top_level", "strip_comment",
    "binary_ops", "compare_ops", "LEGACY_BINARY",
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


# -- operator tables, from the compiler ------------------------------------------------

_OPERATORS = ("+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@")

#: 3.10's one-opcode-per-operator names, accepted on every version.
LEGACY_BINARY = {
    "ADD": "+", "SUBTRACT": "-", "MULTIPLY": "*", "TRUE_DIVIDE": "/", "FLOOR_DIVIDE": "//",
    "MODULO": "%", "POWER": "**", "LSHIFT": "<<", "RSHIFT": ">>", "AND": "&", "OR": "|",
    "XOR": "^", "MATRIX_MULTIPLY": "@",
}


def _compiled_ops(source: str) -> list[tuple[int, int]]:
    from .ir._raw import instructions

    module = compile(source, "<bchook.asm>", "exec", dont_inherit=True)
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return [(u.opcode, u.arg or 0) for u in instructions(code.co_code)]


@functools.lru_cache(maxsize=None)
def binary_ops() -> dict[str, tuple[int, int]]:
    """``{"+": (opcode, arg), "+=": ...}`` as this interpreter's compiler emits them."""
    table = {}
    for sym in _OPERATORS:
        for text, body in ((sym, f"return a {sym} b"), (sym + "=", f"a {sym}= b")):
            for op, arg in _compiled_ops(f"def f(a, b):\n    {body}\n"):
                name = V.OPNAME[op]
                if name == "BINARY_OP" or (name.startswith(("BINARY_", "INPLACE_"))
                                           and name != "BINARY_SUBSCR"):
                    table[text] = (op, arg if V.has_arg(op) else 0)
                    break
    return table


@functools.lru_cache(maxsize=None)
def compare_ops() -> dict[str, int]:
    """``{"<": arg, "bool(<)": arg}``: COMPARE_OP arguments; the ``bool()`` forms exist
    where the compiler encodes "and make it a bool" in the argument (3.13)."""
    import dis

    compare = V.OPMAP["COMPARE_OP"]
    table = {}
    for sym in dis.cmp_op:
        plain = [a for op, a in _compiled_ops(f"def f(a, b):\n    return a {sym} b\n")
                 if op == compare][0]
        branch = [a for op, a in _compiled_ops(
            f"def f(a, b):\n    if a {sym} b:\n        return 1\n") if op == compare][0]
        table[sym] = plain
        if branch != plain:
            table[f"bool({sym})"] = branch
    return table


def _binary_symbol(op: int, arg: int) -> str | None:
    for sym, pair in binary_ops().items():
        if pair == (op, arg if V.has_arg(op) else 0):
            return sym
    return None


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
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "complex" and not node.keywords and len(node.args) == 2):
        real, imag = (_evaluate(a) for a in node.args)
        if all(isinstance(x, float) for x in (real, imag)):
            return complex(real, imag)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "frozenset" and not node.keywords and len(node.args) <= 1):
        if not node.args:
            return frozenset()
        arg = node.args[0]
        if isinstance(arg, (ast.Set, ast.Tuple, ast.List)):
            return frozenset(_evaluate(e) for e in arg.elts)
    raise SyntaxProblem(f"not a constant: {ast.unparse(node)}")


_CODE_REF = re.compile(r"<code (.+)>\Z")


def parse_const(text: str):
    """A constant written as a Python literal, ``frozenset({...})``, ``inf``, ``nan``, or
    ``<code NAME>`` (returns a :class:`CodeRef`)."""
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
    if type(value) is tuple:
        parts = [_const_text(v, code_names) for v in value]
        if None in parts:
            return None
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"  # type: ignore
    if type(value) is frozenset:
        parts = [_const_text(v, code_names) for v in value]
        if None in parts:
            return None
        return "frozenset({" + ", ".join(parts) + "})" if parts else "frozenset()"  # type: ignore
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
    ``const`` (value), ``name`` (value, flag), ``local``/``free`` (value: name),
    ``pair`` (value: two local names), ``binary`` (value: symbol), ``compare`` (value: text).
    """

    kind: str
    value: object
    flag: int = 0


_NULL_FORMS = (
    (re.compile(r"NULL\s*\+\s*(.+)\Z"), 1),
    (re.compile(r"(.+?)\s*\+\s*NULL\Z"), 1),
    (re.compile(r"NULL\|self\s*\+\s*(.+)\Z"), 1),
    (re.compile(r"(.+?)\s*\+\s*NULL\|self\Z"), 1),
)


def operand_kind(op: int) -> str:
    """How the argument of ``op`` is written."""
    name = V.OPNAME[op]
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
    if op in V.HASLOCAL:
        return "local"
    if op in V.HASFREE:
        return "free"
    if name == "BINARY_OP":
        return "binary"
    if name == "COMPARE_OP":
        return "compare"
    return "int"


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
        if text.startswith("to "):
            text = text[3:].strip()
        if not re.fullmatch(r"[\w.]+", text):
            raise SyntaxProblem(f"expected a label name, got {text!r}")
        return Operand("label", text)
    if kind == "const":
        return Operand("const", parse_const(text))
    if kind == "name":
        for pattern, flag in _NULL_FORMS:
            match = pattern.match(text)
            if match:
                return Operand("name", match.group(1).strip(), flag)
        return Operand("name", text)
    if kind == "pair":
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise SyntaxProblem(f"expected two local names 'a, b', got {text!r}")
        return Operand("pair", tuple(parts))
    if kind in ("local", "free"):
        return Operand(kind, text)
    if kind == "binary":
        if text in binary_ops():
            return Operand("binary", text)
    if kind == "compare":
        if text in compare_ops():
            return Operand("compare", text)
        if text.startswith("bool(") and text.endswith(")") and text[5:-1] in compare_ops():
            return Operand("compare", text[5:-1])  # before 3.13: jumps test truth anyway
    try:
        return Operand("int", int(text, 0))
    except ValueError:
        pass
    if kind == "binary":
        raise SyntaxProblem(f"expected an operator ({' '.join(binary_ops())}), got {text!r}")
    if kind == "compare":
        raise SyntaxProblem(f"expected a comparison ({' '.join(compare_ops())}), got {text!r}")
    raise SyntaxProblem(f"{V.OPNAME[op]} takes a number, got {text!r}")


def resolve(op: int, operand: Operand, consts: list, names: list[str], ns: Names,
            add_const, add_name) -> int:
    """The int argument of ``operand`` (labels are resolved by the caller)."""
    kind = operand.kind
    if kind in ("int", "raw"):
        return operand.value  # type: ignore[return-value]
    if kind == "const":
        return add_const(operand.value)
    if kind == "name":
        index = add_name(operand.value)
        shift = V.NAME_ARG_SHIFT.get(op, 0)
        return (index << shift) | (operand.flag if shift else 0)
    if kind == "local":
        return _index(V.OPNAME[op], ns.local_table(), operand.value)
    if kind == "free":
        return _index(V.OPNAME[op], ns.deref_table(), operand.value)
    if kind == "pair":
        table = ns.local_table()
        first, second = (_index(V.OPNAME[op], table, n) for n in operand.value)
        if first > 15 or second > 15:
            raise SyntaxProblem(f"{V.OPNAME[op]} can only name locals 0-15")
        return (first << 4) | second
    if kind == "binary":
        return binary_ops()[operand.value][1]
    if kind == "compare":
        return compare_ops()[operand.value]
    raise SyntaxProblem(f"{V.OPNAME[op]}: cannot use a {kind} argument")


def _index(opname: str, table: list[str], name: str) -> int:
    try:
        return table.index(name)
    except ValueError:
        raise SyntaxProblem(f"{opname}: no variable {name!r} (known: "
                            f"{', '.join(table) or 'none'})") from None


def render_arg(op: int, arg, code: types.CodeType, ns: Names, label_names: dict[int, str],
               code_names: dict[int, str] | None = None) -> str:
    """The argument text of one instruction (``arg`` is an int or an ir.Label)."""
    kind = operand_kind(op)
    if kind == "none":
        return "" if not arg else str(arg)
    if kind == "label":
        return label_names[id(arg)]
    text = _symbolic(op, arg, kind, code, ns, code_names)
    if text is None:
        return f"!{arg}"
    if kind == "int":
        return text
    # what we write must read back as the same argument, or we write the raw number
    try:
        operand = parse_arg(op, text)
        if operand is None:
            return f"!{arg}"
        consts, names = list(code.co_consts), list(code.co_names)
        back = resolve(op, operand, consts, names, ns, _finder(consts, code_names),
                       _finder(names, None))
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


def _symbolic(op, arg, kind, code, ns, code_names) -> str | None:
    try:
        if kind == "const":
            return render_const(code.co_consts[arg], code_names)
        if kind == "name":
            shift = V.NAME_ARG_SHIFT.get(op, 0)
            name = code.co_names[arg >> shift]
            flags = arg & ((1 << shift) - 1)
            if not flags:
                return name
            if flags != 1 or shift != 1:
                return None
            null = "NULL" if V.OPNAME[op] == "LOAD_GLOBAL" else "NULL|self"
            return f"{name} + {null}" if V.NULL_AFTER_CALLABLE else f"{null} + {name}"
        if kind == "local":
            return ns.local_table()[arg]
        if kind == "free":
            return ns.deref_table()[arg]
        if kind == "pair":
            table = ns.local_table()
            return f"{table[arg >> 4]}, {table[arg & 15]}"
        if kind == "binary":
            return _binary_symbol(op, arg)
        if kind == "compare":
            for text, value in compare_ops().items():
                if value == arg:
                    return text
            return None
    except IndexError:
        return None
    return str(arg)
