"""The order passes run in: the AST stages of all passes, in the order given, then, once the
module is compiled, their bytecode stages in that order (the pass reference, ``bchook --help``)."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

from bchook.pipeline.api import Pass
from bchook.pipeline.driver import transform_source

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def _swap_consts(code, old, new):
    return code.replace(co_consts=tuple(new if c == old else c for c in code.co_consts))


class BytecodeFirst(Pass):
    """Named first, a bytecode stage only: ``"s1" -> "s2"``."""
    name = "t-bytecode"
    version = "1"

    def transform_code(self, code, ctx):
        return _swap_consts(code, "s1", "s2")


class AstSecond(Pass):
    """Named second, an AST stage only: ``"s0" -> "s1"``, and sees the untouched tree."""
    name = "t-ast"
    version = "1"

    def transform_ast(self, tree, ctx):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "s0":
                node.value = "s1"
        return tree


def test_ast_stages_of_all_passes_run_before_any_bytecode_stage():
    code = transform_source('x = "s0"\n', "<order>", "order", [BytecodeFirst(), AstSecond()])
    namespace = {}
    exec(code, namespace)
    assert namespace["x"] == "s2"  # the second pass's AST stage ran before the first's bytecode


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_docs_and_the_help_say_so_where_they_give_the_order():
    text = _flat((DOCS / "reference" / "passes.md").read_text(encoding="utf-8"))
    start = text.index("Passes run in the order given")
    assert "the AST stages of all passes run" in text[start:start + 200]
    from bchook.frontends import cli

    help_text = _flat(cli.runner_help())
    row = help_text[help_text.index("--passes PASS[,PASS]"):][:300]
    assert "in that order, the AST stages of all before any bytecode stage" in row, row
