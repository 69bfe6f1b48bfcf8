"""The ``goto`` pass: ``goto .name`` / ``label .name`` in every function of a module.

The AST stage (:mod:`._goto_scan`, :mod:`._goto_lower`) checks each jump and lowers it to
markers, wrapping the blocks a jump leaves that need unwinding so that CPython's own
``break`` runs their ``__exit__``/``finally``/exception cleanup; the bytecode stage
(:mod:`._goto_ir`) turns the markers into jumps. ``bchook.goto.with_goto`` runs the same two
stages on one function.
"""

from __future__ import annotations

import ast
import types

from ... import ir
from ...pipeline.api import Context, Pass
from . import resolve as _goto_ir
from .lower import lower_module

__all__ = ["GotoPass"]


class GotoPass(Pass):
    name = "goto"
    version = "2"  # 2: no marker names left; a goto laid out as a loop test keeps its line

    def transform_ast(self, tree: ast.Module, ctx: Context) -> ast.Module:
        return lower_module(tree, ctx)

    def wants(self, code: types.CodeType, ctx: Context) -> bool:
        return _goto_ir.wants(code)

    def transform_ir(self, bytecode: ir.Bytecode, ctx: Context) -> bool:
        return _goto_ir.resolve(bytecode, ctx.state.get("labels", {}))
