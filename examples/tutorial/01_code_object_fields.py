"""Step 1: a function's code object and its fields.

Run:  python 01_code_object_fields.py
Then: bchook dis 01_code_object_fields.py:greet
"""

import dis
import subprocess
import sys


def greet(name, punctuation="!"):
    """Say hello."""
    message = "Hello, " + name
    return message + punctuation


code = greet.__code__
print("greet.__code__ is a", type(code).__name__)
print("co_name      ", code.co_name)
print("co_argcount  ", code.co_argcount, "  (name, punctuation)")
print("co_varnames  ", code.co_varnames, "  (arguments first, then other locals)")
print("co_consts    ", code.co_consts, "  (the docstring comes first)")
print("co_names     ", code.co_names, "  (globals and attributes used: none here)")
print("co_stacksize ", code.co_stacksize, "  (deepest the value stack gets)")
print("co_flags     ", hex(code.co_flags), dis.pretty_flags(code.co_flags))
print("co_code      ", len(code.co_code), "bytes:", code.co_code.hex(" "))

assert code.co_varnames[:2] == ("name", "punctuation")
assert code.co_consts[0] == "Say hello."
assert "Hello, " in code.co_consts

# bchook dis shows every co_* field, the line table as ranges and the instructions
print()
sys.stdout.flush()
subprocess.run([sys.executable, "-m", "bchook", "dis", f"{__file__}:greet"], check=True)
