"""The names the goto pass's AST stage leaves for its bytecode stage.

Each marker is an expression statement that loads a global whose name no Python source can
spell (it starts with ``@``), so it never clashes with user names. The compiler treats it as
an ordinary statement that may fall through; the bytecode stage finds the load and replaces
it with what it stands for:

- ``@goto:jump:<label>:<fin>`` -- a jump to label ``<label>``; ``<fin>`` names the
  innermost ``finally`` body holding both ends (CPython compiles a ``finally`` body several
  times, so the label then has one copy per compilation and the jump takes its own copy);
- ``@goto:label:<label>`` -- where label ``<label>`` is;
- ``@goto:fin:<fin>`` -- the first statement of each copy of ``finally`` body ``<fin>``;
- ``@goto:true`` / ``@goto:false`` -- an ``if``/``while`` test the compiler cannot fold,
  whose outcome the bytecode stage fixes (keeps code reachable that CPython would drop).

``@goto:exit`` is an ordinary variable: which way to go after leaving a block that needs
unwinding, when there is more than one.
"""

from __future__ import annotations

PREFIX = "@goto:"
TRUE = "@goto:true"
FALSE = "@goto:false"
EXIT_VAR = "@goto:exit"


def jump(label_id: int, fin: int | None = None) -> str:
    return f"{PREFIX}jump:{label_id}:{'' if fin is None else fin}"


def label(label_id: int) -> str:
    return f"{PREFIX}label:{label_id}"


def fin(fin_id: int) -> str:
    return f"{PREFIX}fin:{fin_id}"


def parse(name: str) -> tuple[str, int | None, int | None] | None:
    """``(kind, first, second)`` for a marker name, or None for any other name.

    kinds: ``jump`` (label id, fin id or None), ``label`` (label id), ``fin`` (fin id),
    ``true``/``false``.
    """
    if not name.startswith(PREFIX):
        return None
    kind, _, rest = name[len(PREFIX):].partition(":")
    if kind in ("true", "false"):
        return (kind, None, None)
    if kind == "jump":
        target, _, fin_id = rest.partition(":")
        return (kind, int(target), int(fin_id) if fin_id else None)
    if kind in ("label", "fin"):
        return (kind, int(rest), None)
    return None
