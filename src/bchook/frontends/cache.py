"""What ``bchook cache info`` and ``bchook cache clear`` see: every cache file of the
sources under a folder, wherever Python's settings put it, grouped by settings key.

A folder's cache files are in three places: the ``__pycache__`` folders under it, the
mirror of the folder under ``sys.pycache_prefix`` when one is set, and its mirror in the
user cache folder (where bchook writes when Python writes no bytecode). A folder inside one
of those cache roots is read whole. The file format and the places themselves belong to
:mod:`bchook.hook.cache`.
"""

from __future__ import annotations

import os
import sys

from ..hook import cache as _cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

__all__ = ["Place", "CacheFile", "scan", "info_lines", "clear"]

#: Folders never walked: version control keeps no Python of its own there.
_SKIP = {".git", ".hg", ".svn"}


class Place:
    """Where some of a folder's cache files are: ``kind`` is ``tree`` (the ``__pycache__``
    folders under ``path``), ``prefix`` (``sys.pycache_prefix``) or ``user`` (the user cache
    folder)."""

    def __init__(self, kind: str, path: str):
        self.kind = kind
        self.path = path
        self.files: list[CacheFile] = []

    def describe(self) -> str:
        if self.kind == "tree":
            return "in __pycache__ folders next to the sources"
        if self.kind == "prefix":
            return f"under sys.pycache_prefix, in {self.path}"
        return f"in the user cache folder, in {self.path}"


class CacheFile:
    """One file: its short key and cache tag (from its name), its size, and what made it
    (from its header; empty when it cannot be read: another Python's, damaged, or a
    temporary file left by a process that stopped while writing)."""

    def __init__(self, path: str, size: int, key: str, tag: str, about: str,
                 temporary: bool = False):
        self.path = path
        self.size = size
        self.key = key
        self.tag = tag
        self.about = about
        self.temporary = temporary


def _split_name(name: str) -> tuple[str, str, bool] | None:
    """``(short key, cache tag, temporary?)`` of a cache file's name, None if not one."""
    temporary = False
    if not _cache.is_cache_name(name):
        base, dot, pid = name.rpartition(".")
        if not (dot and pid.isdigit() and _cache.is_cache_name(base)):
            return None
        name, temporary = base, True
    stem, _, tail = name[:-len(".pyc")].rpartition(".bchook-")
    return tail, stem.partition(".")[2], temporary


def _roots() -> list[str]:
    roots = [r for r in (sys.pycache_prefix, _cache.user_cache_root()) if r]
    return [os.path.abspath(r) for r in roots]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk(folder: str, everywhere: bool) -> Iterator[tuple[str, str]]:
    """``(folder, name)`` of the files under ``folder`` that may be cache files: in
    ``__pycache__`` folders only, unless ``everywhere``."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in _SKIP]
        if everywhere or os.path.basename(dirpath) == "__pycache__":
            for name in filenames:
                yield dirpath, name


def scan(folder: str) -> list[Place]:
    """The places that hold cache files of the sources under ``folder``, with the files."""
    folder = os.path.abspath(folder)
    roots = _roots()
    places = [Place("tree", folder)]
    if sys.pycache_prefix:
        places.append(Place("prefix", _cache.mirror(os.path.abspath(sys.pycache_prefix),
                                                    folder)))
    user = _cache.user_cache_root()
    if user:
        places.append(Place("user", _cache.mirror(os.path.abspath(user), folder)))
    for place in places:
        everywhere = place.kind != "tree" or any(_inside(folder, r) for r in roots)
        if not os.path.isdir(place.path):
            continue
        for dirpath, name in _walk(place.path, everywhere):
            parts = _split_name(name)
            if parts is None:
                continue
            path = os.path.join(dirpath, name)
            try:
                size = os.lstat(path).st_size
            except OSError:  # removed meanwhile
                continue
            key, tag, temporary = parts
            entry = None if temporary else _cache.read_entry(path)
            about = entry.about if entry is not None else \
                "a temporary file left by a process that stopped" if temporary else ""
            place.files.append(CacheFile(path, size, key, tag, about, temporary))
    return places


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _count(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'}"


def _table(files: list[CacheFile]) -> list[str]:
    """One row per (settings key, cache tag), largest first, and the total (temporary files
    left by a process that stopped have rows of their own)."""
    groups: dict[tuple[str, str, bool], list[CacheFile]] = {}
    for f in files:
        groups.setdefault((f.key, f.tag, f.temporary), []).append(f)
    rows = [("key", "python", "files", "size", "made by")]
    for (key, tag, _temporary), members in sorted(groups.items(), key=lambda kv: (
            -sum(f.size for f in kv[1]), kv[0])):
        about = next((f.about for f in members if f.about), "") or \
            "unknown (another Python's, or damaged)"
        rows.append((key, tag, str(len(members)), _size(sum(f.size for f in members)), about))
    rows.append(("total", "", str(len(files)), _size(sum(f.size for f in files)), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                 row[3].rjust(widths[3]), row[4]]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


def info_lines(folder: str, verbose: bool = False) -> list[str]:
    """What ``bchook cache info`` prints."""
    places = scan(folder)
    files = [f for p in places for f in p.files]
    lines = [f"bchook's cache of the sources under {os.path.abspath(folder)}:"]
    for place in places:
        lines.append(f"  {place.describe()}: {_count(len(place.files))}, "
                     f"{_size(sum(f.size for f in place.files))}")
    if sys.dont_write_bytecode:
        lines.append("Python writes no bytecode here (-B or PYTHONDONTWRITEBYTECODE): bchook "
                     "writes new files to the user cache folder")
    else:
        lines.append("Python writes bytecode here: bchook writes new files next to Python's")
    if files:
        lines.append("by settings key:")
        lines += _table(files)
    if verbose:
        lines += [f.path for f in files]
    return lines


def clear(folder: str, verbose: bool = False) -> tuple[list[str], list[str]]:
    """Remove the cache files of the sources under ``folder``, and the folders that held
    nothing else; ``(what to print, errors)``."""
    places = scan(folder)
    removed: list[CacheFile] = []
    errors: list[str] = []
    lines: list[str] = []
    for place in places:
        done = []
        for f in place.files:
            try:
                os.unlink(f.path)
            except FileNotFoundError:  # removed meanwhile: gone all the same
                done.append(f)
            except OSError as exc:
                errors.append(f"{f.path}: {exc.strerror or exc}")
            else:
                done.append(f)
        _remove_empty_folders(place, done)
        if done:
            lines.append(f"  {place.describe()}: {_count(len(done))}, "
                         f"{_size(sum(f.size for f in done))}")
        removed += done
    where = os.path.abspath(folder)
    if not removed:
        return [f"nothing to remove: no bchook cache files of the sources under {where}"], \
            errors
    lines.insert(0, f"removed {_count(len(removed))} "
                    f"({_size(sum(f.size for f in removed))}) of bchook's cache of the "
                    f"sources under {where}:")
    lines.append("by settings key:")
    lines += _table(removed)
    if verbose:
        lines += [f.path for f in removed]
    return lines, errors


def _remove_empty_folders(place: Place, removed: list[CacheFile]) -> None:
    """The ``__pycache__`` folders emptied (never one that holds anything else); in a cache
    root, the emptied folders up to the place's own."""
    for folder in sorted({os.path.dirname(f.path) for f in removed}, key=len, reverse=True):
        if place.kind == "tree":
            if os.path.basename(folder) == "__pycache__":
                _rmdir(folder)
            continue
        while _inside(folder, place.path) and _rmdir(folder):
            folder = os.path.dirname(folder)


def _rmdir(folder: str) -> bool:
    try:
        os.rmdir(folder)  # only when empty
    except OSError:
        return False
    return True
