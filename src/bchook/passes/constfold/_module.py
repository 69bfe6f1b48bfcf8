"""Whole-module facts, proven from the module's bytecode before any code object is folded.

A module global ``X`` may be replaced by its value in a code object when:

* the module code stores it exactly once (``STORE_NAME X``), right after ``LOAD_CONST`` or
  an ``import`` of the module or attribute it stands for;
* nothing else binds or deletes it: no other ``STORE_NAME``/``DELETE_NAME`` in the module
  code, no ``STORE_GLOBAL``/``DELETE_GLOBAL`` anywhere (``global X`` + assignment), no
  ``from m import *``, and no code of the module mentions ``globals``, ``vars``, ``exec``
  or ``eval`` (nor ``locals`` at module level, where it is the globals dict);
* that store runs before the code object can exist: it dominates every ``LOAD_CONST`` of
  the code object in the module code (or, in the module code itself, the load).

Which names qualify is decided by the options: ``Final`` annotations (tier 1), ALL_CAPS
names (``caps``), ``import math`` and ``from math import pi`` (``stdlib``). A builtin
(``builtins``) qualifies when the module never binds its name at all.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field

from ... import ir
from . import _values
from ._flow import Flow

V = ir.version
_OP = V.OPMAP
_LOAD_CONST = _OP["LOAD_CONST"]
_LOAD_NAME = _OP["LOAD_NAME"]
_LOAD_GLOBAL = _OP["LOAD_GLOBAL"]
_LOAD_ATTR = _OP["LOAD_ATTR"]
_STORE_NAME = _OP["STORE_NAME"]
_DELETE_NAME = _OP["DELETE_NAME"]
_STORE_GLOBAL = _OP["STORE_GLOBAL"]
_DELETE_GLOBAL = _OP["DELETE_GLOBAL"]
_IMPORT_NAME = _OP["IMPORT_NAME"]
_IMPORT_FROM = _OP["IMPORT_FROM"]
_BINARY_SUBSCR = _OP.get("BINARY_SUBSCR", -1)
_STORE_SUBSCR = _OP["STORE_SUBSCR"]
_EXT = V.EXTENDED_ARG
_GLOBAL_WRITES = bytes((_STORE_GLOBAL,)), bytes((_DELETE_GLOBAL,))

#: Names whose use means globals may change behind our back.
_DYNAMIC = frozenset(("globals", "vars", "exec", "eval"))
_CAPS = re.compile(r"_*[A-Z][A-Z0-9_]*\Z")
_FINAL_MODULES = ("typing", "typing_extensions")
_FINAL_TEXT = re.compile(r"\s*(?:(\w+)\.)?(\w+)\s*(?:\[.*\])?\s*\Z", re.S)


def code_key(code: types.CodeType) -> tuple:
    """How a code object is recognised again after the driver re-links its parents."""
    return (getattr(code, "co_qualname", code.co_name), code.co_firstlineno, code.co_name)


@dataclass
class GlobalFact:
    name: str
    kind: str          # "value" (a constant) or "module" (an imported stdlib module)
    value: object      # the constant, or the module's name
    origin: str        # "final", "caps", "stdlib", "guard"


@dataclass
class ModuleFacts:
    """What the code stage may assume; ``eligible[code_key]`` lists the global names a
    code object may fold; ``builtins`` the builtin names the module never binds."""

    globals: dict[str, GlobalFact] = field(default_factory=dict)
    eligible: dict[tuple, frozenset] = field(default_factory=dict)
    builtins: frozenset = frozenset()
    dynamic: bool = False
    #: names folded under ``guard=1``: the module must be able to undo them at run time
    guarded: frozenset = frozenset()

    def names_for(self, code: types.CodeType) -> frozenset:
        return self.eligible.get(code_key(code), frozenset())

    def attrs_of(self, name: str) -> frozenset | None:
        """For an imported module, the attributes worth folding; None for a value."""
        fact = self.globals[name]
        return _values.STDLIB_CONSTANTS[fact.value] if fact.kind == "module" else None


def raw_instructions(code: types.CodeType):
    """``(opcode, arg)`` of every instruction, without building Instr objects."""
    raw = code.co_code
    caches = V.CACHES
    n = len(raw)
    i = 0
    ext = 0
    while i < n:
        op = raw[i]
        arg = raw[i + 1] | ext
        if op == _EXT:
            ext = arg << 8
            i += 2
            continue
        ext = 0
        yield op, arg
        i += 2 + 2 * caches[op]


def _global_writes(codes) -> set[str]:
    written = set()
    for code in codes:
        ops = code.co_code[::2]
        if _GLOBAL_WRITES[0] in ops or _GLOBAL_WRITES[1] in ops:
            names = code.co_names
            for op, arg in raw_instructions(code):
                if op == _STORE_GLOBAL or op == _DELETE_GLOBAL:
                    written.add(names[arg])
    return written


def analyse(root: types.CodeType | None, options) -> ModuleFacts:
    facts = ModuleFacts()
    if root is None or root.co_name != "<module>":
        return facts
    codes = list(ir.walk_code(root))
    if "locals" in root.co_names or any(not _DYNAMIC.isdisjoint(c.co_names) for c in codes):
        facts.dynamic = True
        return facts
    if ("*",) in root.co_consts:  # the fromlist of every "from m import *"
        facts.dynamic = True
        return facts
    written = _global_writes(codes)
    want_builtins = options.get("builtins") or options.get("membership_sets")
    needs_decode = ("Final" in root.co_names or _mentions_final_text(root)
                    or options.get("caps") or options.get("stdlib") or options.get("guard"))
    store_count: dict[str, int] = {}
    if needs_decode or want_builtins:
        names = root.co_names
        for op, arg in raw_instructions(root):
            if op == _STORE_NAME or op == _DELETE_NAME or op == _STORE_GLOBAL or (
                    op == _DELETE_GLOBAL):
                name = names[arg]
                # a deletion counts twice: it never qualifies
                store_count[name] = store_count.get(name, 0) + (1 if op == _STORE_NAME else 2)
    if want_builtins:
        bound = set(store_count) | written
        if "__builtins__" not in bound:
            facts.builtins = frozenset(_values.PURE_BUILTINS | {"type", "str", "int", "bytes"}
                                       ) - bound
    if not needs_decode:
        return facts
    single = {n for n, c in store_count.items() if c == 1 and n not in written}
    if not single:
        return facts
    _prove_globals(root, single, options, facts)
    return facts


def _mentions_final_text(root) -> bool:
    # ``from __future__ import annotations`` turns annotations into strings
    return any(type(c) is str and "Final" in c for c in root.co_consts)


class _Stores:
    """What each once-stored module name is bound to, read off the module code."""

    def __init__(self, bc: ir.Bytecode, single: set):
        self.bc = bc
        self.instrs = [x for x in bc.items if type(x) is ir.Instr]
        self.after_label = set()
        count = 0
        for item in bc.items:
            if type(item) is ir.Instr:
                count += 1
            else:
                self.after_label.add(count)
        self.store_at: dict[str, int] = {}
        for k, ins in enumerate(self.instrs):
            if ins.op == _STORE_NAME and bc.names[ins.arg] in single:
                self.store_at[bc.names[ins.arg]] = k

    def prev(self, k: int):
        """The instruction run just before ``k`` on every path, or None."""
        if k <= 0 or k in self.after_label:
            return None
        return self.instrs[k - 1]

    def binding(self, name: str):
        """("value", constant) | ("module", modname) | ("attr", (modname, attr)) | None."""
        k = self.store_at.get(name)
        if k is None:
            return None
        prev = self.prev(k)
        if prev is None:
            return None
        bc = self.bc
        if prev.op == _LOAD_CONST:
            return ("value", bc.consts[prev.arg])
        if prev.op == _IMPORT_NAME:
            module = bc.names[prev.arg]
            if "." in module or not self._plain_import(k - 1, from_list=False):
                return None
            return ("module", module)
        if prev.op == _IMPORT_FROM:
            attr = bc.names[prev.arg]
            j = k - 1
            # walk back over earlier "IMPORT_FROM a; STORE_NAME a" pairs of the same import
            while True:
                before = self.prev(j)
                if before is None:
                    return None
                if before.op == _IMPORT_NAME:
                    break
                if before.op != _STORE_NAME:
                    return None
                j -= 1
                before = self.prev(j)
                if before is None or before.op != _IMPORT_FROM:
                    return None
                j -= 1
            module = bc.names[self.instrs[j - 1].arg]
            if not self._plain_import(j - 1, from_list=True):
                return None
            return ("attr", (module, attr))
        return None

    def _plain_import(self, k: int, from_list: bool) -> bool:
        """``IMPORT_NAME`` at ``k`` is absolute (level 0)."""
        fromlist = self.prev(k)
        level = self.prev(k - 1) if fromlist is not None else None
        if fromlist is None or level is None:
            return False
        if fromlist.op != _LOAD_CONST or level.op != _LOAD_CONST:
            return False
        if self.bc.consts[level.arg] != 0:
            return False
        return (self.bc.consts[fromlist.arg] is None) != from_list

    def annotation(self, name: str) -> list | None:
        """The instructions of ``name``'s annotation (``X: <ann> = value``), if any."""
        k = self.store_at.get(name)
        if k is None:
            return None
        names = self.bc.names
        consts = self.bc.consts
        out = []
        for j in range(k + 1, min(k + 40, len(self.instrs) - 2)):
            if j in self.after_label:
                return None
            ins = self.instrs[j]
            if ins.op == _LOAD_NAME and names[ins.arg] == "__annotations__":
                key, store = self.instrs[j + 1], self.instrs[j + 2]
                if key.op == _LOAD_CONST and consts[key.arg] == name and (
                        store.op == _STORE_SUBSCR):
                    return out
                return None
            out.append(ins)
        return None


def _prove_globals(root, single: set, options, facts: ModuleFacts) -> None:
    bc = ir.Bytecode.from_code(root)
    stores = _Stores(bc, single)
    bindings = {name: stores.binding(name) for name in stores.store_at}

    def is_final_ref(parts: list) -> bool:
        """``Final`` / ``typing.Final`` / either subscripted, from the right module."""
        if not parts:
            return False
        first = parts[0]
        if first.op == _LOAD_CONST and type(bc.consts[first.arg]) is str and len(parts) == 1:
            m = _FINAL_TEXT.match(bc.consts[first.arg])
            if m is None:
                return False
            return _resolves_to_final(m.group(1), m.group(2), bindings)
        if first.op != _LOAD_NAME:
            return False
        head = bc.names[first.arg]
        rest = parts[1:]
        if rest and rest[0].op == _LOAD_ATTR:
            attr = bc.names[rest[0].arg >> V.LOAD_ATTR_SHIFT]
            if not _resolves_to_final(head, attr, bindings):
                return False
            rest = rest[1:]
        elif not _resolves_to_final(None, head, bindings):
            return False
        return not rest or rest[-1].op == _BINARY_SUBSCR

    chosen: dict[str, GlobalFact] = {}
    for name, binding in bindings.items():
        if binding is None:
            continue
        kind, value = binding
        if kind == "value":
            if is_final_ref(stores.annotation(name) or []):
                origin = "final"
            elif options.get("caps") and _CAPS.match(name) and not name.startswith("__"):
                origin = "caps"
            elif options.get("guard"):
                origin = "guard"
            else:
                continue
            chosen[name] = GlobalFact(name, "value", value, origin)
        elif options.get("stdlib"):
            if kind == "module" and value in _values.STDLIB_CONSTANTS:
                chosen[name] = GlobalFact(name, "module", value, "stdlib")
            elif kind == "attr":
                attr_value = _values.stdlib_value(*value)
                if attr_value is not _values.NO:
                    chosen[name] = GlobalFact(name, "value", attr_value, "stdlib")
    if not chosen:
        return
    facts.globals = chosen
    bits = {name: 1 << i for i, name in enumerate(chosen)}
    gens = {stores.store_at[name]: bit for name, bit in bits.items()}
    everything = (1 << len(bits)) - 1
    state = Flow(bc.items).surely_set(gens, everything)
    eligible_bits: dict[tuple, int] = {}
    for k, ins in enumerate(stores.instrs):
        if ins.op == _LOAD_CONST:
            const = bc.consts[ins.arg]
            if type(const) is types.CodeType:
                _mark(const, state[k], eligible_bits)
    guard_bits = sum(bit for name, bit in bits.items() if chosen[name].origin == "guard")
    if guard_bits:
        facts.guarded = frozenset(n for n, f in chosen.items() if f.origin == "guard")
        # the run-time guard finds code objects by key: an ambiguous key cannot be undone
        seen: dict = {}
        for code in ir.walk_code(root):
            seen[code_key(code)] = seen.get(code_key(code), 0) + 1
        for key, count in seen.items():
            if count > 1 and key in eligible_bits:
                eligible_bits[key] &= ~guard_bits
    names_of = {}
    for key, mask in eligible_bits.items():
        if mask not in names_of:
            names_of[mask] = frozenset(n for n, b in bits.items() if mask & b)
        if names_of[mask]:
            facts.eligible[key] = names_of[mask]


def _mark(code, mask: int, out: dict) -> None:
    key = code_key(code)
    out[key] = out[key] & mask if key in out else mask
    for inner in ir.nested_code(code):
        _mark(inner, mask, out)


def _resolves_to_final(module_name, attr, bindings) -> bool:
    if attr is None:
        return False
    if module_name is None:
        b = bindings.get(attr)
        return b is not None and b[0] == "attr" and b[1][0] in _FINAL_MODULES and (
            b[1][1] == "Final")
    b = bindings.get(module_name)
    return attr == "Final" and b is not None and b[0] == "module" and b[1] in _FINAL_MODULES


def dominated_loads(bc: ir.Bytecode, facts: ModuleFacts) -> dict[int, set]:
    """In the module code itself: ``{id(load): names}`` for the loads of proven globals
    that their store dominates (earlier loads still raise NameError, as they should)."""
    instrs = [x for x in bc.items if type(x) is ir.Instr]
    bits = {name: 1 << i for i, name in enumerate(facts.globals)}
    gens: dict[int, int] = {}
    for k, ins in enumerate(instrs):
        if ins.op == _STORE_NAME:
            bit = bits.get(bc.names[ins.arg])
            if bit:
                gens[k] = gens.get(k, 0) | bit
    if not gens:
        return {}
    state = Flow(bc.items).surely_set(gens, (1 << len(bits)) - 1)
    allowed: dict[int, set] = {}
    for k, ins in enumerate(instrs):
        if ins.op == _LOAD_NAME:
            name = bc.names[ins.arg]
        elif ins.op == _LOAD_GLOBAL:
            name = bc.names[ins.arg >> V.LOAD_GLOBAL_SHIFT]
        else:
            continue
        bit = bits.get(name)
        if bit and state[k] & bit:
            allowed[id(ins)] = {name}
    return allowed
