"""bchook: rewrite Python code at import time with a chain of AST and bytecode passes."""

from ._errors import (
    BchookError,
    OptionError,
    PassFailed,
    PluginError,
    UnknownPassError,
    UsageError,
)
from ._install import Hook, install, installed
from ._passes import Context, Pass, flag

__version__ = "0.1.0"

__all__ = [
    "install", "installed", "Hook",
    "Pass", "Context", "flag",
    "BchookError", "UsageError", "OptionError", "UnknownPassError", "PluginError",
    "PassFailed",
    "__version__",
]
