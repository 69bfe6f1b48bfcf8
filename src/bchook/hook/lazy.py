"""bchook's own imports under lazy imports (PEP 810, Python 3.15+).

With ``-X lazy_imports=all`` (or ``PYTHON_LAZY_IMPORTS=all``, or ``sys.set_lazy_imports("all")``
before bchook is imported) every module-level import is lazy, bchook's own included. Its
modules would then be loaded in the middle of the program, at the first import bchook
rewrites: the program's ``sys.set_lazy_imports_filter`` would be asked about bchook's
imports, and ``sys.lazy_modules`` would list them. So each front end (the runner, the
start-up autoload, the pytest plugin, ``bchook.install``) sets bchook up between
:func:`hold` and :func:`release`: lazy imports are off meanwhile, and before the program
goes on, what bchook's modules still bind lazily is loaded and the program's mode given
back. Only bchook's own modules are touched: the program's lazy imports stay lazy until the
program uses them, as without bchook.
"""

from __future__ import annotations

import sys
import types

__all__ = ["hold", "release"]

_LAZY = getattr(types, "LazyImportType", None)
_OWN = __name__.partition(".")[0]  # "bchook"

#: The program's mode while bchook sets itself up with lazy imports off, or None.
_held: str | None = None


def hold() -> bool:
    """Turn ``all`` lazy imports off until :func:`release`; True if this call did (False
    when they were not on, or are held already)."""
    global _held
    if _held is not None or _LAZY is None or sys.get_lazy_imports() != "all":
        return False
    sys.set_lazy_imports("normal")
    _held = "all"
    return True


def release() -> None:
    """Load what bchook's modules bind lazily, then give the program its mode back
    (nothing to do if nothing is held)."""
    global _held
    if _held is None:
        return
    try:
        _load_own_bindings()
    finally:
        mode, _held = _held, None
        sys.set_lazy_imports(mode)


def _load_own_bindings() -> None:
    # Modules bchook imported before hold(): those it imports now come in eagerly.
    for name, module in list(sys.modules.items()):
        if name != _OWN and not name.startswith(_OWN + "."):
            continue
        namespace = getattr(module, "__dict__", {})
        for key, value in list(namespace.items()):
            if type(value) is _LAZY:
                try:
                    getattr(module, key)  # replaces the binding with what it names
                except Exception:  # noqa: BLE001 - fails again, as it would have, when used
                    pass
