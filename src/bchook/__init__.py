"""bchook: rewrite Python code at import time with a chain of AST and bytecode passes.

PYTEST_DONT_REWRITE: under ``python -m bchook -m pytest`` or the ``.pth`` autoload, bchook
is imported before pytest marks its plugin's package for assertion rewriting; this marker
keeps pytest from warning that it cannot (an error in projects that turn warnings into
errors).
"""

from .errors import (
    BchookError,
    BchookWarning,
    OptionError,
    PassFailed,
    PluginError,
    UnknownPassError,
    UsageError,
)
try:
    from .pipeline.api import Context, Option, Pass, flag
except ImportError as _gate:
    # bchook.ir refuses an interpreter whose bytecode bchook does not know: one line, not
    # the traceback of the tables
    if type(_gate) is not ImportError or _gate.name != f"{__name__}.ir._version":
        raise
    from .frontends.launch import refuse

    refuse(_gate)

__version__ = "0.1.0"

# The public names say where to find them: ``bchook.PassFailed`` in a traceback, not
# ``bchook.errors.PassFailed`` (and ``help()``, ``repr()``, pickling agree).
for _public in (BchookError, BchookWarning, UsageError, OptionError, UnknownPassError, PluginError,
                PassFailed, Pass, Option, Context, flag):
    _public.__module__ = __name__
del _public

__all__ = [
    "install", "installed", "Hook",
    "Pass", "Option", "Context", "flag",
    "BchookError", "UsageError", "OptionError", "UnknownPassError", "PluginError",
    "PassFailed", "BchookWarning",
    "__version__",
]


def __getattr__(name: str):
    # The hook machinery loads on first use: ``import bchook`` (a pytest plugin that was not
    # asked for, a pass plugin importing ``bchook.Pass``) must not pay for it.
    if name in ("install", "installed", "Hook"):
        from .hook import install as _install

        return getattr(_install, name)
    raise AttributeError(f"module 'bchook' has no attribute {name!r}")
