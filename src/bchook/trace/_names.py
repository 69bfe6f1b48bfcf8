"""Names shared by the trace pass (which writes them into bytecode) and the runtime.

The probe names are not identifiers, so they can never clash with a program's names.
"""

CALL = "@bchook.call"
#: C probes used by subscript (``PROBE[KEY]``) in generators and coroutines.
ENTER_ITEM = "@bchook.enter[]"
LEAVE_ITEM = "@bchook.leave[]"
WRAP_ITEM = "@bchook.wrap[]"
ENTER = "@bchook.enter"
LEAVE = "@bchook.leave"
WRAP = "@bchook.wrap"
PY_LOG = "@bchook.pylog"
PY_NOW = "@bchook.pynow"
PY_WRAP = "@bchook.pywrap"
#: Module global (and builtins fallback) holding a module's line-hit list.
LINES = "@bchook.lines"
#: First item of the constant tuple that holds a traced code object's untraced twin.
ORIGINAL_MARK = "@bchook.trace.original"
RUNTIME_MODULE = "bchook.trace._runtime"
#: Set by the first traced process; a process that sees another pid there is a child.
ENV_ROOT_PID = "BCHOOK_TRACE_PID"

MODES = ("calls", "timeline", "lines")
#: Output kinds by file name ending (longest first: ``x.speedscope.json`` is not ``.json``).
OUTPUT_SUFFIXES = (".speedscope.json", ".lines.json", ".json", ".prof", ".pstats", ".folded")
DEFAULT_BUFFER = 1_000_000
