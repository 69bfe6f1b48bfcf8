"""The ``sys.meta_path`` finder: it decides which imports bchook rewrites.

The finder never competes with the other finders and never reorders ``sys.meta_path``: it
asks the finders behind it, in their order, for a spec, and only swaps the spec's loader
(for one from :mod:`bchook.hook.loader`) when the module is targeted and its loader
produces code from source. Finders ahead of it have been asked by the import system before
it and are not asked again. ``bchook.install()`` puts it in front; a hook inserted in front
of it later loads what it claims without bchook, which the finder says once
(:class:`bchook.BchookWarning`). Namespace packages, extension modules and pycs without
source are left alone.
"""

from __future__ import annotations

import os
import sys
import zipimport
from _thread import get_ident
from importlib.machinery import ModuleSpec, SourceFileLoader

from .compose import composer_for
from .loader import BchookLoader, Rewriter, ZipLoader, _debug

__all__ = ["BchookFinder"]

#: Finders of the standard library: in front of bchook, they load nothing bchook rewrites.
_STANDARD_FINDERS = ("BuiltinImporter", "FrozenImporter", "PathFinder", "WindowsRegistryFinder",
                     "DistutilsMetaFinder")


class BchookFinder:
    """The ``sys.meta_path`` entry: wraps the loader the other finders return."""

    def __init__(self, rewriter: Rewriter):
        self.rewriter = rewriter
        self.active = True
        self._seeking: set[tuple[int, str]] = set()
        self._ahead_said: set[int] = set()

    def find_spec(self, fullname: str, path=None, target=None) -> ModuleSpec | None:
        if not self.active:
            return None
        rewriter = self.rewriter
        if rewriter.busy() or rewriter.targets.by_name(fullname) is False:
            return None  # the finders behind us handle it exactly as without bchook
        me = (get_ident(), fullname)
        if me in self._seeking:  # another hook that asks sys.meta_path again: let it
            return None
        self._seeking.add(me)
        try:
            spec = self._find_behind(fullname, path, target)
        finally:
            self._seeking.discard(me)
        if spec is None:
            return None
        return self._adopt(spec, fullname)

    def invalidate_caches(self) -> None:
        """Called by ``importlib.invalidate_caches()``: bchook keeps nothing to invalidate."""

    def _find_behind(self, fullname, path, target) -> ModuleSpec | None:
        # The import system asked the finders ahead of us already: only those behind us
        # are asked, once each, in their order (a copy: one of them may edit the list).
        meta = list(sys.meta_path)
        start = next((i + 1 for i, finder in enumerate(meta) if finder is self), 0)
        if start > 1:
            self._say_ahead(meta[:start - 1])
        for finder in meta[start:]:
            find = getattr(finder, "find_spec", None)
            if find is None:  # a legacy finder (3.10, 3.11): let the import system go on
                return None
            spec = find(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def _say_ahead(self, ahead: list) -> None:
        """A hook put in front of bchook after it was installed loads the modules it claims
        without bchook's passes: say so once per hook, rather than lose them silently."""
        for finder in ahead:
            if type(finder).__name__ in _STANDARD_FINDERS or id(finder) in self._ahead_said:
                continue
            self._ahead_said.add(id(finder))
            import warnings

            from ..errors import BchookWarning

            warnings.warn(
                f"bchook: {type(finder).__module__}.{type(finder).__qualname__} is in front of "
                f"bchook on sys.meta_path (inserted after bchook was installed): the modules "
                f"it loads are not rewritten by bchook; install that hook first, or call "
                f"bchook.install() again after it (bchook then composes with it)",
                BchookWarning, stacklevel=2)

    def _adopt(self, spec: ModuleSpec, fullname: str) -> ModuleSpec:
        loader = spec.loader
        origin = spec.origin
        if origin is None or not spec.has_location:
            if spec.submodule_search_locations is not None and origin in (None, "namespace"):
                _debug("bchook: %s is a namespace package: nothing to rewrite", fullname)
            return spec
        targets = self.rewriter.targets
        if type(loader) is SourceFileLoader:
            if targets.wants(fullname, origin):
                spec.loader = BchookLoader(fullname, origin, self.rewriter)
            return spec
        if loader is None or not targets.wants(fullname, origin):
            return spec
        if isinstance(loader, zipimport.zipimporter):
            spec.loader = ZipLoader(loader, self.rewriter)
            return spec
        composer = composer_for(loader, origin, self.rewriter.has_ast_passes)
        if composer is None or not os.path.isfile(origin):
            _debug("bchook: %s: cannot compose with its loader %r: left untransformed",
                   fullname, loader)
            return spec
        spec.loader = BchookLoader(fullname, origin, self.rewriter, composer)
        return spec

    def __repr__(self) -> str:
        state = "" if self.active else " (uninstalled)"
        return f"<BchookFinder [{self.rewriter.describe()}]{state}>"
