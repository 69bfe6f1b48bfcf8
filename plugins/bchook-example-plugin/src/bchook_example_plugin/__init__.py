"""An example third-party bchook pass: ``upper_docstrings``.

It is registered in this distribution's ``pyproject.toml``::

    [project.entry-points."bchook.passes"]
    upper_docstrings = "bchook_example_plugin:UpperDocstringsPass"

and is then found by ``bchook passes``, ``python -m bchook -p upper_docstrings`` and
``bchook.install(["upper_docstrings"])`` like the built-in passes.
"""

from __future__ import annotations

import ast

from bchook import Context, Pass

__all__ = ["UpperDocstringsPass"]

_HAS_DOCSTRING = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


class UpperDocstringsPass(Pass):
    """Upper-case every docstring, then append the option ``suffix``."""

    name = "upper_docstrings"
    version = "1"
    option_types = {"suffix": str}

    def transform_ast(self, tree: ast.Module, ctx: Context) -> ast.Module:
        suffix = self.options.get("suffix", "")
        for node in ast.walk(tree):
            if isinstance(node, _HAS_DOCSTRING) and node.body:
                first = node.body[0]
                if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                        and isinstance(first.value.value, str)):
                    first.value.value = first.value.value.upper() + suffix
        return tree
