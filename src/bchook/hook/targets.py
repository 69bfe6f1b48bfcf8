"""Which modules the hook rewrites.

``include``/``exclude`` are module-name glob patterns (``fnmatch``, case-sensitive). A
pattern also covers everything below the package it names: ``myapp`` and ``myapp.*`` both
mean the package ``myapp`` itself and all its submodules (``*`` crosses dots). Exclude wins
over include.

The program's main module (``__main__``, and the module ``-m`` runs) is rewritten whatever
``include`` says, unless an exclude pattern names it (``--exclude __main__``): the script
one runs under bchook is the first thing one expects rewritten.

Without ``include``, a module is rewritten when its file lives under one of ``roots``
(default: the current directory) and not in the standard library, a ``site-packages`` or
``dist-packages`` folder. bchook's own modules are never rewritten, whatever the patterns
(``include=['*']`` means everything else that is importable).
"""

from __future__ import annotations

import os
import site

from ..errors import UsageError

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Iterable

__all__ = ["Targets", "matches", "describe", "describe_missed"]

_WILDCARDS = frozenset("*?[")
_OWN_PACKAGE = __name__.partition(".")[0]  # "bchook"


def matches(name: str, pattern: str) -> bool:
    """Does module ``name`` fall under ``pattern``? (``a`` and ``a.*`` cover ``a`` and below)."""
    if not _WILDCARDS.intersection(pattern):
        return name == pattern or name.startswith(pattern + ".")
    if pattern.endswith(".*") and name == pattern[:-2]:
        return True
    return _fnmatchcase()(name, pattern)


def _fnmatchcase():
    # fnmatch imports re: only for wildcard patterns, and before the hook is installed
    # (see Targets), since importing it from the hook would ask the hook about it.
    from fnmatch import fnmatchcase

    return fnmatchcase


def _norm_dir(path: str) -> str:
    path = os.path.normcase(os.path.realpath(path))
    return path if path.endswith(os.sep) else path + os.sep


def _never_dirs() -> tuple[str, ...]:
    """Folders whose modules are never rewritten unless ``include`` names them."""
    dirs = {os.path.dirname(os.__file__)}  # the standard library (lib-dynload lies inside)
    try:
        dirs.update(site.getsitepackages())
    except AttributeError:  # old virtualenv's site.py
        pass
    user_site = getattr(site, "USER_SITE", None)
    if user_site:
        dirs.add(user_site)
    dirs.add(os.path.dirname(os.path.abspath(__file__)))  # bchook itself, wherever it lives
    return tuple(sorted(_norm_dir(d) for d in dirs))


class Targets:
    """The targeting rule of one hook (fixed at creation; ``included`` records whether an
    include pattern has matched a module yet, for the runner's warning at exit)."""

    def __init__(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        roots: Iterable[str | os.PathLike] | None = None,
        main: str | None = None,
    ):
        self.include = None if include is None else _patterns(include, "include")
        self.exclude = _patterns(exclude or (), "exclude")
        if any(_WILDCARDS.intersection(p) for p in (*(self.include or ()), *self.exclude)):
            _fnmatchcase()
        #: The names the program's main module is imported under.
        self.main = ("__main__",) if main in (None, "__main__") else ("__main__", main)
        #: Has an include pattern matched a module (imported, or asked for)?
        self.included = False
        roots = [os.getcwd()] if roots is None else [os.fspath(r) for r in roots]
        self.roots = tuple(_norm_dir(r) for r in roots)
        self._never = _never_dirs()
        self._dir_verdict: dict[str, bool] = {}

    def key(self) -> tuple:
        return (self.include, self.exclude, self.roots, self.main)

    def by_name(self, fullname: str) -> bool | None:
        """Decision from the name alone: False, True, or None (depends on the file)."""
        if fullname == _OWN_PACKAGE or fullname.startswith(_OWN_PACKAGE + "."):
            return False
        for pattern in self.exclude:
            if matches(fullname, pattern):
                return False
        if fullname in self.main:
            if self.include and any(matches(fullname, pattern) for pattern in self.include):
                self.included = True  # `--include tool -m tool` did name a module
            return not any(matches("__main__", pattern) for pattern in self.exclude)
        if self.include is None:
            return None
        if any(matches(fullname, pattern) for pattern in self.include):
            self.included = True
            return True
        return False

    def wants(self, fullname: str, origin: str) -> bool:
        """Should the module ``fullname`` loaded from file ``origin`` be rewritten?"""
        verdict = self.by_name(fullname)
        if verdict is not None:
            return verdict
        return self.wants_file(origin)

    def wants_file(self, origin: str) -> bool:
        """Root rule: under a root, and not in the stdlib, site-packages or bchook."""
        folder = os.path.dirname(origin)
        verdict = self._dir_verdict.get(folder)
        if verdict is None:
            verdict = self._dir_verdict[folder] = self._folder_wanted(folder)
        return verdict

    def _folder_wanted(self, folder: str) -> bool:
        folder = _norm_dir(folder)
        if not folder.startswith(self.roots):
            return False
        if folder.startswith(self._never):
            return False
        parts = folder.split(os.sep)
        return "site-packages" not in parts and "dist-packages" not in parts


def _patterns(patterns: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(patterns, str):
        patterns = patterns.split(",")
    result = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise UsageError(f"{what} patterns must be strings, not {pattern!r}")
        pattern = pattern.strip()
        if pattern:
            result.append(pattern)
    return tuple(result)


def describe(targets: Targets) -> str:
    """One line for logs and headers."""
    if targets.include is None:
        what = "files under " + ", ".join(r.rstrip(os.sep) for r in targets.roots)
    else:
        what = "modules " + ", ".join(targets.include)
    if targets.exclude:
        what += " except " + ", ".join(targets.exclude)
    return what


#: How many modules a warning names before saying "and N more".
_NAMED_AT_MOST = 10


def describe_missed(names: list[str]) -> str:
    """The warning about targeted modules imported before the hook (one line)."""
    shown = ", ".join(names[:_NAMED_AT_MOST])
    if len(names) > _NAMED_AT_MOST:
        shown += f" and {len(names) - _NAMED_AT_MOST} more"
    return (f"{len(names)} targeted module{'s' * (len(names) != 1)} imported before "
            f"the hook was installed, not rewritten: {shown}")

