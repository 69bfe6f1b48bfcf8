"""The pass API: what a pass author writes against (:class:`Pass`, :class:`Context`,
:class:`Option` and the ``flag`` converter). :mod:`bchook.pipeline.driver` runs passes."""

from __future__ import annotations

import types

from .. import ir
from ..errors import OptionError

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:  # typing and ast cost start-up time: the hook imports them only if used
    import ast
    from typing import Any, Callable, ClassVar, Mapping, Sequence

__all__ = ["Pass", "Option", "Context", "flag"]


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
