"""Find the gotos and labels of a module, check them and plan the route of every jump.

A jump goes from the goto to its label through the blocks the goto is in and the label is
not ("left") and into the blocks the label is in and the goto is not ("entered"). Some
blocks hold something that must be undone on the way out (a ``with`` block's context
manager, a ``finally`` body to run, an exception being handled): the route stops inside each
of them at a waypoint from where CPython's own ``break`` does the unwinding. Loops, ``if``
and ``match`` blocks need nothing but popping ``for`` iterators, which the bytecode stage does
from the stack depths.
"""

from __future__ import annotations

import ast
import linecache
from dataclasses import dataclass, field

SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_TRY_STAR = getattr(ast, "TryStar", None)
TRY_NODES = (ast.Try,) + ((_TRY_STAR,) if _TRY_STAR is not None else ())

#: Block kinds a jump may not enter from outside, and how messages name them.
NO_ENTRY = {
    "for": "a for loop body",
    "with": "a with block",
    "try": "a try body",
    "except": "an except handler",
    "except*": "an except* handler",
    "finally": "a finally body",
    "try-else-finally": "the else block of a try with a finally",
}
#: Block kinds a jump leaves through a waypoint (``break`` does the unwinding).
UNWIND = frozenset({"with", "try", "except", "except*", "finally", "try-else-finally"})


def goto_name(stmt: ast.stmt) -> str | None:
    """``x`` for the statement ``goto .x``, else None."""
    return _sentinel_attr(stmt, "goto")


def label_name(stmt: ast.stmt) -> str | None:
    """``x`` for the statement ``label .x``, else None."""
    return _sentinel_attr(stmt, "label")


def _sentinel_attr(stmt, word: str) -> str | None:
    if type(stmt) is ast.Expr:
        value = stmt.value
        if type(value) is ast.Attribute and type(value.value) is ast.Name and \
                value.value.id == word:
            return value.attr
    return None


class Block:
    """One statement list: ``getattr(owner, field)``, part of compound statement ``stmt``."""

    __slots__ = ("owner", "field", "stmt", "kind")

    def __init__(self, owner, field_name: str, stmt, kind: str):
        self.owner = owner
        self.field = field_name
        self.stmt = stmt
        self.kind = kind

    def __repr__(self) -> str:
        return f"<Block {self.kind} line {getattr(self.stmt, 'lineno', '?')}>"


def child_blocks(stmt: ast.stmt) -> list[Block]:
    """The statement lists directly inside a compound statement."""
    t = type(stmt)
    if t is ast.If:
        return [Block(stmt, "body", stmt, "if"), Block(stmt, "orelse", stmt, "if")]
    if t is ast.For or t is ast.AsyncFor:
        return [Block(stmt, "body", stmt, "for"), Block(stmt, "orelse", stmt, "loop-else")]
    if t is ast.While:
        return [Block(stmt, "body", stmt, "while"), Block(stmt, "orelse", stmt, "loop-else")]
    if t is ast.With or t is ast.AsyncWith:
        return [Block(stmt, "body", stmt, "with")]
    if t in TRY_NODES:
        star = t is _TRY_STAR
        blocks = [Block(stmt, "body", stmt, "try")]
        blocks += [Block(h, "body", stmt, "except*" if star else "except")
                   for h in stmt.handlers]
        blocks.append(Block(stmt, "orelse", stmt,
                            "try-else-finally" if stmt.finalbody else "plain"))
        blocks.append(Block(stmt, "finalbody", stmt, "finally"))
        return blocks
    if t is ast.Match:
        return [Block(case, "body", stmt, "case") for case in stmt.cases]
    return []


@dataclass
class Site:
    """A goto or label statement and the blocks it is in, outermost first."""

    stmt: ast.stmt
    name: str
    path: tuple


@dataclass
class Scope:
    """A function, class body or module: gotos may only jump within one."""

    node: ast.AST
    title: str
    labels: dict = field(default_factory=dict)   # name -> Site
    gotos: list = field(default_factory=list)    # [Site]
    nested: list = field(default_factory=list)   # [Scope]

    @property
    def is_function(self) -> bool:
        return isinstance(self.node, (ast.FunctionDef, ast.AsyncFunctionDef))


@dataclass
class Route:
    """How a goto reaches its label: through a waypoint in each block of ``unwinds``
    (innermost first), from where ``break`` leaves that block; then a plain jump."""

    goto: Site
    label: Site
    unwinds: list  # [Block]


def error(message: str, node: ast.AST, filename: str) -> SyntaxError:
    lineno = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    text = linecache.getline(filename, lineno) if lineno else None
    end_lineno = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    return SyntaxError(message, (
        filename, lineno, None if col is None else col + 1, text or None,
        end_lineno, None if end_col is None else end_col + 1))


def scan_module(tree: ast.Module, filename: str) -> list[Scope]:
    """Every scope of ``tree`` that has a goto or a label, checked. Raises SyntaxError."""
    root = Scope(tree, "module level")
    _collect(root, Block(tree, "body", tree, "root"), (), filename)
    scopes = [s for s in _flatten(root) if s.labels or s.gotos]
    for scope in scopes:
        for site in scope.gotos:
            if site.name not in scope.labels:
                raise _missing_label(site, scope, scopes, filename)
    return scopes


def plan_routes(scope: Scope, filename: str) -> list[Route]:
    """The route of every goto of ``scope``; raises SyntaxError for forbidden jumps."""
    routes = []
    for site in scope.gotos:
        target = scope.labels[site.name]
        common = 0
        for a, b in zip(site.path, target.path):
            if a is not b:
                break
            common += 1
        for block in target.path[common:]:
            what = NO_ENTRY.get(block.kind)
            if what is not None:
                raise error(
                    f"goto .{site.name} jumps into {what} (line {block.stmt.lineno}) from "
                    f"outside it; label .{site.name} is at line {target.stmt.lineno}. "
                    "Only while loops, if/else and match/case blocks and the else blocks "
                    "of loops may be entered; move the label out of the block",
                    site.stmt, filename)
        unwinds = [b for b in reversed(site.path[common:]) if b.kind in UNWIND]
        for block in unwinds:
            if block.kind == "except*":
                raise error(
                    f"goto .{site.name} cannot leave an except* handler (line "
                    f"{block.owner.lineno}); Python forbids break, continue and return "
                    "there too", site.stmt, filename)
        routes.append(Route(site, target, unwinds))
    return routes


def _flatten(scope: Scope):
    yield scope
    for inner in scope.nested:
        yield from _flatten(inner)


def _collect(scope: Scope, block: Block, path: tuple, filename: str) -> None:
    path = path + (block,)
    for stmt in getattr(block.owner, block.field):
        name = goto_name(stmt)
        if name is not None:
            scope.gotos.append(Site(stmt, name, path))
            continue
        name = label_name(stmt)
        if name is not None:
            first = scope.labels.get(name)
            if first is not None:
                raise error(f"duplicate label .{name} (first defined at line "
                            f"{first.stmt.lineno} of {scope.title})", stmt, filename)
            scope.labels[name] = Site(stmt, name, path)
            continue
        if isinstance(stmt, SCOPE_NODES):
            kind = "class" if isinstance(stmt, ast.ClassDef) else "function"
            inner = Scope(stmt, f"{kind} {stmt.name!r}")
            scope.nested.append(inner)
            _collect(inner, Block(stmt, "body", stmt, "root"), (), filename)
            continue
        for child in child_blocks(stmt):
            _collect(scope, child, path, filename)


def _missing_label(site: Site, scope: Scope, scopes: list, filename: str) -> SyntaxError:
    for other in scopes:
        elsewhere = other.labels.get(site.name)
        if elsewhere is not None:
            return error(
                f"goto .{site.name} in {scope.title}: label .{site.name} is in another "
                f"scope ({other.title}, line {elsewhere.stmt.lineno}); goto can only jump "
                "within one function", site.stmt, filename)
    return error(f"goto .{site.name}: there is no label .{site.name} in {scope.title}",
                 site.stmt, filename)
