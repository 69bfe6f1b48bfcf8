"""The constants the pass computes with, and the operations it may run at compile time.

Every operation returns its result, or :data:`NO` when folding it could change what the
program does: it would raise (the error must still happen at run time), warn (``-b``'s
BytesWarning, ``~True``'s DeprecationWarning), depend on the run (hash order of a set,
``sys.set_int_max_str_digits``), produce a NaN (``x == x`` containers compare by identity
first) or build something too big to keep in a code object.
"""

from __future__ import annotations

import math
import operator

#: "Cannot fold": the result of an operation that must be left to run time.
NO = object()

#: Bounds on what a fold may build (CPython's own optimizer stops at 4096 characters,
#: 256 items and 128-bit ints; we go further, but never without limit).
MAX_LEN = 1 << 14
MAX_ITEMS = 1 << 10
MAX_INT_BITS = 1 << 12
#: ``int <-> str`` in base 10 is limited at run time by ``sys.set_int_max_str_digits``,
#: whose lowest allowed setting is 640 digits: stay below it whatever the setting.
MAX_DECIMAL_DIGITS = 600
_MAX_DECIMAL_BITS = 1990  # 2**1990 has 600 decimal digits

_ATOMS = (int, bool, str, bytes, float, complex, type(None), type(...))
SINGLETONS = (None, True, False, ...)

_STR, _BYTES = 1, 2


def is_safe(value, _depth: int = 0) -> bool:
    """True for immutable built-in constants of exact types, within the size bounds."""
    t = type(value)
    if t is int:
        return value.bit_length() <= MAX_INT_BITS
    if t is str or t is bytes:
        return len(value) <= MAX_LEN
    if t is float:
        return value == value
    if t is complex:
        return value.real == value.real and value.imag == value.imag
    if t is bool or value is None or value is ...:
        return True
    if (t is tuple or t is frozenset) and _depth < 16:
        return len(value) <= MAX_ITEMS and all(is_safe(v, _depth + 1) for v in value)
    return False


def _kinds(value) -> int:
    """Bit set of str/bytes found in ``value`` (comparing the two warns under ``-b``)."""
    t = type(value)
    if t is str:
        return _STR
    if t is bytes:
        return _BYTES
    if t is tuple or t is frozenset:
        k = 0
        for v in value:
            k |= _kinds(v)
        return k
    return 0


def _mixes(*values) -> bool:
    k = 0
    for v in values:
        k |= _kinds(v)
    return k == _STR | _BYTES


def _has_frozenset(value) -> bool:
    t = type(value)
    if t is frozenset:
        return True
    if t is tuple:
        return any(_has_frozenset(v) for v in value)
    return False


def identity_safe(value) -> bool:
    """True when every equal constant is the same object in CPython, so that loading a
    copy of ``value`` cannot be told apart from loading the original (``is``, ``id``)."""
    t = type(value)
    if value is None or value is ... or t is bool:
        return True
    if t is int:
        return -5 <= value <= 256
    if t is str:
        # the compiler and marshal intern identifier-like constants; 1-char latin-1
        # strings are cached singletons
        return value.isidentifier() or len(value) <= 1 and (not value or ord(value) < 256)
    if t is bytes:
        return len(value) <= 1
    if t is tuple:
        return not value
    return False


def result(value):
    """``value`` if it may become a constant, else NO."""
    return value if is_safe(value) else NO


# -- operators -----------------------------------------------------------------------

_BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor,
}


def _int_bits(v) -> int:
    return abs(int(v)).bit_length() if type(v) in (int, bool) else 0


def _binary_size_ok(symbol: str, a, b) -> bool:
    ta, tb = type(a), type(b)
    seq = (str, bytes, tuple)
    if symbol == "*":
        if ta in seq and tb in (int, bool):
            return len(a) * max(int(b), 0) <= (MAX_ITEMS if ta is tuple else MAX_LEN)
        if tb in seq and ta in (int, bool):
            return len(b) * max(int(a), 0) <= (MAX_ITEMS if tb is tuple else MAX_LEN)
        return _int_bits(a) + _int_bits(b) <= MAX_INT_BITS
    if symbol == "+":
        if ta in seq and tb in seq:
            return len(a) + len(b) <= (MAX_ITEMS if ta is tuple else MAX_LEN)
        return True
    if symbol == "**":
        if ta in (int, bool) and tb in (int, bool):
            base = abs(int(a))
            if base <= 1 or b <= 0:
                return True
            return base.bit_length() * int(b) <= MAX_INT_BITS
        return True
    if symbol == "<<":
        if ta in (int, bool) and tb in (int, bool):
            return b <= MAX_INT_BITS and _int_bits(a) + int(b) <= MAX_INT_BITS
        return True
    if symbol == "%":
        return ta not in (str, bytes)  # printf-style formatting: widths can be huge
    return True


def binary(symbol: str, a, b):
    func = _BINARY.get(symbol)
    if func is None or not is_safe(a) or not is_safe(b) or _mixes(a, b):
        return NO
    if not _binary_size_ok(symbol, a, b):
        return NO
    if (_has_frozenset(a) or _has_frozenset(b)) and symbol in ("+", "*"):
        return NO
    try:
        return result(func(a, b))
    except Exception:
        return NO


_UNARY = {"-": operator.neg, "+": operator.pos, "~": operator.invert, "not": operator.not_}


def unary(symbol: str, a):
    if not is_safe(a) or symbol not in _UNARY:
        return NO
    if symbol == "~" and type(a) is bool:
        return NO  # DeprecationWarning since 3.12
    try:
        return result(_UNARY[symbol](a))
    except Exception:
        return NO


_COMPARE = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
            ">": operator.gt, ">=": operator.ge}


def compare(symbol: str, a, b):
    func = _COMPARE.get(symbol)
    if func is None or not is_safe(a) or not is_safe(b) or _mixes(a, b):
        return NO
    try:
        value = func(a, b)
    except Exception:
        return NO
    return value if type(value) is bool else NO


def contains(item, container):
    """``item in container``."""
    if type(container) not in (str, bytes, tuple, frozenset):
        return NO
    if not is_safe(item) or not is_safe(container) or _mixes(item, container):
        return NO
    try:
        value = item in container
    except Exception:
        return NO
    return value if type(value) is bool else NO


def identical(a, b):
    """``a is b``, decided only when one side is a singleton (None, True, False, ...)."""
    if any(a is s for s in SINGLETONS) or any(b is s for s in SINGLETONS):
        return a is b
    return NO


def truth(a):
    if not is_safe(a):
        return NO
    return bool(a)


def subscript(container, key):
    t = type(container)
    if t not in (str, bytes, tuple) or not is_safe(container):
        return NO
    if type(key) is slice:
        for part in (key.start, key.stop, key.step):
            if part is not None and type(part) not in (int, bool):
                return NO
    elif type(key) not in (int, bool):
        return NO
    try:
        return result(container[key])
    except Exception:
        return NO


def make_slice(*parts):
    for part in parts:
        if part is not None and type(part) not in (int, bool):
            return NO
    return slice(*parts)


# -- builtins (tier 2) and methods of constants ----------------------------------------

def _len_ok(*values) -> bool:
    return all(type(v) not in (str, bytes, tuple) or len(v) <= MAX_LEN for v in values)


def _check_builtin(name: str, args: tuple) -> bool:
    if _mixes(*args):
        return False
    if name in ("str", "repr", "ascii"):
        if not args:
            return True
        v = args[0]
        if name == "str" and type(v) is bytes:
            return False  # BytesWarning under -b
        if _has_frozenset(v):
            return False  # the text would follow this run's hash order
        return _max_int_bits(v) <= _MAX_DECIMAL_BITS
    if name == "int" or name == "float":
        if args and type(args[0]) in (str, bytes):
            return len(args[0]) <= MAX_DECIMAL_DIGITS
        return True
    if name in ("tuple", "sum", "any", "all", "min", "max"):
        if len(args) == 1 and type(args[0]) is frozenset and name == "tuple":
            return False  # iteration order
        return True
    if name == "pow":
        return len(args) == 3 or (len(args) == 2 and _binary_size_ok("**", *args))
    if name in ("bin", "oct", "hex", "chr", "ord", "len", "abs", "bool", "round",
                "divmod", "frozenset"):
        return True
    return False


def _max_int_bits(value) -> int:
    t = type(value)
    if t is int:
        return value.bit_length()
    if t is tuple:
        return max((_max_int_bits(v) for v in value), default=0)
    return 0


PURE_BUILTINS = frozenset((
    "abs", "all", "any", "ascii", "bin", "bool", "chr", "divmod", "float", "frozenset",
    "hex", "int", "len", "max", "min", "oct", "ord", "pow", "repr", "round", "str", "sum",
    "tuple",
))


def call_builtin(name: str, args: tuple):
    """``name(*args)`` for a pure builtin; ``args`` may hold :class:`ListValue` items."""
    import builtins

    if name not in PURE_BUILTINS:
        return NO
    plain = []
    for a in args:
        if type(a) is ListValue:
            if name not in ("len", "tuple", "frozenset", "min", "max", "sum", "any", "all"):
                return NO
            a = a.items
        elif not is_safe(a):
            return NO
        plain.append(a)
    args = tuple(plain)
    if not _check_builtin(name, args):
        return NO
    try:
        return result(getattr(builtins, name)(*args))
    except Exception:
        return NO


class ListValue:
    """A list literal whose items are all constants: never a constant itself (lists are
    mutable), but ``[1, 2, 3][0]`` and ``len([...])`` may still fold."""

    __slots__ = ("items",)

    def __init__(self, items: tuple):
        self.items = items


_STR_METHODS = frozenset((
    "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "index",
    "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
    "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip",
    "swapcase", "title", "upper", "zfill", "encode",
))
_BYTES_METHODS = (_STR_METHODS - {"casefold", "encode", "isdecimal", "isidentifier",
                                  "isnumeric", "isprintable"}) | {"decode", "hex"}
_TUPLE_METHODS = frozenset(("count", "index"))
_INT_METHODS = frozenset(("bit_length", "conjugate"))
_FLOAT_METHODS = frozenset(("is_integer", "hex", "as_integer_ratio", "conjugate"))
METHODS = {str: _STR_METHODS, bytes: _BYTES_METHODS, tuple: _TUPLE_METHODS,
           int: _INT_METHODS, float: _FLOAT_METHODS}
#: Text codecs with a built-in fast path that no registered codec can replace.
_CODECS = frozenset(("utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1"))
_LIST_RESULTS = frozenset(("split", "rsplit", "splitlines"))


def has_method(value, name: str) -> bool:
    allowed = METHODS.get(type(value))
    return allowed is not None and name in allowed


def _method_size_ok(obj, name: str, args: tuple) -> bool:
    if name in ("center", "ljust", "rjust", "zfill"):
        return bool(args) and type(args[0]) in (int, bool) and args[0] <= MAX_LEN
    if name == "expandtabs":
        size = args[0] if args else 8
        return type(size) in (int, bool) and len(obj) * max(size, 1) <= MAX_LEN
    if name == "replace":
        return len(args) >= 2 and type(args[1]) is type(obj) and (
            len(obj) + (len(obj) + 1) * len(args[1]) <= MAX_LEN)
    if name == "join":
        if len(args) != 1:
            return False
        items = args[0].items if type(args[0]) is ListValue else args[0]
        if type(items) is not tuple or not all(type(i) is type(obj) for i in items):
            return False
        return sum(map(len, items)) + len(obj) * len(items) <= MAX_LEN
    if name in ("encode", "decode"):
        if len(args) > 2:
            return False
        if args and (type(args[0]) is not str or args[0].lower() not in _CODECS):
            return False
        return len(args) < 2 or args[1] == "strict"
    return True


def call_method(obj, name: str, args: tuple):
    """``obj.name(*args)`` for a whitelisted pure method; lists come back as ListValue."""
    if not has_method(obj, name) or not is_safe(obj):
        return NO
    plain = []
    for a in args:
        if type(a) is ListValue:
            if name != "join":
                return NO
        elif not is_safe(a):
            return NO
        plain.append(a)
    if _mixes(obj, *(a.items if type(a) is ListValue else a for a in plain)):
        return NO
    if not _method_size_ok(obj, name, tuple(plain)):
        return NO
    plain = [a.items if type(a) is ListValue else a for a in plain]
    try:
        value = getattr(obj, name)(*plain)
    except Exception:
        return NO
    if name in _LIST_RESULTS and type(value) is list:
        items = tuple(value)
        return ListValue(items) if is_safe(items) else NO
    return result(value)


# -- standard-library constants (tier 2) -----------------------------------------------

#: Module attributes that are constants of the interpreter that compiles and runs the code.
STDLIB_CONSTANTS: dict[str, frozenset] = {
    "math": frozenset(("pi", "e", "tau", "inf")),
    "cmath": frozenset(("pi", "e", "tau", "inf")),
    "sys": frozenset(("maxsize", "maxunicode", "byteorder", "hexversion", "platform",
                      "float_repr_style")),
    "string": frozenset(("ascii_letters", "ascii_lowercase", "ascii_uppercase", "digits",
                         "hexdigits", "octdigits", "punctuation", "printable",
                         "whitespace")),
    "os": frozenset(("sep", "altsep", "extsep", "pathsep", "curdir", "pardir", "linesep",
                     "devnull", "name")),
}


def stdlib_value(module: str, attr: str):
    """The value of ``module.attr`` if it is a listed constant, else NO."""
    if attr not in STDLIB_CONSTANTS.get(module, ()):
        return NO
    import importlib

    try:
        value = getattr(importlib.import_module(module), attr)
    except Exception:
        return NO
    if module == "math" and math.isnan(value if type(value) is float else 0.0):
        return NO
    return result(value)
