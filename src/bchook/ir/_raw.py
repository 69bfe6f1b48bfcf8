"""The one decoder of raw ``co_code``, written out by hand to show how the bytes work.

``co_code`` is a string of 2-byte code units: an opcode byte and an argument byte. An
argument wider than a byte is built by ``EXTENDED_ARG`` prefixes, each shifting what it has
so far 8 bits left; on 3.11+ some opcodes are followed by inline ``CACHE`` units that the
specializing interpreter writes into.

:func:`walk` is the decoding loop itself; the IR (``Bytecode.from_code``), the cheap scans
passes make before decoding (:func:`instructions_of`, :func:`opcodes`) and
``bchook dis --raw`` (:func:`decode`, every unit, checked against the standard library's
``dis`` by :func:`check_against_dis`) all read ``co_code`` through it.
"""

from __future__ import annotations

import types

from . import _version as V

__all__ = ["RawUnit", "walk", "instructions_of", "opcodes", "decode", "instructions",
           "check_against_dis"]

_EXT = V.EXTENDED_ARG
_CACHES = V.CACHES


def walk(raw: bytes):
    """``(first unit, opcode, argument, units)`` of each instruction of ``raw``.

    ``first unit`` is where the instruction starts, its EXTENDED_ARG prefixes included;
    ``units`` counts the prefixes, the instruction and its inline caches. An argument is
    returned for every opcode (the byte is there even when the opcode ignores it). A
    trailing EXTENDED_ARG with nothing after it is returned as itself (``EXTENDED_ARG``).
    """
    n = len(raw) // 2
    i = 0
    ext = 0
    first = -1  # where the pending EXTENDED_ARG prefixes began
    caches = _CACHES
    while i < n:
        op = raw[2 * i]
        arg = raw[2 * i + 1] | ext
        if op == _EXT:
            if first < 0:
                first = i
            ext = arg << 8
            i += 1
            continue
        start = i if first < 0 else first
        i += 1 + caches[op]
        yield start, op, arg, i - start
        ext = 0
        first = -1
    if first >= 0:
        yield first, _EXT, ext >> 8, i - first


def instructions_of(code: types.CodeType) -> list[tuple[int, int]]:
    """``(opcode, argument)`` of every instruction of ``code``, without building the IR:
    for cheap scans that decide whether decoding is worth it. Item ``k`` is the
    instruction whose opcode is byte ``k`` of :func:`opcodes`, so a scan can search the
    opcodes and read the arguments only where it found something."""
    raw = _without_caches(code.co_code)
    ops = raw[::2]
    units = list(zip(ops, raw[1::2]))
    at = ops.rfind(_EXT_UNIT)
    if at < 0:
        return units
    if at == len(ops) - 1:  # a dangling prefix: the walk says what it is
        return [(op, arg) for _, op, arg, _ in walk(code.co_code)]
    # Arguments wider than a byte (few): fold each EXTENDED_ARG into the unit after it,
    # from the first on, so that a run of prefixes adds up as in the walk.
    prefixes = []
    at = ops.find(_EXT_UNIT)
    while at >= 0:
        prefixes.append(at)
        at = ops.find(_EXT_UNIT, at + 1)
    for removed, at in enumerate(prefixes):
        at -= removed
        op, arg = units[at + 1]
        units[at + 1] = (op, (units[at][1] << 8) | arg)
        del units[at]
    return units


def opcodes(code: types.CodeType) -> bytes:
    """The opcodes of ``code`` in order as bytes (caches and EXTENDED_ARGs dropped), for
    searching with ``bytes.find`` or regular expressions."""
    ops = code.co_code[::2]
    if _CACHE_PAIR:  # a cache unit's opcode byte is 0, which no instruction has
        ops = ops.replace(_CACHE_PAIR[:1], b"")
    return ops.replace(_EXT_UNIT, b"")


def _without_caches(raw: bytes) -> bytes:
    """``raw`` without its inline cache units, as the walk skips them, but without a
    Python step per instruction.

    ``co_code`` shows every cache unit as two zero bytes (CACHE, opcode 0 on 3.11+, with
    argument 0), however the code object was made, and no instruction has opcode 0. So
    after an instruction's opcode byte comes a run of zero bytes: its argument if that is
    0, then two per cache unit, up to the next (non-zero) opcode. Dropping the zero pairs
    from the left leaves exactly the argument byte of such a run.
    """
    return raw.replace(_CACHE_PAIR, b"") if _CACHE_PAIR else raw


_CACHE_PAIR = bytes((V.CACHE, 0)) if V.CACHE == 0 else b""
_EXT_UNIT = bytes((_EXT,))


class RawUnit:
    """One 2-byte code unit of ``co_code``.

    ``kind`` is ``"op"`` (an instruction), ``"extended_arg"`` (a prefix) or ``"cache"``.
    ``arg`` is the argument accumulated so far (for an ``op``: its full argument, None if
    the opcode takes none); ``owner`` is the offset of the instruction a prefix or cache
    unit belongs to. (Not a dataclass: ``dataclasses`` costs milliseconds at start-up.)
    """

    __slots__ = ("offset", "opcode", "arg_byte", "kind", "name", "arg", "owner")

    def __init__(self, offset: int, opcode: int, arg_byte: int, kind: str, name: str,
                 arg: int | None, owner: int):
        for slot, value in zip(self.__slots__, (offset, opcode, arg_byte, kind, name, arg,
                                                owner)):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"RawUnit is read-only: cannot set {name!r}")

    def _fields(self) -> tuple:
        return tuple(getattr(self, slot) for slot in self.__slots__)

    def __eq__(self, other):
        return self._fields() == other._fields() if type(other) is RawUnit else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "RawUnit(" + ", ".join(f"{slot}={getattr(self, slot)!r}"
                                      for slot in self.__slots__) + ")"

    @property
    def hex(self) -> str:
        return f"{self.opcode:02x} {self.arg_byte:02x}"


def decode(raw: bytes) -> list[RawUnit]:
    """Every code unit of ``raw`` (a ``co_code``), in order."""
    units: list[RawUnit] = []
    for first, opcode, arg, size in walk(raw):
        if opcode == _EXT:  # a dangling prefix: show it, owning nothing
            prefixes, own = size, first
        else:
            prefixes = size - 1 - _CACHES[opcode]
            own = first + prefixes
        offset = 2 * own
        accumulated = 0
        for unit in range(first, first + prefixes):
            accumulated = (accumulated << 8) | raw[2 * unit + 1]
            units.append(RawUnit(2 * unit, _EXT, raw[2 * unit + 1], "extended_arg",
                                 "EXTENDED_ARG", accumulated, offset))
        if opcode == _EXT:
            continue
        units.append(RawUnit(offset, opcode, raw[offset + 1], "op", V.OPNAME[opcode],
                             arg if V.has_arg(opcode) else None, offset))
        for unit in range(own + 1, first + size):
            if 2 * unit + 1 < len(raw):
                units.append(RawUnit(2 * unit, raw[2 * unit], raw[2 * unit + 1], "cache",
                                     "CACHE", None, offset))
    return units


def instructions(raw: bytes) -> list[RawUnit]:
    """Only the instructions (prefixes and caches folded into them)."""
    return [u for u in decode(raw) if u.kind == "op"]


def _dis_instructions(code: types.CodeType) -> list[tuple[int, int, int | None]]:
    """``(offset, opcode, arg)`` of each instruction as the standard library sees it."""
    import dis  # for the tools' checks only: it costs start-up time

    out = []
    for ins in dis.get_instructions(code):
        if ins.opname == "EXTENDED_ARG":  # 3.10-3.12 list prefixes as instructions
            continue
        out.append((ins.offset, ins.opcode, ins.arg))
    return out


def check_against_dis(code: types.CodeType) -> tuple[int, list[str]]:
    """Compare :func:`decode` with ``dis.get_instructions``.

    Returns the number of instructions compared and one message per disagreement.
    """
    ours = [(u.offset, u.opcode, u.arg) for u in instructions(code.co_code)]
    theirs = _dis_instructions(code)
    problems = []
    if len(ours) != len(theirs):
        problems.append(f"{len(ours)} instructions decoded, dis lists {len(theirs)}")
    for (o_off, o_op, o_arg), (d_off, d_op, d_arg) in zip(ours, theirs):
        if (o_off, o_op, o_arg) != (d_off, d_op, d_arg):
            problems.append(
                f"offset {o_off}: decoded {V.OPNAME[o_op]} arg {o_arg}, dis says offset "
                f"{d_off} {V.OPNAME[d_op]} arg {d_arg}")
    return len(ours), problems
