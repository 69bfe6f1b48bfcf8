"""``bchook new-pass NAME [--bytecode | --ast] [DIR]``: a new pass, as a distribution ready
to install.

    bchook new-pass shout            # ./shout: a bytecode (IR) pass named shout
    bchook new-pass shout --ast      # an AST pass instead
    bchook new-pass shout plugins/x  # written into plugins/x

It writes ``pyproject.toml`` (the ``bchook.passes`` entry point), ``README.md``, the pass
(``src/bchook_NAME/__init__.py``, its hooks explained in comments) and its tests
(``tests/test_NAME.py``, with :mod:`bchook.testing`), from the templates next to this
module. The tests pass as written once the distribution is installed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from ...errors import UsageError

__all__ = ["main", "write", "names_for"]

PROG = "bchook new-pass"
TEMPLATES = Path(__file__).resolve().parent / "templates"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")

DESCRIPTION = """\
Write a new pass as a distribution ready to install: pyproject.toml with its bchook.passes
entry point, README.md, the pass (src/bchook_NAME/__init__.py, an example transformation
with every hook explained in comments) and its tests (tests/test_NAME.py, written with
bchook.testing). Then:

  pip install -e ./NAME          # bchook passes lists it
  pytest NAME                    # its tests pass as written
  bchook check -p NAME           # tricky and generated programs do the same under it"""


def _parser():
    import argparse

    from ...frontends.cli import _parser as cli_parser

    p = cli_parser(prog=PROG, description=DESCRIPTION,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME",
                   help="the pass's name, as chains will spell it (-p NAME): letters, digits, "
                        "'_' and '-', starting with a letter")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--bytecode", dest="kind", action="store_const", const="bytecode",
                      help="a bytecode pass: it edits each code object as bchook's IR "
                           "(transform_ir; the default)")
    kind.add_argument("--ast", dest="kind", action="store_const", const="ast",
                      help="an AST pass: it edits the syntax tree before compiling "
                           "(transform_ast)")
    p.add_argument("dir", nargs="?", metavar="DIR",
                   help="the folder to write the distribution into (default: ./NAME); it "
                        "must not exist, or be empty")
    return p


def names_for(name: str) -> dict[str, str]:
    """The names derived from a pass's name: distribution, package, class, test file."""
    words = [w for w in re.split(r"[-_]+", name) if w]
    cls = "".join(w[:1].upper() + w[1:] for w in words)
    if not cls.endswith("Pass"):
        cls += "Pass"
    slug = "_".join(words).lower()
    return {"NAME": name, "DIST": f"bchook-{'-'.join(words).lower()}",
            "PACKAGE": f"bchook_{slug}", "CLASS": cls, "SLUG": slug}


def _check_name(name: str) -> None:
    from ...pipeline.registry import BUILTIN

    if not _NAME.match(name):
        raise UsageError(f"argument NAME: {name!r} is not a pass name: use letters, digits, "
                         f"'_' and '-', starting with a letter (e.g. shout)")
    if name in BUILTIN:
        raise UsageError(f"argument NAME: {name!r} is a built-in pass of bchook: choose "
                         f"another name")


def write(name: str, kind: str, target: Path) -> list[Path]:
    """Write the distribution of pass ``name`` (``kind``: ``bytecode`` or ``ast``) into
    ``target``; returns the files written."""
    from ... import __version__

    names = names_for(name)
    names["BCHOOK_VERSION"] = __version__
    names["KIND_TEXT"] = {
        "bytecode": "a bytecode pass (it edits each code object as bchook's IR)",
        "ast": "an AST pass (it edits each module's syntax tree before compiling)"}[kind]
    names["CHECK_FLAGS"] = " --pad" if kind == "bytecode" else ""
    names["CHECK_ARGS"] = ", pad=True" if kind == "bytecode" else ""
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        ".gitignore": "gitignore.tmpl",
        f"src/{names['PACKAGE']}/__init__.py": f"pass_{kind}.py.tmpl",
        f"tests/test_{names['SLUG']}.py": "test_pass.py.tmpl",
    }
    written = []
    for relative, template in files.items():
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        for key, value in names.items():
            text = text.replace(f"@@{key}@@", value)
        left = re.findall(r"@@[A-Z_]+@@", text)
        if left:  # a template names something write() does not know
            raise RuntimeError(f"template {template}: unknown placeholder {left[0]}")
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    ns, extra = parser.parse_known_args(list(argv))
    if len(extra) == 1 and ns.dir is None and not extra[0].startswith("-"):
        ns.dir = extra[0]  # NAME --ast DIR: argparse reads the positionals before --ast
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _check_name(ns.name)
    kind = ns.kind or "bytecode"
    target = Path(ns.dir if ns.dir is not None else ns.name)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not an empty folder: choose "
                         f"another DIR, or remove it first")
    try:
        written = write(ns.name, kind, target)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or target}: "
                         f"{exc.strerror or exc}") from None
    names = names_for(ns.name)
    shown = str(target) if target.is_absolute() or str(target).startswith(".") else \
        os.path.join(".", str(target))
    print(f"wrote the {kind} pass {ns.name!r} into {shown} (distribution {names['DIST']}, "
          f"module {names['PACKAGE']}):")
    for path in written:
        print(f"  {path.relative_to(target).as_posix()}")
    check = f"bchook check -p {ns.name}" + (" --pad" if kind == "bytecode" else "")
    print(f"next:\n  pip install -e {shown}\n  pytest {shown}\n  {check}")
    return 0
