"""bchook's private cache of transformed code: where its files live, their format, and how
they are read, written and pruned (``bchook cache`` lists and clears them: see
:mod:`bchook.frontends.cache`).

File name: ``__pycache__/<module>.<cache tag>[.opt-N].bchook-<key>.pyc`` (wherever
``sys.pycache_prefix`` sends Python's own pycs), so the ordinary ``.pyc`` is never touched
and plain ``python`` never loads transformed code. When Python writes no bytecode (``-B``,
``PYTHONDONTWRITEBYTECODE``), new files go to the user cache folder instead
(``$XDG_CACHE_HOME/bchook``, else ``~/.cache/bchook``; ``~/Library/Caches/bchook`` on
macOS, ``%LOCALAPPDATA%\\bchook\\Cache`` on Windows), under the source's absolute folder as
with a pycache prefix; one next to the source is still read. The short key in the name
only lets several configurations coexist; what decides a hit is the file's content:

    magic number | b"bchk" | key digest (16) | source mtime_ns (8) | source size (8)
    | source hash (8) | payload length (4) | payload crc32 (4) | about length (2)
    | about (utf-8: the passes and options, for ``bchook cache info``) | marshal(code)

The key digest covers everything that changes the output (Python's magic number, bchook's
version and files, each pass's ``cache_key()`` in order, any other loader composed with).
Freshness: the source's ``st_mtime_ns`` and size as recorded is a hit without reading the
source (as fast as Python's own pycs); if they differ, the source is read and its hash
compared, so a fresh checkout or a ``touch`` still hits when the content is unchanged.
Anything truncated, foreign or corrupt is a miss, never an error; write failures (read-only
folders, races) are swallowed; writes go to ``<file>.<pid>`` then ``os.replace``.

Pruning: writing a module's file removes that module's files of other keys that were made
from another version of its source (they can never hit again), and keeps, of the others,
only the ``KEEP_KEYS`` most recently written (several configurations used side by side,
even by processes running at once, keep their files; the ones no longer used go).
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
import types
import zlib
from importlib.util import MAGIC_NUMBER, cache_from_source, source_hash

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Callable, Iterable

try:
    from _blake2 import blake2b  # hashlib would load OpenSSL: milliseconds at start-up
except ImportError:  # pragma: no cover - interpreters built without it
    from hashlib import blake2b

__all__ = ["key_digest", "cache_file", "cache_files", "load", "store", "read_entry",
           "user_cache_root", "is_cache_name", "KEEP_KEYS"]

_TAG = b"bchk"
_HEADER = struct.Struct("<4s4s16sqQ8sIIH")
_CodeType = types.CodeType
_SUFFIX = ".bchook-"  # then 12 hex digits (the short key) and ".pyc"
_NAME_TAIL = len(_SUFFIX) + 12 + len(".pyc")

#: How many keys' files a module keeps (see the module's docstring).
KEEP_KEYS = 4


def key_digest(parts: Iterable[str]) -> bytes:
    """16-byte digest of the key parts (order matters)."""
    h = blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def is_cache_name(name: str) -> bool:
    """Is ``name`` the name of one of bchook's cache files (``*.bchook-<12 hex>.pyc``)?"""
    tail = name[-_NAME_TAIL:]
    return (len(name) > _NAME_TAIL and tail.startswith(_SUFFIX) and tail.endswith(".pyc")
            and all(c in "0123456789abcdef" for c in tail[len(_SUFFIX):-4]))


def user_cache_root() -> str | None:
    """The folder bchook keeps its cache in when Python writes no bytecode: ``bchook``
    in the user's cache folder (None if there is no home to put it in)."""
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA")
        return os.path.join(base, "bchook", "Cache") if base else None
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        base = os.path.join(home, "Library", "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
            base = os.path.join(home, ".cache")
    return None if base.startswith("~") else os.path.join(base, "bchook")


def mirror(root: str, folder: str) -> str:
    """Where files of sources in ``folder`` go under ``root`` (as ``sys.pycache_prefix``
    places them: the folder's absolute path, its drive letter without the colon)."""
    drive, rest = os.path.splitdrive(os.path.abspath(folder))
    return os.path.join(root, drive.replace(":", ""), rest.lstrip("\\/"))


_trusted_roots: set[str] = set()


def _usable(root: str) -> bool:
    """A user cache folder that exists must be the user's own and writable by nobody else
    (never load files anyone else could have put there); one that does not exist yet is
    made private on write."""
    if root in _trusted_roots:
        return True
    try:
        st = os.stat(root)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    getuid = getattr(os, "geteuid", None)
    if getuid is not None and (st.st_uid != getuid() or st.st_mode & 0o022):
        return False
    _trusted_roots.add(root)
    return True


def cache_files(source_path: str, digest: bytes) -> tuple[tuple[str, ...], str | None]:
    """``(places to read, in order; the place a miss is written or None)`` for the
    transformed code of ``source_path`` under this key. Nothing to read and nowhere to write
    if the interpreter has no pyc cache (``sys.implementation.cache_tag`` is None).

    Normally the one file next to Python's pyc, read and written. When Python writes no
    bytecode: that one is only read, and a miss goes to the user cache folder (nowhere if
    there is no usable one)."""
    try:
        plain = cache_from_source(source_path)  # honours sys.pycache_prefix and -O
    except (NotImplementedError, ValueError):
        return (), None
    near = f"{plain[:-4]}{_SUFFIX}{digest[:6].hex()}.pyc"
    if not sys.dont_write_bytecode:
        return (near,), near
    root = user_cache_root()
    if root is None or not _usable(root):
        return (near,), None
    far = os.path.join(mirror(root, os.path.dirname(source_path)), os.path.basename(near))
    return (near, far), far


def cache_file(source_path: str, digest: bytes) -> str | None:
    """Where a miss of ``source_path`` is written for this key (see :func:`cache_files`),
    or None if it is not written."""
    return cache_files(source_path, digest)[1]


def _parse(data: bytes) -> tuple | None:
    """The header's fields plus ``(about, payload offset)``, or None if not ours."""
    if len(data) < _HEADER.size:
        return None
    fields = _HEADER.unpack_from(data)
    if fields[0] != MAGIC_NUMBER or fields[1] != _TAG:
        return None
    start = _HEADER.size + fields[-1]
    if len(data) < start:
        return None
    return fields, start


def load(
    pyc: str, digest: bytes, st: os.stat_result, read_source: Callable[[], bytes],
    refresh: bool = True,
) -> tuple[_CodeType | None, bytes | None]:
    """``(code, source)``: the cached code if ``pyc`` is valid for this key and source.

    ``source`` is the source bytes if they had to be read to decide (so a miss need not read
    them again), else None. ``read_source`` may raise OSError, which propagates. ``refresh``:
    whether a hit whose source was touched but not changed may rewrite the file's stamp.
    """
    try:
        with open(pyc, "rb") as f:
            data = f.read()
    except OSError:
        return None, None
    parsed = _parse(data)
    if parsed is None:
        return None, None
    (_magic, _tag, key, mtime_ns, size, shash, length, crc, _about), start = parsed
    if key != digest:
        return None, None
    payload = memoryview(data)[start:]
    if len(payload) != length or zlib.crc32(payload) != crc:
        return None, None
    source = None
    if mtime_ns != st.st_mtime_ns or size != st.st_size:
        source = read_source()
        if source_hash(source) != shash:
            return None, source
    try:
        code = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None, source
    if type(code) is not _CodeType:
        return None, source
    if source is not None and refresh:  # same content, new stat: so the next run is fast
        store(pyc, digest, code, st, source,
              bytes(data[_HEADER.size:start]).decode("utf-8", "replace"))
    return code, source


def store(pyc: str, digest: bytes, code: _CodeType, st: os.stat_result, source: bytes,
          about: str = "") -> bool:
    """Write ``code`` to ``pyc`` atomically, then prune the module's other files (see the
    module's docstring); False (never an exception) if it could not be written.

    ``about`` says what made the file (passes and options), for ``bchook cache info``. The
    file gets the permissions Python gives its own pycs: the source's mode plus owner write.
    Where to write, Python's ``-B`` included, was decided by :func:`cache_files`.
    """
    try:
        payload = marshal.dumps(code)
    except ValueError:  # a pass put an unmarshallable constant in: just don't cache
        return False
    about_bytes = about.encode("utf-8", "replace")[:4000]
    shash = source_hash(source)
    header = _HEADER.pack(MAGIC_NUMBER, _TAG, digest, st.st_mtime_ns, st.st_size,
                          shash, len(payload), zlib.crc32(payload), len(about_bytes))
    mode = (st.st_mode | 0o200) & 0o666
    tmp = f"{pyc}.{os.getpid()}"
    folder = os.path.dirname(pyc)
    try:
        if not os.path.isdir(folder):
            _make_folder(folder)
        try:
            fd = os.open(tmp, os.O_EXCL | os.O_CREAT | os.O_WRONLY, mode)
        except FileExistsError:  # left over by a crashed process that had our pid
            os.unlink(tmp)
            fd = os.open(tmp, os.O_EXCL | os.O_CREAT | os.O_WRONLY, mode)
        with open(fd, "wb") as f:
            f.write(header)
            f.write(about_bytes)
            f.write(payload)
        os.replace(tmp, pyc)
    except OSError:  # read-only folder, full disk, a file where __pycache__ should be...
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    _prune(pyc, shash)
    return True


def _make_folder(folder: str) -> None:
    root = user_cache_root() if sys.dont_write_bytecode else None
    if root is not None and (folder + os.sep).startswith(root + os.sep) \
            and not os.path.isdir(root):
        os.makedirs(root, mode=0o700, exist_ok=True)  # private: see _usable
    os.makedirs(folder, exist_ok=True)


class Entry:
    """What ``read_entry`` finds in a cache file's header (its code is not loaded)."""

    __slots__ = ("path", "key", "source_hash", "about", "size", "mtime")

    def __init__(self, path: str, key: bytes, source_hash: bytes, about: str, size: int,
                 mtime: float):
        self.path = path
        self.key = key
        self.source_hash = source_hash
        self.about = about
        self.size = size
        self.mtime = mtime


def read_entry(path: str) -> Entry | None:
    """The header of the cache file ``path``, or None if it is not one of this Python's
    (another interpreter's magic number, truncated, foreign, unreadable)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read(_HEADER.size + 0xFFFF)
    except OSError:
        return None
    parsed = _parse(data)
    if parsed is None:
        return None
    fields, start = parsed
    about = data[_HEADER.size:start].decode("utf-8", "replace")
    return Entry(path, fields[2], fields[5], about, st.st_size, st.st_mtime)


def _prune(pyc: str, shash: bytes) -> None:
    """Remove the stale files of the module ``pyc`` was just written for: those of other
    keys made from another source, and all but the newest ``KEEP_KEYS - 1`` others."""
    folder, name = os.path.split(pyc)
    stem = name[:len(name) - _NAME_TAIL + len(_SUFFIX)]  # "mod.cpython-312.bchook-" (-O too)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    kept = []
    for other in names:
        if other == name or not other.startswith(stem) or len(other) != len(name) \
                or not is_cache_name(other):
            continue
        path = os.path.join(folder, other)
        entry = read_entry(path)
        if entry is None:  # another Python's (same cache tag, other magic) or damaged
            continue
        if entry.source_hash != shash:
            _remove(path)
        else:
            kept.append((entry.mtime, path))
    kept.sort(reverse=True)
    for _mtime, path in kept[KEEP_KEYS - 1:]:
        _remove(path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # removed by another process meanwhile, read-only folder...
        pass
