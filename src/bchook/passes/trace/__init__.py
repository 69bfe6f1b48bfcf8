"""The trace pass: probes in the bytecode that record calls, times and lines.

:mod:`.instrument` is the pass (call probes, the module prologue), :mod:`.lines` its line
probes; :mod:`.runtime` is what the probes call at run time (the recorders, C and pure
Python, and the reports), which programs import as ``bchook.trace``.
"""


def __getattr__(name: str):
    # The pass is loaded on first use: traced programs load only the runtime.
    if name == "TracePass":
        from .instrument import TracePass

        return TracePass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
