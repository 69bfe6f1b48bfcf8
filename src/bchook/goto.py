# ``bchook.goto``, the public name of :mod:`bchook.passes.goto.runtime` (where it lives).
from .passes.goto.runtime import *  # noqa: F403
from .passes.goto.runtime import __all__, __doc__  # noqa: F401
