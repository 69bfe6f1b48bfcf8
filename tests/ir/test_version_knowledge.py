"""All knowledge of CPython releases lives in ``bchook.ir``.

Passes, tools and front ends ask ``ir.version`` for a capability named for what it means
and ``ir``'s builders for the instructions of an idiom; they never test a release number
and keep no opcode tables of their own. Then supporting the next release is a change to
``bchook.ir`` alone. This test reads every module outside ``bchook/ir`` for the ways a
version test or an opcode table is written.
"""

from __future__ import annotations

import dis
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


#: Folders of programs bchook runs, not code of its own: the corpus of ``bchook check`` is
#: user code, and user code may test the release it runs on.
PROGRAMS = ("tools", "check", "corpus")


def modules_outside_ir():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if "ir" in parts[:1] or parts[:len(PROGRAMS)] == PROGRAMS:
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


#: The instructions of every supported release, 3.10 to 3.15 (the names all six ``dis.opmap``
#: have; LOAD_CLOSURE left out: from 3.13 it is a pseudo-instruction that never runs).
EVERY_RELEASE = frozenset("""
    BUILD_LIST BUILD_MAP BUILD_SET BUILD_SLICE BUILD_STRING BUILD_TUPLE CALL_FUNCTION_EX
    COMPARE_OP CONTAINS_OP DELETE_ATTR DELETE_DEREF DELETE_FAST DELETE_GLOBAL DELETE_NAME
    DELETE_SUBSCR DICT_MERGE DICT_UPDATE END_ASYNC_FOR EXTENDED_ARG FOR_ITER GET_AITER
    GET_ANEXT GET_AWAITABLE GET_ITER GET_LEN IMPORT_FROM IMPORT_NAME IS_OP JUMP_FORWARD
    LIST_APPEND LIST_EXTEND LOAD_ATTR LOAD_BUILD_CLASS LOAD_CONST LOAD_DEREF LOAD_FAST
    LOAD_GLOBAL LOAD_NAME MAKE_FUNCTION MAP_ADD MATCH_CLASS MATCH_KEYS MATCH_MAPPING
    MATCH_SEQUENCE NOP POP_EXCEPT POP_TOP RAISE_VARARGS RERAISE RETURN_VALUE
    SETUP_ANNOTATIONS SET_ADD SET_UPDATE STORE_ATTR STORE_DEREF STORE_FAST STORE_GLOBAL
    STORE_NAME STORE_SUBSCR UNARY_INVERT UNARY_NEGATIVE UNARY_NOT UNPACK_EX UNPACK_SEQUENCE
    WITH_EXCEPT_START YIELD_VALUE
""".split())
#: A string literal that is nothing but an instruction name.
OPNAME_LITERAL = re.compile(r"""["']([A-Z][A-Z0-9_]+)["']""")


def release_specific_names() -> frozenset:
    """Instruction names some supported release lacks that this run can know: this
    interpreter's own, and the words of other releases ``bchook.ir`` reads. Run on all six
    releases, the check below sees every release's names."""
    from bchook.ir import _version as V

    known = set(dis.opmap) | set(V.OPERATOR_NAMES) | set(V.IDIOM_WORDS) | \
        set(V.IDIOM_WORDS_ELSEWHERE) | set(V.NOTHING_ELSEWHERE) | \
        set(V.PLAIN_LOCALS_ELSEWHERE) | set(V.CONDITIONAL_JUMP_WORDS) | \
        set(V.MISSING_INSTRUCTION_HINTS)
    return frozenset(known - EVERY_RELEASE)


def test_no_module_outside_ir_names_an_instruction_some_release_lacks():
    """A table of the words of other releases (``LOAD_METHOD``, ``PRECALL``,
    ``LOAD_FAST_BORROW``...) is version knowledge: it belongs in ``bchook.ir``."""
    specific = release_specific_names()
    assert {"LOAD_METHOD", "PRECALL", "CALL_FUNCTION", "END_FOR"} <= specific
    found = []
    for path in modules_outside_ir():
        where = path.relative_to(PACKAGE).as_posix()
        text = path.read_text(encoding="utf-8")
        for match in OPNAME_LITERAL.finditer(text):
            if match.group(1) in specific:
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{where}:{line}: names {match.group(1)}")
    assert not found, "instructions of some releases named outside bchook.ir:\n" + \
        "\n".join(found)
