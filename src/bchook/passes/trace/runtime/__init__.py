"""Runtime of the ``trace`` pass: switch tracing off and on, read and write the results.

Code compiled by the ``trace`` pass records itself; a program only needs this module to
profile regions of it, to switch tracing off and on, or to look at the results before
exit::

    import bchook.trace
    with bchook.trace.region("load"):    # from now on, only what runs inside regions
        load()

    @bchook.trace.region()               # each call of work is a region named "work"
    def work(): ...

    bchook.trace.stop()          # traced functions get their original code back
    ...
    bchook.trace.start()
    bchook.trace.profile().stats()   # pstats-style dictionary

All of these are harmless no-ops in a program in which no traced module has started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from ._profile import Profile

__all__ = ["region", "start", "stop", "is_active", "reset", "profile", "write",
           "accelerated"]

import functools as _functools
import sys as _sys


def _loaded_runtime():
    """The runtime, if a trace pass exists in this process (it loads the runtime before
    any hook is installed); without one, regions have nothing to do."""
    return _sys.modules.get(f"{__name__}._runtime")


def _tracer():
    from . import _runtime
    return _runtime.tracer()


class region:
    """Profile only what runs inside: ``with region("load"):`` or ``@region()`` (named
    after the function) or ``@region``. Regions nest; each is a frame of its own, named
    ``<region>:0(load)`` in pstats, whose children are the calls made inside.

    The first region made switches the run to regions: what was recorded before (outside
    any region) is forgotten, and from then on a thread records its calls only while it is
    inside a region (with the pure-Python recorder: every thread, while any is). Entering
    and leaving cost microseconds. With the C recorder and no line probes, code outside
    regions runs its original code (the recorder hears the calls inside regions from the
    interpreter); otherwise the probes return at once there. Line hits (``trace.lines``)
    still cover the whole run.
    """

    __slots__ = ("name",)

    def __new__(cls, name=None):
        runtime = _loaded_runtime()
        if runtime is not None:
            runtime.use_regions()
        if callable(name):  # @region without parentheses
            return cls(None)(name)
        return super().__new__(cls)

    def __init__(self, name: Optional[str] = None):
        self.name = name

    def __enter__(self) -> "region":
        runtime = _loaded_runtime()
        if runtime is not None:
            runtime.region_enter(self.name or "region")
        return self

    def __exit__(self, *exc_info) -> None:
        runtime = _loaded_runtime()
        if runtime is not None:
            runtime.region_exit(self.name or "region")

    def __call__(self, func):
        import inspect  # not at start-up: the trace pass imports this package

        inner = region(self.name or getattr(func, "__qualname__", None) or "region")
        if inspect.iscoroutinefunction(func):
            @_functools.wraps(func)
            async def in_region(*args, **kwargs):
                with inner:  # other tasks that run while it awaits run inside too
                    return await func(*args, **kwargs)
        elif inspect.isgeneratorfunction(func):
            @_functools.wraps(func)
            def in_region(*args, **kwargs):
                return _resumed_in(inner, func(*args, **kwargs))
        elif inspect.isasyncgenfunction(func):
            @_functools.wraps(func)
            def in_region(*args, **kwargs):
                return _async_resumed_in(inner, func(*args, **kwargs))
        else:
            @_functools.wraps(func)
            def in_region(*args, **kwargs):
                with inner:
                    return func(*args, **kwargs)
        return in_region

    def __repr__(self) -> str:
        return f"bchook.trace.region({self.name!r})"


def _resumed_in(inner: region, gen):
    """Run each step of ``gen`` inside ``inner``: what its consumer does between two
    steps is outside."""
    step, arg = gen.send, None
    while True:
        try:
            with inner:
                item = step(arg)
        except StopIteration as stop:
            return stop.value
        try:
            arg = yield item
            step = gen.send
        except GeneratorExit:
            with inner:
                gen.close()
            raise
        except BaseException as exc:  # thrown in: into gen, inside the region
            step, arg = gen.throw, exc


async def _async_resumed_in(inner: region, agen):
    """:func:`_resumed_in` for an async generator: each step, awaits included (other
    tasks that run while it awaits run inside too, as for a coroutine)."""
    step, arg = agen.asend, None
    while True:
        try:
            with inner:
                item = await step(arg)
        except StopAsyncIteration:
            return
        try:
            arg = yield item
            step = agen.asend
        except GeneratorExit:
            with inner:
                await agen.aclose()
            raise
        except BaseException as exc:  # thrown in: into agen, inside the region
            step, arg = agen.athrow, exc


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
    """What was recorded so far, or None. Calls still running are in it as if they had
    ended now, and go on being recorded."""
    t = _tracer()
    return None if t is None else t.profile()


def write(path: str) -> None:
    """Write what was recorded so far to ``path``, in the format its extension names
    (those of ``trace.output``: ``.json``, ``.prof``, ``.pstats``, ``.folded``,
    ``.speedscope.json``, ``.lines.json``, ``.html``, ``.coverage``)."""
    from . import _runtime
    from . import _writers
    kind = _runtime.output_kind(path)
    if kind is None:
        raise ValueError(f"{path!r}: unknown output extension")
    prof = profile()
    if prof is None:
        from ._profile import Profile
        prof = Profile()
    _writers.write(prof, path, kind)


def accelerated() -> bool:
    """Is the C recorder (``bchook.passes.trace.runtime._accel``) built and importable?"""
    from . import _runtime
    return _runtime.load_accel() is not None
