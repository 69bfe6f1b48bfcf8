"""``bchook.install()``: put the hook on ``sys.meta_path``, and take it off again.

One bchook finder per process. Installing the same configuration again returns the handle
already installed (so a ``.pth`` file, a pytest plugin and a runner can all ask for it);
installing a different configuration replaces the previous one. ``uninstall()`` restores
``sys.meta_path`` and invalidates importlib's caches; modules already imported keep the
code they were given.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from _thread import RLock
from importlib.machinery import SOURCE_SUFFIXES

from . import lazy as _lazy
from .finder import BchookFinder
from .loader import BchookLoader, Rewriter, ZipLoader
from ..pipeline.api import Pass
from ..pipeline.registry import create_passes
from .targets import Targets, describe

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping

__all__ = ["Hook", "install", "installed"]

_SOURCE_SUFFIXES = tuple(SOURCE_SUFFIXES)
_lock = RLock()
_current: Hook | None = None


class Hook:
    """Handle on an installed hook: ``uninstall()``, or use it as a context manager."""

    def __init__(self, passes: Iterable[Pass], targets: Targets, cache: bool = True):
        self.rewriter = Rewriter(passes, targets, cache)
        self.finder = BchookFinder(self.rewriter)

    @property
    def passes(self) -> tuple[Pass, ...]:
        return self.rewriter.passes

    @property
    def targets(self) -> Targets:
        return self.rewriter.targets

    @property
    def cache(self) -> bool:
        return self.rewriter.cache

    @property
    def active(self) -> bool:
        """True while the hook is on ``sys.meta_path``."""
        return self.finder.active and any(f is self.finder for f in sys.meta_path)

    def uninstall(self) -> None:
        """Take the finder off ``sys.meta_path`` (harmless if already done)."""
        global _current
        with _lock:
            self.finder.active = False
            sys.meta_path[:] = [f for f in sys.meta_path if f is not self.finder]
            if _current is self:
                _current = None
        importlib.invalidate_caches()

    def to_front(self) -> None:
        """Put the finder back in front of ``sys.meta_path``, where ``install()`` put it, so
        that it composes with the hooks inserted in front of it since (call it between
        imports, never from a finder: the import system may be walking the list)."""
        with _lock:
            if self.active:
                _to_front(self.finder)

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, *exc_info) -> None:
        self.uninstall()

    # For the runner: the main script and ``-c`` code go through the same chain.
    def loader_for(self, fullname: str, path: str) -> BchookLoader:
        """A loader that rewrites (and caches) the source file ``path`` as ``fullname``."""
        return BchookLoader(fullname, os.fspath(path), self.rewriter)

    def compile(self, source: bytes | str, filename: str,
                module: str = "__main__") -> types.CodeType:
        """Compile ``source`` through the passes (no cache): for ``-c`` code and the like."""
        return self.rewriter.compile(source, filename, module)

    def already_imported(self) -> list[str]:
        """Modules this hook targets that were imported before it, so not rewritten (for a
        warning such as pytest's "module already imported so cannot be rewritten")."""
        missed = []
        for name, module in list(sys.modules.items()):
            filename = getattr(module, "__file__", None)
            if not isinstance(filename, str) or name in ("__main__", "__mp_main__"):
                continue
            if isinstance(getattr(module, "__loader__", None), (BchookLoader, ZipLoader)):
                continue
            if filename.endswith(_SOURCE_SUFFIXES) and self.targets.wants(name, filename):
                missed.append(name)
        return sorted(missed)

    def _config_key(self) -> tuple:
        passes = tuple((type(p), p.cache_key()) for p in self.passes)
        return (passes, self.targets.key(), self.cache)

    def __repr__(self) -> str:
        state = "installed" if self.active else "not installed"
        return (f"<bchook.Hook passes={self.rewriter.describe()} "
                f"targets={describe(self.targets)!r} cache={self.cache} {state}>")


def install(
    passes: str | Pass | Iterable[str | Pass | type[Pass]],
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    cache: bool = True,
    roots: Iterable[str | os.PathLike] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    main: str | None = None,
) -> Hook:
    """Rewrite modules imported from now on with ``passes``, applied in the order given.

    ``passes``: names (``"goto,trace"`` comma lists allowed), Pass instances or classes.
    ``include``/``exclude``: module-name glob patterns (``myapp`` or ``myapp.*`` covers the
    package and everything below it). Without ``include``, modules whose files live under
    ``roots`` (default: the current directory) are rewritten, never the standard library,
    site-packages or bchook itself. ``cache=False`` neither reads nor writes the private
    pyc cache. ``options`` maps a pass name to its options (``{"identity": {"pad": "1"}}``).
    The program's main module (``__main__``, or ``main``: the module a runner runs as
    ``__main__``) is rewritten whatever ``include`` says, unless ``exclude`` names it.

    Returns a :class:`Hook`; installing the same configuration again returns the same one
    and puts its finder back in front of ``sys.meta_path`` (another hook inserted in front
    later is otherwise passed again at the next import bchook is asked about).
    Raises UsageError (UnknownPassError, OptionError) or PluginError for bad arguments.
    """
    held = _lazy.hold()  # bchook's own imports are not the program's lazy imports
    try:
        chain = create_passes(passes, options)
        hook = Hook(chain, Targets(include, exclude, roots, main), cache)
    finally:
        if held:
            _lazy.release()
    global _current
    with _lock:
        current = _current
        if current is not None and current.active and \
                current._config_key() == hook._config_key():
            _to_front(current.finder)
            return current
        if current is not None:
            current.uninstall()
        sys.meta_path.insert(0, hook.finder)
        _current = hook
    return hook


def installed() -> Hook | None:
    """The hook installed in this process, or None."""
    current = _current
    return current if current is not None and current.active else None


def _to_front(finder: BchookFinder) -> None:
    meta = sys.meta_path
    if meta and meta[0] is not finder:
        meta[:] = [finder] + [f for f in meta if f is not finder]
