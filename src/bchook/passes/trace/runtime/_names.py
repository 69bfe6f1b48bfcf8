"""Names shared by the trace pass (which writes them into bytecode) and the runtime.

The probes find their recorder in ``builtins`` under these names. They are identifiers
(a program may walk ``dir(builtins)`` and use what it finds as names) and ``__bchook_``
names, which no program defines.
"""

CALL = "__bchook_call__"
ENTER = "__bchook_enter__"
LEAVE = "__bchook_leave__"
WRAP = "__bchook_wrap__"
PY_LOG = "__bchook_log__"
PY_NOW = "__bchook_now__"
PY_WRAP = "__bchook_pywrap__"
#: What the globals exec, eval and compile become in traced code (C recorder): functions
#: that probe the code they compile before it runs.
COMPILERS = {"exec": "__bchook_exec__", "eval": "__bchook_eval__",
             "compile": "__bchook_compile__"}
#: Called after each class statement and at the end of each module body of traced code:
#: probe the functions they got from code compiled at run time by modules that are not
#: traced (dataclasses, namedtuple, attrs).
SWEEP_CLASS = "__bchook_sweep_class__"
SWEEP_MODULE = "__bchook_sweep_module__"
#: Module global (and builtins fallback) holding a module's line-hit list.
LINES = "__bchook_lines__"
#: First item of the constant tuple that holds a traced code object's untraced twin.
ORIGINAL_MARK = "@bchook.trace.original"
RUNTIME_MODULE = "bchook.passes.trace.runtime._runtime"
#: Set by the first traced process; a process that sees another pid there is a child.
ENV_ROOT_PID = "BCHOOK_TRACE_PID"
#: Set by the first traced process: a folder where child processes say they ran (and,
#: with ``trace.merge=1``, leave their data for it to merge).
ENV_RUN_DIR = "BCHOOK_TRACE_RUN"
#: The pseudo-function the import hook's rewriting of a module is recorded as, so that
#: its time can be taken out of the importing function's (``Profile.set_apart``).
REWRITE_KEY = ("<bchook>", 0, "<rewrite>", "<bchook: rewriting modules>")

MODES = ("calls", "timeline", "lines")
#: Output kinds by file name ending (longest first: ``x.speedscope.json`` is not ``.json``).
OUTPUT_SUFFIXES = (".speedscope.json", ".lines.json", ".json", ".prof", ".pstats", ".folded",
                   ".html", ".coverage")
DEFAULT_BUFFER = 1_000_000
