"""Keep 3.14's borrowed local loads safe in edited code.

CPython 3.14 turns ``LOAD_FAST`` into ``LOAD_FAST_BORROW`` (no reference count taken)
where it proves that the local outlives the value on the stack: the value must be
consumed before anything rebinds or deletes the local, must not be stored into a local,
and must not outlive its basic block (``Python/flowgraph.c``, ``optimize_load_fast``).
An edit can break that proof (a jump into the middle, a store put before the use), and
then a rebound local frees an object the stack still points to. As in CPython, values
an exception handler keeps on the stack are left to the handler's code, which is the
compiler's (passes add handlers only to report and re-raise, see the trace pass).

:func:`unsafe_borrows` checks every borrowed load of the code as it will be encoded,
with CPython's own rules on the final instructions, and names the ones the rules no
longer allow; the encoder turns those back into plain loads (``LOAD_FAST``), which are
always safe. Code CPython compiled passes unchanged (checked over the whole standard
library), so only what an edit reaches loses its borrow.
"""

from __future__ import annotations

from . import _version as V

__all__ = ["unsafe_borrows"]

_OP = V.OPMAP
_NO = -1  # an op this interpreter does not have
BORROWS = frozenset(_OP[n] for n in ("LOAD_FAST_BORROW", "LOAD_FAST_BORROW_LOAD_FAST_BORROW")
                    if n in _OP)
#: borrowed load -> the plain load it becomes when unsafe
PLAIN_OF = {_OP[b]: _OP[p] for b, p in (
    ("LOAD_FAST_BORROW", "LOAD_FAST"),
    ("LOAD_FAST_BORROW_LOAD_FAST_BORROW", "LOAD_FAST_LOAD_FAST")) if b in _OP}

_LOAD = frozenset(_OP[n] for n in ("LOAD_FAST", "LOAD_FAST_BORROW") if n in _OP)
_LOAD_PAIR = frozenset(_OP[n] for n in ("LOAD_FAST_LOAD_FAST",
                                        "LOAD_FAST_BORROW_LOAD_FAST_BORROW") if n in _OP)
_LOAD_AND_CLEAR = _OP.get("LOAD_FAST_AND_CLEAR", _NO)
_STORE = _OP.get("STORE_FAST", _NO)
_STORE_LOAD = _OP.get("STORE_FAST_LOAD_FAST", _NO)
_STORE_STORE = _OP.get("STORE_FAST_STORE_FAST", _NO)
#: Not among CPython's cases (its compiler never deletes a local with a load of it
#: still on the stack); an edit may, so it kills like a store.
_DELETE = _OP.get("DELETE_FAST", _NO)
_COPY = _OP.get("COPY", _NO)
_SWAP = _OP.get("SWAP", _NO)
_CHECK_EXC_MATCH = _OP.get("CHECK_EXC_MATCH", _NO)
_FOR_ITER = _OP.get("FOR_ITER", _NO)
_SEND = _OP.get("SEND", _NO)
_ATTRS = frozenset(_OP[n] for n in ("LOAD_ATTR", "LOAD_SUPER_ATTR") if n in _OP)
_SUPER_ATTR = _OP.get("LOAD_SUPER_ATTR", _NO)
#: Instructions that leave their inputs where they are and push more (CPython's list).
_PUSH_ONLY = frozenset(_OP[n] for n in (
    "GET_ANEXT", "GET_LEN", "IMPORT_FROM", "MATCH_KEYS", "MATCH_MAPPING", "MATCH_SEQUENCE",
    "WITH_EXCEPT_START") if n in _OP)
#: Instructions that take some inputs and leave the ones below (CPython's list).
_POP_ONLY = frozenset(_OP[n] for n in (
    "DICT_MERGE", "DICT_UPDATE", "LIST_APPEND", "LIST_EXTEND", "MAP_ADD", "RERAISE",
    "SET_ADD", "SET_UPDATE") if n in _OP)


def _counts_table() -> dict:
    from ._stack_metadata import TABLES
    table = TABLES.get(V.VERSION, {})
    return {_OP[name]: (eval(f"lambda oparg: {popped}"), eval(f"lambda oparg: {pushed}"))
            for name, (popped, pushed) in table.items() if name in _OP}


_COUNTS: dict | None = None

# flags of a borrowed load
_KILLED = 1      # the local was rebound or deleted while the value was on the stack
_STORED = 2      # the value was stored into a local
_UNCONSUMED = 4  # the value outlived its basic block


def unsafe_borrows(instrs, block_starts, depths) -> list[int]:
    """Indexes into ``instrs`` of the borrowed loads CPython's rules no longer allow.

    ``block_starts``: indexes where control may arrive other than by falling through
    (jump and handler targets); ``depths``: stack depth before each instruction (None
    where unreachable), as the encoder's stack analysis found them.
    """
    global _COUNTS
    if _COUNTS is None:
        _COUNTS = _counts_table()
    counts = _COUNTS
    n = len(instrs)
    flags: dict[int, int] = {}
    stack: list[tuple[int, int]] = []  # (index of the producing instruction or -1, local)
    boundary = True

    def kill(local: int) -> None:
        for producer, held in stack:
            if held == local and producer >= 0:
                flags[producer] = flags.get(producer, 0) | _KILLED

    def store(local: int) -> None:
        producer, _ = stack.pop()
        kill(local)
        if producer >= 0:
            flags[producer] = flags.get(producer, 0) | _STORED

    def end_block() -> None:
        for producer, _ in stack:
            if producer >= 0:
                flags[producer] = flags.get(producer, 0) | _UNCONSUMED
        stack.clear()

    for i in range(n):
        if boundary or i in block_starts:
            end_block()
            depth = depths[i]
            if depth is None:  # unreachable: nothing to check until the next block
                boundary = True
                continue
            stack.extend([(-1, -1)] * depth)
        boundary = False
        ins = instrs[i]
        op = ins.op
        arg = ins.arg if type(ins.arg) is int else 0
        if op in _LOAD:
            stack.append((i, arg))
        elif op == _LOAD_AND_CLEAR:
            kill(arg)
            stack.append((i, arg))
        elif op in _LOAD_PAIR:
            stack.append((i, arg >> 4))
            stack.append((i, arg & 15))
        elif op == _STORE:
            store(arg)
        elif op == _STORE_LOAD:
            store(arg >> 4)
            stack.append((i, arg & 15))
        elif op == _STORE_STORE:
            store(arg >> 4)
            store(arg & 15)
        elif op == _DELETE:
            kill(arg)
        elif op == _COPY:
            stack.append(stack[len(stack) - arg])
        elif op == _SWAP:
            stack[-1], stack[-arg] = stack[-arg], stack[-1]
        elif op in _PUSH_ONLY or op in _POP_ONLY:
            net = V.stack_effects(op, arg)[0]
            if net < 0:
                del stack[len(stack) + net:]
            else:
                stack.extend([(i, -1)] * net)
        elif op == _CHECK_EXC_MATCH:
            stack.pop()
            stack.append((i, -1))
        elif op == _FOR_ITER:
            stack.append((i, -1))
        elif op in _ATTRS:
            owner = stack.pop()
            if op == _SUPER_ATTR:
                del stack[-2:]
            stack.append((i, -1))
            if arg & 1:  # a method: the owner may be pushed back as it was
                stack.append(owner)
        elif op == _SEND:
            stack.pop()
            stack.append((i, -1))
        else:
            count = counts.get(op)
            if count is None:  # not in CPython's metadata: trust nothing on the stack
                end_block()
                after = depths[i] + V.stack_effects(op, arg)[0]
                stack.extend([(i, -1)] * max(after, 0))
            else:
                popped = count[0](arg)
                pushed = count[1](arg)
                if popped:
                    del stack[len(stack) - popped:]
                stack.extend([(i, -1)] * pushed)
        if op in V.JUMPS or op in V.NO_FALLTHROUGH:
            boundary = True
    end_block()
    return sorted(i for i, f in flags.items() if f and instrs[i].op in BORROWS)
