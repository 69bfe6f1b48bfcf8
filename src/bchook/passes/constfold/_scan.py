"""Cheap tests on raw ``co_code`` (no decoding): may the pass fold anything in this code?

They only look for opcode sequences that start a fold, so a miss costs an optimization,
never correctness; what they let through is decoded and examined for real.
"""

from __future__ import annotations

import re
import types

from ... import ir

V = ir.version
_OP = V.OPMAP


def _ops(*names) -> bytes | None:
    """The opcodes of ``names``, or None if one does not exist on this Python."""
    if not all(n in _OP for n in names):
        return None
    return bytes(_OP[n] for n in names)


def _existing(*names) -> list[str]:
    return [n for n in names if n in _OP]


_BINARY = sorted({V.OPNAME[op] for op, _ in V.BINARY_OPERATORS})
_ON_TWO = _existing("COMPARE_OP", "CONTAINS_OP", "IS_OP", "BINARY_SUBSCR", *_BINARY)
_ON_ONE = _existing("TO_BOOL", "UNARY_NOT", "UNARY_NEGATIVE", "UNARY_INVERT",
                    "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_FORWARD_IF_FALSE",
                    "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE",
                    "POP_JUMP_BACKWARD_IF_TRUE", "JUMP_IF_FALSE_OR_POP",
                    "JUMP_IF_TRUE_OR_POP", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE",
                    "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE")
_METHOD = _existing("LOAD_METHOD", "LOAD_ATTR")
_CALLS = _existing("PRECALL", "CALL", "CALL_METHOD")


def _sequences() -> tuple[bytes, ...]:
    seqs = [_ops("LOAD_CONST", "LOAD_CONST", op) for op in _ON_TWO]
    seqs += [_ops("LOAD_CONST", op) for op in _ON_ONE]
    for method in _METHOD:
        seqs += [_ops("LOAD_CONST", method, "LOAD_CONST")]
        seqs += [_ops("LOAD_CONST", method, call) for call in _CALLS]
    seqs += [_ops("LIST_EXTEND", "LOAD_CONST", "BINARY_SUBSCR"),
             _ops("BUILD_LIST", "LOAD_CONST", "BINARY_SUBSCR"),
             _ops("LOAD_CONST", "LOAD_CONST", "LOAD_CONST", "BUILD_SLICE"),
             _ops("LOAD_CONST", "LOAD_CONST", "LOAD_CONST", "BINARY_SLICE")]
    return tuple(s for s in seqs if s)


#: Opcode sequences (inline caches removed) where a fold can start.
FOLD_STARTS = _sequences()
_FOLD_START = re.compile(b"|".join(map(re.escape, FOLD_STARTS)))


def _one_of(*names) -> bytes:
    return b"[" + re.escape(bytes(_OP[n] for n in names if n in _OP)) + b"]"


CONST_CONTAINS = _ops("LOAD_CONST", "CONTAINS_OP")

#: What may follow the load of a constant local for a fold to be possible.
_USE_FOLLOWERS = frozenset(_OP[n] for n in (
    "LOAD_CONST", "COPY", "DUP_TOP", "BINARY_SLICE", "BUILD_TUPLE",
    *_ON_TWO, *_ON_ONE, *_METHOD) if n in _OP)
_LOADS = bytes(_OP[n] for n in ("LOAD_FAST", "LOAD_FAST_CHECK") if n in _OP)
_FUSED_LOADS = bytes(_OP[n] for n in ("LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST")
                     if n in _OP)
_STORES = bytes(_OP[n] for n in ("STORE_FAST", "STORE_FAST_LOAD_FAST") if n in _OP)
_CONST_STORE = re.compile(
    re.escape(bytes((_OP["LOAD_CONST"],))) + b"." + b"[" + re.escape(_STORES) + b"](.)",
    re.S)
_CACHE = b"\0"
_PLAIN_STORES = frozenset(_OP[n] for n in ("STORE_FAST", "DELETE_FAST", "LOAD_FAST_AND_CLEAR")
                          if n in _OP)
_DELETES = frozenset(_OP[n] for n in ("DELETE_FAST", "LOAD_FAST_AND_CLEAR") if n in _OP)
_DOUBLE_STORES = frozenset(_OP[n] for n in ("STORE_FAST_STORE_FAST",) if n in _OP)
_ALL_STORES = bytes(sorted(_PLAIN_STORES | _DOUBLE_STORES | frozenset(
    _OP[n] for n in ("STORE_FAST_LOAD_FAST",) if n in _OP)))


def opcodes(code: types.CodeType) -> bytes:
    """The opcodes of ``code`` in order, inline caches dropped (EXTENDED_ARG kept)."""
    ops = code.co_code[::2]
    return ops.replace(_CACHE, b"") if V.CACHE == 0 else ops


def may_fold(ops: bytes) -> bool:
    return _FOLD_START.search(ops) is not None




def may_propagate(code: types.CodeType) -> bool:
    """A local is stored once from ``LOAD_CONST`` and loaded where a fold could use it."""
    raw = code.co_code
    for m in _CONST_STORE.finditer(raw):
        if m.start() & 1:
            continue
        arg = m.group(1)[0]
        local = arg >> 4 if raw[m.start() + 2] != _OP["STORE_FAST"] else arg
        if _stored_once(raw, local) and _used_in_a_fold(raw, local):
            return True
    return False


def _stored_once(raw: bytes, local: int) -> bool:
    stores = 0
    for op in _ALL_STORES:
        start = 0
        while True:
            i = raw.find(bytes((op,)), start)
            if i < 0:
                break
            if not i & 1:
                arg = raw[i + 1]
                if op in _PLAIN_STORES:
                    hit = arg == local
                else:
                    hit = arg >> 4 == local or (op in _DOUBLE_STORES and arg & 15 == local)
                if hit:
                    stores += 1
                    if stores > 1 or op in _DELETES:
                        return False
            start = i + 1
    return stores == 1


def _used_in_a_fold(raw: bytes, local: int) -> bool:
    followers = _USE_FOLLOWERS
    for op in _LOADS:
        start = 0
        pattern = bytes((op, local))
        while True:
            i = raw.find(pattern, start)
            if i < 0:
                break
            if not i & 1 and i + 2 < len(raw) and raw[i + 2] in followers:
                return True
            start = i + 1
    for op in _FUSED_LOADS:  # 3.13: the local may be the second half of a fused load
        start = 0
        while True:
            i = raw.find(bytes((op,)), start)
            if i < 0:
                break
            if not i & 1 and i + 2 < len(raw) and raw[i + 1] & 15 == local and (
                    raw[i + 2] in followers):
                return True
            start = i + 1
    return False


_GLOBAL_LOADS = tuple((_OP[n], V.LOAD_GLOBAL_SHIFT if n == "LOAD_GLOBAL" else 0,
                       V.CACHES[_OP[n]]) for n in ("LOAD_GLOBAL", "LOAD_NAME"))
_LOAD_ATTR = _OP["LOAD_ATTR"]


def global_feeds_fold(code: types.CodeType, name: str, attrs=None) -> bool:
    """``name`` is loaded (not as a callee) right before something a fold could use; with
    ``attrs`` (a module's listed constants), right before loading one of those."""
    try:
        index = code.co_names.index(name)
    except ValueError:
        return False
    raw = code.co_code
    n = len(raw)
    for op, shift, caches in _GLOBAL_LOADS:
        arg = index << shift
        if arg > 255:
            return True  # behind an EXTENDED_ARG: let the decoder look
        pattern = bytes((op, arg))
        start = 0
        while True:
            i = raw.find(pattern, start)
            if i < 0:
                break
            start = i + 1
            nxt = i + 2 + 2 * caches
            if i & 1 or nxt >= n:
                continue
            if attrs is None:
                if raw[nxt] in _USE_FOLLOWERS:
                    return True
            elif raw[nxt] == _LOAD_ATTR:
                attr = raw[nxt + 1] >> V.LOAD_ATTR_SHIFT
                if attr < len(code.co_names) and code.co_names[attr] in attrs:
                    return True
    return False


_ARG_STARTS = frozenset(_OP[n] for n in ("LOAD_CONST", "BUILD_LIST", "PUSH_NULL") if n in _OP)


def builtin_called_with_constants(code: types.CodeType, names) -> bool:
    """One of the builtins ``names`` is called and its first argument is a constant."""
    raw = code.co_code
    n = len(raw)
    co_names = code.co_names
    for name in names:
        if name not in co_names:
            continue
        index = co_names.index(name)
        for op, shift, caches in _GLOBAL_LOADS:
            arg = (index << shift) | (1 if shift else 0)  # LOAD_GLOBAL's NULL bit (3.11+)
            if arg > 255:
                return True
            pattern = bytes((op, arg))
            start = 0
            while True:
                i = raw.find(pattern, start)
                if i < 0:
                    break
                start = i + 1
                nxt = i + 2 + 2 * caches
                if not i & 1 and nxt < n and raw[nxt] in _ARG_STARTS:
                    return True
    return False
