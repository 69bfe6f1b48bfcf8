"""Load test sources with gotos the two ways bchook rewrites them.

``load(source, mode)``: ``"hook"`` compiles the module through the goto pass (as the
import hook does), ``"decorator"`` imports it plainly and lets ``@with_goto`` rewrite each
function marked ``@rewrite``. Sources get a header that imports ``goto``, ``label`` and
``rewrite`` (``with_goto`` or a no-op), so the same text serves both.
"""

from __future__ import annotations

import importlib.util
import itertools
import textwrap
import types

from bchook.testing import load_module
from bchook.passes.goto.transform import GotoPass

MODES = ["hook", "decorator"]

_HEADER = {
    "hook": "from bchook.goto import goto, label, with_goto\nrewrite = lambda f: f\n",
    "decorator": "from bchook.goto import goto, label, with_goto\nrewrite = with_goto\n",
}
_counter = itertools.count()


def write(tmp_path, source: str, mode: str):
    source = textwrap.dedent(source).lstrip("\n")
    future = ""
    if source.startswith("from __future__"):  # must stay the first statement
        future, _, source = source.partition("\n")
        future += "\n"
    text = future + _HEADER[mode] + source
    path = tmp_path / f"goto_case_{next(_counter)}.py"
    path.write_text(text, encoding="utf-8")
    return path, text


def load(tmp_path, source: str, mode: str) -> types.ModuleType:
    path, text = write(tmp_path, source, mode)
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if mode == "hook":
        return load_module(path, [GotoPass()], name=name)
    spec.loader.exec_module(module)
    return module


def line_of(module: types.ModuleType, marker: str) -> int:
    """Line number (1-based) of the only line of the module's file containing ``marker``."""
    with open(module.__file__, encoding="utf-8") as f:
        hits = [n for n, text in enumerate(f, 1) if marker in text]
    assert len(hits) == 1, (marker, hits)
    return hits[0]
