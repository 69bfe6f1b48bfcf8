# ``bchook.asm``, the public name of :mod:`bchook.tools.asm` (where it lives).
from .tools.asm import *  # noqa: F403
from .tools.asm import __all__, __doc__  # noqa: F401
