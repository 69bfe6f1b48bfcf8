"""Compile-time side of ``constfold.guard=1``: the call to :func:`._guard.install` put at
the end of the module's code, with what the guard must be able to undo."""

from __future__ import annotations

from ... import ir

GUARD_MODULE = __name__.rsplit(".", 1)[0] + "._guard"


def install_call(bc: ir.Bytecode, data: tuple, loc, handler) -> list[ir.Instr]:
    """``_guard.install(data)``, leaving the stack as it was."""
    install = ir.import_from(bc, GUARD_MODULE, "install", loc)
    seq = [*ir.callable_from(install, loc), ir.load_const(bc, data, loc), *ir.call(1, loc),
           *ir.pop_top(loc)]
    for ins in seq:
        ins.handler = handler
    return seq


def add_install(bc: ir.Bytecode, data: tuple) -> None:
    """Call ``install(data)`` just before every return of the module code."""
    items = bc.items
    for i in range(len(items) - 1, -1, -1):
        ins = items[i]
        if type(ins) is ir.Instr and ir.returns_values(ins) >= 0:
            items[i:i] = install_call(bc, data, ins.loc, ins.handler)
