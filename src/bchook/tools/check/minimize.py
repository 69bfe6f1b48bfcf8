"""Cutting a program that behaves differently under a chain down to a small reproduction.

:func:`minimize` deletes statements (halves of a block first, then smaller runs, then one
at a time), replaces compound statements by one of their blocks and drops the arguments of
calls, keeping each change after which the program still differs, until no change helps or
the budget runs out. The
program is rewritten by ``ast.unparse`` (comments and layout go; the meaning stays); if it
no longer differs once unparsed (a bug that depends on the layout), it is returned as it
was.
"""

from __future__ import annotations

import ast
import time
from typing import Callable

__all__ = ["minimize"]

_BLOCKS = ("body", "orelse", "finalbody")
#: Statements whose blocks may stand in for them.
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)
if hasattr(ast, "TryStar"):
    _COMPOUND += (ast.TryStar,)


def _unparse(tree: ast.Module) -> str:
    return ast.unparse(tree) + "\n"


def _blocks(tree: ast.Module):
    """``(node, field)`` of every non-empty list of statements, outermost first."""
    for node in ast.walk(tree):
        for field in _BLOCKS:
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield node, field


def _replacements(stmt: ast.stmt):
    """The blocks of a compound statement that may replace it."""
    if not isinstance(stmt, _COMPOUND):
        return
    for field in _BLOCKS:
        value = getattr(stmt, field, None)
        if value:
            yield value
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body


class _Search:
    def __init__(self, tree, differs, max_tries, deadline):
        self.tree = tree
        self.differs = differs
        self.tries = max_tries
        self.deadline = deadline
        self.text = _unparse(tree)
        self.seen = {self.text}

    def exhausted(self) -> bool:
        return self.tries <= 0 or time.monotonic() > self.deadline

    def keep(self) -> bool:
        """Is the tree as it stands now smaller and still different? (Else undo it.)"""
        try:
            text = _unparse(self.tree)
            compile(text, "<candidate>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError):
            return False
        if text in self.seen or self.exhausted():
            return False
        self.seen.add(text)
        self.tries -= 1
        if self.differs(text):
            self.text = text
            return True
        return False

    def delete_runs(self, node, field) -> bool:
        progress = False
        stmts = getattr(node, field)
        size = max(1, len(stmts) // 2)
        while size >= 1 and not self.exhausted():
            i = 0
            while i < len(stmts) and not self.exhausted():
                candidate = stmts[:i] + stmts[i + size:]
                if not candidate and field == "body":
                    candidate = [ast.Pass()]
                setattr(node, field, candidate)
                if self.keep():
                    stmts = candidate
                    progress = True
                else:
                    setattr(node, field, stmts)
                    i += size
            size //= 2
        return progress

    def drop_arguments(self) -> bool:
        progress = False
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            i = 0
            while len(call.args) > 1 and i < len(call.args) and not self.exhausted():
                args = call.args
                call.args = args[:i] + args[i + 1:]
                if self.keep():
                    progress = True
                else:
                    call.args = args
                    i += 1
        return progress

    def hoist(self, node, field) -> bool:
        progress = False
        stmts = getattr(node, field)
        i = 0
        while i < len(stmts) and not self.exhausted():
            for block in list(_replacements(stmts[i])):
                candidate = stmts[:i] + list(block) + stmts[i + 1:]
                setattr(node, field, candidate)
                if self.keep():
                    stmts = candidate
                    progress = True
                    break
                setattr(node, field, stmts)
            else:
                i += 1
        return progress


def minimize(source: str, differs: Callable[[str], bool], *, max_tries: int = 300,
             seconds: float = 60.0) -> str:
    """The smallest program found that still ``differs`` (a predicate that runs a program
    text plainly and under the chain); ``source`` itself if it cannot be cut down."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return source  # newer syntax than this interpreter reads
    search = _Search(tree, differs, max_tries, time.monotonic() + seconds)
    if search.text != source and not differs(search.text):
        return source
    progress = True
    while progress and not search.exhausted():
        progress = False
        for node, field in list(_blocks(search.tree)):
            if search.exhausted():
                break
            if not _attached(search.tree, node):
                continue
            progress |= search.delete_runs(node, field)
        for node, field in list(_blocks(search.tree)):
            if search.exhausted():
                break
            if not _attached(search.tree, node):
                continue
            progress |= search.hoist(node, field)
        if not search.exhausted():
            progress |= search.drop_arguments()
    return search.text


def _attached(tree: ast.Module, node: ast.AST) -> bool:
    return any(n is node for n in ast.walk(tree))
