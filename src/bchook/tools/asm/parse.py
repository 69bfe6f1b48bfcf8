"""Reading ``bchook.asm`` listings: header directives, labels and instruction lines.

A listing is a list of lines (or one string). Per line, after removing a ``# comment``:

- ``.code NAME`` starts a code object (a listing may hold several; ``<code NAME>``
  constants refer to them). Header directives that follow: ``.name``, ``.qualname``,
  ``.filename``, ``.firstlineno``, ``.stacksize`` (at least; the computed size wins if
  larger), ``.flags`` (names, exact), ``.args`` (a signature:
  ``a, b, /, c, *args, d, **kw``), ``.varnames``, ``.cellvars``, ``.freevars``,
  ``.names`` (comma lists) and ``.consts`` (a comma list of constants, in order).
- ``.line N`` (or ``.line none``): the source line of the instructions that follow.
- ``.handler LABEL depth=N [lasti]`` / ``.handler none`` (3.11+): the exception handler
  of the instructions that follow.
- ``NAME:`` defines a label; ``OPNAME [ARGUMENT]`` is an instruction. ``EXTENDED_ARG``
  alone asks for one more prefix on the next instruction than its argument needs (the
  encoder adds the prefixes an argument needs by itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..syntax import (
    SyntaxProblem, parse_const, parse_name_list, split_top_level, strip_comment,
)

__all__ = ["Block", "Line", "parse_listing", "HEADER_KEYS"]

#: Header directives and whether their value is a comma list.
HEADER_KEYS = {
    "name": False, "qualname": False, "filename": False, "firstlineno": False,
    "stacksize": False,
    "flags": False, "args": True, "varnames": True, "cellvars": True, "freevars": True,
    "names": True, "consts": True,
}


@dataclass
class Line:
    """One body line: ``kind`` is ``label``, ``instr``, ``line`` or ``handler``."""

    kind: str
    number: int  # 1-based position in the listing, for messages
    source: str
    opname: str = ""
    arg_text: str = ""
    value: Any = None  # label name / line number / handler spec / literal arg of a tuple


@dataclass
class Block:
    """One code object's worth of listing."""

    ident: str | None = None
    header: dict[str, Any] = field(default_factory=dict)
    body: list[Line] = field(default_factory=list)
    first_line: int = 1


class ListingError(ValueError):
    def __init__(self, number: int, source: str, message: str):
        self.number = number
        self.source = source
        super().__init__(f"line {number} ({source.strip()!r}): {message}")


_LABEL = re.compile(r"([A-Za-z_][\w.]*):\s*(.*)\Z")
_OPNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HANDLER = re.compile(r"([\w.]+)\s+depth\s*=\s*(\d+)(\s+lasti)?\Z")


def _lines(listing) -> Iterable[tuple[int, Any]]:
    if isinstance(listing, str):
        listing = [listing]
    number = 0
    for item in listing:
        if isinstance(item, str):
            for text in item.splitlines() or [""]:
                number += 1
                yield number, text
        else:
            number += 1
            yield number, item


def parse_listing(listing) -> list[Block]:
    """Split a listing into blocks; raises ListingError naming the offending line."""
    blocks: list[Block] = [Block()]
    for number, item in _lines(listing):
        block = blocks[-1]
        if not isinstance(item, str):
            block.body.append(_tuple_line(number, item))
            continue
        text = strip_comment(item).strip()
        if not text:
            continue
        try:
            if text.startswith("."):
                directive, _, value = text[1:].partition(" ")
                directive, value = directive.strip().lower(), value.strip()
                if directive == "code":
                    if not value:
                        raise SyntaxProblem(".code needs a name")
                    if block.ident is None and not block.header and not block.body:
                        block.ident = value
                        block.first_line = number
                    else:
                        blocks.append(Block(ident=value, first_line=number))
                elif directive in HEADER_KEYS:
                    if block.body:
                        raise SyntaxProblem(f".{directive} must come before the instructions")
                    if directive in block.header:
                        raise SyntaxProblem(f".{directive} given twice")
                    block.header[directive] = _header_value(directive, value)
                elif directive == "line":
                    block.body.append(Line("line", number, item, value=_line_value(value)))
                elif directive == "handler":
                    block.body.append(Line("handler", number, item,
                                           value=_handler_value(value)))
                else:
                    known = ", ".join("." + k for k in ["code", *HEADER_KEYS, "line",
                                                        "handler"])
                    raise SyntaxProblem(f"unknown directive .{directive} (known: {known})")
                continue
            match = _LABEL.match(text)
            if match and " " not in text.split(":")[0]:
                block.body.append(Line("label", number, item, value=match.group(1)))
                text = match.group(2).strip()
                if not text:
                    continue
            opname, _, arg_text = text.partition(" ")
            if not _OPNAME.match(opname):
                raise SyntaxProblem(f"expected an instruction name, got {opname!r}")
            block.body.append(Line("instr", number, item, opname=opname.upper(),
                                   arg_text=arg_text.strip()))
        except SyntaxProblem as exc:
            raise ListingError(number, item, str(exc)) from None
    if not blocks[0].body and not blocks[0].header and blocks[0].ident is None:
        blocks.pop(0)
    return blocks


def _tuple_line(number: int, item) -> Line:
    """``("LOAD_CONST", obj)``: an instruction whose argument is given as a Python value
    (any constant object, a name, a label name or an int)."""
    if not isinstance(item, tuple) or not 1 <= len(item) <= 2 or not isinstance(item[0], str):
        raise ListingError(number, repr(item), "an instruction is a string like "
                           "'LOAD_FAST x' or a tuple (OPNAME, argument)")
    source = repr(item)
    if len(item) == 1:
        return Line("instr", number, source, opname=item[0].upper())
    return Line("instr", number, source, opname=item[0].upper(), value=(item[1],))


def _header_value(directive: str, value: str):
    if directive in ("firstlineno", "stacksize"):
        try:
            return int(value)
        except ValueError:
            raise SyntaxProblem(f".{directive} takes a number, not {value!r}") from None
    if directive == "flags":
        return value.replace("|", " ").split()
    if directive == "consts":
        return [parse_const(part) for part in split_top_level(value)]
    if HEADER_KEYS[directive]:
        return parse_name_list(value)
    return value


def _line_value(value: str) -> int | None:
    if value.lower() == "none":
        return None
    try:
        return int(value)
    except ValueError:
        raise SyntaxProblem(f".line takes a number or 'none', not {value!r}") from None


def _handler_value(value: str):
    if value.lower() == "none":
        return None
    match = _HANDLER.match(value)
    if not match:
        raise SyntaxProblem(f".handler takes 'LABEL depth=N [lasti]' or 'none', not {value!r}")
    return match.group(1), int(match.group(2)), bool(match.group(3))
