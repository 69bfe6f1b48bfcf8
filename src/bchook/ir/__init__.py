"""bchook's bytecode IR: decode a code object, edit it with labels, encode it back.

>>> from bchook import ir
>>> bc = ir.Bytecode.from_code(code)
>>> for item in bc.items: ...          # ir.Instr and ir.Label objects, edit in place
>>> new_code = bc.to_code()            # EXTENDED_ARGs, tables and co_stacksize laid out
"""

from ._bytecode import Bytecode
from ._model import NO_LOCATION, Handler, Instr, IRError, Label
from ._helpers import (
    call,
    callable_from,
    load_global,
    mentions,
    nested_code,
    replace_nested_code,
    walk_code,
)
from . import _version as version

__all__ = [
    "Bytecode", "Instr", "Label", "Handler", "IRError", "NO_LOCATION",
    "call", "callable_from", "load_global", "mentions", "nested_code", "replace_nested_code", "walk_code",
    "version",
]
