"""The control-flow graph of code objects as Graphviz ``dot`` text (and SVG via ``dot``),
and as JSON for ``bchook dis --cfg --format json``.

The blocks and edges are ``bchook.ir.Flow``'s (a block starts at a jump target or handler,
after a jump or an instruction that does not fall through, and where the exception
handler changes). Edges: falling through (solid, "next"), jumps (bold, "jump"), and
exceptions (dashed, "exception", to the handler; on 3.10 from the SETUP_FINALLY,
SETUP_WITH or SETUP_ASYNC_WITH that names it). A reference that is no jump (3.14's
END_ASYNC_FOR naming its END_SEND) makes no edge.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

from .listing import CodeView, Row
from ...ir import _version as V

__all__ = ["Block", "basic_blocks", "to_dot", "to_json", "to_svg", "have_graphviz"]


@dataclass
class Block:
    rows: list[Row] = field(default_factory=list)
    edges: list[tuple[int, str]] = field(default_factory=list)  # (block index, kind)


def basic_blocks(cv: CodeView) -> list[Block]:
    flow = cv.flow
    spans = flow.blocks()
    block_of = {start: i for i, (start, _) in enumerate(spans)}
    blocks = []
    for start, end in spans:
        block = Block(cv.rows[start:end])
        last = end - 1
        if flow.jump_to[last] >= 0:
            # 3.10's SETUP_FINALLY & co. name their handler: exceptions go there
            kind = "exception" if flow.instrs[last].op in V.BLOCK_SETUPS else "jump"
            block.edges.append((block_of[flow.jump_to[last]], kind))
        if flow.falls_through(last):
            block.edges.append((block_of[end], "next"))
        if flow.handler_to[start] >= 0:  # one handler for the whole block
            block.edges.append((block_of[flow.handler_to[start]], "exception"))
        blocks.append(block)
    return blocks


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


_EDGE_STYLE = {
    "next": "",
    "jump": ' [label="jump", style=bold]',
    "exception": ' [label="exception", style=dashed, color=red]',
}


def to_dot(views: list[CodeView]) -> str:
    """One ``digraph``; each code object is a cluster of its basic blocks."""
    out = ["digraph bchook {",
           '  node [shape=box, fontname="monospace", fontsize=10];',
           '  edge [fontname="monospace", fontsize=9];']
    for k, cv in enumerate(views):
        out.append(f"  subgraph cluster_{k} {{")
        out.append(f'    label="{_escape(cv.ident)} ({_escape(cv.code.co_filename)}:'
                   f'{cv.code.co_firstlineno})";')
        blocks = basic_blocks(cv)
        for i, block in enumerate(blocks):
            lines = [f"{label}:" for label in block.rows[0].labels]
            if block.rows[0].handler:
                lines.append(f"(handler {block.rows[0].handler})")
            lines += [f"{r.offset:>4} {r.asm}" for r in block.rows]
            text = "".join(_escape(line) + "\\l" for line in lines)
            out.append(f'    c{k}_b{i} [label="{text}"];')
        for i, block in enumerate(blocks):
            for target, kind in block.edges:
                out.append(f"    c{k}_b{i} -> c{k}_b{target}{_EDGE_STYLE[kind]};")
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def to_json(cv: CodeView) -> dict:
    """The graph of one code object: blocks by index, each with the instructions it holds
    (offsets as ``dis`` gives them), and the edges between blocks, the same as the dot
    text's."""
    blocks = basic_blocks(cv)
    return {
        "blocks": [
            {"index": i, "labels": block.rows[0].labels, "handler": block.rows[0].handler,
             "start": block.rows[0].offset, "end": block.rows[-1].offset,
             "instructions": [{"offset": r.offset, "asm": r.asm} for r in block.rows]}
            for i, block in enumerate(blocks)],
        "edges": [{"from": i, "to": target, "kind": kind}
                  for i, block in enumerate(blocks) for target, kind in block.edges],
    }


def have_graphviz() -> bool:
    return shutil.which("dot") is not None


def to_svg(dot_text: str, path: str) -> None:
    """Render with Graphviz's ``dot``; raises OSError/CalledProcessError on failure."""
    exe = shutil.which("dot")
    if exe is None:
        raise FileNotFoundError("Graphviz's 'dot' command is not installed")
    subprocess.run([exe, "-Tsvg", "-o", path], input=dot_text.encode(), check=True,
                   capture_output=True, timeout=120)
