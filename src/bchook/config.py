"""Settings of a bchook run, from three layers: flags > environment > ``pyproject.toml``.

``[tool.bchook]`` in the nearest ``pyproject.toml`` (searched upwards from the program's
directory)::

    [tool.bchook]
    passes = ["constfold", "trace"]      # or "constfold,trace"
    include = ["myapp.*"]                # module-name globs; default: the program's folder
    exclude = ["myapp.vendored.*"]
    cache = true

    [tool.bchook.options.trace]          # per-pass options: [tool.bchook.options.PASS]
    output = "trace.prof"

Environment variables (a variable that is set, even to "", overrides the file):
``BCHOOK_PASSES``, ``BCHOOK_INCLUDE``, ``BCHOOK_EXCLUDE`` (comma-separated),
``BCHOOK_CACHE=0``, ``BCHOOK_OPTIONS`` (``pass.key=value;pass.key=value``, ``\\;`` for a
literal semicolon), ``BCHOOK_ROOTS`` (folders, ``os.pathsep``-separated), ``BCHOOK_CONFIG``
(the ``pyproject.toml`` to read instead of searching; empty: none) and ``BCHOOK_DISABLE=1``,
which turns bchook off whatever else is set.

Options must name a pass of the chain, whichever layer gives them (:func:`check_options`):
an option for another pass is a usage error, the same from ``-o``, ``BCHOOK_OPTIONS`` and
the file.
"""

from __future__ import annotations

import os
import sys

from .errors import UsageError
from .pipeline.api import flag

TYPE_CHECKING = False  # typing costs milliseconds at start-up
if TYPE_CHECKING:
    from typing import Any, Mapping

__all__ = [
    "Settings", "resolve", "find_pyproject", "read_pyproject", "read_environ",
    "parse_option_flags", "encode_options", "decode_options", "to_environ", "is_disabled",
    "check_options", "create_chain", "remember",
]

ENV_PASSES = "BCHOOK_PASSES"
ENV_INCLUDE = "BCHOOK_INCLUDE"
ENV_EXCLUDE = "BCHOOK_EXCLUDE"
ENV_CACHE = "BCHOOK_CACHE"
ENV_OPTIONS = "BCHOOK_OPTIONS"
ENV_ROOTS = "BCHOOK_ROOTS"
ENV_CONFIG = "BCHOOK_CONFIG"
ENV_DISABLE = "BCHOOK_DISABLE"

_FILE_KEYS = ("passes", "include", "exclude", "cache", "options")

Options = dict  # {pass name: {option: value}}


class Settings:
    """The settings of one run, merged by :func:`resolve`: what every front end installs.

    Immutable (a front end that wants another value makes a copy with :meth:`replace`):
    ``passes``, ``include``, ``exclude`` and ``roots`` are tuples, ``options`` maps a pass name
    to a read-only table of its options, ``option_sources`` says where each option came from
    (``-o``, ``BCHOOK_OPTIONS``, the file's table), for messages. ``roots``: the folders whose
    modules are targeted when ``include`` is empty; ``config_file``: the pyproject.toml the
    file layer came from, if any. (A plain class: ``dataclasses`` costs milliseconds at
    start-up.)
    """

    _FIELDS = ("passes", "include", "exclude", "cache", "options", "option_sources", "roots",
               "disabled", "config_file")
    __slots__ = _FIELDS

    def __init__(self, passes=(), include=(), exclude=(), cache: bool = True,
                 options: Mapping[str, Mapping[str, Any]] | None = None,
                 option_sources: Mapping[str, Mapping[str, str]] | None = None,
                 roots=(), disabled: bool = False, config_file: str | None = None):
        from types import MappingProxyType as frozen

        init = object.__setattr__
        init(self, "passes", tuple(passes))
        init(self, "include", tuple(include))
        init(self, "exclude", tuple(exclude))
        init(self, "cache", bool(cache))
        init(self, "options", frozen({name: frozen(dict(table))
                                      for name, table in (options or {}).items()}))
        init(self, "option_sources", frozen({name: frozen(dict(table))
                                             for name, table in (option_sources or {}).items()}))
        init(self, "roots", tuple(roots))
        init(self, "disabled", bool(disabled))
        init(self, "config_file", config_file)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"Settings are immutable: use settings.replace({name}=...)")

    def replace(self, **changes) -> Settings:
        """A copy with ``changes`` applied."""
        values = {name: getattr(self, name) for name in self._FIELDS}
        values.update(changes)
        return Settings(**values)

    def __eq__(self, other) -> bool:
        if type(other) is not Settings:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._FIELDS
                   if n != "option_sources")  # where a value came from is not a setting

    __hash__ = None  # equal settings may hold different option sources

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={_plain(getattr(self, n))!r}" for n in self._FIELDS)
        return f"Settings({fields})"


def _plain(value):
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    return value


# -- the file layer ----------------------------------------------------------------------

def find_pyproject(start: str) -> str | None:
    """The nearest ``pyproject.toml`` in ``start`` or one of its parents."""
    folder = os.path.abspath(start)
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


# The TOML parser (and the typing, re, datetime... it imports) costs about 15 ms: more than
# the rest of bchook's start-up. So the [tool.bchook] value read from a pyproject.toml is
# remembered next to it, in __pycache__ like a pyc, for the runs that follow until the file
# changes (its mtime and size, as for a pyc): marshal needs no import.
_MEMO_TAG = "bchook-pyproject-1"
#: ``(memo file, stamp, table)`` read during this run, written by :func:`remember`.
_unremembered: list[tuple[str, tuple[int, int], object]] = []


def _memo_file(path: str) -> str | None:
    import importlib.util

    try:  # where a pyproject.py's pyc would go (sys.pycache_prefix and the cache tag apply)
        pyc = importlib.util.cache_from_source(os.path.splitext(path)[0] + ".py")
    except NotImplementedError:  # no cache tag (sys.implementation.cache_tag is None)
        return None
    return pyc[:-len(".pyc")] + ".bchook-pyproject"


def _bchook_table(path: str) -> object:
    """The value of ``tool.bchook`` in the file ``path`` (``{}`` if it has none)."""
    import marshal

    try:
        st = os.stat(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    stamp = (st.st_mtime_ns, st.st_size)
    memo = _memo_file(path)
    if memo is not None:
        try:
            with open(memo, "rb") as f:
                tag, known, table = marshal.loads(f.read())
            if tag == _MEMO_TAG and tuple(known) == stamp:
                return table
        except Exception:  # missing, truncated or foreign: read the file itself
            pass
    table = _load_toml(path).get("tool", {}).get("bchook", {})
    if memo is not None:
        _unremembered.append((memo, stamp, table))
    return table


def remember() -> None:
    """Write the memos of the ``[tool.bchook]`` values read: the front ends call this once
    the settings proved good (a usage error writes nothing). Never raises."""
    import marshal

    if sys.dont_write_bytecode:  # PYTHONDONTWRITEBYTECODE: no pyc, no memo either
        _unremembered.clear()
        return
    while _unremembered:
        memo, stamp, table = _unremembered.pop()
        tmp = f"{memo}.{os.getpid()}"
        try:
            data = marshal.dumps((_MEMO_TAG, stamp, table))
            os.makedirs(os.path.dirname(memo), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, memo)
        except (OSError, ValueError):  # read-only folder, a value marshal cannot keep...
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _load_toml(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"bchook" not in data:  # no [tool.bchook] in it: no need to parse
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the backport is a dependency there
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None


def read_pyproject(path: str) -> dict[str, Any]:
    """The ``[tool.bchook]`` layer of ``path``: only the keys the file sets."""
    table = _bchook_table(path)
    where = f"{path}: [tool.bchook]"
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - set(_FILE_KEYS))
    if unknown:
        raise UsageError(
            f"{where}: unknown key {unknown[0]!r} (known keys: {', '.join(_FILE_KEYS)})")
    layer: dict[str, Any] = {}
    for key in ("passes", "include", "exclude"):
        if key in table:
            layer[key] = _name_list(table[key], f"{where} {key}")
    if "cache" in table:
        if not isinstance(table["cache"], bool):
            raise UsageError(f"{where} cache must be true or false, not {table['cache']!r}")
        layer["cache"] = table["cache"]
    if "options" in table:
        layer["options"] = _file_options(table["options"], where)
    return layer


def _name_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return split_list(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise UsageError(f"{where} must be a list of strings or a comma-separated string, "
                     f"not {value!r}")


def _file_options(value: Any, where: str) -> Options:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise UsageError(f"{where} options must hold one table per pass, "
                         f"e.g. [tool.bchook.options.trace]")
    options: Options = {}
    for pass_name, table in value.items():
        for key, item in table.items():
            if isinstance(item, list):  # like repeated -o flags: one comma-joined value
                item = ",".join(str(v) for v in item)
            elif not isinstance(item, (str, int, float, bool)):
                raise UsageError(f"{where} options.{pass_name}.{key}: unsupported value "
                                 f"{item!r} (use a string, number, boolean or list)")
            options.setdefault(pass_name, {})[key] = item
    return options


# -- the environment layer ---------------------------------------------------------------

def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


def is_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``BCHOOK_DISABLE`` is set to a true value (1, true, yes, on)."""
    environ = os.environ if environ is None else environ
    try:
        return flag(environ.get(ENV_DISABLE, ""))
    except ValueError:
        return True  # someone meant to switch bchook off; do not second-guess the spelling


def read_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``BCHOOK_*`` layer: only the variables that are set."""
    layer: dict[str, Any] = {}
    for key, var in (("passes", ENV_PASSES), ("include", ENV_INCLUDE),
                     ("exclude", ENV_EXCLUDE)):
        if var in environ:
            layer[key] = split_list(environ[var])
    if ENV_CACHE in environ:
        try:
            layer["cache"] = flag(environ[ENV_CACHE])
        except ValueError as exc:
            raise UsageError(f"{ENV_CACHE}: {exc}") from None
    if ENV_OPTIONS in environ:
        layer["options"] = decode_options(environ[ENV_OPTIONS])
    if ENV_ROOTS in environ:
        layer["roots"] = [p for p in environ[ENV_ROOTS].split(os.pathsep) if p]
    if is_disabled(environ):
        layer["disabled"] = True
    return layer


def _split_escaped(text: str, sep: str) -> list[str]:
    """Split on ``sep``; ``\\`` + sep is a literal sep, ``\\\\`` a backslash, any other
    backslash is kept as it is (so Windows paths need no escaping)."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in (sep, "\\"):
            current.append(text[i + 1])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def decode_options(text: str) -> Options:
    """``"trace.output=a.prof;identity.pad=1"`` -> ``{"trace": {"output": "a.prof"}, ...}``."""
    options: Options = {}
    for entry in _split_escaped(text, ";"):
        if not entry.strip():
            continue
        pass_name, key, value = _split_assignment(entry, ENV_OPTIONS)
        options.setdefault(pass_name, {})[key] = value
    return options


def encode_options(options: Mapping[str, Mapping[str, Any]]) -> str:
    """Inverse of :func:`decode_options` (values become strings)."""
    entries = []
    for pass_name, table in options.items():
        for key, value in table.items():
            if isinstance(value, bool):
                value = int(value)
            text = str(value).replace("\\", "\\\\").replace(";", "\\;")
            entries.append(f"{pass_name}.{key}={text}")
    return ";".join(entries)


def _split_assignment(entry: str, where: str) -> tuple[str, str, str]:
    target, eq, value = entry.partition("=")
    pass_name, dot, key = target.strip().partition(".")
    if not eq or not dot or not pass_name or not key.strip():
        raise UsageError(f"{where}: bad option {entry!r}: expected PASS.KEY=VALUE, "
                         f"e.g. identity.pad=1")
    return pass_name, key.strip(), value


# -- the flags layer ---------------------------------------------------------------------

def parse_option_flags(items: list[str]) -> Options:
    """``-o PASS.KEY=VALUE`` flags; a PASS.KEY given again adds ``,VALUE`` to its value."""
    options: Options = {}
    for item in items:
        pass_name, key, value = _split_assignment(item, "-o")
        table = options.setdefault(pass_name, {})
        table[key] = f"{table[key]},{value}" if key in table else value
    return options


# -- putting the layers together ---------------------------------------------------------

def resolve(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    start: str | None = None,
    *,
    front_end_file: tuple[Mapping[str, Any], str] | None = None,
) -> Settings:
    """Merge ``[tool.bchook]``, the environment and ``flags`` (a layer dict: passes, include,
    exclude, cache, options, roots) into :class:`Settings`: the one way every front end
    gets its settings. ``start`` is where the search for ``pyproject.toml`` begins (default:
    the current directory). ``front_end_file``: a layer a front end reads from a
    configuration file of its own (pytest's ini options) and the name to cite for its
    options; it goes above ``[tool.bchook]`` and below the environment."""
    environ = os.environ if environ is None else environ
    config_file = environ.get(ENV_CONFIG)
    if config_file is None:
        config_file = find_pyproject(start or os.getcwd())
    file_layer = read_pyproject(config_file) if config_file else {}
    values: dict[str, Any] = {"config_file": config_file or None}
    options: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    layers = [(file_layer, f"{config_file} [tool.bchook.options.{{}}]")]
    if front_end_file is not None:
        layers.append(front_end_file)
    layers += [(read_environ(environ), ENV_OPTIONS), (dict(flags or {}), "-o")]
    for layer, source in layers:
        for key, value in layer.items():
            if key == "options":
                for pass_name, table in value.items():
                    options.setdefault(pass_name, {}).update(table)
                    sources.setdefault(pass_name, {}).update(
                        dict.fromkeys(table, source.format(pass_name)))
            else:
                values[key] = value
    return Settings(options=options, option_sources=sources, **values)


def create_chain(settings: Settings) -> list:
    """The passes of ``settings``, built once (none when bchook is disabled): options must
    name a pass of the chain (:func:`check_options`); bad ones raise UsageError."""
    if not settings.passes:
        return []
    check_options(settings)
    from .pipeline.registry import create_passes

    chain = create_passes(list(settings.passes), settings.options)  # names checked even so
    return [] if settings.disabled else chain


def check_options(settings: Settings) -> None:
    """Options must name a pass of the chain, whichever layer gives them: an option for
    another pass does nothing, so it is a usage error (a typo in a pass name, or a setting
    left behind), the same from ``-o``, ``BCHOOK_OPTIONS`` and the file."""
    chain = settings.passes
    for pass_name, table in settings.options.items():
        if pass_name in chain or not table:
            continue
        key = next(iter(table))
        source = settings.option_sources.get(pass_name, {}).get(key, "options")
        raise UsageError(
            f"option {pass_name}.{key} ({source}): pass {pass_name!r} is not in the chain "
            f"(passes: {', '.join(chain) or 'none'}); options must name a pass of the chain")


def to_environ(settings: Settings) -> dict[str, str]:
    """The variables that hand ``settings`` on to child processes (see the autoload)."""
    env = {
        ENV_PASSES: ",".join(settings.passes),
        ENV_INCLUDE: ",".join(settings.include),
        ENV_EXCLUDE: ",".join(settings.exclude),
        ENV_CACHE: "1" if settings.cache else "0",
        ENV_OPTIONS: encode_options(settings.options),
        ENV_ROOTS: os.pathsep.join(settings.roots),
        ENV_CONFIG: settings.config_file or "",
    }
    return env
