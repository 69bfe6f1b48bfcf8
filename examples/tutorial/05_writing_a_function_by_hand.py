"""Step 5: writing functions by hand with bchook.asm.

The same listing works on Python 3.10 to 3.15: bchook.asm spells ``BINARY_OP +``,
``CALL``, ``RESUME`` & co. the way the running interpreter wants them, computes the stack
size and turns labels into jumps.
"""

import subprocess
import sys

from bchook import asm

add_one = asm.function("add_one", [
    "LOAD_FAST x",
    "LOAD_CONST 1",
    "BINARY_OP +",
    "RETURN_VALUE",
], args=["x"])
print("add_one(41) =", add_one(41))
assert add_one(41) == 42

# a loop: labels are lines "name:", jumps name them
countdown = asm.function("countdown", [
    "loop:",
    "LOAD_GLOBAL NULL + print",      # the NULL is what a call needs on 3.11+
    "LOAD_FAST n",
    "CALL 1",
    "POP_TOP",
    "LOAD_FAST n",
    "LOAD_CONST 1",
    "BINARY_OP -=",
    "STORE_FAST n",
    "LOAD_FAST n",
    "POP_JUMP_IF_TRUE loop",         # a backward conditional jump, even on 3.12+
    "RETURN_CONST 'liftoff'",
], args=["n"])
print(countdown(3))
print("stack size, computed:", countdown.__code__.co_stacksize)

# bchook dis --asm prints any code object in this form; assemble() reads it back
listing = asm.listing(add_one)
print(listing)
again = asm.assemble(listing)
assert again.co_code == add_one.__code__.co_code
assert "liftoff" in asm.listing(countdown)

print("bchook dis --asm shows a file's functions the same way:")
sys.stdout.flush()
subprocess.run([sys.executable, "-m", "bchook", "dis", "--asm", "app.py:main"], check=True)
