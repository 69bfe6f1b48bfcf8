"""Runtime of the ``trace`` pass: switch tracing off and on, read and write the results.

Code compiled by the ``trace`` pass records itself; a program only needs this module to
trace a region (``stop()`` early, ``start()`` and ``stop()`` around the region) or to look
at the results before exit::

    import bchook.trace
    bchook.trace.stop()          # traced functions get their original code back
    ...
    bchook.trace.start()
    work()
    bchook.trace.stop()
    bchook.trace.profile().stats()   # pstats-style dictionary

All of these are harmless no-ops in a program in which no traced module has started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from ._profile import Profile

__all__ = ["start", "stop", "is_active", "reset", "profile", "write", "accelerated"]


def _tracer():
    from . import _runtime
    return _runtime.tracer()


def start() -> None:
    """Trace again after :func:`stop`: traced functions get their probes back."""
    t = _tracer()
    if t is not None:
        t.start()


def stop() -> None:
    """Stop tracing: record nothing more and give every traced function its original
    code object, so the program runs at full speed (cost: one walk over the heap).
    Calling it again switches off the functions of modules imported since."""
    t = _tracer()
    if t is not None:
        t.stop()


def is_active() -> bool:
    """Is tracing on? False too when no traced module has started."""
    t = _tracer()
    return bool(t is not None and t.active and not t.finished)


def reset() -> None:
    """Forget what was recorded so far (calls, timeline and line hits)."""
    t = _tracer()
    if t is not None:
        t.reset()


def profile() -> Optional["Profile"]:
    """What was recorded so far (calls still running are closed first), or None."""
    t = _tracer()
    return None if t is None else t.profile()


def write(path: str) -> None:
    """Write what was recorded so far to ``path``, in the format its extension names
    (``.json``, ``.prof``, ``.pstats``, ``.folded``, ``.speedscope.json``, ``.lines.json``)."""
    from . import _runtime, _writers
    kind = _runtime.output_kind(path)
    if kind is None:
        raise ValueError(f"{path!r}: unknown output extension")
    prof = profile()
    if prof is None:
        from ._profile import Profile
        prof = Profile()
    _writers.write(prof, path, kind)


def accelerated() -> bool:
    """Is the C recorder (``bchook.trace._accel``) built and importable?"""
    from . import _runtime
    return _runtime.load_accel() is not None
