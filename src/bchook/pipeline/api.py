"""The pass API and the driver that runs a chain of passes over one module."""

from __future__ import annotations

import types

from .. import ir
from ..errors import OptionError, PassFailed

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:  # typing and ast cost start-up time: the hook imports them only if used
    import ast
    from typing import Any, Callable, ClassVar, Mapping, Sequence

__all__ = ["Pass", "Option", "Context", "flag", "transform_source", "transform_code_tree",
           "compile_tree"]


def flag(value: Any) -> bool:
    """Option converter for on/off switches: ``1/0, true/false, yes/no, on/off``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {value!r}")


class Context:
    """What a pass knows about the module being transformed.

    ``state`` is scratch space for one pass over one module (e.g. facts an AST stage found
    for the bytecode stage); it is new for every module, so passes keep no global state.
    ``module_code`` is the root of the code tree being transformed, set by the driver before
    any code pass runs: code objects come nested-first, so a pass that needs whole-module
    facts reads them from there. ``generated_warnings`` lists ``(category, message, line)``
    of the warnings the compiler gives for statements an AST pass generated, not the
    user's: :func:`compile_tree` drops exactly those.
    """

    __slots__ = ("module", "filename", "options", "state", "module_code",
                 "generated_warnings")

    def __init__(self, module: str, filename: str, options: Mapping[str, Any],
                 state: dict | None = None, module_code: types.CodeType | None = None):
        self.module = module
        self.filename = filename
        self.options = options
        self.state = {} if state is None else state
        self.module_code = module_code
        self.generated_warnings: list = []

    def __repr__(self) -> str:
        return f"Context(module={self.module!r}, filename={self.filename!r}, " \
               f"options={self.options!r})"


class Option:
    """One option of a pass, declared once: what parses it and what documents it.

    ``convert`` turns a value given as text (``-o PASS.KEY=VALUE``, ``BCHOOK_OPTIONS``, a
    config file) into the value the pass reads; ``default`` is what the pass does when the
    option is not given (shown by ``bchook passes`` and the help; the pass still finds only
    the options given in ``self.options``); ``help`` is a one-line meaning; ``type`` is how
    values are shown (by default the converter's name: ``flag`` is ``bool``).
    """

    __slots__ = ("name", "convert", "default", "help", "type")

    def __init__(self, name: str, convert: Callable[[Any], Any] = str, default: Any = None,
                 help: str = "", *, type: str | None = None):
        if not (isinstance(name, str) and name.isidentifier()):
            raise TypeError(f"an option name must be an identifier, not {name!r}")
        if not callable(convert):
            raise TypeError(f"option {name!r}: convert must be callable, not {convert!r}")
        self.name = name
        self.convert = convert
        self.default = default
        self.help = help
        self.type = type or _TYPE_NAMES.get(convert) or \
            getattr(convert, "__name__", "value").lstrip("_")

    def default_text(self) -> str:
        """The default as one would write it after ``-o PASS.KEY=``."""
        value = self.default
        if value is None or value == "":
            return "none"
        if isinstance(value, bool):
            return "1" if value else "0"
        return str(value)

    def __repr__(self) -> str:
        return f"Option({self.name!r}, type={self.type!r}, default={self.default!r})"


_TYPE_NAMES = {flag: "bool", int: "int", str: "str", float: "float"}


class Pass:
    """Base class of every pass, built-in or plugin.

    Subclasses set ``name`` and ``version`` and implement any of ``transform_ast``,
    ``transform_code`` or ``transform_ir``. ``option_specs`` declares the options the pass
    accepts, one :class:`Option` each (converter, default, one-line meaning); the command
    line, ``bchook passes`` and the documentation all come from it. ``option_types``
    (``{name: converter}``, the older form) still works, and is derived from the specs.

    ``keeps_lines`` promises that the pass leaves the ``sys.settrace`` line events of the
    code it rewrites as they were (a debugger and coverage see the same lines run): ``bchook
    check`` and :mod:`bchook.testing` then compare them too. Set it to False for a pass
    that removes or moves the lines of code (``constfold`` drops those of the code it
    folds away).
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    keeps_lines: ClassVar[bool] = True
    option_specs: ClassVar[tuple[Option, ...]] = ()
    option_types: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "option_specs" not in own and "option_types" not in own:
            return  # inherited as they are
        if "option_specs" in own:
            specs = list(own["option_specs"])
            for spec in specs:
                if not isinstance(spec, Option):
                    raise TypeError(f"{cls.__qualname__}.option_specs: {spec!r} is not a "
                                    f"bchook.Option")
            types_given = dict(own.get("option_types", {}))
        else:  # the older form: converters only, documented by name and type
            specs, types_given = [], dict(own["option_types"])
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise TypeError(f"{cls.__qualname__}.option_specs names an option twice")
        inherited = {spec.name: spec for spec in cls.option_specs}
        for key, convert in types_given.items():
            if key not in names:
                spec = inherited.get(key)
                specs.append(spec if spec is not None and spec.convert is convert
                             else Option(key, convert))
        cls.option_specs = tuple(specs)
        cls.option_types = {spec.name: spec.convert for spec in specs}

    def __init__(self, **options: Any):
        converted = {}
        for key, value in options.items():
            convert = self.option_types.get(key)
            if convert is None:
                known = ", ".join(sorted(self.option_types)) or "none"
                raise OptionError(
                    f"pass {self.name!r} has no option {key!r} (its options: {known})")
            try:
                converted[key] = convert(value)
            except (TypeError, ValueError) as exc:
                raise OptionError(
                    f"bad value {value!r} for option {self.name}.{key}: {exc}") from None
        self.options: dict[str, Any] = converted

    # Optional hooks; the driver only calls the ones a subclass overrides.
    def transform_ast(self, tree: ast.Module, ctx: Context) -> ast.Module:
        return tree

    def transform_code(self, code: types.CodeType, ctx: Context) -> types.CodeType:
        return code

    def transform_ir(self, bytecode: ir.Bytecode, ctx: Context) -> bool:
        """Edit ``bytecode`` in place; return True if anything changed."""
        return False

    def wants(self, code: types.CodeType, ctx: Context) -> bool:
        """Cheap test (no decoding) of whether this pass may change ``code``."""
        return True

    def cache_key(self) -> str:
        """What of this pass decides its output: name, version and options."""
        opts = ",".join(f"{k}={self.options[k]!r}" for k in sorted(self.options))
        return f"{self.name}:{self.version}:{opts}"

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"<pass {self.name} {self.version}{' ' + opts if opts else ''}>"


def _overrides(p: Pass, method: str) -> bool:
    return getattr(type(p), method) is not getattr(Pass, method)


def _where(code: types.CodeType) -> str:
    return f"{getattr(code, 'co_qualname', code.co_name)} at {code.co_filename}:" \
           f"{code.co_firstlineno}"


def _check_stack_size(before: types.CodeType, after: types.CodeType) -> None:
    """Refuse code whose ``co_stacksize`` is too small for its instructions: CPython trusts
    it, and running such code corrupts memory (a crash, or wrong values on 3.11)."""
    if after is before or (
            after.co_stacksize >= before.co_stacksize and after.co_code == before.co_code
            and getattr(after, "co_exceptiontable", None) ==
            getattr(before, "co_exceptiontable", None)):
        return  # the same instructions, and room for them
    needed = ir.Bytecode.from_code(after).max_stack_depth()
    if after.co_stacksize < needed:
        raise ValueError(f"transform_code returned code with co_stacksize "
                         f"{after.co_stacksize}, but its instructions need {needed}")


def transform_code_tree(
    code: types.CodeType, passes: Sequence[Pass], ctxs: Sequence[Context]
) -> types.CodeType:
    """Run the code-level passes over ``code`` and every nested code object.

    Consecutive IR passes share one decoded :class:`ir.Bytecode`; a code object is only
    re-encoded when a pass reported a change.
    """
    stages = []
    for p, ctx in zip(passes, ctxs):
        if _overrides(p, "transform_ir"):
            stages.append(("ir", p, ctx))
        elif _overrides(p, "transform_code"):
            stages.append(("code", p, ctx))
    if not stages:
        return code
    module = ctxs[0].module if ctxs else "?"
    for ctx in ctxs:
        ctx.module_code = code

    def run(co: types.CodeType) -> types.CodeType:
        bc = None
        changed = False
        current = co
        for kind, p, ctx in stages:
            try:
                if kind == "ir":
                    if bc is None:
                        if not p.wants(current, ctx):
                            continue
                        bc = ir.Bytecode.from_code(current)
                    if p.transform_ir(bc, ctx):
                        changed = True
                else:
                    if bc is not None:
                        if changed:
                            current = bc.to_code()
                        bc, changed = None, False
                    if not p.wants(current, ctx):
                        continue
                    result = p.transform_code(current, ctx)
                    if type(result) is not types.CodeType:
                        raise TypeError(
                            f"transform_code returned {type(result).__name__}, not a code object")
                    _check_stack_size(current, result)
                    current = result
            except PassFailed:
                raise
            except Exception as exc:
                raise PassFailed(p.name, module, _where(current), exc) from exc
        if bc is not None and changed:
            try:
                current = bc.to_code()
            except Exception as exc:
                names = ",".join(p.name for kind, p, _ in stages if kind == "ir")
                raise PassFailed(names, module, _where(current), exc) from exc
        return current

    return ir.replace_nested_code(code, run)


def transform_source(
    source: bytes | str,
    filename: str,
    module: str,
    passes: Sequence[Pass],
    *,
    optimize: int = -1,
) -> types.CodeType:
    """Compile ``source`` with the AST passes, then run the code-level passes.

    A SyntaxError in the source propagates unchanged, with the user's file and line.
    """
    ctxs = [Context(module, filename, p.options) for p in passes]
    ast_passes = [(p, c) for p, c in zip(passes, ctxs) if _overrides(p, "transform_ast")]
    if ast_passes:
        import ast

        tree = ast.parse(source, filename)
        for p, ctx in ast_passes:
            try:
                tree = p.transform_ast(tree, ctx)
            except SyntaxError:
                raise
            except Exception as exc:
                raise PassFailed(p.name, module, f"<module> at {filename}:1", exc) from exc
            if not isinstance(tree, ast.Module):
                raise PassFailed(p.name, module, f"<module> at {filename}:1", TypeError(
                    f"transform_ast returned {type(tree).__name__}, not ast.Module"))
        ast.fix_missing_locations(tree)
        code = compile_tree(tree, filename, ctxs, optimize=optimize)
    else:
        code = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
    return transform_code_tree(code, passes, ctxs)


def compile_tree(tree: ast.Module, filename: str, ctxs: Sequence[Context], *, flags: int = 0,
                 optimize: int = -1) -> types.CodeType:
    """``compile()`` a transformed tree without the warnings the AST passes declared for the
    statements they generated (``Context.generated_warnings``, which must name no warning
    the user's own code gives). Every other warning comes as ``compile()`` gives it (a
    SyntaxError under ``-W error``)."""
    generated = [w for ctx in ctxs for w in ctx.generated_warnings]
    if not generated:
        return compile(tree, filename, "exec", flags=flags, dont_inherit=True,
                       optimize=optimize)
    import re
    import warnings

    # compile() warns with warn_explicit(), which names the module after the file
    module = re.escape(filename[:-3] if filename.endswith(".py") else filename) + r"\Z"
    with warnings.catch_warnings():
        for category, message, line in generated:
            warnings.filterwarnings("ignore", re.escape(message) + r"\Z", category, module,
                                    line)
        return compile(tree, filename, "exec", flags=flags, dont_inherit=True,
                       optimize=optimize)
