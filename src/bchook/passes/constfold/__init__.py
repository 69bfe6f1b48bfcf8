"""The ``constfold`` pass: constant folding and propagation beyond CPython's own optimizer.

Tier 1 (always on, changes nothing a program can observe): local constant propagation,
folds of comparisons, ``in``, ``is`` with singletons, subscripts and pure methods of
constants, module globals annotated ``Final``, and removal of the branches their tests make
dead. Tier 2 options each state an assumption (see the README): ``builtins``, ``stdlib``,
``caps``, ``membership_sets``. Tier 3, ``guard=1``, folds plain module globals and undoes
that at run time when one is written. ``report=1`` prints what was folded, per module, on
stderr.

Stages, per module: :mod:`._module` proves facts about globals from the module's bytecode
(before the first code object, which the driver hands over nested-first); per code object,
:mod:`._scan` decides without decoding whether anything may fold, then rounds of
:mod:`._locals` (propagation) and :mod:`._fold` (folds, decided branches), after which
``ir.drop_unreachable`` and :mod:`._flow` remove what became dead or redundant;
:mod:`._members` and :mod:`._guardcode` add tier-2/3 code last.
"""

from __future__ import annotations

import sys
import types

from ... import ir
from ...pipeline.api import Context, Option, Pass, flag
from . import _flow
from . import _guardcode
from . import _locals
from . import _members
from . import _module
from . import _scan
from ._fold import Folder, Report

__all__ = ["ConstFoldPass"]

#: A fold can make a new "x = <constant>" whose propagation reveals more folds.
_MAX_ROUNDS = 4


class ConstFoldPass(Pass):
    name = "constfold"
    version = "2"  # 2: the constants and names folds left unused are dropped
    keeps_lines = False  # the lines of the code it folds away run no more
    option_specs = (
        Option("builtins", flag, False, "tier 2: fold calls of pure builtins on constants "
               "(len('abc') -> 3); assumes nobody replaces them in builtins"),
        Option("stdlib", flag, False, "tier 2: fold constants of the standard library "
               "(math.pi, sys.maxsize, string.digits...); assumes they are never reassigned"),
        Option("caps", flag, False, "tier 2: treat ALL_CAPS module globals bound once to a "
               "constant as Final; assumes nothing outside the module writes them"),
        Option("membership_sets", flag, False, "tier 2: x in (5 or more constants) becomes a "
               "frozenset lookup when type(x) is exactly str, int or bytes"),
        Option("guard", flag, False, "tier 3: fold plain module globals too, undone at run "
               "time when one is written"),
        Option("report", flag, False, "print what was folded, per module, on stderr"),
    )

    # -- module facts ------------------------------------------------------------------

    def _facts(self, ctx: Context) -> _module.ModuleFacts:
        facts = ctx.state.get("facts")
        if facts is None:
            facts = ctx.state["facts"] = _module.analyse(ctx.module_code, self.options)
            ctx.state["report"] = Report()
        return facts

    def wants(self, code: types.CodeType, ctx: Context) -> bool:
        facts = self._facts(ctx)
        if self._worth_decoding(code, facts):
            return True
        if code.co_name == "<module>":
            if ctx.state.get("guard"):
                return True  # the module code must call the guard's install()
            if facts.computed_values():
                return True  # its expressions must give the objects functions were given
            self._print_report(ctx)
        return False

    def _worth_decoding(self, code: types.CodeType, facts: _module.ModuleFacts) -> bool:
        names = code.co_names
        ops = facts.opcodes(code)
        decoded = None

        def instrs():
            nonlocal decoded
            if decoded is None:
                decoded = ir.raw.instructions_of(code)
            return decoded

        if facts.globals:
            usable = facts.names_for(code)
            if code.co_name == "<module>":
                usable = facts.globals.keys()
            for name in usable:
                if name in names and _scan.global_feeds_fold(code, ops, instrs, name,
                                                              facts.attrs_of(name)):
                    return True
        if _scan.may_fold(ops) or _scan.may_propagate(ops, instrs):
            return True
        if self.options.get("builtins") and facts.builtins and not facts.builtins.isdisjoint(
                names) and _scan.builtin_called_with_constants(code, ops, instrs,
                                                               facts.builtins):
            return True
        if self.options.get("membership_sets") and _scan.CONST_CONTAINS.search(ops) and any(
                type(c) is tuple and len(c) >= _members.MIN_ITEMS for c in code.co_consts):
            return True
        return False

    # -- the bytecode stage -----------------------------------------------------------

    def transform_ir(self, bytecode: ir.Bytecode, ctx: Context) -> bool:
        facts = self._facts(ctx)
        code = bytecode.code
        is_module = code.co_name == "<module>"
        uses = bytecode.table_uses()
        first_added = len(bytecode.consts)
        report = Report()
        made: dict[int, ir.Instr] = {}  # by id, kept alive so ids stay unique
        from_locals: dict[int, ir.Instr] = {}
        changed = False
        global_value = self._global_lookup(bytecode, facts, is_module)
        if is_module:
            # the objects the code objects folded before were given: the fold of each one's
            # expression here finds it among the constants, so `f() is mod.X` stays true
            for value in facts.computed_values():
                bytecode.add_const(value)
        builtins = facts.builtins if self.options.get("builtins") else frozenset()
        for _ in range(_MAX_ROUNDS):
            propagated = _locals.propagate(bytecode, from_locals)
            report.locals += len(propagated)
            folder = Folder(bytecode, global_value, builtins, is_module, made, report,
                            from_locals)
            folded = folder.run()
            if not (propagated or folded):
                break
            changed = True
            if folded:
                bytecode.items, dead = ir.drop_unreachable(bytecode.items)
                report.dead += dead
                bytecode.items = _flow.drop_jumps_to_next(bytecode.items, made)
        if made:
            bytecode.items = _flow.drop_redundant_nops(bytecode.items, made)
        # last, so that tuples that only became constant (a folded global) qualify too
        if self.options.get("membership_sets") and _members.rewrite(
                bytecode, facts.builtins, report):
            changed = True
        ctx.state["report"].merge(report)
        if facts.guarded and not is_module:
            used = [n for n in report.globals if n in facts.guarded]
            if used:
                ctx.state.setdefault("guard", {})[_module.code_key(code)] = (code, used)
        if is_module:
            if ctx.state.get("guard"):
                self._add_guard(bytecode, facts, ctx.state["guard"])
                changed = True
            self._print_report(ctx)
        # With nothing else changed, what goes is only what this pass added: the code is
        # the one it was given, and need not be encoded again.
        bytecode.drop_unused(self._unused_candidates(bytecode, uses, first_added, ctx))
        return changed

    @staticmethod
    def _unused_candidates(bc: ir.Bytecode, uses: ir.TableUses, first_added: int,
                           ctx: Context) -> ir.TableUses:
        """What the folds may have left unused, as CPython's optimizer would not have kept
        it: the entries loaded before, and the constants this pass added (intermediate
        results such as the ``256`` of ``(1 << 8) - 1``, the objects put there for the
        module code's folds). Under ``guard=1`` a nested code object in which the guard
        must find folded code stays even when a removed branch held its only load: the
        guard finds folded code objects through ``co_consts``, and undoing the fold of
        this code object brings that branch back."""
        consts = uses.consts | frozenset(range(first_added, len(bc.consts)))
        guarded = ctx.state.get("guard")
        if guarded:
            consts = frozenset(i for i in consts if i >= len(bc.consts)
                               or not _holds_guarded(bc.consts[i], guarded))
        return ir.TableUses(consts, uses.names)

    @staticmethod
    def _add_guard(bc: ir.Bytecode, facts: _module.ModuleFacts, guarded: dict) -> None:
        names = sorted({n for _, used in guarded.values() for n in used})
        values = tuple(facts.globals[n].value for n in names)
        entries = tuple((key, original) for key, (original, _) in guarded.items())
        _guardcode.add_install(bc, (tuple(names), values, entries))

    def _global_lookup(self, bc: ir.Bytecode, facts: _module.ModuleFacts, is_module: bool):
        if not facts.globals:
            return _no_global
        if not is_module:
            eligible = facts.names_for(bc.code)
            if not eligible:
                return _no_global
            table = {n: facts.globals[n] for n in eligible}

            def lookup(ins, name):
                return table.get(name)
            return lookup
        allowed = _module.dominated_loads(bc, facts.globals)

        def lookup_in_module(ins, name):
            return facts.globals.get(name) if name in allowed.get(id(ins), ()) else None
        return lookup_in_module

    # -- report ------------------------------------------------------------------------

    def _print_report(self, ctx: Context) -> None:
        if not self.options.get("report") or ctx.state.get("reported"):
            return
        ctx.state["reported"] = True
        r: Report = ctx.state.get("report") or Report()
        parts = []
        if r.locals:
            parts.append(f"{r.locals} local(s) propagated")
        if r.globals:
            named = ", ".join(f"{n} x{c}" for n, c in sorted(r.globals.items()))
            parts.append(f"globals folded: {named}")
        if r.folds:
            parts.append(f"{r.folds} expression(s) folded")
        if r.branches:
            parts.append(f"{r.branches} branch test(s) decided")
        if r.dead:
            parts.append(f"{r.dead} dead instruction(s) removed")
        if r.membership:
            parts.append(f"{r.membership} membership test(s) as frozensets")
        summary = "; ".join(parts) if parts else "nothing folded"
        print(f"bchook constfold: {ctx.module}: {summary}", file=sys.stderr)


def _no_global(ins, name):
    return None


def _holds_guarded(value, guarded: dict) -> bool:
    """Is ``value`` a code object that is, or nests, one the guard may have to undo?"""
    if type(value) is not types.CodeType:
        return False
    return _module.code_key(value) in guarded or any(
        _holds_guarded(c, guarded) for c in value.co_consts)
