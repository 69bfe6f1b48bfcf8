"""Finding passes: the ``bchook.passes`` entry-point group, built-ins and plugins alike.

Discovery reads installed distributions' metadata only when a plugin is requested or the
passes are listed (never when bchook is imported, nor when every pass asked for is built
in: reading the metadata of every distribution costs tens of milliseconds at start-up),
then loads just the classes asked for. The order is deterministic: by pass name, then
distribution name. The built-in names are bchook's own: a plugin declaring one is listed
with that error and never loaded.
"""

from __future__ import annotations

import sys

from ..errors import OptionError, PluginError, UnknownPassError, UsageError
from .api import Pass

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping, Sequence
    from importlib import metadata

__all__ = ["GROUP", "BUILTIN", "PassInfo", "available", "load_pass_class", "create_passes",
           "clear_cache"]

#: The entry-point group every pass registers in: ``name = "package.module:PassClass"``.
GROUP = "bchook.passes"

#: The built-in passes, as bchook's own distribution declares them in that group (a test
#: checks the two agree): found without reading any metadata.
BUILTIN = {
    "constfold": "bchook.passes.constfold:ConstFoldPass",
    "goto": "bchook.passes.goto:GotoPass",
    "identity": "bchook.passes.identity:IdentityPass",
    "trace": "bchook.passes.trace:TracePass",
}


class PassInfo:
    """One entry point of the ``bchook.passes`` group, loaded or not.

    ``cls`` is the loaded class, or None with ``error`` saying why it could not be loaded.
    ``version`` is the pass's own version (its ``version`` attribute), None if not loaded.
    """

    __slots__ = ("name", "value", "distribution", "distribution_version", "cls", "error")

    def __init__(self, name: str, value: str, distribution: str | None,
                 distribution_version: str | None, cls: type[Pass] | None = None,
                 error: str | None = None):
        self.name = name
        self.value = value
        self.distribution = distribution
        self.distribution_version = distribution_version
        self.cls = cls
        self.error = error

    @property
    def version(self) -> str | None:
        return None if self.cls is None else str(self.cls.version)

    @property
    def origin(self) -> str:
        """``name = value`` and the distribution that declares it, for messages."""
        dist = self.distribution or "an unknown distribution"
        if self.distribution and self.distribution_version:
            dist = f"{self.distribution} {self.distribution_version}"
        return f"entry point '{self.name} = {self.value}' of {dist}"

    def __repr__(self) -> str:
        what = f"cls={self.cls!r}" if self.cls is not None else f"error={self.error!r}"
        return f"PassInfo({self.name!r}, {self.value!r}, {self.distribution!r}, {what})"


# Entry points found, keyed on sys.path: a test (or a program) that adds a folder with new
# distributions to sys.path gets a fresh look; clear_cache() forces one in any case.
_found: dict[tuple[str, ...], list[metadata.EntryPoint]] = {}
_loaded: dict[tuple[str, str, str | None], PassInfo] = {}


def clear_cache() -> None:
    """Forget discovered entry points and loaded classes (after installing a plugin)."""
    _found.clear()
    _loaded.clear()
    _dist_names.clear()


def _entry_points() -> list[metadata.EntryPoint]:
    key = tuple(sys.path)
    eps = _found.get(key)
    if eps is None:
        from importlib import metadata  # costs milliseconds: only when a pass is needed

        seen = set()
        eps = []
        for ep in metadata.entry_points(group=GROUP):
            ident = (ep.name, ep.value, _dist_name(ep))
            if ident not in seen:  # one distribution visible twice on sys.path
                seen.add(ident)
                eps.append(ep)
        eps.sort(key=lambda ep: (ep.name, _dist_name(ep) or "", ep.value))
        _found[key] = eps
    return eps


# Reading a distribution's METADATA parses an e-mail message: once per distribution.
_dist_names: dict[int, tuple[object, str | None, str | None]] = {}


def _dist_info(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    known = _dist_names.get(id(dist))
    if known is None or known[0] is not dist:
        known = _dist_names[id(dist)] = (dist, dist.metadata["Name"], dist.version)
    return known[1], known[2]


def _dist_name(ep: metadata.EntryPoint) -> str | None:
    return _dist_info(ep)[0]


def _dist_version(ep: metadata.EntryPoint) -> str | None:
    return _dist_info(ep)[1]


def _load(ep: metadata.EntryPoint) -> PassInfo:
    ident = (ep.name, ep.value, _dist_name(ep))
    info = _loaded.get(ident)
    if info is not None:
        return info
    base = dict(name=ep.name, value=ep.value, distribution=_dist_name(ep),
                distribution_version=_dist_version(ep))
    builtin = BUILTIN.get(ep.name)
    if builtin is not None and ep.value != builtin:
        info = PassInfo(**base, error=f"{ep.name!r} is the name of a built-in pass "
                                      f"({builtin}): this entry point is never used")
    else:
        info = _checked(base, ep.load)
    _loaded[ident] = info
    return info


def _checked(base: dict, load) -> PassInfo:
    try:
        obj = load()
    except Exception as exc:  # a broken plugin must not take the others down
        return PassInfo(**base, error=f"{type(exc).__name__}: {exc}")
    if isinstance(obj, type) and issubclass(obj, Pass) and obj is not Pass:
        return PassInfo(**base, cls=obj)
    return PassInfo(**base, error=f"{obj!r} is not a bchook.Pass subclass")


def _load_builtin(name: str) -> PassInfo:
    """A built-in pass, imported directly: no distribution's metadata is read."""
    value = BUILTIN[name]
    ident = (name, value, None)
    info = _loaded.get(ident)
    if info is None:
        def load():
            import importlib

            module, _, attr = value.partition(":")
            return getattr(importlib.import_module(module), attr)

        info = _loaded[ident] = _checked(dict(name=name, value=value, distribution=None,
                                              distribution_version=None), load)
    return info


def available() -> list[PassInfo]:
    """Every pass the installed distributions declare, each loaded (or its load error),
    and the built-in ones even where bchook's own metadata is missing (a bare checkout on
    ``sys.path``)."""
    infos = [_load(ep) for ep in _entry_points()]
    declared = {(info.name, info.value) for info in infos}
    infos += [_load_builtin(name) for name, value in BUILTIN.items()
              if (name, value) not in declared]
    infos.sort(key=lambda info: (info.name, info.distribution or "", info.value))
    return infos


def _loadable_names() -> list[str]:
    """The passes a chain may name: a plugin that fails to load is listed by ``bchook
    passes`` with its error, but not offered."""
    return sorted({info.name for info in available() if info.cls is not None})


def load_pass_class(name: str) -> type[Pass]:
    """The class registered under ``name``.

    Raises UnknownPassError (one line, listing the available passes) for a name no
    distribution declares, and PluginError naming the entry point, its distribution and the
    underlying error for a plugin that cannot be loaded or is not a Pass subclass.
    """
    if name in BUILTIN:
        info = _load_builtin(name)
        if info.cls is None:
            raise PluginError(f"built-in pass {name!r} ({info.value}) failed to load: "
                              f"{info.error}")
        return info.cls
    candidates = [ep for ep in _entry_points() if ep.name == name]
    if not candidates:
        known = ", ".join(_loadable_names()) or "none (is bchook installed?)"
        raise UnknownPassError(f"unknown pass {name!r}; available passes: {known}")
    infos = [_load(ep) for ep in candidates]
    classes = {info.cls for info in infos}
    if len(infos) > 1 and len(classes) > 1:
        where = "; ".join(info.origin for info in infos)
        raise PluginError(f"pass {name!r} is declared more than once: {where}")
    info = infos[0]
    if info.cls is None:
        raise PluginError(f"pass plugin {name!r} ({info.origin}) failed to load: {info.error}")
    return info.cls


def create_passes(
    specs: str | Pass | Iterable[str | Pass | type[Pass]],
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Pass]:
    """Build the chain of passes, in the order given.

    ``specs``: pass names (``"goto,trace"`` comma lists allowed), Pass instances or Pass
    subclasses. ``options`` maps a pass name to ``{option: value}``; values may be strings
    (converted by the pass's ``option_types``) or already typed. Options for a pass that is
    not in the chain raise OptionError.
    """
    if isinstance(specs, (str, Pass)) or (isinstance(specs, type) and issubclass(specs, Pass)):
        specs = [specs]
    options = dict(options or {})
    chain: list[Pass] = []
    used: set[str] = set()
    for spec in specs:
        if isinstance(spec, Pass):
            if spec.name in options:
                raise OptionError(
                    f"pass {spec.name!r} was given as an instance: pass its options to its "
                    f"constructor, not through options")
            chain.append(spec)
        elif isinstance(spec, type) and issubclass(spec, Pass):
            chain.append(_construct(spec, spec.name, options))
            used.add(spec.name)
        elif isinstance(spec, str):
            for name in (part.strip() for part in spec.split(",")):
                if name:
                    cls = load_pass_class(name)
                    chain.append(_construct(cls, name, options))
                    used.update((name, cls.name))
        else:
            raise UsageError(
                f"a pass must be a name, a Pass instance or a Pass subclass, not {spec!r}")
    unused = [name for name in options if name not in used]
    if unused:
        in_chain = ", ".join(p.name for p in chain) or "none"
        raise OptionError(
            f"options given for pass {unused[0]!r}, which is not in the chain "
            f"(passes: {in_chain})")
    return chain


def _construct(cls: type[Pass], name: str, options: Mapping[str, Mapping[str, Any]]) -> Pass:
    opts = options.get(name) or options.get(cls.name) or {}
    if not callable(getattr(opts, "items", None)):  # a mapping
        raise OptionError(f"options for pass {name!r} must be a mapping, not {opts!r}")
    try:
        return cls(**dict(opts))
    except (OptionError, UsageError):
        raise
    except Exception as exc:
        raise PluginError(
            f"pass {name!r} ({cls.__module__}.{cls.__qualname__}) could not be created: "
            f"{type(exc).__name__}: {exc}") from exc


def pass_names(chain: Sequence[Pass]) -> str:
    """``"goto,trace"``: the chain as the command line spells it."""
    return ",".join(p.name for p in chain)
