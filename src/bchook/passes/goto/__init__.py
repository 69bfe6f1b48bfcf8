"""The goto pass: ``goto .name`` and ``label .name`` in Python functions.

Its stages: find the jumps and check them (:mod:`.scan`), lower them to markers in the
syntax tree (:mod:`.lower`, :mod:`.markers`), turn the markers into jumps in the bytecode
(:mod:`.resolve`); :mod:`.transform` is the pass itself. ``with_goto`` does the same for one
function at run time (:mod:`.decorator`, and :mod:`.without_source` when its source is
gone); :mod:`.runtime` is what programs import, as ``bchook.goto``.
"""


def __getattr__(name: str):
    # The pass is loaded on first use: ``from bchook.goto import label`` stays cheap.
    if name == "GotoPass":
        from .transform import GotoPass

        return GotoPass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
