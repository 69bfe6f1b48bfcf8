"""Compile-time side of ``constfold.guard=1``: which folds the guard must be able to undo,
and the call to :func:`._guard.install` put at the end of the module's code."""

from __future__ import annotations

from ... import ir

V = ir.version
GUARD_MODULE = __name__.rsplit(".", 1)[0] + "._guard"
_RETURNS = frozenset(V.OPMAP[n] for n in ("RETURN_VALUE", "RETURN_CONST") if n in V.OPMAP)


def install_call(bc: ir.Bytecode, data: tuple, loc, handler) -> list[ir.Instr]:
    """``_guard.install(data)``, leaving the stack as it was."""
    load = [
        ir.Instr("LOAD_CONST", bc.add_const(0), loc, handler),
        ir.Instr("LOAD_CONST", bc.add_const(("install",)), loc, handler),
        ir.Instr("IMPORT_NAME", bc.add_name(GUARD_MODULE), loc, handler),
        ir.Instr("LOAD_ATTR", bc.add_name("install") << V.LOAD_ATTR_SHIFT, loc, handler),
    ]
    seq = [*ir.callable_from(load, loc), ir.Instr("LOAD_CONST", bc.add_const(data), loc),
           *ir.call(1, loc), ir.Instr("POP_TOP", 0, loc)]
    for ins in seq:
        ins.handler = handler
    return seq


def add_install(bc: ir.Bytecode, data: tuple) -> None:
    """Call ``install(data)`` just before every return of the module code."""
    items = bc.items
    for i in range(len(items) - 1, -1, -1):
        ins = items[i]
        if type(ins) is ir.Instr and ins.op in _RETURNS:
            items[i:i] = install_call(bc, data, ins.loc, ins.handler)
