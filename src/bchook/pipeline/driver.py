"""The driver: the only loop that runs a chain of passes over a module, its syntax tree
first (:func:`run_ast_passes`), then every code object, innermost first
(:func:`transform_code_tree`, where consecutive IR passes share one decoded
``ir.Bytecode``). Any failure of a pass becomes :class:`bchook.PassFailed`, naming the pass,
the module, the code object and its line.
"""

from __future__ import annotations

import types

from .. import ir
from ..errors import PassFailed
from .api import Context, Pass, _overrides

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:  # ast costs start-up time: the hook imports it only if used
    import ast
    from typing import Callable, Sequence

__all__ = ["transform_source", "transform_code_tree", "run_ast_passes", "compile_tree"]


def _where(code: types.CodeType) -> str:
    return f"{getattr(code, 'co_qualname', code.co_name)} at {code.co_filename}:" \
           f"{code.co_firstlineno}"


def _check_stack_size(before: types.CodeType, after: types.CodeType) -> None:
    """Refuse code whose ``co_stacksize`` is too small for its instructions: CPython trusts
    it, and running such code corrupts memory (a crash, or wrong values on 3.11)."""
    if after is before or (
            after.co_stacksize >= before.co_stacksize and after.co_code == before.co_code
            and getattr(after, "co_exceptiontable", None) ==
            getattr(before, "co_exceptiontable", None)):
        return  # the same instructions, and room for them
    needed = ir.Bytecode.from_code(after).max_stack_depth()
    if after.co_stacksize < needed:
        raise ValueError(f"transform_code returned code with co_stacksize "
                         f"{after.co_stacksize}, but its instructions need {needed}")


def transform_code_tree(
    code: types.CodeType, passes: Sequence[Pass], ctxs: Sequence[Context]
) -> types.CodeType:
    """Run the code-level passes over ``code`` and every nested code object.

    Consecutive IR passes share one decoded :class:`ir.Bytecode`; a code object is only
    re-encoded when a pass reported a change.
    """
    stages = []
    for p, ctx in zip(passes, ctxs):
        if _overrides(p, "transform_ir"):
            stages.append(("ir", p, ctx))
        elif _overrides(p, "transform_code"):
            stages.append(("code", p, ctx))
    if not stages:
        return code
    module = ctxs[0].module if ctxs else "?"
    for ctx in ctxs:
        ctx.module_code = code

    def run(co: types.CodeType) -> types.CodeType:
        bc = None
        changed = False
        current = co
        for kind, p, ctx in stages:
            try:
                if kind == "ir":
                    if bc is None:
                        if not p.wants(current, ctx):
                            continue
                        bc = ir.Bytecode.from_code(current)
                    if p.transform_ir(bc, ctx):
                        changed = True
                else:
                    if bc is not None:
                        if changed:
                            current = bc.to_code()
                        bc, changed = None, False
                    if not p.wants(current, ctx):
                        continue
                    result = p.transform_code(current, ctx)
                    if type(result) is not types.CodeType:
                        raise TypeError(
                            f"transform_code returned {type(result).__name__}, not a code object")
                    _check_stack_size(current, result)
                    current = result
            except PassFailed:
                raise
            except Exception as exc:
                raise PassFailed(p.name, module, _where(current), exc) from exc
        if bc is not None and changed:
            try:
                current = bc.to_code()
            except Exception as exc:
                names = ",".join(p.name for kind, p, _ in stages if kind == "ir")
                raise PassFailed(names, module, _where(current), exc) from exc
        return current

    return ir.replace_nested_code(code, run)


def run_ast_passes(tree: ast.Module, passes: Sequence[Pass], ctxs: Sequence[Context],
                   filename: str) -> ast.Module:
    """The AST passes of the chain, in order, over a module's tree (the only such loop)."""
    import ast

    where = f"<module> at {filename}:1"
    for p, ctx in zip(passes, ctxs):
        if not _overrides(p, "transform_ast"):
            continue
        try:
            result = p.transform_ast(tree, ctx)
        except SyntaxError:
            raise
        except Exception as exc:
            raise PassFailed(p.name, ctx.module, where, exc) from exc
        if not isinstance(result, ast.Module):
            raise PassFailed(p.name, ctx.module, where, TypeError(
                f"transform_ast returned {type(result).__name__}, not ast.Module"))
        tree = result
    ast.fix_missing_locations(tree)
    return tree


def transform_source(
    source: bytes | str,
    filename: str,
    module: str,
    passes: Sequence[Pass],
    *,
    optimize: int = -1,
    compiler: Callable[[bytes | str | ast.Module], types.CodeType] | None = None,
) -> types.CodeType:
    """Compile ``source`` with the AST passes, then run the code-level passes.

    ``compiler``: another hook's compilation (see :mod:`bchook.hook.compose`), given the
    AST passes' tree, or the source when there are none; ``compile()`` otherwise. A
    SyntaxError in the source propagates unchanged, with the user's file and line.
    """
    ctxs = [Context(module, filename, p.options) for p in passes]
    tree = None
    if any(_overrides(p, "transform_ast") for p in passes):
        import ast

        tree = run_ast_passes(ast.parse(source, filename), passes, ctxs, filename)
    if compiler is not None:
        code = compiler(source if tree is None else tree)
    elif tree is not None:
        code = compile_tree(tree, filename, ctxs, optimize=optimize)
    else:
        code = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
    return transform_code_tree(code, passes, ctxs)


def compile_tree(tree: ast.Module, filename: str, ctxs: Sequence[Context], *, flags: int = 0,
                 optimize: int = -1) -> types.CodeType:
    """``compile()`` a transformed tree without the warnings the AST passes declared for the
    statements they generated (``Context.generated_warnings``, which must name no warning
    the user's own code gives). Every other warning comes as ``compile()`` gives it (a
    SyntaxError under ``-W error``)."""
    generated = [w for ctx in ctxs for w in ctx.generated_warnings]
    if not generated:
        return compile(tree, filename, "exec", flags=flags, dont_inherit=True,
                       optimize=optimize)
    import re
    import warnings

    # compile() warns with warn_explicit(), which names the module after the file
    module = re.escape(filename[:-3] if filename.endswith(".py") else filename) + r"\Z"
    with warnings.catch_warnings():
        for category, message, line in generated:
            warnings.filterwarnings("ignore", re.escape(message) + r"\Z", category, module,
                                    line)
        return compile(tree, filename, "exec", flags=flags, dont_inherit=True,
                       optimize=optimize)
