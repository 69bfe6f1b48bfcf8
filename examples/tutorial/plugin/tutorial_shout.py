"""The ``shout`` pass: every string constant the code loads, in capitals."""

from bchook import Pass, ir


class ShoutPass(Pass):
    name = "shout"
    version = "1"
    option_types = {"suffix": str}  # -o shout.suffix=!!!

    def transform_ir(self, bytecode: ir.Bytecode, ctx) -> bool:
        suffix = self.options.get("suffix", "")
        changed = False
        for ins in bytecode.instructions():
            if ins.name not in ("LOAD_CONST", "RETURN_CONST"):
                continue
            value = bytecode.consts[ins.arg]
            if isinstance(value, str) and value != value.upper() + suffix:
                # new constants go at the end; existing ones are never renumbered
                ins.arg = bytecode.add_const(value.upper() + suffix)
                changed = True
        return changed
