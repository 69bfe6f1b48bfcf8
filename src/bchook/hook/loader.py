"""The loaders that run a chain of passes at import time, and the configuration they share.

A plain ``SourceFileLoader`` of a targeted module becomes a :class:`BchookLoader` (a
``SourceFileLoader`` subclass whose ``get_code`` is bchook's cache around
``source_to_code``, CPython's own override point, so ``runpy``, ``-m``,
``importlib.resources``, ``inspect.getsource``, ``linecache`` and ``importlib.reload`` keep
working); another hook's loader is composed with (see :mod:`bchook.hook.compose`). A module
in a zip file (a zip application's ``__main__.py`` and the modules next to it) gets a
:class:`ZipLoader`, rewritten from its source but never cached (bchook writes nothing into a
zip file). :class:`Rewriter` is one configuration: the passes, what they target, whether
results are cached.
"""

from __future__ import annotations

import os
import sys
import types
import zipimport
from _imp import _fix_co_filename
from _thread import get_ident
from importlib.machinery import ModuleSpec, SourceFileLoader
from importlib.util import MAGIC_NUMBER

from . import cache as _cache
from .compose import Composer, composer_for
from ..pipeline.api import Pass, _overrides
from ..pipeline.driver import transform_source
from .targets import Targets

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    import ast
    from typing import Sequence

__all__ = ["Rewriter", "BchookLoader", "ZipLoader"]

_CodeType = types.CodeType

#: Set by a profiler (``bchook.trace``) to a context manager factory that receives the
#: module name around each rewriting, so the time can be kept apart from the program's.
on_rewrite = None


def _debug(message: str, *args) -> None:
    # Only when the program uses logging: importing it just to drop a record costs ms.
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger("bchook").debug(message, *args)


class Rewriter:
    """One configuration: the passes, what they target, and how results are cached."""

    def __init__(self, passes: Sequence[Pass], targets: Targets, cache: bool = True):
        self.passes = tuple(passes)
        self.targets = targets
        self.cache = bool(cache)
        self.has_ast_passes = any(_overrides(p, "transform_ast") for p in self.passes)
        self._key_parts: list[str] | None = None  # stats bchook's files: on first use
        self._digests: dict[str | None, bytes] = {}
        self._busy: dict[int, int] = {}  # thread id -> depth inside a transformation

    def busy(self) -> bool:
        """Is this thread transforming a module? (Its own imports are then left alone.)"""
        return get_ident() in self._busy

    def _enter(self) -> int:
        me = get_ident()
        self._busy[me] = self._busy.get(me, 0) + 1
        return me

    def _leave(self, me: int) -> None:
        depth = self._busy.pop(me) - 1
        if depth:
            self._busy[me] = depth

    def digest(self, composer: Composer | None = None) -> bytes:
        if composer is None:
            ident = None
        else:  # may look up the other loader's distribution: imports it makes stay plain
            me = self._enter()
            try:
                ident = composer.identity
            finally:
                self._leave(me)
        digest = self._digests.get(ident)
        if digest is None:
            if self._key_parts is None:
                self._key_parts = _base_key(self.passes)
            parts = self._key_parts + ([] if ident is None else ["composed:" + ident])
            digest = self._digests[ident] = _cache.key_digest(parts)
        return digest

    def compile(self, source: bytes | str, path: str, fullname: str,
                composer: Composer | None = None, *, optimize: int = -1) -> _CodeType:
        """Source to transformed code (no cache). SyntaxError and PassFailed propagate."""
        me = self._enter()
        watch = on_rewrite
        try:
            if watch is not None:
                with watch(fullname):
                    return self._compile(source, path, fullname, composer, optimize)
            return self._compile(source, path, fullname, composer, optimize)
        finally:
            self._leave(me)

    def _compile(self, source, path, fullname, composer, optimize):
        compiler = None
        if composer is not None:
            def compiler(tree_or_source):
                return composer.compile(fullname, path, source,
                                        None if tree_or_source is source else tree_or_source)
        return transform_source(source, path, fullname, self.passes, optimize=optimize,
                                compiler=compiler)

    def describe(self) -> str:
        return ",".join(p.name for p in self.passes) or "(no passes)"

    def about(self, composer: Composer | None = None) -> str:
        """What the cache files of this configuration were made by, for ``bchook cache
        info``: the passes with their options, another hook composed with, bchook's
        version."""
        chain = ", ".join(p.name + ("(" + ", ".join(f"{k}={v}" for k, v in sorted(
            p.options.items())) + ")" if p.options else "") for p in self.passes)
        bchook = sys.modules[__name__.partition(".")[0]]
        via = f" via {type(composer.loader).__qualname__}" if composer is not None else ""
        return f"{chain or '(no passes)'}{via}; bchook {getattr(bchook, '__version__', '?')}"


def _base_key(passes: Sequence[Pass]) -> list[str]:
    bchook = sys.modules[__name__.partition(".")[0]]
    parts = [
        "bchook-cache-2",
        MAGIC_NUMBER.hex(),
        f"optimize={sys.flags.optimize}",
        f"bchook={getattr(bchook, '__version__', '?')}",
        "files=" + _package_stamp(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    ]
    for p in passes:
        module = sys.modules.get(type(p).__module__)
        parts.append(f"pass={type(p).__module__}.{type(p).__qualname__} {p.cache_key()} "
                     f"{_file_stamp(getattr(module, '__file__', None))}")
    return parts


def _file_stamp(filename: str | None) -> str:
    # A pass edited without bumping its version (a checkout, an editable install) must
    # not be served from an old cache: its file's size and mtime are part of the key.
    try:
        st = os.stat(filename)
    except (OSError, TypeError):
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _package_stamp(folder: str) -> str:
    stamps = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                stamps.append(f"{os.path.relpath(path, folder)}={_file_stamp(path)}")
    return ";".join(stamps)


class BchookLoader(SourceFileLoader):
    """A ``SourceFileLoader`` whose code goes through the passes and bchook's own cache.

    With ``composer``, the code comes from another hook's loader (see
    :mod:`bchook.hook.compose`) and bchook's passes run around it.
    """

    def __init__(self, fullname: str, path: str, rewriter: Rewriter,
                 composer: Composer | None = None):
        super().__init__(fullname, path)
        self.rewriter = rewriter
        self.composer = composer

    def get_code(self, fullname: str) -> _CodeType:
        path = self.get_filename(fullname)
        rewriter = self.rewriter
        write_to = st = source = None
        if rewriter.cache:
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is not None:
                digest = rewriter.digest(self.composer)
                places, write_to = _cache.cache_files(path, digest)
                for pyc in places:
                    code, read = _cache.load(
                        pyc, digest, st,
                        (lambda: self.get_data(path)) if source is None else (lambda: source),
                        refresh=pyc == write_to)
                    if read is not None:
                        source = read
                    if code is not None:
                        _fix_co_filename(code, path)  # the tree may have moved, as importlib does
                        return code
        if source is None:
            source = self.get_data(path)
        code = self.source_to_code(source, path, fullname)
        if write_to is not None:
            _cache.store(write_to, digest, code, st, source, rewriter.about(self.composer))
        return code

    def get_data(self, path: str) -> bytes:
        """The bytes of ``path``, read by the composed loader when there is one (it may
        decrypt or generate its sources)."""
        if self.composer is not None:
            get_data = getattr(self.composer.loader, "get_data", None)
            if callable(get_data):
                return get_data(path)
        return super().get_data(path)

    def source_to_code(self, data, path, fullname=None, *, _optimize=-1):
        """Compile ``data`` (bytes, str or a tree) through the passes, without the cache.

        ``fullname``: 3.15's ``SourceLoader.get_code`` passes the module's name; it is this
        loader's own name anyway."""
        return self.rewriter.compile(data, path, fullname or self.name, self.composer,
                                     optimize=_optimize)

    def __repr__(self) -> str:
        via = f" via {type(self.composer.loader).__qualname__}" if self.composer else ""
        return f"<BchookLoader {self.name!r} [{self.rewriter.describe()}]{via}>"


class ZipLoader(zipimport.zipimporter):
    """The loader of a targeted module in a zip file: a zipimporter (the same ``repr``,
    ``get_source``, ``get_resource_reader``..., so the program, ``inspect``, ``linecache``
    and ``importlib.resources`` see what they would without bchook) whose code goes through
    the passes."""

    def __init__(self, zip_loader: zipimport.zipimporter, rewriter: Rewriter):
        # zipimport keeps the archive's directory cached: this reads nothing again
        super().__init__(os.path.join(zip_loader.archive, zip_loader.prefix))
        self.rewriter = rewriter

    def get_code(self, fullname: str) -> _CodeType:
        source = self.get_source(fullname)
        if source is None:  # only a compiled .pyc in the zip: nothing to rewrite
            _debug("bchook: %s has no source in its zip file: left untransformed", fullname)
            return super().get_code(fullname)
        return self.rewriter.compile(source, self.get_filename(fullname), fullname)
