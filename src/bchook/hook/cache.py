"""bchook's private cache of transformed code, next to Python's own ``.pyc`` files.

File name: ``__pycache__/<module>.<cache tag>[.opt-N].bchook-<key>.pyc`` (wherever
``sys.pycache_prefix`` sends Python's own pycs), so the ordinary ``.pyc`` is never touched
and plain ``python`` never loads transformed code. The short key in the name only lets
several configurations coexist; what decides a hit is the file's content:

    magic number | b"bchk" | key digest (16) | source mtime_ns (8) | source size (8)
    | source hash (8) | payload length (4) | payload crc32 (4) | marshal(code)

The key digest covers everything that changes the output (Python's magic number, bchook's
version and files, each pass's ``cache_key()`` in order, any other loader composed with).
Freshness: the source's ``st_mtime_ns`` and size as recorded is a hit without reading the
source (as fast as Python's own pycs); if they differ, the source is read and its hash
compared, so a fresh checkout or a ``touch`` still hits when the content is unchanged.
Anything truncated, foreign or corrupt is a miss, never an error; write failures (read-only
folders, races) are swallowed; writes go to ``<file>.<pid>`` then ``os.replace``.
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

__all__ = ["key_digest", "cache_file", "load", "store"]

_TAG = b"bchk"
_HEADER = struct.Struct("<4s4s16sqQ8sII")
_CodeType = types.CodeType


def key_digest(parts: Iterable[str]) -> bytes:
    """16-byte digest of the key parts (order matters)."""
    h = blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def cache_file(source_path: str, digest: bytes) -> str | None:
    """Where the transformed code of ``source_path`` is cached for this key, or None if the
    interpreter has no pyc cache (``sys.implementation.cache_tag`` is None)."""
    try:
        plain = cache_from_source(source_path)  # honours sys.pycache_prefix and -O
    except (NotImplementedError, ValueError):
        return None
    return f"{plain[:-4]}.bchook-{digest[:6].hex()}.pyc"


def load(
    pyc: str, digest: bytes, st: os.stat_result, read_source: Callable[[], bytes]
) -> tuple[_CodeType | None, bytes | None]:
    """``(code, source)``: the cached code if ``pyc`` is valid for this key and source.

    ``source`` is the source bytes if they had to be read to decide (so a miss need not read
    them again), else None. ``read_source`` may raise OSError, which propagates.
    """
    try:
        with open(pyc, "rb") as f:
            data = f.read()
    except OSError:
        return None, None
    if len(data) < _HEADER.size:
        return None, None
    magic, tag, key, mtime_ns, size, shash, length, crc = _HEADER.unpack_from(data)
    if magic != MAGIC_NUMBER or tag != _TAG or key != digest:
        return None, None
    payload = memoryview(data)[_HEADER.size:]
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
    if source is not None:  # same content, new stat: refresh so the next run is fast
        store(pyc, digest, code, st, source)
    return code, source


def store(pyc: str, digest: bytes, code: _CodeType, st: os.stat_result, source: bytes) -> bool:
    """Write ``code`` to ``pyc`` atomically; False (never an exception) if it could not be.

    Honours ``sys.dont_write_bytecode`` (``-B``, ``PYTHONDONTWRITEBYTECODE``). The file gets
    the permissions Python gives its own pycs: the source's mode plus owner write.
    """
    if sys.dont_write_bytecode:
        return False
    try:
        payload = marshal.dumps(code)
    except ValueError:  # a pass put an unmarshallable constant in: just don't cache
        return False
    header = _HEADER.pack(MAGIC_NUMBER, _TAG, digest, st.st_mtime_ns, st.st_size,
                          source_hash(source), len(payload), zlib.crc32(payload))
    mode = (st.st_mode | 0o200) & 0o666
    tmp = f"{pyc}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(pyc), exist_ok=True)
        try:
            fd = os.open(tmp, os.O_EXCL | os.O_CREAT | os.O_WRONLY, mode)
        except FileExistsError:  # left over by a crashed process that had our pid
            os.unlink(tmp)
            fd = os.open(tmp, os.O_EXCL | os.O_CREAT | os.O_WRONLY, mode)
        with open(fd, "wb") as f:
            f.write(header)
            f.write(payload)
        os.replace(tmp, pyc)
    except OSError:  # read-only folder, full disk, a file where __pycache__ should be...
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True
