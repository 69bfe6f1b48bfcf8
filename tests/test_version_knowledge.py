"""All knowledge of CPython releases lives in ``bchook.ir``.

Passes, tools and front ends ask ``ir.version`` for a capability named for what it means
and ``ir``'s builders for the instructions of an idiom; they never test a release number
and keep no opcode tables of their own. Then supporting the next release is a change to
``bchook.ir`` alone. This test reads every module outside ``bchook/ir`` for the ways a
version test or an opcode table is written.
"""

from __future__ import annotations

import re
from pathlib import Path

import bchook

PACKAGE = Path(bchook.__file__).resolve().parent
#: What a release test or a private opcode table looks like in source.
FORBIDDEN = [
    (re.compile(r"\bversion_info\b"), "tests sys.version_info"),
    (re.compile(r"\bPY3\d\d\b"), "tests a release flag (PY311...)"),
    (re.compile(r"\bversion\.VERSION\b|\bV\.VERSION\b"), "reads the release number"),
    # one opcode every release has may be named (OPMAP["POP_TOP"]); sets, maps, lookups
    # by variable and opcodes that only some releases have (OPMAP.get) belong in ir
    (re.compile(r"\bOPMAP\b(?!\[\"[A-Z_]+\"\])|\bopcode\.opmap\b|\bdis\.opmap\b"),
     "keeps an opcode table"),
    (re.compile(r"^\s*import opcode\b|^\s*from opcode import", re.M), "reads opcode tables"),
]


def modules_outside_ir():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "ir" in path.relative_to(PACKAGE).parts[:1]:
            continue
        yield path


def test_the_ir_package_is_where_the_tables_are():
    assert (PACKAGE / "ir" / "_version.py").is_file()
    assert len(list(modules_outside_ir())) > 20


def test_no_module_outside_ir_tests_a_release_or_keeps_opcode_tables():
    found = []
    for path in modules_outside_ir():
        text = path.read_text(encoding="utf-8")
        for pattern, what in FORBIDDEN:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {what}: "
                             f"{text.splitlines()[line - 1].strip()}")
    assert not found, "version knowledge outside bchook.ir:\n" + "\n".join(found)
