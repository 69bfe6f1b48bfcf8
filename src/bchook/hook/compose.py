"""Composing with other source-rewriting import hooks instead of fighting them.

When the finders behind bchook's on ``sys.meta_path`` return a spec whose loader is not
a plain ``SourceFileLoader`` (pytest's assertion rewriting, typeguard's import hook, a
project's own hook...), bchook wraps that loader so that both rewrites apply. The order is
always the same, whichever hook was installed first:

1. bchook's AST passes, on the tree of the original source;
2. the other loader's transformation (it receives bchook's tree when bchook has AST
   passes, which ``source_to_code`` accepts as ``compile()`` does);
3. compilation;
4. bchook's bytecode passes, on the code the other loader produced.

Loaders bchook knows how to compose with:

* any loader with ``get_data`` and ``source_to_code`` (``importlib.abc.SourceLoader``
  semantics, e.g. typeguard's ``TypeguardLoader``);
* pytest's ``AssertionRewritingHook`` (through ``_pytest.assertion.rewrite.rewrite_asserts``);
* a loader that only offers ``get_code``: bchook's bytecode passes run on its code (only when
  the chain has no AST pass, since there is no tree to give it).

Other loaders are left alone (a debug line on the ``bchook`` logger says so). The identity
of the composed loader (class, version of its distribution, ``bchook_cache_key()`` if it
defines one) is part of bchook's cache key, so caches of different combinations never mix.
"""

from __future__ import annotations

import os
import sys
import types
from importlib._bootstrap_external import SourceLoader  # importlib.abc costs ~10 ms
from importlib.machinery import SOURCE_SUFFIXES, ExtensionFileLoader, SourcelessFileLoader

from ..errors import BchookError

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    import ast
    from typing import Any

__all__ = ["Composer", "composer_for"]

_identities: dict[type, str] = {}


class Composer:
    """Runs another hook's loader as one step of bchook's chain."""

    #: Whether bchook's AST passes can run before this loader (it accepts a tree).
    accepts_ast = True

    def __init__(self, loader: Any):
        self.loader = loader

    @property
    def identity(self) -> str:
        ident = _class_identity(type(self.loader))
        own_key = getattr(self.loader, "bchook_cache_key", None)
        if callable(own_key):
            ident += f" key={own_key()}"
        return f"{type(self).__name__}:{ident}"

    def compile(self, fullname: str, path: str, source: bytes,
                tree: ast.Module | None) -> types.CodeType:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identity}>"


#: 3.15's ``SourceLoader.get_code`` passes the module name to ``source_to_code`` as a third
#: argument: a loader written for it may need it, one written before cannot take it.
_GETS_FULLNAME = "fullname" in SourceLoader.source_to_code.__code__.co_varnames


class SourceToCode(Composer):
    """A loader with ``source_to_code``: give it bchook's tree, or the source bytes, as its
    own ``get_code`` would."""

    def _source_to_code(self, data, path, fullname):
        if _GETS_FULLNAME:
            return self.loader.source_to_code(data, path, fullname)
        return self.loader.source_to_code(data, path)

    def compile(self, fullname, path, source, tree):
        if tree is None:
            return _checked(self._source_to_code(source, path, fullname), self.loader)
        try:
            code = self._source_to_code(tree, path, fullname)
        except (TypeError, AttributeError, ValueError) as exc:
            raise BchookError(
                f"cannot compose with {type(self.loader).__qualname__} for module "
                f"{fullname!r}: its source_to_code does not accept the syntax tree that "
                f"bchook's AST passes produce ({type(exc).__name__}: {exc}); use only "
                f"bytecode passes on this module or exclude it") from exc
        return _checked(code, self.loader)


class PytestAssertRewrite(Composer):
    """pytest's ``AssertionRewritingHook``, which has no ``source_to_code``: call the same
    function its ``exec_module`` calls, with the hook's own configuration."""

    @property
    def identity(self) -> str:
        # The one setting that changes the rewritten code (pytest's own cache ignores it).
        try:
            pass_hook = self.loader.config.getini("enable_assertion_pass_hook")
        except Exception:  # an older or newer pytest without it
            pass_hook = "?"
        return f"{super().identity} enable_assertion_pass_hook={pass_hook}"

    def compile(self, fullname, path, source, tree):
        rewrite = sys.modules["_pytest.assertion.rewrite"]
        if tree is None:
            import ast  # already imported by pytest

            tree = ast.parse(source, path)
        rewrite.rewrite_asserts(tree, source, path, self.loader.config)
        names = getattr(self.loader, "_rewritten_names", None)
        if isinstance(names, dict):  # pytest's record of what it rewrote, as its loader does
            from pathlib import Path  # already imported by pytest
            names[fullname] = Path(path)
        return compile(tree, path, "exec", dont_inherit=True)


class GetCode(Composer):
    """A loader that only hands out code objects: bchook's bytecode passes run on them."""

    accepts_ast = False

    def compile(self, fullname, path, source, tree):
        return _checked(self.loader.get_code(fullname), self.loader)


def _checked(code: Any, loader: Any) -> types.CodeType:
    if type(code) is not types.CodeType:
        raise ImportError(
            f"{type(loader).__qualname__} returned {type(code).__name__}, not a code object")
    return code


def _overrides(cls: type, name: str, base: type) -> bool:
    mine = getattr(cls, name, None)
    return mine is not None and mine is not getattr(base, name, None)


def composer_for(loader: Any, origin: str, has_ast_passes: bool) -> Composer | None:
    """The way to run ``loader`` (which loads file ``origin``) inside bchook's chain, or
    None if there is none."""
    if isinstance(loader, (ExtensionFileLoader, SourcelessFileLoader)):
        return None
    cls = type(loader)
    python_source = origin.endswith(tuple(SOURCE_SUFFIXES))
    if cls.__module__ == "_pytest.assertion.rewrite" and cls.__name__ == \
            "AssertionRewritingHook" and hasattr(loader, "config"):
        return PytestAssertRewrite(loader) if python_source else None
    if callable(getattr(loader, "source_to_code", None)) and \
            callable(getattr(loader, "get_data", None)):
        if has_ast_passes and not python_source:
            return None  # bchook's AST passes cannot parse another language
        # A wrapper that hands source_to_code on (through __getattr__) to the loader it
        # wraps does its own work in exec_module, which bchook's loader would replace.
        if getattr(cls, "source_to_code", None) is None and \
                _overrides(cls, "exec_module", SourceLoader):
            return None
        # A SourceLoader subclass that customises get_code or exec_module but not
        # source_to_code does its work elsewhere: source_to_code would skip it.
        if not isinstance(loader, SourceLoader) or _overrides(cls, "source_to_code",
                                                              SourceLoader):
            return SourceToCode(loader)
        if not (_overrides(cls, "get_code", SourceLoader)
                or _overrides(cls, "exec_module", SourceLoader)):
            return SourceToCode(loader)
    if not has_ast_passes and callable(getattr(loader, "get_code", None)) and \
            callable(getattr(loader, "get_source", None)) and \
            not _overrides(cls, "exec_module", SourceLoader):
        return GetCode(loader)
    return None


def _class_identity(cls: type) -> str:
    """``module.Class version`` (+ the defining file's size and mtime when unversioned)."""
    ident = _identities.get(cls)
    if ident is None:
        ident = f"{cls.__module__}.{cls.__qualname__} {_version_of(cls) or _file_stamp(cls)}"
        _identities[cls] = ident
    return ident


def _version_of(cls: type) -> str | None:
    top = cls.__module__.partition(".")[0]
    for name in (top, top.lstrip("_")):
        # vars(), not getattr(): a ``__version__`` bound by a lazy import (3.15) must stay
        # lazy; it is not a str then, and the distribution's metadata says the same
        version = getattr(sys.modules.get(name), "__dict__", {}).get("__version__")
        if isinstance(version, str):
            return version
    try:
        from importlib import metadata
        return metadata.version(top.lstrip("_"))
    except Exception:  # no distribution of that name: fall back to the file stamp
        return None


def _file_stamp(cls: type) -> str:
    filename = getattr(sys.modules.get(cls.__module__), "__file__", None)
    try:
        st = os.stat(filename)
    except (OSError, TypeError):
        return "unversioned"
    return f"file {filename} {st.st_size} {st.st_mtime_ns}"
