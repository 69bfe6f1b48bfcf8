"""Step 4: patching an instruction, first in the raw bytes, then with bchook.ir.

We turn ``a + b`` into ``a - b``. The byte that says "add" differs between versions
(3.10 has a BINARY_ADD opcode, 3.11+ one BINARY_OP opcode whose argument picks the
operator), so instead of hard-coding numbers we ask the compiler what ``a - b`` looks like.
"""

import dis

from bchook import ir


def add(a, b):
    return a + b


def operator_instruction(func):
    """The instruction that applies the binary operator in ``func``."""
    return next(i for i in dis.get_instructions(func)
                if i.opname.startswith(("BINARY_", "INPLACE_")))


plus = operator_instruction(add)
minus = operator_instruction(lambda a, b: a - b)
print(f"'+' is {plus.opname} {plus.arg} at offset {plus.offset}")
print(f"'-' is {minus.opname} {minus.arg}")

# 1. by hand: overwrite the opcode byte and the argument byte at that offset
raw = bytearray(add.__code__.co_code)
raw[plus.offset] = minus.opcode
raw[plus.offset + 1] = minus.arg or 0
subtract = type(add)(add.__code__.replace(co_code=bytes(raw)), globals())
print("patched bytes:  subtract(10, 3) =", subtract(10, 3))
assert subtract(10, 3) == 7

# 2. with bchook.ir: no offsets to count, and the encoder redoes sizes, jumps and tables
bc = ir.Bytecode.from_code(add.__code__)
for ins in bc.instructions():
    if ins.op == plus.opcode and ins.arg == (plus.arg or 0):
        ins.op, ins.arg = minus.opcode, minus.arg or 0
subtract2 = type(add)(bc.to_code(), globals())
print("with bchook.ir: subtract2(10, 3) =", subtract2(10, 3))
assert subtract2(10, 3) == 7
