"""The ``sys.meta_path`` finder and the loader that run a chain of passes at import time.

The finder never competes with the other finders: it asks the finders behind it on
``sys.meta_path``, in their order, for a spec, and only swaps the spec's loader when the
module is targeted and its loader produces code from source. A plain ``SourceFileLoader``
becomes a :class:`BchookLoader` (a ``SourceFileLoader`` subclass overriding ``get_code`` and
``source_to_code``, so ``runpy``, ``-m``, ``importlib.resources``, ``inspect.getsource``,
``linecache`` and ``importlib.reload`` keep working); another hook's loader is composed with
(see :mod:`bchook.hook.compose`). A module in a zip file (a zip application's ``__main__.py``
and the modules next to it) gets a :class:`ZipLoader`, rewritten from its source but never
cached (bchook writes nothing into a zip file). Namespace packages, extension modules and
pycs without source are left alone.

To see every import, the finder keeps itself at the front of ``sys.meta_path``: when
another hook is inserted in front of it, it moves back at the next import it is asked
about. That changes nothing for the others: they are consulted in the same order as before,
and bchook only wraps what they return.
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
from ..errors import PassFailed
from ..pipeline.api import Context, Pass, _overrides, transform_code_tree, transform_source
from .targets import Targets

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    import ast
    from typing import Sequence

__all__ = ["Rewriter", "BchookFinder", "BchookLoader", "ZipLoader"]

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
        if composer is None:
            return transform_source(source, path, fullname, self.passes, optimize=optimize)
        return self._compile_composed(source, path, fullname, composer)

    def _compile_composed(self, source, path, fullname, composer):
        passes = self.passes
        ctxs = [Context(fullname, path, p.options) for p in passes]
        tree = None
        if self.has_ast_passes:
            import ast

            tree = ast.parse(source, path)
            for p, ctx in zip(passes, ctxs):
                if _overrides(p, "transform_ast"):
                    tree = _run_ast_pass(p, tree, ctx)
            ast.fix_missing_locations(tree)
        code = composer.compile(fullname, path, source, tree)
        return transform_code_tree(code, passes, ctxs)

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


def _run_ast_pass(p: Pass, tree: ast.Module, ctx: Context) -> ast.Module:
    import ast

    where = f"<module> at {ctx.filename}:1"
    try:
        result = p.transform_ast(tree, ctx)
    except SyntaxError:
        raise
    except Exception as exc:
        raise PassFailed(p.name, ctx.module, where, exc) from exc
    if not isinstance(result, ast.Module):
        raise PassFailed(p.name, ctx.module, where, TypeError(
            f"transform_ast returned {type(result).__name__}, not ast.Module"))
    return result


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
        code = rewriter.compile(source, path, fullname, self.composer)
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


class BchookFinder:
    """The ``sys.meta_path`` entry: wraps the loader the other finders return."""

    def __init__(self, rewriter: Rewriter):
        self.rewriter = rewriter
        self.active = True
        self._seeking: set[tuple[int, str]] = set()

    def find_spec(self, fullname: str, path=None, target=None) -> ModuleSpec | None:
        if not self.active:
            return None
        meta = sys.meta_path
        if meta and meta[0] is not self:
            self._to_front(meta)
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

    def _to_front(self, meta: list) -> None:
        for i, finder in enumerate(meta):
            if finder is self:
                del meta[i]
                meta.insert(0, self)
                return

    def _find_behind(self, fullname, path, target) -> ModuleSpec | None:
        meta = sys.meta_path
        start = 0
        for i, finder in enumerate(meta):
            if finder is self:
                start = i + 1
                break
        for finder in meta[start:]:
            find = getattr(finder, "find_spec", None)
            if find is None:  # a legacy finder (3.10, 3.11): let the import system go on
                return None
            spec = find(fullname, path, target)
            if spec is not None:
                return spec
        return None

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
