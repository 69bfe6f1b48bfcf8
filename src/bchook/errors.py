"""bchook's exceptions: one base class, one subclass per kind of problem."""

from __future__ import annotations

__all__ = ["BchookError", "UsageError", "OptionError", "UnknownPassError", "PluginError",
           "PassFailed", "BchookWarning"]


class BchookError(Exception):
    """Base class of every error bchook raises on purpose."""


class UsageError(BchookError):
    """Bad command line, configuration or API arguments (the CLI exits with status 2)."""


class OptionError(UsageError):
    """A pass option that does not exist or has a bad value."""


class UnknownPassError(UsageError):
    """A pass name no installed distribution provides."""


class PluginError(BchookError):
    """A pass plugin that could not be loaded; names the entry point and its distribution."""


class PassFailed(BchookError):
    """A pass raised while transforming: says which pass, module and code object."""

    def __init__(self, pass_name: str, module: str, where: str, cause: BaseException):
        self.pass_name = pass_name
        self.module = module
        self.where = where
        self.cause = cause
        super().__init__(
            f"pass {pass_name!r} failed on module {module!r}, {where}: "
            f"{type(cause).__name__}: {cause}")

    def __reduce__(self):
        # rebuilt from its parts (a multiprocessing worker sends it back to its parent)
        return type(self), (self.pass_name, self.module, self.where, self.cause)


class BchookWarning(UserWarning):
    """Something bchook could not do as asked, said without stopping the program."""
