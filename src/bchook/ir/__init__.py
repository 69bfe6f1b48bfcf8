"""bchook's bytecode IR: decode a code object, edit it with labels, encode it back.

>>> from bchook import ir
>>> bc = ir.Bytecode.from_code(code)
>>> uses = bc.table_uses()             # the consts/names in use before the edit
>>> for item in bc.items: ...          # ir.Instr and ir.Label objects, edit in place
>>> bc.drop_unused(uses)               # drop those the edit left unused, renumbering
>>> new_code = bc.to_code()            # EXTENDED_ARGs, tables and co_stacksize laid out

Everything that differs between CPython releases is answered here: ``ir.version`` holds
the capabilities of the running interpreter, the builders (``ir.call``, ``ir.swap``,
``ir.jump_if``, ``ir.load_const``...) make the instruction sequences of each idiom and the
readers (``ir.constant_of``, ``ir.jump_sense``...) say what a decoded instruction means;
``ir.Flow`` is the control-flow graph and ``ir.raw`` the decoder of raw ``co_code``.
"""

from . import _version as version
from ._bytecode import Bytecode, TableUses
from ._model import NO_LOCATION, Handler, Instr, IRError, Label
from ._helpers import mentions, nested_code, replace_nested_code, walk_code
from ._flow import Flow, drop_unreachable, drop_unused_labels
from ._builders import (
    NOT_CONSTANT,
    binary_op,
    binary_operator_of,
    body_start,
    call,
    call_on_copy,
    call_method,
    callable_from,
    compare_operator_of,
    constant_of,
    copy,
    dup_top_two,
    for_loop_exit,
    fuse,
    import_from,
    import_name,
    invert_jump,
    is_subscript,
    jump,
    jump_if,
    jump_sense,
    load_attr,
    load_const,
    load_global,
    load_method,
    loads_constant,
    local_accesses,
    local_name,
    name_index_of,
    operation_of,
    pop_top,
    pushes_null,
    return_const,
    return_value,
    returns_values,
    sink,
    subscript,
    swap,
    # trace
    block_pop,
    block_setup,
    call_on_top,
    lift,
    resumes_after,
    run_frame_on_close,
    # tools (bchook dis, bchook.asm)
    compare_makes_bool,
    compare_op,
    follower_of,
    jump_back_if,
    local_pair_arg,
    makes_bool,
    name_arg,
    name_flags_of,
    operator,
    operator_of,
    prologue,
)
from . import _raw as raw

__all__ = [
    "Bytecode", "TableUses", "Instr", "Label", "Handler", "IRError", "NO_LOCATION",
    "mentions", "nested_code", "replace_nested_code", "walk_code",
    "Flow", "drop_unreachable", "drop_unused_labels",
    "NOT_CONSTANT", "binary_op", "binary_operator_of", "body_start", "call", "call_method",
    "callable_from", "compare_operator_of", "constant_of", "copy", "dup_top_two",
    "for_loop_exit", "import_from", "import_name", "invert_jump", "is_subscript", "jump",
    "jump_if", "jump_sense", "load_attr", "load_const", "load_global", "load_method",
    "loads_constant", "local_accesses", "local_name", "name_index_of", "pop_top",
    "pushes_null", "return_value", "returns_values", "sink", "subscript", "swap",
    "block_pop", "block_setup", "call_on_top", "lift", "resumes_after",
    "run_frame_on_close",
    "compare_makes_bool", "compare_op", "follower_of", "jump_back_if",
    "local_pair_arg", "makes_bool", "name_arg", "name_flags_of", "operator", "operator_of", "prologue", "return_const",
    "operation_of", "call_on_copy", "fuse",
    "version", "raw",
]

# -- goto --
from ._builders import exception_regions, jump_if_at  # noqa: E402

__all__ += ["exception_regions", "jump_if_at"]

# -- tools: words of other releases --
from ._builders import idiom_of  # noqa: E402

__all__ += ["idiom_of"]

# -- constfold: imports that may be lazy --
from ._builders import import_may_be_lazy  # noqa: E402

__all__ += ["import_may_be_lazy"]
