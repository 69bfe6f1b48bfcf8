"""The pieces of the IR: instructions, labels and exception handlers."""

from __future__ import annotations

from . import _version as V

__all__ = ["Instr", "Label", "Handler", "IRError", "NO_LOCATION"]

#: ``(lineno, end_lineno, col_offset, end_col_offset)`` of an instruction with no location.
NO_LOCATION = (None, None, None, None)


class IRError(Exception):
    """A code object that cannot be decoded or an instruction list that cannot be encoded."""


class Label:
    """A jump target. Put it in an instruction list just before the instruction it names."""

    __slots__ = ("name",)

    def __init__(self, name: str | None = None):
        self.name = name

    def __repr__(self) -> str:
        return f"<Label {self.name or hex(id(self))}>"


class Handler:
    """Where an exception raised by an instruction goes (3.11+ exception table entry).

    ``depth`` is the value-stack depth the handler starts from (before the exception, and
    ``lasti`` if set, are pushed). Instructions of one try-block share one ``Handler``.
    """

    __slots__ = ("label", "depth", "lasti")

    def __init__(self, label: Label, depth: int, lasti: bool = False):
        self.label = label
        self.depth = depth
        self.lasti = lasti

    def __repr__(self) -> str:
        return f"Handler({self.label!r}, depth={self.depth}, lasti={self.lasti})"


class Instr:
    """One instruction. ``arg`` is an int, or a :class:`Label` for jumps.

    ``loc`` is ``(lineno, end_lineno, col_offset, end_col_offset)``; on 3.10 only
    ``lineno`` is kept. ``handler`` is the :class:`Handler` covering it, or None.
    Inline CACHE entries and EXTENDED_ARG prefixes are not instructions of their own.
    """

    __slots__ = ("op", "arg", "loc", "handler", "_size")

    def __init__(self, name, arg=None, loc=NO_LOCATION, handler=None):
        if isinstance(name, int):
            op = name
        else:
            try:
                op = V.opcode_of(name)
            except KeyError:
                raise IRError(
                    f"unknown opcode {name!r} on Python {V.VERSION[0]}.{V.VERSION[1]}"
                ) from None
        if op not in V.HASARG:
            if arg is None:
                arg = 0
            elif type(arg) is not int or not 0 <= arg < 256:
                raise IRError(f"{V.OPNAME[op]} takes no argument, got {arg!r}")
        elif arg is None:
            raise IRError(f"{V.OPNAME[op]} needs an argument")
        self.op = op
        self.arg = arg
        self.loc = loc
        self.handler = handler
        self._size = 0

    @property
    def name(self) -> str:
        return V.OPNAME[self.op]

    @property
    def lineno(self) -> int | None:
        return self.loc[0]

    @property
    def is_jump(self) -> bool:
        return self.op in V.JUMPS

    def copy(self) -> "Instr":
        new = Instr.__new__(Instr)
        new.op, new.arg, new.loc, new.handler, new._size = (
            self.op, self.arg, self.loc, self.handler, 0)
        return new

    def __repr__(self) -> str:
        arg = "" if self.op not in V.HASARG else f" {self.arg!r}"
        return f"<{self.name}{arg} line={self.loc[0]}>"
