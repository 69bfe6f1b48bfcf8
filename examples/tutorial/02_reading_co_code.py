"""Step 2: reading co_code by hand, then checking ourselves against dis.

co_code is a string of 2-byte code units: an opcode byte and an argument byte. Arguments
wider than a byte are built by EXTENDED_ARG prefixes (each shifts what it has 8 bits
left); on 3.11+ some opcodes are followed by inline CACHE units for the specializing
interpreter, which a disassembler skips.

Run:  python 02_reading_co_code.py
Then: bchook dis --raw 02_reading_co_code.py:greet
"""

import dis
import opcode
import subprocess
import sys

TAKES_ARG = set(getattr(opcode, "hasarg", range(opcode.HAVE_ARGUMENT, 256)))


def caches_after(op):
    """How many inline CACHE units follow opcode ``op`` (none before 3.11)."""
    entries = getattr(opcode, "_inline_cache_entries", None)
    if entries is None:
        return 0
    if hasattr(entries, "get"):  # 3.13+ key the table by name (3.15: a frozendict)
        return entries.get(opcode.opname[op], 0)
    return entries[op]


def disassemble(code):
    """(offset, opname, argument) of each instruction: a disassembler in 15 lines."""
    raw = code.co_code
    out = []
    extended = 0
    offset = 0
    while offset < len(raw):
        op, arg = raw[offset], raw[offset + 1] | extended
        if op == opcode.EXTENDED_ARG:
            extended = arg << 8
        else:
            out.append((offset, opcode.opname[op], arg if op in TAKES_ARG else None))
            extended = 0
        offset += 2 + 2 * caches_after(op)
    return out


def greet(name, punctuation="!"):
    message = "Hello, " + name
    return message + punctuation


ours = disassemble(greet.__code__)
for offset, name, arg in ours:
    print(f"{offset:>4}  {name:<20} {'' if arg is None else arg}")

theirs = [(i.offset, i.opname, i.arg) for i in dis.get_instructions(greet)]
assert ours == theirs, "our decoder disagrees with dis"
print("our decoder agrees with dis on all", len(ours), "instructions")

# bchook's own hand decoder prints the bytes next to what they mean, with the same check
print()
sys.stdout.flush()
subprocess.run([sys.executable, "-m", "bchook", "dis", "--raw", f"{__file__}:greet"],
               check=True)
