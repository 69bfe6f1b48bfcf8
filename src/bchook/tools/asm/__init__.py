"""``bchook.asm``: write code objects and functions by hand, on any of Python 3.10–3.15.

>>> from bchook import asm
>>> add_one = asm.function("add_one", ["LOAD_FAST x", "LOAD_CONST 1", "BINARY_OP +",
...                                     "RETURN_VALUE"], args=["x"])
>>> add_one(41)
42

Instructions are strings ``"OPNAME ARGUMENT"`` (or tuples ``(OPNAME, value)`` to pass any
Python object as a constant); lines ``"name:"`` define labels that jumps name::

    asm.function("count", [
        "LOAD_CONST 0", "STORE_FAST i",
        "loop:",
        "LOAD_FAST i", "LOAD_FAST n", "COMPARE_OP <", "POP_JUMP_IF_FALSE end",
        "LOAD_FAST i", "LOAD_CONST 1", "BINARY_OP +=", "STORE_FAST i",
        "JUMP loop",
        "end:",
        "LOAD_FAST i", "RETURN_VALUE",
    ], args=["n"])

Arguments are written by meaning (constants as literals, variables and names by name,
``BINARY_OP +``, ``COMPARE_OP <``, ``LOAD_COMMON_CONSTANT None``, labels); see
``bchook.tools.syntax``. The stack size, jump offsets and directions, ``EXTENDED_ARG``
prefixes and the line and exception tables are computed. The idioms releases spell
differently are built with ``bchook.ir``'s builders, so a listing can say the same thing
everywhere:

- ``BINARY_OP +`` (``+=``, ``[]``), ``BINARY_ADD``, ``INPLACE_ADD`` and ``BINARY_SUBSCR``
  are one another on every version;
- ``CALL n`` is ``CALL_FUNCTION n`` on 3.10 (``CALL_METHOD n`` for a method) and
  ``PRECALL n`` + ``CALL n`` on 3.11; ``LOAD_METHOD m`` and ``LOAD_ATTR NULL|self + m``
  load a method everywhere; ``LOAD_GLOBAL NULL + f`` pushes the NULL a call needs
  (nothing on 3.10);
- ``RESUME``, ``MAKE_CELL``, ``COPY_FREE_VARS``, the generator prologue and ``GEN_START``
  are added when the listing has none, and dropped where the version has no such opcode;
  so is what must follow an instruction (``RESUME`` after ``YIELD_VALUE``, ``POP_TOP``
  (3.13) or ``POP_ITER`` (3.14+) after ``END_FOR``) and a loop's ``END_FOR`` exit;
- ``JUMP``, ``POP_JUMP_IF_FALSE`` & co. go either way (a backward conditional jump hops
  over a ``JUMP`` on 3.12+); on 3.13+ a ``TO_BOOL`` goes before ``POP_JUMP_IF_TRUE/FALSE``
  unless the value is already a bool (a comparison's counts as one), and on 3.14+ a
  ``NOT_TAKEN`` after a conditional jump; ``RETURN_CONST x`` is a load and
  ``RETURN_VALUE`` outside 3.12/3.13; ``LOAD_SMALL_INT`` and ``LOAD_COMMON_CONSTANT`` load
  the constant before 3.14, 3.14's ``LOAD_FAST_BORROW`` is a ``LOAD_FAST`` before it.

Where a difference cannot be hidden (``PUSH_NULL`` goes before the callable on 3.11/3.12
and after it on 3.13+; keyword calls; ``JUMP_IF_FALSE_OR_POP`` after 3.11) you get an
:class:`AsmError` naming the instruction. ``bchook dis --asm`` prints listings in this form,
with header directives (``.args``, ``.varnames``, ``.consts``...), that :func:`assemble`
reads back into an equivalent code object.
"""

from __future__ import annotations

import builtins
import types
from typing import Any, Iterable, Mapping, Sequence

from .build import BuildError, build_block
from .parse import Block, ListingError, parse_listing
from ..syntax import SyntaxProblem
from ...errors import UsageError

__all__ = ["AsmError", "assemble", "code", "function", "listing"]

class AsmError(UsageError):
    """A listing that cannot be assembled; the message names the line and instruction."""


def assemble(listing, **header: Any) -> types.CodeType:
    """The code object of a listing with directives, e.g. ``bchook dis --asm`` output.

    A listing of several ``.code`` blocks builds the first one; the others are the code
    objects its ``<code NAME>`` constants refer to. ``header`` gives defaults for the
    first block's directives (``name``, ``args``...; see :func:`code`).
    """
    blocks = _parse(listing)
    if not blocks:
        raise AsmError("the listing has no instructions")
    return _Assembler(blocks, header).build(0)


def code(*listing, name: str | None = None, args: Iterable[str] | str = (),
         locals: Iterable[str] = (), cellvars: Iterable[str] = (),
         freevars: Iterable[str] = (), flags: Iterable[str] | str = (),
         consts: Sequence[Any] | None = None, names: Iterable[str] = (),
         doc: str | None = None, qualname: str | None = None, filename: str = "<asm>",
         firstlineno: int = 1) -> types.CodeType:
    """A code object: ``code(instructions, name=...)`` or, like :func:`function`,
    ``code(name, instructions)``.

    ``args``: the parameters, as in a ``def`` (``["a", "/", "b", "*", "c"]``,
    ``"a, *rest, **kw"``); ``locals``: more local variables (names used by ``LOAD_FAST``
    & co. are added by themselves); ``cellvars``/``freevars``: closure variables;
    ``flags``: flags to add to a plain function's (e.g. ``["GENERATOR"]``); ``consts``:
    the first constants, in order (by default the docstring ``doc``); ``names``: the
    first ``co_names``.
    """
    if len(listing) == 2 and isinstance(listing[0], str) and name is None:
        name, instructions = listing
    elif len(listing) == 1:
        instructions = listing[0]
    else:
        raise AsmError("code() takes the instructions, or a name and the instructions")
    name = name or "<asm>"
    header: dict[str, Any] = {
        "name": name, "qualname": qualname or name, "filename": filename,
        "firstlineno": firstlineno, "args": _names(args), "doc": doc,
        "cellvars": list(cellvars), "freevars": list(freevars), "names": list(names),
        "extra_flags": _names(flags),
    }
    extra_locals = list(locals)
    if extra_locals:
        header["varnames"] = _param_names(header["args"]) + extra_locals
    if consts is not None:
        header["consts"] = list(consts)
    return assemble(instructions, **header)


def function(name: str, instructions, *, args: Iterable[str] | str = (),
             globals: dict | None = None, defaults: Sequence[Any] = (),
             kwdefaults: Mapping[str, Any] | None = None,
             closure: Mapping[str, Any] | Sequence[Any] | None = None,
             **options: Any) -> types.FunctionType:
    """A function whose body is ``instructions`` (see :func:`code` for ``options``).

    ``globals`` defaults to a fresh namespace with the builtins; ``closure`` gives the
    values (or cells) of ``freevars``, as a sequence or a mapping by name.
    """
    co = code(instructions, name=name, args=args, **options)
    if globals is None:
        globals = {"__builtins__": builtins, "__name__": "bchook.asm"}
    cells = _cells(co, closure)
    fn = types.FunctionType(co, globals, name, tuple(defaults) or None, cells)
    if kwdefaults:
        fn.__kwdefaults__ = dict(kwdefaults)
    fn.__qualname__ = options.get("qualname") or name
    return fn


def listing(obj) -> str:
    """The listing of a code object (or function) and its nested code objects, in the form
    :func:`assemble` reads back; what ``bchook dis --asm`` prints."""
    from ..dis.format import asm_listing

    co = getattr(obj, "__code__", obj)
    if not isinstance(co, types.CodeType):
        raise AsmError(f"listing() takes a code object or a function, not {type(obj).__name__}")
    return asm_listing(co, getattr(obj, "__qualname__", None))


# -- internals -------------------------------------------------------------------------

def _names(value) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.replace(" ", ",").split(",") if p.strip()] \
            if "," not in value else [p.strip() for p in value.split(",") if p.strip()]
    return [str(v) for v in value]


def _param_names(parts: list[str]) -> list[str]:
    from .build import Signature

    return Signature(parts).varnames()


def _cells(co: types.CodeType, closure) -> tuple | None:
    free = co.co_freevars
    if not free:
        if closure:
            raise AsmError("closure given, but the code has no freevars")
        return None
    if closure is None:
        raise AsmError(f"the code has free variables {', '.join(free)}: give their values "
                       "with closure=")
    if isinstance(closure, Mapping):
        missing = [n for n in free if n not in closure]
        if missing:
            raise AsmError(f"closure has no value for {', '.join(missing)}")
        values = [closure[n] for n in free]
    else:
        values = list(closure)
        if len(values) != len(free):
            raise AsmError(f"closure has {len(values)} values for {len(free)} free "
                           f"variables ({', '.join(free)})")
    return tuple(v if isinstance(v, types.CellType) else types.CellType(v) for v in values)


def _parse(listing) -> list[Block]:
    try:
        return parse_listing(listing)
    except ListingError as exc:
        raise AsmError(str(exc)) from None


class _Assembler:
    """Builds the blocks of one listing, each once, nested ones on demand."""

    def __init__(self, blocks: list[Block], header: dict[str, Any]):
        self.blocks = blocks
        self.header = header
        self.by_name: dict[str, int] = {}
        for i, block in enumerate(blocks):
            if block.ident is not None:
                if block.ident in self.by_name:
                    raise AsmError(f"line {block.first_line}: .code {block.ident} is given "
                                   "twice")
                self.by_name[block.ident] = i
        self.built: dict[int, types.CodeType] = {}
        self.building: list[int] = []
        self.extra = {}
        for value in header.get("consts") or ():
            if isinstance(value, types.CodeType):
                self.extra[getattr(value, "co_qualname", value.co_name)] = value
                self.extra.setdefault(value.co_name, value)

    def ref(self, name: str) -> types.CodeType:
        index = self.by_name.get(name)
        if index is None:
            if name in self.extra:
                return self.extra[name]
            raise KeyError(name)
        return self.build(index)

    def build(self, index: int) -> types.CodeType:
        done = self.built.get(index)
        if done is not None:
            return done
        block = self.blocks[index]
        if index in self.building:
            raise AsmError(f".code {block.ident} contains itself")
        self.building.append(index)
        defaults = self.header if index == 0 else {}
        try:
            result = build_block(block, self.ref, defaults)
        except BuildError as exc:
            where = f"in .code {block.ident}: " if block.ident else ""
            raise AsmError(where + str(exc)) from None
        except (SyntaxProblem, ValueError) as exc:
            raise AsmError(str(exc)) from None
        finally:
            self.building.pop()
        self.built[index] = result
        return result
