"""The ``identity`` pass: every code object through the IR and back, unchanged in meaning.

With ``pad=1`` it also puts a NOP before every instruction (after the labels that name it,
so jumps land on the NOP), so every offset, jump, line table entry and exception-table
range moves: a stress test of the encoder.
"""

from __future__ import annotations

from .. import ir
from ..pipeline.api import Context, Option, Pass, flag


#: Where no NOP goes: before the instructions that must stay where they are, and before
#: those tracers tell apart from a NOP that begins their line.
_FIXED = ir.version.FIXED_PLACE | ir.version.OWN_LINE_START


class IdentityPass(Pass):
    name = "identity"
    version = "1"
    option_specs = (
        Option("pad", flag, False, "a NOP before every instruction, so every offset moves "
                                   "(a stress test of the encoder)"),
    )

    def transform_ir(self, bytecode: ir.Bytecode, ctx: Context) -> bool:
        if not self.options.get("pad"):
            return True  # re-encode what was decoded: the round trip is the point
        glued = ir.version.GLUED_NEXT
        adjacent = ir.version.KEEP_ADJACENT
        padded = []
        before = None  # the instruction before this one
        for item in bytecode.items:
            if type(item) is ir.Instr:
                kept_together = before is not None and (
                    before.op in glued or (before.op, item.op) in adjacent)
                if not kept_together and item.op not in _FIXED:
                    # The NOP is where the instruction was: its location (so that it, not
                    # the instruction, begins a line when the instruction did) and its
                    # handler. CPython 3.12 reports a line event on falling into a jump
                    # target from an instruction with inline caches: a NOP placed after
                    # that instruction instead would hide it.
                    padded.append(ir.Instr("NOP", 0, item.loc, item.handler))
                before = item
            padded.append(item)
        bytecode.items = padded
        return True
