"""Imports a pass adds (``ir.import_from``, ``ir.import_name``) and reading ``IMPORT_NAME``.

3.15 packs IMPORT_NAME's argument as ``namei << 2 | mode`` (PEP 810's lazy imports): an
argument that is a bare name index imports another name, or the right one lazily.
"""

from __future__ import annotations

import dis
import sys

import pytest

from bchook import ir


def with_import(source: str, module: str, name: str) -> tuple:
    """``source`` with ``__bchook_x = <from module import name>`` added after its first
    statement."""
    bc = ir.Bytecode.from_code(compile(source, "m.py", "exec"))
    at = next(i for i, item in enumerate(bc.items)
              if isinstance(item, ir.Instr) and item.name == "STORE_NAME") + 1
    loc = bc.items[at - 1].loc
    bc.items[at:at] = [*ir.import_from(bc, module, name, loc),
                       ir.Instr("STORE_NAME", bc.add_name("__bchook_x"), loc)]
    return bc.to_code()


def imports_of(code) -> list:
    return [ins for ins in dis.get_instructions(code) if ins.opname == "IMPORT_NAME"]


def test_import_from_imports_the_module_it_names():
    # names before the module's, so its index is not 0 (where 0 << 2 == 0 hides the bug)
    code = with_import("a = b = c = 1\n", "os.path", "join")
    namespace = {}
    exec(code, namespace)
    import os.path
    assert namespace["__bchook_x"] is os.path.join
    assert [ins.argval for ins in imports_of(code)] == ["os.path"]


@pytest.mark.skipif(sys.version_info < (3, 15), reason="lazy imports are new in 3.15")
def test_added_imports_are_never_lazy():
    code = with_import("a = 1\n", "os", "sep")
    assert [ins.argrepr for ins in imports_of(code)] == ["os + eager"]
    for mode in ("all", "normal"):
        sys.set_lazy_imports(mode)
        try:
            namespace = {}
            exec(code, namespace)
        finally:
            sys.set_lazy_imports("normal")
        assert type(namespace["__bchook_x"]) is str, mode


@pytest.mark.parametrize("source, module", [
    ("import os\n", "os"),
    ("a = b = 1\nimport os.path\n", "os.path"),
    ("a = b = c = 1\nfrom json import dumps\n", "json"),
    ("a = b = c = d = e = 1\ntry:\n    import json\nexcept ImportError:\n    pass\n", "json"),
])
def test_name_index_of_reads_the_module_an_import_names(source, module):
    code = compile(source, "m.py", "exec")
    bc = ir.Bytecode.from_code(code)
    imports = [ins for ins in bc.items if isinstance(ins, ir.Instr) and ins.name == "IMPORT_NAME"]
    assert [code.co_names[ir.name_index_of(ins)] for ins in imports] == [module]


@pytest.mark.skipif(sys.version_info < (3, 15), reason="lazy imports are new in 3.15")
def test_name_index_of_reads_lazy_imports():
    code = compile("a = b = 1\nlazy import json\nlazy from os import sep\n", "m.py", "exec")
    bc = ir.Bytecode.from_code(code)
    imports = [ins for ins in bc.items if isinstance(ins, ir.Instr) and ins.name == "IMPORT_NAME"]
    assert [code.co_names[ir.name_index_of(ins)] for ins in imports] == ["json", "os"]
