"""Sphinx configuration of bchook's documentation (see about-these-docs.md).

Build it strictly, as the test suite does:

    python -m sphinx -W --keep-going -n -b html docs build/docs
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

import bchook  # noqa: E402  (the installed package: the docs describe what users get)

project = "bchook"
author = "the bchook authors"
copyright = "the bchook authors"
release = version = bchook.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "bchook_docs",  # docs/_ext/bchook_docs.py: reference pages generated from the code
]

source_suffix = {".md": "markdown"}
root_doc = "index"
# _ext/ is not a page of the site
exclude_patterns = ["_*", "**/_*", "build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Strict: -n makes every unresolved reference a warning and -W every warning an error.
nitpicky = True
# Types from the standard library: there is no network in CI to fetch Python's inventory
# (intersphinx), so references to them are left unresolved on purpose, not by mistake.
nitpick_ignore_regex = [
    (r"py:.*", r"(types|ast|typing|collections|collections\.abc|importlib\.\w+|os)\..*"),
    # private names (bchook.tools.syntax, _CodeType...): code, not pages of the site
    (r"py:.*", r"(.*\.)?_\w+(\..*)?"),
    (r"py:class", r"Item"),
    (r"py:func", r"compile_tree"),  # the driver's, named in Context's docstring
    (r"py:.*", r"(Any|Callable|Iterable|Iterator|Mapping|Sequence|Optional|Union|CodeType|"
               r"NoneType|int|str|bytes|bool|float|tuple|list|dict|set|frozenset|object|"
               r"type|Exception|ValueError|TypeError|SyntaxError|ImportError|"
               r"RuntimeError|T|_F)"),
]

# bchook.ir.version and bchook.ir.raw are modules bound as attributes of bchook.ir (their
# files are ir/_version.py and ir/_raw.py): make them importable by their public names so
# that autodoc documents them under those names.
import bchook.ir  # noqa: E402

sys.modules.setdefault("bchook.ir.version", bchook.ir.version)
sys.modules.setdefault("bchook.ir.raw", bchook.ir.raw)

smartquotes = False  # --include stays two hyphens
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "undoc-members": False}

html_theme = "furo"
html_title = f"bchook {release}"
html_static_path = []
pygments_style = "sphinx"
