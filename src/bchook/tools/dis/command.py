"""``bchook dis``: read, decipher and diff the code objects of a file or module.

    bchook dis app.py                      # every code object of the file, recursively
    bchook dis app.py:Klass.method         # one code object by qualified name
    bchook dis -m json.decoder             # a module by name (found, never executed)
    bchook dis -p constfold,goto app.py    # before/after the passes, a diff per code object
    bchook dis --raw app.py:f              # co_code deciphered by hand, checked against dis
    bchook dis --asm app.py:f              # a listing bchook.asm reads back
    bchook dis --cfg app.py:f              # the control-flow graph as Graphviz dot text
    bchook dis --format json app.py        # everything as JSON (with --cfg: the graph too)
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import subprocess
import sys
import types
from typing import Sequence

from ...errors import BchookError, PluginError, UsageError
from ...ir import IRError
from ...ir import _version as V

__all__ = ["main"]

PROG = "bchook dis"


class _Exit(Exception):
    def __init__(self, status: int):
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see '{PROG} --help')")

    def exit(self, status: int = 0, message: str | None = None):
        # --help returns its status from main() instead of raising SystemExit
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Show the anatomy of code objects: every co_* field, "
                "the line and exception tables, and the instructions with labels.",
                epilog="TARGET is FILE or FILE:QUALNAME (e.g. app.py:Klass.method); with -m, "
                "MODULE or MODULE:QUALNAME.")
    p.add_argument("target", nargs="?", metavar="TARGET",
                   help="the Python file to show, FILE or FILE:QUALNAME for one code object "
                        "(e.g. app.py:Klass.method); a package folder means its __init__.py")
    p.add_argument("-m", dest="module", metavar="MODULE",
                   help="a module by name; its source is found without running it")
    p.add_argument("-p", "--passes", action="append", default=[], metavar="PASS[,PASS]",
                   help="run these passes as the import hook would and show a unified diff "
                        "per changed code object")
    p.add_argument("-o", "--option", action="append", default=[], metavar="PASS.KEY=VALUE",
                   help="an option for one of the passes")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--raw", action="store_true",
                      help="co_code byte by byte, decoded by hand, checked against dis")
    mode.add_argument("--asm", action="store_true",
                      help="print the listing in the form bchook.asm reads back")
    mode.add_argument("--cfg", action="store_true",
                      help="the control-flow graph as Graphviz dot text (with --format "
                           "json: each code object's blocks and edges)")
    p.add_argument("--cfg-svg", metavar="FILE",
                   help="also render the control-flow graph to FILE as SVG (needs Graphviz)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text for people (the default), or json: everything the text "
                        "shows, for tools")
    return p


# -- finding the source ----------------------------------------------------------------

def _split_target(target: str) -> tuple[str, str | None]:
    if os.path.exists(target) or ":" not in target:
        return target, None
    path, _, qualname = target.rpartition(":")
    return path, qualname or None


def _module_name_of(path: str) -> str:
    """The dotted name the file is imported under, from its package folders."""
    folder, filename = os.path.split(os.path.abspath(path))
    stem = os.path.splitext(filename)[0]
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, package = os.path.split(folder)
        parts.insert(0, package)
    return ".".join(parts) or "__main__"


def _find_module(name: str) -> str:
    """The source file of module ``name``, found by the path finder: nothing is executed,
    not even the parent packages."""
    path = [os.getcwd(), *sys.path]  # as `python -m` sees it
    spec = None
    parts = name.split(".")
    for i in range(len(parts)):
        # look up each part alone in its parent's folders: with the dotted name the path
        # finder would want the parent in sys.modules (a namespace package's path does)
        spec = importlib.machinery.PathFinder.find_spec(parts[i], path)
        if spec is None:
            if i == 0 and name in sys.builtin_module_names:
                raise UsageError(f"module {name!r} is built into the interpreter: "
                                 "it has no Python source")
            raise UsageError(f"no module named {'.'.join(parts[:i + 1])!r}")
        if i + 1 < len(parts):
            locations = spec.submodule_search_locations
            path = None if locations is None else list(locations)
            if path is None:
                raise UsageError(f"{'.'.join(parts[:i + 1])!r} is not a package, so it has "
                                 f"no module {name!r}")
    assert spec is not None
    origin = spec.origin
    if not origin or not origin.endswith(".py"):
        what = "a namespace package" if spec.submodule_search_locations is not None and (
            not origin or origin == "namespace") else (origin or "no file")
        raise UsageError(f"module {name!r} has no Python source ({what})")
    return origin


def _read(path: str) -> bytes:
    if os.path.isdir(path):
        init = os.path.join(path, "__init__.py")
        if not os.path.isfile(init):
            raise UsageError(f"{path} is a folder, not a Python file")
        path = init
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _compile(source: bytes, filename: str, module: str, passes) -> types.CodeType:
    from ...pipeline.driver import transform_source

    try:
        return transform_source(source, filename, module, passes)
    except SyntaxError as exc:
        where = f"{exc.filename or filename}:{exc.lineno}" if exc.lineno else filename
        raise UsageError(f"syntax error in {where}: {exc.msg}") from None
    except ValueError as exc:  # e.g. source with null bytes
        raise UsageError(f"cannot compile {filename}: {exc}") from None


def _make_passes(args, start: str):
    from ...config import parse_option_flags, resolve
    from ...pipeline.registry import create_passes, load_pass_class

    names = [n.strip() for spec in args.passes for n in spec.split(",") if n.strip()]
    flags = parse_option_flags(args.option)
    if not names:
        if flags:
            raise UsageError("-o gives pass options, but no passes were chosen with -p")
        return []
    # options as the hook sees them: pyproject.toml < environment < -o
    settings = resolve({"options": flags}, start=start)
    wanted = set(names) | {load_pass_class(n).name for n in names}
    options = {k: v for k, v in settings.options.items() if k in wanted}
    unknown = [k for k in flags if k not in wanted]
    if unknown:
        raise UsageError(f"-o names pass {unknown[0]!r}, which is not among the passes "
                         f"given with -p ({', '.join(names)})")
    return create_passes(names, options)


# -- selecting code objects ------------------------------------------------------------

def _select(tree, qualname: str | None, what: str):
    if qualname is None:
        return tree
    chosen = [(ident, code) for ident, code in tree
              if ident == qualname or ident.split("[")[0] == qualname]
    if not chosen:
        available = ", ".join(ident for ident, _ in tree)
        raise UsageError(f"{what} has no code object named {qualname!r}; available: "
                         f"{available}")
    return chosen


# -- main ------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bchook dis`` with ``argv`` (the arguments after ``dis``); returns the exit
    status: 0, 1 when the --raw self-check fails or a pass fails, 2 for a usage error."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(_parser().parse_args(argv))
    except _Exit as exc:
        return exc.status
    except (UsageError, PluginError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (BchookError, IRError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `bchook dis ... | head`: the CLI's entry point ends quietly
        raise
    except Exception as exc:  # a bug of ours: say so in one line, not a traceback
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (please report it, with "
              "the file)", file=sys.stderr)
        return 1


def _run(args) -> int:
    from . import listing as _listing

    if args.module and args.target:
        raise UsageError("give either a file or -m MODULE, not both")
    if args.module:
        module, qualname = (args.module.split(":", 1) + [None])[:2]
        path = _find_module(module)
        what = f"module {module}"
    elif args.target:
        path, qualname = _split_target(args.target)
        if os.path.isdir(path):
            if not os.path.isfile(os.path.join(path, "__init__.py")):
                raise UsageError(f"{path} is a folder without __init__.py: give a Python "
                                 "file, or -m MODULE")
            path = os.path.join(path, "__init__.py")
        if not os.path.exists(path):
            raise UsageError(f"no such file: {path}")
        module = _module_name_of(path)
        what = path
    else:
        raise UsageError("nothing to show: give a FILE[:QUALNAME] or -m MODULE")

    source = _read(path)
    passes = _make_passes(args, os.path.dirname(os.path.abspath(path)))
    before = _compile(source, path, module, [])
    after = _compile(source, path, module, passes) if passes else before

    tree = _listing.code_tree(after)
    names = {id(code): ident for ident, code in tree}
    chosen = _select(tree, qualname, what)
    if passes and not (args.raw or args.asm or args.cfg):
        return _show_diff(args, before, after, qualname, what, passes)
    if args.asm and qualname is not None:
        chosen = _with_nested(tree, chosen)
    views = [_listing.view(ident, code, names) for ident, code in chosen]
    return _show(args, views, names, what)


def _show(args, views, names, what) -> int:
    from . import graph as _cfg
    from . import format as _disformat

    out: list[str] = []
    status = 0
    dot = _cfg.to_dot(views) if (args.cfg or args.cfg_svg) else None
    if args.cfg_svg:
        try:
            _cfg.to_svg(dot, args.cfg_svg)
        except FileNotFoundError:
            raise UsageError("--cfg-svg needs Graphviz's 'dot' command, which is not "
                             "installed; --cfg prints the dot text instead") from None
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", None) or exc
            if isinstance(detail, bytes):
                detail = detail.decode(errors="replace").strip()
            raise UsageError(f"Graphviz could not write {args.cfg_svg}: {detail}") from None
    if args.format == "json":
        doc = {"target": what, "python": V.PYTHON,
               "code_objects": [_disformat.to_json(v, names, with_raw=args.raw,
                                                   with_cfg=dot is not None)
                                for v in views]}
        if dot is not None:
            doc["dot"] = dot
        if args.raw and not all(o["raw"]["self_check"]["agrees"]
                                for o in doc["code_objects"]):
            status = 1
        out.append(json.dumps(doc, indent=2))
    elif args.cfg:
        out.append(dot.rstrip("\n"))
    elif args.asm:
        out.append(f"# bchook.asm listing of {what}, {_disformat.version_note()}")
        for v in views:
            out.extend(_disformat.asm_block(v, names))
            out.append("")
    elif args.raw:
        for v in views:
            lines, ok = _disformat.raw_table(v)
            out.extend(lines)
            out.append("")
            if not ok:
                status = 1
    elif not args.cfg_svg:
        for v in views:
            out.extend(_disformat.anatomy(v, names))
            out.append("")
    if out:
        print("\n".join(out).rstrip("\n"))
    return status


def _with_nested(tree, chosen):
    """The chosen code objects and everything nested in them, for a complete listing."""
    wanted = {id(code) for _, code in chosen}
    from ...ir import walk_code

    for _, code in chosen:
        wanted.update(id(c) for c in walk_code(code))
    return [(ident, code) for ident, code in tree if id(code) in wanted]


def _show_diff(args, before, after, qualname, what, passes) -> int:
    from . import format as _disformat
    from . import listing as _listing
    from ...pipeline.registry import pass_names

    chain = pass_names(passes)
    old_tree = _listing.code_tree(before)
    new_tree = _listing.code_tree(after)
    old_names = {id(c): i for i, c in old_tree}
    new_names = {id(c): i for i, c in new_tree}
    old = dict(_select(old_tree, qualname, what))
    new = dict(_select(new_tree, qualname, what))
    order = list(old) + [i for i in new if i not in old]
    results = []
    for ident in order:
        a, b = old.get(ident), new.get(ident)
        a_lines = _disformat.asm_block(_listing.view(ident, a, old_names), old_names) if a \
            else []
        b_lines = _disformat.asm_block(_listing.view(ident, b, new_names), new_names) if b \
            else []
        if a is None:
            status = "added"
        elif b is None:
            status = "removed"
        else:
            status = "unchanged" if a_lines == b_lines else "changed"
        results.append((ident, status, a or b, _disformat.diff(a_lines, b_lines, ident, chain)
                        if status != "unchanged" else []))
    if args.format == "json":
        print(json.dumps({
            "target": what, "python": V.PYTHON, "passes": chain,
            "code_objects": [{"name": ident, "status": status,
                              "filename": code.co_filename, "firstlineno": code.co_firstlineno,
                              "diff": "\n".join(lines)}
                             for ident, status, code, lines in results]}, indent=2))
        return 0
    out = [f"# {what}: before and after passes {chain}"]
    for ident, status, code, lines in results:
        if status == "unchanged":
            out.append(f"unchanged: {ident} ({code.co_filename}:{code.co_firstlineno})")
    for ident, status, code, lines in results:
        if status != "unchanged":
            out.append(f"{status}: {ident} ({code.co_filename}:{code.co_firstlineno})")
            out.extend(lines)
    print("\n".join(out))
    return 0
