"""Whole-module facts, proven from the module's bytecode before any code object is folded.

A module global ``X`` may be replaced by its value in a code object when:

* the module code stores it exactly once (``STORE_NAME X``), right after the load of a
  constant or an ``import`` of the module or attribute it stands for (one that is never
  lazy, 3.15+), or after an expression the folder computes from constants and the globals
  proven before it (``HALF: Final = WIDTH // 2``);
* nothing else binds or deletes it: no other ``STORE_NAME``/``DELETE_NAME`` in the module
  code, no ``STORE_GLOBAL``/``DELETE_GLOBAL`` anywhere (``global X`` + assignment), no
  ``from m import *``, and no code of the module mentions ``globals``, ``vars``, ``exec``
  or ``eval`` (nor ``locals`` at module level, where it is the globals dict);
* that store runs before the code object can exist: it dominates every load of the code
  object in the module code (or, in the module code itself, the load of the global).

Which names qualify is decided by the options: ``Final`` annotations (tier 1), ALL_CAPS
names (``caps``), ``import math`` and ``from math import pi`` (``stdlib``). A builtin
(``builtins``) qualifies when the module never binds its name at all.

``X: Final = 3`` is read where the annotation is: evaluated right after the store into
``__annotations__`` (up to 3.13, and with ``from __future__ import annotations``), or, with
3.14's deferred annotations (PEP 649), in the module's ``__annotate__`` function, which
the store names by the index it adds to ``__conditional_annotations__``. That function is
only read, never run: annotations stay deferred.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field

from ... import ir
from . import _values
from ._fold import Folder, Report

V = ir.version
_STORE_NAME = V.OPMAP["STORE_NAME"]
_DELETE_NAME = V.OPMAP["DELETE_NAME"]
_STORE_GLOBAL = V.OPMAP["STORE_GLOBAL"]
_DELETE_GLOBAL = V.OPMAP["DELETE_GLOBAL"]
_IMPORT_NAME = V.OPMAP["IMPORT_NAME"]
_IMPORT_FROM = V.OPMAP["IMPORT_FROM"]
_STORE_SUBSCR = V.OPMAP["STORE_SUBSCR"]
_BUILD_MAP = V.OPMAP["BUILD_MAP"]
_STORE_GLOBAL_OP, _DELETE_GLOBAL_OP = bytes((_STORE_GLOBAL,)), bytes((_DELETE_GLOBAL,))

#: Names whose use means globals may change behind our back.
_DYNAMIC = frozenset(("globals", "vars", "exec", "eval"))
_CAPS = re.compile(r"_*[A-Z][A-Z0-9_]*\Z")
_FINAL_MODULES = ("typing", "typing_extensions")
_FINAL_TEXT = re.compile(r"\s*(?:(\w+)\.)?(\w+)\s*(?:\[.*\])?\s*\Z", re.S)
#: 3.14+: the set of the module's annotations whose statement has run (PEP 649)
_CONDITIONAL = "__conditional_annotations__"


def code_key(code: types.CodeType) -> tuple:
    """How a code object is recognised again after the driver re-links its parents."""
    return (getattr(code, "co_qualname", code.co_name), code.co_firstlineno, code.co_name)


@dataclass
class GlobalFact:
    name: str
    kind: str          # "value" (a constant) or "module" (an imported stdlib module)
    value: object      # the constant, or the module's name
    origin: str        # "final", "caps", "stdlib", "guard"
    #: bound to an expression the folder computed (``HALF: Final = WIDTH // 2``), not to
    #: a constant of the module code: the module code must be folded to this very object
    computed: bool = False


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
    _opcodes: dict = field(default_factory=dict, repr=False)

    def opcodes(self, code: types.CodeType) -> bytes:
        """``ir.raw.opcodes(code)``, read once per code object (the module's analysis and
        the pass's scans both want them)."""
        seen = self._opcodes.get(id(code))
        if seen is not None and seen[0] is code:
            return seen[1]
        ops = ir.raw.opcodes(code)
        self._opcodes[id(code)] = (code, ops)
        return ops

    def names_for(self, code: types.CodeType) -> frozenset:
        return self.eligible.get(code_key(code), frozenset())

    def attrs_of(self, name: str) -> frozenset | None:
        """For an imported module, the attributes worth folding; None for a value."""
        fact = self.globals[name]
        return _values.STDLIB_CONSTANTS[fact.value] if fact.kind == "module" else None

    def computed_values(self) -> list:
        """The values of globals bound to a computed expression whose identity a copy
        would not keep: the module code's fold of that expression must load these objects
        (they go into its constants first), as the code objects folded before it do."""
        return [f.value for f in self.globals.values()
                if f.computed and not _values.identity_safe(f.value)]


def _global_writes(codes, facts: ModuleFacts) -> set[str]:
    written = set()
    for code in codes:
        ops = facts.opcodes(code)
        if _STORE_GLOBAL_OP in ops or _DELETE_GLOBAL_OP in ops:
            names = code.co_names
            for op, arg in ir.raw.instructions_of(code):
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
    want_builtins = options.get("builtins") or options.get("membership_sets")
    needs_decode = (_mentions_final(root) or options.get("caps") or options.get("stdlib")
                    or options.get("guard"))
    if not (needs_decode or want_builtins):
        return facts
    written = _global_writes(codes, facts)
    store_count: dict[str, int] = {}
    names = root.co_names
    for op, arg in ir.raw.instructions_of(root):
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


def _mentions_final(root) -> bool:
    if "Final" in root.co_names:
        return True
    # ``from __future__ import annotations`` turns annotations into strings; 3.14 defers
    # them into the module's ``__annotate__``
    return any(type(c) is str and "Final" in c or type(c) is types.CodeType
               and c.co_name == "__annotate__" and "Final" in c.co_names
               for c in root.co_consts)


def _loaded_name(bc: ir.Bytecode, ins: ir.Instr) -> str | None:
    """The global, module or cell variable that ``ins`` loads, or None."""
    if ins.op in V.GLOBAL_LOADS:
        return bc.names[ir.name_index_of(ins)]
    return ir.local_name(bc.code, ins)


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

    def constant(self, ins):
        return ir.constant_of(self.bc, ins) if ins is not None else ir.NOT_CONSTANT

    def binding(self, name: str):
        """("value", constant) | ("module", modname) | ("attr", (modname, attr)) | None."""
        k = self.store_at.get(name)
        if k is None:
            return None
        prev = self.prev(k)
        if prev is None:
            return None
        bc = self.bc
        value = self.constant(prev)
        if value is not ir.NOT_CONSTANT:
            return ("value", value)
        if prev.op == _IMPORT_NAME:
            module = bc.names[ir.name_index_of(prev)]
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
            module = bc.names[ir.name_index_of(self.instrs[j - 1])]
            if not self._plain_import(j - 1, from_list=True):
                return None
            return ("attr", (module, attr))
        return None

    def lazy_import(self, name: str) -> bool:
        """``name`` is bound by an import (see :meth:`binding`) that may be lazy (3.15+,
        PEP 810): folding the module's attributes would skip the use that loads it."""
        k = self.store_at[name]
        while self.instrs[k].op != _IMPORT_NAME:
            k -= 1
        return ir.import_may_be_lazy(self.instrs[k])

    def expression(self, name: str) -> list:
        """The instructions run right before the store of ``name`` on its line, back to a
        label or another line: everything a fold of the stored value can use, as folds
        never span lines."""
        k = self.store_at[name]
        line = self.instrs[k].loc[0]
        j = k
        while j > 0 and j not in self.after_label and self.instrs[j - 1].loc[0] == line:
            j -= 1
        return self.instrs[j:k]

    def _plain_import(self, k: int, from_list: bool) -> bool:
        """``IMPORT_NAME`` at ``k`` is absolute (level 0)."""
        fromlist = self.prev(k)
        level = self.prev(k - 1) if fromlist is not None else None
        fromlist, level = self.constant(fromlist), self.constant(level)
        if level is ir.NOT_CONSTANT or fromlist is ir.NOT_CONSTANT or level != 0:
            return False
        return (fromlist is None) != from_list

    def annotation(self, name: str) -> list | None:
        """The instructions of ``name``'s annotation (``X: <ann> = value``) when it is
        evaluated right after the store (into ``__annotations__``), if it is."""
        k = self.store_at.get(name)
        if k is None:
            return None
        bc = self.bc
        out = []
        for j in range(k + 1, min(k + 40, len(self.instrs) - 2)):
            if j in self.after_label:
                return None
            ins = self.instrs[j]
            if _loaded_name(bc, ins) == "__annotations__":
                key, store = self.instrs[j + 1], self.instrs[j + 2]
                if self.constant(key) == name and store.op == _STORE_SUBSCR:
                    return out
                return None
            out.append(ins)
        return None

    def conditional_index(self, name: str):
        """3.14+: the index the store of ``name`` adds to ``__conditional_annotations__``
        (``STORE_NAME X; LOAD_NAME __conditional_annotations__; <i>; SET_ADD; POP_TOP``),
        which names its entry in ``__annotate__``; None if there is none."""
        k = self.store_at.get(name)
        if k is None or k + 2 >= len(self.instrs) or k + 1 in self.after_label:
            return None
        if _loaded_name(self.bc, self.instrs[k + 1]) != _CONDITIONAL:
            return None
        index = self.constant(self.instrs[k + 2])
        return index if type(index) is int else None


def _deferred_annotations(root: types.CodeType, store_count: dict) -> tuple | None:
    """3.14+ (PEP 649): ``(bytecode of __annotate__, {key: [(index, instructions)]})``
    for the entries of the module's ``__annotate__`` function: each annotation's
    instructions, and the index of ``__conditional_annotations__`` it is guarded by
    (None if it is not). Read, never run."""
    found = [c for c in root.co_consts
             if type(c) is types.CodeType and c.co_name == "__annotate__"]
    if len(found) != 1 or store_count.get("__annotate__") != 1:
        return None  # none, or one the module wrote itself
    bc = ir.Bytecode.from_code(found[0])
    entries: dict = {}
    start = 0  # where the current annotation's instructions begin
    index = None
    run: list[ir.Instr] = []
    for item in bc.items:
        if type(item) is not ir.Instr:
            continue
        operation = ir.operation_of(item)
        kind = operation[0] if operation else None
        run.append(item)
        if kind == "jump_if":
            # the guard: <i>; LOAD_GLOBAL __conditional_annotations__; CONTAINS_OP
            guard = run[-4:-1]
            index = None
            if len(guard) == 3 and _loaded_name(bc, guard[1]) == _CONDITIONAL and (
                    ir.operation_of(guard[2]) == ("contains", False)):
                value = ir.constant_of(bc, guard[0])
                index = value if type(value) is int else None
            start = len(run)
        elif kind == "not_taken" or item.op == _BUILD_MAP:
            start = len(run)
        elif item.op == _STORE_SUBSCR:
            # <annotation>; COPY 2 (the dict); <key>; STORE_SUBSCR
            key = ir.constant_of(bc, run[-2]) if len(run) >= 3 else None
            if type(key) is str and ir.operation_of(run[-3]) == ("copy", 2):
                entries.setdefault(key, []).append((index, run[start:-3]))
            index = None
            start = len(run)
    return bc, entries


def _prove_globals(root, single: set, options, facts: ModuleFacts) -> None:
    bc = ir.Bytecode.from_code(root)
    stores = _Stores(bc, single)
    bindings = {name: stores.binding(name) for name in stores.store_at}

    def is_final_ref(code_bc: ir.Bytecode, parts: list) -> bool:
        """``Final`` / ``typing.Final`` / either subscripted, from the right module."""
        if not parts:
            return False
        first = parts[0]
        text = ir.constant_of(code_bc, first)
        if type(text) is str and len(parts) == 1:
            m = _FINAL_TEXT.match(text)
            if m is None:
                return False
            return _resolves_to_final(m.group(1), m.group(2), bindings)
        if text is not ir.NOT_CONSTANT or first.op not in V.GLOBAL_LOADS:
            return False
        head = code_bc.names[ir.name_index_of(first)]
        rest = parts[1:]
        if rest and V.OPERATIONS.get(rest[0].op) == "attr":
            attr = code_bc.names[ir.name_index_of(rest[0])]
            if not _resolves_to_final(head, attr, bindings):
                return False
            rest = rest[1:]
        elif not _resolves_to_final(None, head, bindings):
            return False
        return not rest or ir.is_subscript(rest[-1])

    deferred = None
    if any(type(c) is types.CodeType and c.co_name == "__annotate__" for c in root.co_consts):
        store_count = {}
        for ins in stores.instrs:
            if ins.op == _STORE_NAME:
                name = bc.names[ins.arg]
                store_count[name] = store_count.get(name, 0) + 1
        deferred = _deferred_annotations(root, store_count)

    def is_final(name: str) -> bool:
        if is_final_ref(bc, stores.annotation(name) or []):
            return True
        if deferred is None:
            return False
        annotate_bc, entries = deferred
        index = stores.conditional_index(name)
        return any(is_final_ref(annotate_bc, parts)
                   for guard, parts in entries.get(name, ()) if guard == index)

    def origin_of(name: str) -> str | None:
        """Why a name bound once to a value may be folded, if it may."""
        if is_final(name):
            return "final"
        if options.get("caps") and _CAPS.match(name) and not name.startswith("__"):
            return "caps"
        if options.get("guard"):
            return "guard"
        return None

    chosen: dict[str, GlobalFact] = {}
    expressions = []
    for name, binding in bindings.items():
        if binding is None:
            expressions.append(name)
            continue
        kind, value = binding
        if kind == "value":
            origin = origin_of(name)
            if origin is not None:
                chosen[name] = GlobalFact(name, "value", value, origin)
        elif options.get("stdlib") and not stores.lazy_import(name):
            if kind == "module" and value in _values.STDLIB_CONSTANTS:
                chosen[name] = GlobalFact(name, "module", value, "stdlib")
            elif kind == "attr":
                attr_value = _values.stdlib_value(*value)
                if attr_value is not _values.NO:
                    chosen[name] = GlobalFact(name, "value", attr_value, "stdlib")
    builtins = facts.builtins if options.get("builtins") else frozenset()
    _prove_computed(bc, stores, expressions, chosen, origin_of, builtins)
    if not chosen:
        return
    facts.globals = chosen
    bits = {name: 1 << i for i, name in enumerate(chosen)}
    gens = {stores.store_at[name]: bit for name, bit in bits.items()}
    everything = (1 << len(bits)) - 1
    state = ir.Flow(bc.items, root).surely_set(gens, everything)
    eligible_bits: dict[tuple, int] = {}
    for k, ins in enumerate(stores.instrs):
        if ins.op in V.CONSTANT_LOADS:  # (cheap first: the module code may be long)
            const = stores.constant(ins)
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


#: What an expression that may fold to a constant ends with (the operation that pushes the
#: value stored): anything else (a call of a function, ``MAKE_FUNCTION``...) is not looked at.
_MAY_BE_CONSTANT = frozenset((
    "global", "name", "attr", "call", "subscript", "slice", "build_tuple", "binary",
    "unary", "compare", "contains", "is"))


def _prove_computed(bc: ir.Bytecode, stores: _Stores, names: list, chosen: dict,
                    origin_of, builtins: frozenset) -> None:
    """Add to ``chosen`` the names of ``names`` (bound once, not to a constant) whose value
    the folder computes from constants and the globals proven so far, by the rules it
    folds any code with (``HALF: Final = WIDTH // 2``).

    ``names`` come in the order of their stores, so a name proven here may feed the next.
    A global's value is used only where its store dominates the load, as in the module code
    itself: a name read before it is bound still raises ``NameError``, and what depends on
    it is not proven.
    """
    allowed = None
    scratch = ir.Bytecode(bc.code, [])  # consts may grow: the analysis' copy, never encoded

    def lookup(ins, name):
        return chosen.get(name) if name in allowed.get(id(ins), ()) else None

    for name in names:
        run = stores.expression(name)
        operation = ir.operation_of(run[-1]) if run else None
        if operation is None or operation[0] not in _MAY_BE_CONSTANT:
            continue
        origin = origin_of(name)
        if origin is None:
            continue
        if allowed is None:
            allowed = dominated_loads(bc, [*chosen, *names])
        scratch.items = list(run)
        Folder(scratch, lookup, builtins, True, {}, Report(), {}).run()
        last = scratch.items[-1] if scratch.items else None
        value = ir.constant_of(scratch, last) if type(last) is ir.Instr else ir.NOT_CONSTANT
        if value is not ir.NOT_CONSTANT:
            chosen[name] = GlobalFact(name, "value", value, origin, computed=True)


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


def dominated_loads(bc: ir.Bytecode, names) -> dict[int, set]:
    """In the module code itself: ``{id(load): names}`` for the loads of the globals
    ``names`` (proven ones) that their store dominates (earlier loads still raise NameError,
    as they should)."""
    instrs = [x for x in bc.items if type(x) is ir.Instr]
    bits = {name: 1 << i for i, name in enumerate(names)}
    gens: dict[int, int] = {}
    for k, ins in enumerate(instrs):
        if ins.op == _STORE_NAME:
            bit = bits.get(bc.names[ins.arg])
            if bit:
                gens[k] = gens.get(k, 0) | bit
    if not gens:
        return {}
    state = ir.Flow(bc.items, bc.code).surely_set(gens, (1 << len(bits)) - 1)
    allowed: dict[int, set] = {}
    for k, ins in enumerate(instrs):
        if ins.op not in V.GLOBAL_LOADS:
            continue
        name = bc.names[ir.name_index_of(ins)]
        bit = bits.get(name)
        if bit and state[k] & bit:
            allowed[id(ins)] = {name}
    return allowed
