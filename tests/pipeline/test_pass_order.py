"""The order passes run in: the AST stages of all passes, in the order given, then, once the
module is compiled, their bytecode stages in that order (README, ``bchook --help``)."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

from bchook.pipeline.api import Pass, transform_source

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


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


def test_the_readme_says_so_where_it_gives_the_order():
    text = _flat(README.read_text(encoding="utf-8"))
    start = text.index("Passes run in the order given on the command line")
    assert "AST stages (`transform_ast`) of all passes first" in text[start:start + 400]
    row = text[text.index("| `-p`, `--passes PASS[,PASS]` |"):][:300]
    assert "AST stages of all of them before any bytecode stage" in row


def test_the_help_of_p_says_so():
    out = subprocess.run([sys.executable, "-m", "bchook", "--help"], capture_output=True,
                         text=True, timeout=60).stdout
    help_of_p = _flat(out[out.index("--passes PASS[,PASS]"):])[:300]
    assert "AST stages of all before any bytecode stage" in help_of_p
