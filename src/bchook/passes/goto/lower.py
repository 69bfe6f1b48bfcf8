"""Lower checked gotos and labels to markers the bytecode stage resolves.

For a goto that must leave a block needing unwinding (``with``, ``try``, ``except``,
``finally``), the block ``U`` is wrapped so that CPython's own ``break`` unwinds it::

    while True:                 # a loop of our own, for break to leave
        U                       # each part the route leaves starts with its waypoints:
                                #   if <never>: <waypoint>: [exit = k]; break; ...
        <jump to after>         # U finished normally
    <dispatch: if exit == k: jump to the next hop (a waypoint further out, or the label)>
    <after>

``break``/``continue`` statements in ``U`` that meant a loop around ``U`` become exits of
the wrapper too, re-issued by the dispatch. Every other jump is a plain jump (the bytecode
stage pops ``for`` iterators). Then labels CPython would drop as unreachable are made
reachable with tests it cannot fold, and each jump learns which ``finally`` body it shares
with its label (see ``_goto_markers``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ... import ir
from . import markers as markers
from .scan import (SCOPE_NODES, TRY_NODES, Route, Scope, child_blocks, plan_routes,
                         scan_module)

if TYPE_CHECKING:
    from ...pipeline.api import Context

#: Statements after which the compiler always continues with the next one.
_FALLS_THROUGH = (
    ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass, ast.Import,
    ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Delete, ast.FunctionDef,
    ast.AsyncFunctionDef, ast.ClassDef,
)


@dataclass
class _Exit:
    """One way out of a wrapped block: ``("goto", name)`` jumps to ``target`` (a label
    id), ``("break",)``/``("continue",)`` re-issue that statement."""

    key: tuple
    loc: ast.AST
    target: int | None = None


class _Wrap:
    """What wrapping one block statement needs: its exits and its waypoints."""

    def __init__(self, stmt: ast.stmt):
        self.stmt = stmt
        self.exits: dict[tuple, _Exit] = {}
        # (id(owner), field) -> (Block, {exit key: (label id, loc node)})
        self.waypoints: dict[tuple, tuple] = {}


class Ids:
    """Label and finally-body numbers, unique in one module (kept in the pass's state)."""

    def __init__(self, state: dict):
        self.state = state
        state.setdefault("next_id", 1)
        self.names = state.setdefault("labels", {})  # id -> (description, line)

    def new(self, description: str, line: int) -> int:
        n = self.state["next_id"]
        self.state["next_id"] = n + 1
        self.names[n] = (description, line)
        return n


class _Lowering:
    def __init__(self, scope: Scope, routes: list[Route], ids: Ids):
        self.scope = scope
        self.ids = ids
        self.label_ids = {id(site.stmt): ids.new(f"label .{name}", site.stmt.lineno)
                          for name, site in scope.labels.items()}
        self.goto_targets: dict[int, int] = {}
        self.wraps: dict[int, _Wrap] = {}
        self.jump_nodes: dict[int, int] = {}   # id(Name) -> label id
        self.label_nodes: dict[int, int] = {}  # id(Name) -> label id
        # (a break of ours: a waypoint's or one standing for a continue, whether it
        # leaves a finally body)
        self.breaks: list = []
        for route in routes:
            self._plan(route)

    def _plan(self, route: Route) -> None:
        final = self.label_ids[id(route.label.stmt)]
        key = ("goto", route.goto.name)
        hops = []
        for block in route.unwinds:
            wrap = self.wraps.get(id(block.stmt))
            if wrap is None:
                wrap = self.wraps[id(block.stmt)] = _Wrap(block.stmt)
            part = wrap.waypoints.get((id(block.owner), block.field))
            if part is None:
                part = wrap.waypoints[(id(block.owner), block.field)] = (block, {})
            entry = part[1].get(key)
            if entry is None:
                lid = self.ids.new(f"waypoint of goto .{route.goto.name}",
                                   route.goto.stmt.lineno)
                entry = part[1][key] = (lid, route.goto.stmt)
            hops.append((wrap, entry[0]))
        self.goto_targets[id(route.goto.stmt)] = hops[0][1] if hops else final
        for i, (wrap, _) in enumerate(hops):
            target = hops[i + 1][1] if i + 1 < len(hops) else final
            wrap.exits.setdefault(key, _Exit(key, route.goto.stmt, target))

    def run(self) -> None:
        node = self.scope.node
        node.body = self._lower(node.body)
        self._reach(node.body)
        self._place_fins(node.body)

    # -- markers --------------------------------------------------------------------

    def _jump(self, label_id: int, loc: ast.AST) -> ast.stmt:
        name = ast.Name(id=markers.jump(label_id), ctx=ast.Load())
        self.jump_nodes[id(name)] = label_id
        return _at(ast.Expr(value=_at(name, loc)), loc)

    def _label(self, label_id: int, loc: ast.AST) -> ast.stmt:
        name = ast.Name(id=markers.label(label_id), ctx=ast.Load())
        self.label_nodes[id(name)] = label_id
        return _at(ast.Expr(value=_at(name, loc)), loc)

    def _marker_id(self, stmt, table: dict) -> int | None:
        if type(stmt) is ast.Expr and type(stmt.value) is ast.Name:
            return table.get(id(stmt.value))
        return None

    # -- gotos, labels and wrapped blocks ---------------------------------------------

    def _lower(self, stmts: list, in_finally: bool = False) -> list:
        """``stmts`` with gotos, labels and wrapped blocks lowered; ``in_finally``: a
        ``break``/``continue`` among them would leave a ``finally`` body (PEP 765)."""
        out = []
        for stmt in stmts:
            key = id(stmt)
            target = self.goto_targets.get(key)
            if target is not None:
                out.append(self._jump(target, stmt))
                continue
            label_id = self.label_ids.get(key)
            if label_id is not None:
                out.append(self._label(label_id, stmt))
                continue
            if isinstance(stmt, SCOPE_NODES):
                out.append(stmt)
                continue
            for block in child_blocks(stmt):
                setattr(block.owner, block.field, self._lower(
                    getattr(block.owner, block.field), _leaves_finally(block, in_finally)))
            wrap = self.wraps.get(key)
            if wrap is None:
                out.append(stmt)
            else:
                out.extend(self._wrap(wrap, in_finally))
        return out

    def _wrap(self, wrap: _Wrap, in_finally: bool) -> list:
        """The wrapper loop around ``wrap.stmt`` and its dispatch; ``in_finally``: where
        the statement is, a ``break``/``continue`` would leave a ``finally`` body."""
        stmt = wrap.stmt
        found: list = []  # (loop exit, whether it leaves a finally body of stmt)
        for block in child_blocks(stmt):
            _map_loop_exits(getattr(block.owner, block.field),
                            lambda node, fin: found.append((node, fin)),
                            _leaves_finally(block, False))
        for node, _ in found:
            key = ("break",) if type(node) is ast.Break else ("continue",)
            wrap.exits.setdefault(key, _Exit(key, node))
        keys = list(wrap.exits)
        number = {key: i + 1 for i, key in enumerate(keys)}
        numbered = len(keys) > 1

        def leave(key: tuple, loc: ast.AST) -> list:
            brk = _at(ast.Break(), loc)
            if not numbered:
                return [brk]
            return [_assign_exit(number[key], loc), brk]

        replaced = {}
        for node, leaves_finally in found:
            if type(node) is ast.Break:
                replaced[id(node)] = leave(("break",), node)
                continue
            seq = leave(("continue",), node)
            # Where the break standing for a continue leaves a finally body, the compiler
            # warns of a break (PEP 765): that warning is ours. The user's, of a continue,
            # comes from the continue re-issued after the wrapper if that one leaves a
            # finally body too, or else from a continue here that never runs.
            self.breaks.append((seq[-1], leaves_finally))
            if (leaves_finally and not in_finally
                    and ir.version.BREAK_IN_FINALLY_WARNING is not None):
                seq[-1:-1] = [_at(ast.If(test=_at(_name(markers.FALSE), node),
                                         body=[_at(ast.Continue(), node)], orelse=[]), node)]
            replaced[id(node)] = seq
        if found:
            for block in child_blocks(stmt):
                setattr(block.owner, block.field, _map_loop_exits(
                    getattr(block.owner, block.field), lambda s, _: replaced[id(s)]))

        for block, entries in wrap.waypoints.values():
            body = []
            items = list(entries.items())
            for key, (label_id, loc) in items:
                body.append(self._label(label_id, loc))
                body.extend(leave(key, loc))  # _reach keeps the next waypoint reachable
                self.breaks.append((body[-1], block.field == "finalbody"))
            stmts = getattr(block.owner, block.field)
            first = stmts[0]
            guard = _at(ast.If(test=_at(_name(markers.FALSE), first), body=body, orelse=[]),
                        first)
            setattr(block.owner, block.field, [guard] + stmts)

        after = self.ids.new("end of a block left by goto", stmt.lineno)
        loop = _at(ast.While(test=_at(ast.Constant(value=True), stmt),
                             body=[stmt, self._jump(after, stmt)], orelse=[]), stmt)
        dispatch = []
        for i, key in enumerate(keys):
            exit_ = wrap.exits[key]
            if key[0] == "goto":
                action = [self._jump(exit_.target, exit_.loc)]
            elif key[0] == "break":
                action = [_at(ast.Break(), exit_.loc)]
            else:
                action = [_at(ast.Continue(), exit_.loc)]
            if numbered and not self.scope.is_function:
                # module and class namespaces are visible: leave no variable behind
                action.insert(0, _at(ast.Delete(targets=[
                    _at(ast.Name(id=markers.EXIT_VAR, ctx=ast.Del()), exit_.loc)]), exit_.loc))
            if numbered and i < len(keys) - 1:
                test = _at(ast.Compare(
                    left=_at(ast.Name(id=markers.EXIT_VAR, ctx=ast.Load()), exit_.loc),
                    ops=[ast.Eq()], comparators=[_at(ast.Constant(value=i + 1), exit_.loc)]),
                    exit_.loc)
                dispatch.append(_at(ast.If(test=test, body=action, orelse=[]), exit_.loc))
            else:
                dispatch.extend(action)
        return [loop, *dispatch, self._label(after, stmt)]

    # -- reachability -------------------------------------------------------------

    def _reach(self, stmts: list) -> bool:
        """Keep every label reachable in the compiler's eyes; True if ``stmts`` has one."""
        has = []
        for stmt in stmts:
            if self._marker_id(stmt, self.label_nodes) is not None:
                has.append(True)
                continue
            if isinstance(stmt, SCOPE_NODES):
                has.append(False)
                continue
            inner = {}
            for block in child_blocks(stmt):
                inner[block.field if block.owner is stmt else id(block.owner)] = \
                    self._reach(getattr(block.owner, block.field))
            t = type(stmt)
            if (t is ast.If or t is ast.While) and type(stmt.test) is ast.Constant:
                truthy = bool(stmt.test.value)
                if inner["orelse" if truthy else "body"]:
                    stmt.test = _at(_name(markers.TRUE if truthy else markers.FALSE),
                                    stmt.test)
            elif t in TRY_NODES and inner["orelse"] and stmt.body:
                if not isinstance(stmt.body[-1], _FALLS_THROUGH):
                    stmt.body[-1] = _opaque(stmt.body[-1])
            has.append(any(inner.values()))
        for i in range(1, len(stmts)):
            if has[i] and not isinstance(stmts[i - 1], _FALLS_THROUGH):
                stmts[i - 1] = _opaque(stmts[i - 1])
        return any(has)

    # -- finally bodies -------------------------------------------------------------

    def _place_fins(self, body: list) -> None:
        label_chain: dict[int, tuple] = {}
        jumps: list = []
        fins: dict[int, tuple] = {}  # id(try stmt) -> (fin id, stmt)
        self._walk_fins(body, (), label_chain, jumps, fins)
        needed = {}
        for name, label_id, chain in jumps:
            target_chain = label_chain.get(label_id, ())
            shared = None
            for a, b in zip(chain, target_chain):
                if a != b:
                    break
                shared = a
            name.id = markers.jump(label_id, shared)
            if shared is not None:
                needed[shared] = True
        for fin_id, stmt in fins.values():
            if fin_id in needed:
                first = stmt.finalbody[0]
                stmt.finalbody.insert(0, _at(ast.Expr(value=_at(
                    _name(markers.fin(fin_id)), first)), first))

    def _walk_fins(self, stmts, chain, label_chain, jumps, fins) -> None:
        for stmt in stmts:
            if type(stmt) is ast.Expr and type(stmt.value) is ast.Name:
                key = id(stmt.value)
                if key in self.label_nodes:
                    label_chain[self.label_nodes[key]] = chain
                elif key in self.jump_nodes:
                    jumps.append((stmt.value, self.jump_nodes[key], chain))
                continue
            if isinstance(stmt, SCOPE_NODES):
                continue
            for block in child_blocks(stmt):
                inner = chain
                if block.field == "finalbody" and block.owner.finalbody:
                    entry = fins.get(id(stmt))
                    if entry is None:
                        entry = fins[id(stmt)] = (self.ids.new("finally", stmt.lineno), stmt)
                    inner = chain + (entry[0],)
                self._walk_fins(getattr(block.owner, block.field), inner, label_chain,
                                jumps, fins)


def _map_loop_exits(stmts: list, visit, in_finally: bool = False) -> list:
    """Call ``visit(statement, leaves_finally)`` on each break/continue of ``stmts`` that
    leaves the loop around them (not one inside a loop of their own), ``leaves_finally``
    if it leaves a ``finally`` body of ``stmts`` (``in_finally``: ``stmts`` are one); it
    returns the replacement list or None."""
    out = []
    for stmt in stmts:
        t = type(stmt)
        if t is ast.Break or t is ast.Continue:
            new = visit(stmt, in_finally)
            if new is None:
                out.append(stmt)
            else:
                out.extend(new)
            continue
        if isinstance(stmt, SCOPE_NODES):
            out.append(stmt)
            continue
        for block in child_blocks(stmt):
            if block.kind in ("for", "while"):
                continue  # their break/continue stay theirs
            setattr(block.owner, block.field, _map_loop_exits(
                getattr(block.owner, block.field), visit, _leaves_finally(block, in_finally)))
        out.append(stmt)
    return out


def _leaves_finally(block, outside: bool) -> bool:
    """Would a ``break``/``continue`` in ``block`` leave a ``finally`` body, as the compiler
    sees it for PEP 765 (``outside``: one around the block would)? A loop body is where
    they stop."""
    if block.field == "finalbody":
        return True
    return False if block.kind in ("for", "while") else outside


def _name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def _assign_exit(number: int, loc: ast.AST) -> ast.stmt:
    return _at(ast.Assign(targets=[_at(ast.Name(id=markers.EXIT_VAR, ctx=ast.Store()), loc)],
                          value=_at(ast.Constant(value=number), loc)), loc)


def _opaque(stmt: ast.stmt) -> ast.stmt:
    """``if <always>: stmt``: the compiler must assume code after it is reachable."""
    return _at(ast.If(test=_at(_name(markers.TRUE), stmt), body=[stmt], orelse=[]), stmt)


def _at(node, loc):
    return ast.copy_location(node, loc)


def lower_module(tree: ast.Module, ctx: Context) -> ast.Module:
    """Check every goto and label of ``tree`` and lower them in place (SyntaxError if a
    jump is not allowed); ``ctx.state`` collects what the bytecode stage needs."""
    scopes = scan_module(tree, ctx.filename)
    if not scopes:
        return tree
    plans = [(scope, plan_routes(scope, ctx.filename)) for scope in scopes]
    ids = Ids(ctx.state)
    breaks = []
    for scope, routes in plans:
        lowering = _Lowering(scope, routes, ids)
        lowering.run()
        breaks += lowering.breaks
    _declare_finally_breaks(tree, breaks, ctx)
    return tree


def _declare_finally_breaks(tree: ast.Module, breaks: list, ctx: Context) -> None:
    """Where the compiler warns of a ``break`` leaving a ``finally`` body (PEP 765), tell
    the driver which of these warnings are for our breaks (waypoints', and those standing
    for a ``continue``): on lines where the user's code has a ``break`` of its own, none
    are, so that the user's warning stays."""
    message = ir.version.BREAK_IN_FINALLY_WARNING
    lines = {node.lineno for node, leaves_finally in breaks if leaves_finally}
    if message is None or not lines:
        return
    ours = {id(node) for node, _ in breaks}
    lines -= {node.lineno for node in ast.walk(tree)
              if type(node) is ast.Break and id(node) not in ours}
    ctx.generated_warnings += [(SyntaxWarning, message, line) for line in sorted(lines)]
