"""How this process was started: by bchook's own command or not.

Only ``sys`` and ``os``: ``import bchook`` asks this even when bchook cannot be set up on
this interpreter (``bchook.ir`` refuses a CPython whose bytecode bchook does not know, or
the free-threaded build), so that the ``bchook`` command says so in one line.
"""

from __future__ import annotations

import os
import sys

__all__ = ["launched_by_bchook", "refuse"]


def launched_by_bchook() -> bool:
    """``python -m bchook`` or the ``bchook`` script: its runner installs the hook itself."""
    argv = list(getattr(sys, "orig_argv", ()) or ())
    if len(argv) > 1 and os.path.splitext(os.path.basename(argv[1]))[0] == "bchook":
        return True
    i = 1
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg in ("-", "--"):
            return False  # a script (or stdin): not us
        if arg.startswith("--"):
            i += 2 if arg == "--check-hash-based-pycs" else 1
            continue
        letters = arg[1:]
        for j, letter in enumerate(letters):
            rest = letters[j + 1:]
            if letter in "cm":
                value = rest or (argv[i + 1] if i + 1 < len(argv) else "")
                return letter == "m" and value == "bchook"
            if letter in "WX":
                if not rest:
                    i += 1  # the value is the next argument
                break
        i += 1
    return False


def refuse(gate: ImportError):
    """bchook cannot run here (``gate`` says why, in one line): the ``bchook`` command prints
    that line and exits with status 2; an import raises ImportError with it alone."""
    reason = str(gate)
    if launched_by_bchook():
        sys.stderr.write(f"bchook: error: {reason}\n")
        raise SystemExit(2) from None
    raise ImportError(reason, name=gate.name) from None
