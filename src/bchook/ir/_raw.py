"""A small decoder of ``co_code``, written out by hand to show how the bytes work.

``co_code`` is a string of 2-byte code units: an opcode byte and an argument byte. An
argument wider than a byte is built by ``EXTENDED_ARG`` prefixes, each shifting what it has
so far 8 bits left; on 3.11+ some opcodes are followed by inline ``CACHE`` units that the
specializing interpreter writes into. ``bchook dis --raw`` prints this decoding next to each
instruction's meaning and checks it against the standard library's ``dis``.
"""

from __future__ import annotations

import dis
import types
from dataclasses import dataclass

from . import _version as V

__all__ = ["RawUnit", "decode", "instructions", "check_against_dis"]


@dataclass(frozen=True)
class RawUnit:
    """One 2-byte code unit of ``co_code``.

    ``kind`` is ``"op"`` (an instruction), ``"extended_arg"`` (a prefix) or ``"cache"``.
    ``arg`` is the argument accumulated so far (for an ``op``: its full argument, None if
    the opcode takes none); ``owner`` is the offset of the instruction a prefix or cache
    unit belongs to.
    """

    offset: int
    opcode: int
    arg_byte: int
    kind: str
    name: str
    arg: int | None
    owner: int

    @property
    def hex(self) -> str:
        return f"{self.opcode:02x} {self.arg_byte:02x}"


def decode(raw: bytes) -> list[RawUnit]:
    """Every code unit of ``raw`` (a ``co_code``), in order."""
    units: list[RawUnit] = []
    pending: list[tuple[int, int, int]] = []  # EXTENDED_ARG units waiting for their owner
    extended = 0
    offset = 0
    while offset + 1 < len(raw):
        opcode, arg_byte = raw[offset], raw[offset + 1]
        arg = extended | arg_byte
        if opcode == V.EXTENDED_ARG:
            pending.append((offset, arg_byte, arg))
            extended = arg << 8
            offset += 2
            continue
        for ext_offset, ext_byte, ext_arg in pending:
            units.append(RawUnit(ext_offset, V.EXTENDED_ARG, ext_byte, "extended_arg",
                                 "EXTENDED_ARG", ext_arg, offset))
        pending.clear()
        units.append(RawUnit(offset, opcode, arg_byte, "op", V.OPNAME[opcode],
                             arg if V.has_arg(opcode) else None, offset))
        owner = offset
        offset += 2
        for _ in range(V.CACHES[opcode]):
            units.append(RawUnit(offset, raw[offset], raw[offset + 1], "cache", "CACHE",
                                 None, owner))
            offset += 2
        extended = 0
    for ext_offset, ext_byte, ext_arg in pending:  # a dangling prefix: show it, own nothing
        units.append(RawUnit(ext_offset, V.EXTENDED_ARG, ext_byte, "extended_arg",
                             "EXTENDED_ARG", ext_arg, ext_offset))
    return units


def instructions(raw: bytes) -> list[RawUnit]:
    """Only the instructions (prefixes and caches folded into them)."""
    return [u for u in decode(raw) if u.kind == "op"]


def _dis_instructions(code: types.CodeType) -> list[tuple[int, int, int | None]]:
    """``(offset, opcode, arg)`` of each instruction as the standard library sees it."""
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
