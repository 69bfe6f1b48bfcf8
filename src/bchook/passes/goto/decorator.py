"""``with_goto``: run the goto pass on one function at decoration time.

The function's source is parsed again, lowered like a module under the ``goto`` pass, and
compiled inside stand-ins for the scopes its ``__qualname__`` names (``def`` for each
``<locals>``, ``class`` otherwise), the innermost ``def`` binding its free variables: the new
code object then has the same qualified name, the same free variables in the same order
and, in a method, the ``__class__`` cell zero-argument ``super()`` needs. The result is a new
function object (as python-goto makes one) around that code with everything else of the
original: globals, name, qualified name, module, docstring, defaults, keyword defaults,
annotations, closure cells and ``__dict__``.
"""

from __future__ import annotations

import __future__
import ast
import inspect
import types

from ... import ir
from ...pipeline.api import Context
from ...pipeline.driver import compile_tree, transform_code_tree
from .without_source import has_statements, rewrite_without_source
from .lower import lower_module
from .transform import GotoPass

_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


def rewrite_function(func):
    if not isinstance(func, types.FunctionType):
        raise TypeError(f"with_goto decorates functions defined with def, not "
                        f"{type(func).__name__} objects (put @with_goto closest to the def)")
    code = func.__code__
    if _uses_goto(code):
        code = _rewrite_code(func)
    return _copy_function(func, code)


def _rewrite_code(func) -> types.CodeType:
    code = func.__code__
    try:
        tree, filename = _parse_function(func)
    except _NoSource as exc:
        return rewrite_without_source(code, code.co_filename, str(exc))
    goto_pass = GotoPass()
    ctx = Context(func.__module__ or "?", filename, goto_pass.options)
    module = lower_module(tree, ctx)
    funcdef = module.body[0]
    chain, qualname_fixed = _scopes(func.__qualname__, funcdef.name, code.co_freevars)
    module.body = [_nest(funcdef, chain, code.co_freevars)]
    ast.fix_missing_locations(module)
    compiled = compile_tree(module, filename, [ctx], flags=code.co_flags & _FUTURE_FLAGS)
    compiled = transform_code_tree(compiled, [goto_pass], [ctx])
    new = _find(compiled, [name for _, name in chain] + [funcdef.name])
    if not qualname_fixed and ir.version.HAS_QUALNAME:
        new = _requalify(new, new.co_qualname, func.__qualname__)
    if new.co_freevars != code.co_freevars or new.co_argcount != code.co_argcount or \
            new.co_kwonlyargcount != code.co_kwonlyargcount:
        raise TypeError(
            f"with_goto: the source of {func.__qualname__} ({filename}:"
            f"{code.co_firstlineno}) does not match the function (edited since import?)")
    return new


def _copy_function(func, code: types.CodeType):
    new = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__,
                             func.__closure__)
    new.__qualname__ = func.__qualname__
    new.__module__ = func.__module__
    new.__doc__ = func.__doc__
    if func.__kwdefaults__ is not None:
        new.__kwdefaults__ = dict(func.__kwdefaults__)
    new.__annotations__ = dict(func.__annotations__)
    type_params = getattr(func, "__type_params__", None)
    if type_params:
        new.__type_params__ = type_params
    new.__dict__.update(func.__dict__)
    return new


class _NoSource(Exception):
    """The function's source cannot be found: fall back to rewriting its bytecode."""


def _uses_goto(code: types.CodeType) -> bool:
    """Does any code object of ``code`` still run a goto/label statement? None is left once
    the goto pass (the import hook, or an earlier ``with_goto``) rewrote it: rewriting it
    again from source would undo what the hook's other passes did to it. (Its names are no
    sign: the pass drops its markers, and ``goto``/``label`` may name other things.)"""
    return has_statements(code)


def _parse_function(func) -> tuple[ast.Module, str]:
    code = func.__code__
    filename = code.co_filename
    try:
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise _NoSource(f"no source for {func.__qualname__} ({filename}:"
                        f"{code.co_firstlineno}): {exc}") from None
    source = "".join(lines)
    # An indented def (a method, a nested function) parses inside an ``if``: this keeps
    # its columns, which tracebacks show.
    wrapped = source[:1] in (" ", "\t")
    tree = ast.parse("if 1:\n" + source if wrapped else source, filename)
    ast.increment_lineno(tree, first - 1 - wrapped)
    body = tree.body[0].body if wrapped else tree.body
    funcdef = body[0] if body else None
    if not isinstance(funcdef, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
            funcdef.name != code.co_name:
        raise _NoSource(f"the source of {func.__qualname__} at {filename}:{first} does not "
                        "start with its def")
    return ast.Module(body=[funcdef], type_ignores=[]), filename


def _scopes(qualname: str, name: str, freevars) -> tuple[list, bool]:
    """``[(kind, name)]`` of the scopes around the function, and whether compiling inside
    them gives the right qualified name."""
    parts = qualname.split(".")
    chain = []
    ok = parts[-1] == name
    i = 0
    while ok and i < len(parts) - 1:
        part = parts[i]
        if not part.isidentifier():
            ok = False
        elif i + 1 < len(parts) - 1 and parts[i + 1] == "<locals>":
            chain.append(("def", part))
            i += 2
        else:
            chain.append(("class", part))
            i += 1
    needs_def = any(v != "__class__" for v in freevars) or (
        "__class__" in freevars and not any(kind == "class" for kind, _ in chain))
    if ok and needs_def and not any(kind == "def" for kind, _ in chain):
        ok = False
    if not ok:
        return [("def", "_with_goto_scope")], False
    return chain, True


def _nest(funcdef: ast.stmt, chain: list, freevars) -> ast.stmt:
    has_class = any(kind == "class" for kind, _ in chain)
    bind = [v for v in freevars if v != "__class__" or not has_class]
    innermost_def = max((i for i, (kind, _) in enumerate(chain) if kind == "def"), default=-1)
    node = funcdef
    for i in range(len(chain) - 1, -1, -1):
        kind, name = chain[i]
        if kind == "class":
            node = _node(ast.ClassDef, name=name, bases=[], keywords=[], body=[node],
                         decorator_list=[])
        else:
            body = [node]
            if i == innermost_def and bind:
                body.insert(0, ast.Assign(
                    targets=[ast.Name(id=v, ctx=ast.Store()) for v in bind],
                    value=ast.Constant(value=None)))
            node = _node(ast.FunctionDef, name=name, args=_no_args(), body=body,
                         decorator_list=[], returns=None)
    return node


def _node(cls, **fields):
    if "type_params" in cls._fields:
        fields["type_params"] = []
    return cls(**fields)


def _no_args() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                         kwarg=None, defaults=[])


def _find(code: types.CodeType, path: list[str]) -> types.CodeType:
    for name in path:
        code = next(c for c in ir.nested_code(code) if c.co_name == name)
    return code


def _requalify(code: types.CodeType, old: str, new: str) -> types.CodeType:
    def fix(co):
        if co.co_qualname.startswith(old):
            return co.replace(co_qualname=new + co.co_qualname[len(old):])
        return co
    return ir.replace_nested_code(code, fix)
