"""The ``identity`` pass: every code object through the IR and back, unchanged in meaning.

With ``pad=1`` it also puts a NOP after every instruction, so every offset, jump, line
table entry and exception-table range moves: a stress test of the encoder.
"""

from __future__ import annotations

from .. import ir
from .._passes import Context, Pass, flag


class IdentityPass(Pass):
    name = "identity"
    version = "1"
    option_types = {"pad": flag}

    def transform_ir(self, bytecode: ir.Bytecode, ctx: Context) -> bool:
        if not self.options.get("pad"):
            return True  # re-encode what was decoded: the round trip is the point
        glued = ir.version.GLUED_NEXT
        adjacent = ir.version.KEEP_ADJACENT
        resume = ir.version.OPMAP.get("RESUME", -1)
        items = bytecode.items
        padded = []
        for i, item in enumerate(items):
            padded.append(item)
            after = items[i + 1] if i + 1 < len(items) else None
            if adjacent and type(after) is ir.Instr and type(item) is ir.Instr and \
                    (item.op, after.op) in adjacent:
                continue
            if type(item) is ir.Instr and item.op not in glued:
                # 3.12+ report a line event for the first located instruction after the
                # function's first RESUME (oparg 0): a NOP there with RESUME's location
                # would add one for the def line. After the other RESUMEs (yield, await)
                # the NOP must keep the location, or the next line would be reported again.
                loc = ir.NO_LOCATION if item.op == resume and not item.arg & 3 else item.loc
                padded.append(ir.Instr("NOP", 0, loc, item.handler))
        bytecode.items = padded
        return True
