"""Writers and readers of ``co_linetable`` and ``co_exceptiontable``.

Formats: CPython's ``Objects/lnotab_notes.txt`` (3.10), ``Objects/locations.md`` (3.11+)
and ``InternalDocs/exception_handling.md`` (3.11+). Locations are written one entry per
instruction, as CPython's assembler writes them.
"""

from __future__ import annotations


def parse_exception_table(table: bytes) -> list[tuple[int, int, int, int, bool]]:
    """``[(start, end, target, depth, lasti)]`` in code units, ``end`` exclusive."""
    entries = []
    pos = 0
    n = len(table)

    def varint() -> int:
        nonlocal pos
        b = table[pos]
        pos += 1
        value = b & 63
        while b & 64:
            b = table[pos]
            pos += 1
            value = (value << 6) | (b & 63)
        return value

    while pos < n:
        start = varint()
        length = varint()
        target = varint()
        dl = varint()
        entries.append((start, start + length, target, dl >> 1, bool(dl & 1)))
    return entries


def _except_varint(out: bytearray, value: int, msb: int) -> None:
    if value >= 1 << 24:
        out.append((value >> 24) & 63 | 64 | msb)
        msb = 0
    if value >= 1 << 18:
        out.append((value >> 18) & 63 | 64 | msb)
        msb = 0
    if value >= 1 << 12:
        out.append((value >> 12) & 63 | 64 | msb)
        msb = 0
    if value >= 1 << 6:
        out.append((value >> 6) & 63 | 64 | msb)
        msb = 0
    out.append(value & 63 | msb)


def build_exception_table(entries) -> bytes:
    """``entries``: iterable of ``(start, end, target, depth, lasti)`` in code units."""
    out = bytearray()
    for start, end, target, depth, lasti in entries:
        _except_varint(out, start, 128)
        _except_varint(out, end - start, 0)
        _except_varint(out, target, 0)
        _except_varint(out, (depth << 1) | int(lasti), 0)
    return bytes(out)


def build_linetable_310(lines, sizes, firstlineno: int) -> bytes:
    """3.10 ``co_linetable``: (byte delta, line delta) pairs; -128 marks "no line".

    ``lines[i]`` is the line of instruction ``i`` (or None); ``sizes[i]`` its code units.
    """
    out = bytearray()
    prev_line = firstlineno
    cur_line = -2  # sentinel: nothing open yet
    run = 0

    def flush(line, units):
        nonlocal prev_line
        bdelta = units * 2
        if bdelta == 0:
            return
        if line is None:
            ldelta = -128
        else:
            ldelta = line - prev_line
            prev_line = line
            while ldelta > 127:
                out.extend((0, 127))
                ldelta -= 127
            while ldelta < -127:
                out.extend((0, 129))  # -127 as a signed byte
                ldelta += 127
        while bdelta > 254:
            out.extend((254, ldelta & 255))
            ldelta = -128 if line is None else 0
            bdelta -= 254
        out.extend((bdelta, ldelta & 255))

    for line, size in zip(lines, sizes):
        if line != cur_line:
            if cur_line != -2:
                flush(cur_line, run)
            cur_line = line
            run = 0
        run += size
    if cur_line != -2:
        flush(cur_line, run)
    return bytes(out)


def _varint(out: bytearray, value: int) -> None:
    while value >= 64:
        out.append(64 | (value & 63))
        value >>= 6
    out.append(value)


def _svarint(out: bytearray, value: int) -> None:
    _varint(out, ((-value) << 1) | 1 if value < 0 else value << 1)


def build_locations(locs, sizes, firstlineno: int, merge_runs: bool = False) -> bytes:
    """3.11+ ``co_linetable`` (the location table): one entry per instruction, or with
    ``merge_runs`` one per run of instructions at the same location (as 3.12+ write it, so
    that an unchanged table comes out byte for byte the same).

    ``locs[i]`` is ``(lineno, end_lineno, col, end_col)`` of instruction ``i``, its
    ``sizes[i]`` code units include EXTENDED_ARG prefixes and inline caches.
    """
    runs: list = []
    for loc, size in zip(locs, sizes):
        if merge_runs and runs and runs[-1][0] == loc:
            runs[-1][1] += size
        else:
            runs.append([loc, size])
    out = bytearray()
    append = out.append
    prev = firstlineno
    for loc, size in runs:
        line, end_line, col, end_col = loc
        while size > 0:
            n = 8 if size > 8 else size
            size -= n
            head = 0x80 | (n - 1)
            if line is None:
                append(head | (15 << 3))
                continue
            delta = line - prev
            prev = line
            if col is None or end_col is None:
                if end_line == line and col is None and end_col is None:
                    append(head | (13 << 3))
                    _svarint(out, delta)
                    continue
            elif end_line == line:
                if delta == 0 and col < 80 and 0 <= end_col - col < 16:
                    append(head | ((col >> 3) << 3))
                    append(((col & 7) << 4) | (end_col - col))
                    continue
                if 0 <= delta < 3 and col < 128 and end_col < 128:
                    append(head | ((10 + delta) << 3))
                    append(col)
                    append(end_col)
                    continue
            append(head | (14 << 3))
            _svarint(out, delta)
            _varint(out, (end_line - line) if end_line is not None else 0)
            _varint(out, col + 1 if col is not None else 0)
            _varint(out, end_col + 1 if end_col is not None else 0)
    return bytes(out)
