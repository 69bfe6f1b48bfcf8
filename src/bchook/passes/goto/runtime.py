"""``goto .name`` and ``label .name`` for Python functions.

>>> from bchook.goto import with_goto, goto, label
>>> @with_goto
... def countdown(n):
...     label .again
...     if n:
...         n -= 1
...         goto .again
...     return n

``@with_goto`` rewrites one function when it is decorated; the ``goto`` pass
(``python -m bchook -p goto app.py`` or ``bchook.install(["goto"])``) rewrites every
function and the module-level code of the modules it targets, without decorators.

``goto`` and ``label`` are ordinary objects, so code using them imports and lints cleanly.
Code that runs ``goto .x`` or ``label .x`` without having been rewritten raises
RuntimeError instead of silently falling through.
"""

from __future__ import annotations

from typing import Callable, TypeVar

__all__ = ["with_goto", "goto", "label"]

_F = TypeVar("_F", bound=Callable)


class _Sentinel:
    __slots__ = ("_word",)

    def __init__(self, word: str):
        self._word = word

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        raise RuntimeError(
            f"'{self._word} .{name}' ran without being rewritten: decorate the function "
            "with @bchook.goto.with_goto, or run the module under the goto pass "
            "(python -m bchook -p goto ..., or bchook.install(['goto']))")

    def __repr__(self) -> str:
        return f"bchook.goto.{self._word}"

    def __reduce__(self):
        return self._word


#: ``goto .name`` jumps to ``label .name`` in the same function.
goto = _Sentinel("goto")
#: ``label .name`` marks where ``goto .name`` jumps to.
label = _Sentinel("label")


def with_goto(func: _F) -> _F:
    """A copy of ``func`` with its gotos and labels rewritten (python-goto's behaviour).

    The copy has the original's name, qualified name, module, docstring, defaults, keyword
    defaults, annotations, closure and attributes. Raises SyntaxError (file and line of the
    goto or label, and the label's name) for a missing or duplicate label, a jump into a
    block it may not enter or to a label of another function.
    """
    from .decorator import rewrite_function

    return rewrite_function(func)
