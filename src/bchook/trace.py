# ``bchook.trace``, the public name of :mod:`bchook.passes.trace.runtime` (where it lives).
from .passes.trace.runtime import *  # noqa: F403
from .passes.trace.runtime import __all__, __doc__  # noqa: F401
