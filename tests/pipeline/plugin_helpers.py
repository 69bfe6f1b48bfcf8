"""Sample passes installed as a real distribution, for tests that run pytest or Python in a
subprocess and name passes on its command line (``--bchook-pass swap``).

The passes move string constants along a chain of stages, so a test sees from one value
which passes ran and in which order: ``ast-swap`` turns ``"a0"`` into ``"a1"`` in the syntax
tree, ``swap`` turns ``"a1"`` into ``"a2"`` (or its ``to`` option) in the bytecode, and
``swap2`` turns ``"a2"`` into ``"a3"``. ``swap``'s ``log`` option names a file that gets a
line ``<module> <pid>`` each time a module is transformed (not when it comes from the cache).
"""

from __future__ import annotations


PASSES_MODULE = "sample_passes"

PASSES_SOURCE = '''
import ast
import os

from bchook import Pass


def _replace(code, old, new):
    return code.replace(co_consts=tuple(new if c == old else c for c in code.co_consts))


class Swap(Pass):
    name = "swap"
    version = "1"
    option_types = {"to": str, "log": str}

    def transform_code(self, code, ctx):
        log = self.options.get("log")
        if log and code.co_name == "<module>":
            with open(log, "a") as f:
                f.write(f"{ctx.module} {os.getpid()}\\n")
        return _replace(code, "a1", self.options.get("to", "a2"))


class Swap2(Pass):
    name = "swap2"
    version = "1"

    def transform_code(self, code, ctx):
        return _replace(code, "a2", "a3")


class AstSwap(Pass):
    name = "ast-swap"
    version = "1"

    def transform_ast(self, tree, ctx):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "a0":
                node.value = "a1"
        return tree
'''

ENTRY_POINTS = {
    "swap": f"{PASSES_MODULE}:Swap",
    "swap2": f"{PASSES_MODULE}:Swap2",
    "ast-swap": f"{PASSES_MODULE}:AstSwap",
}


def install_sample_passes(folder):
    """Put the sample passes in ``folder`` as an installed distribution (module plus
    ``.dist-info`` with ``bchook.passes`` entry points): any Python whose ``sys.path`` holds
    ``folder`` finds them by name."""
    info = folder / "sample_passes-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sample-passes\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in ENTRY_POINTS.items())
    (info / "entry_points.txt").write_text(f"[bchook.passes]\n{lines}")
    (folder / f"{PASSES_MODULE}.py").write_text(PASSES_SOURCE, encoding="utf-8")
    return folder


#: Passes that break programs, each its own way, for the tests of ``bchook check`` and
#: ``bchook.testing``: ``swapplus`` turns the ``+`` of every function named ``add`` into a
#: ``-``; ``exits`` makes a module end the process (``os._exit(7)``), ``hangs`` makes it loop
#: forever, ``movesline`` puts a NOP said to be on line 9999 at the start of ``add`` (what
#: the program prints stays the same, its line events do not), ``movesline_declared`` is
#: the same pass saying ``keeps_lines = False``, ``refuses`` fails to compile anything.
BROKEN_MODULE = "broken_passes"

BROKEN_SOURCE = '''
import ast

from bchook import Option, Pass, ir


class SwapPlus(Pass):
    name = "swapplus"
    version = "1"
    option_specs = (Option("function", str, "add", "the function whose + becomes a -"),)

    def transform_ir(self, bc, ctx):
        if bc.code.co_name != self.options.get("function", "add"):
            return False
        for i, item in enumerate(bc.items):
            if isinstance(item, ir.Instr) and ir.binary_operator_of(item) == "+":
                new = ir.binary_op("-", item.loc)
                for ins in new:
                    ins.handler = item.handler
                bc.items[i:i + 1] = new
                return True
        return False


def _prepend(tree, text):
    tree.body[:0] = ast.parse(text).body
    return tree


class Exits(Pass):
    name = "exits"
    version = "1"

    def transform_ast(self, tree, ctx):
        return _prepend(tree, "import os\\nos._exit(7)\\n")


class Hangs(Pass):
    name = "hangs"
    version = "1"

    def transform_ast(self, tree, ctx):
        return _prepend(tree, "while True:\\n    pass\\n")


class MovesLine(Pass):
    name = "movesline"
    version = "1"

    def transform_ir(self, bc, ctx):
        if bc.code.co_name != "add":
            return False
        at = ir.body_start(bc.items)
        bc.items.insert(at, ir.Instr("NOP", 0, (9999, 9999, None, None)))
        return True


class MovesLineDeclared(MovesLine):
    name = "movesline_declared"
    keeps_lines = False


class Refuses(Pass):
    name = "refuses"
    version = "1"

    def transform_ast(self, tree, ctx):
        raise ValueError("no, thank you")
'''

BROKEN_ENTRY_POINTS = {
    "swapplus": f"{BROKEN_MODULE}:SwapPlus",
    "exits": f"{BROKEN_MODULE}:Exits",
    "hangs": f"{BROKEN_MODULE}:Hangs",
    "movesline": f"{BROKEN_MODULE}:MovesLine",
    "movesline_declared": f"{BROKEN_MODULE}:MovesLineDeclared",
    "refuses": f"{BROKEN_MODULE}:Refuses",
}


def install_broken_passes(folder):
    """Put the broken passes in ``folder`` as an installed distribution (as
    :func:`install_sample_passes` does); returns ``folder``."""
    info = folder / "broken_passes-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-passes\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in BROKEN_ENTRY_POINTS.items())
    (info / "entry_points.txt").write_text(f"[bchook.passes]\n{lines}")
    (folder / f"{BROKEN_MODULE}.py").write_text(BROKEN_SOURCE, encoding="utf-8")
    return folder
