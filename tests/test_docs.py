"""docs/: every code block of every page runs and prints what the page shows, and the site
builds strictly (a broken link, cross-reference or generated page fails the build).

The convention (docs/about-these-docs.md explains it to writers). A fenced block's info
string is its language and then markers:

- ```` ```python ````: run as ``python snippet.py`` in the page's folder;
- ```` ```console ````: ``$ command`` lines, each followed by its output, run by bash in the
  page's folder with the interpreter under test first on ``PATH`` (``python``, ``bchook``);
  a line ending in ``\\`` continues the command on the next line, which may start with
  the shell's ``> `` prompt;
- ```` ```text output ````: what the runnable block before it prints (stdout and stderr
  together). A runnable block with no output block must print nothing. In expected output a
  line ``...`` stands for any lines (none included) and ``...`` inside a line for any text;
- ```` status=N ````: the block's last command exits with N (others: every command exits 0);
- ```` file=NAME ````: not run; written to ``NAME`` in the page's folder before anything
  on the page runs (a program or a ``pyproject.toml`` the page's commands use);
- ```` norun ````: shown, not run (the page says why: it installs, takes minutes...).

Any other block fails this test, so an untested block cannot slip in. Directives that show
no code written on the page are allowed: ``{toctree}``, the generated reference
(``{bchook-...}``), autodoc (in ``{eval-rst}`` blocks that hold nothing else), and ``{literalinclude}`` of a file that a command on the same
page runs (names, or imports as a module). A comment line ``% docs-test: copy SRC [as DEST]`` copies a file or folder of
the repository into the page's folder; ``% docs-test: venv`` puts a throwaway virtual
environment that sees the interpreter's packages first on ``PATH`` (for pages that install
things into site-packages).

The pages are every ``*.md`` under docs/, and README.md. The docstrings the API reference shows
run too: ``>>>`` examples and ``::`` blocks, unless ``NOT_RUN`` says why they are outlines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TIMEOUT = 300

pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="docs/ is not present")


def pages() -> list[Path]:
    found = sorted(p for p in DOCS.rglob("*.md") if "build" not in p.relative_to(DOCS).parts)
    return found + [ROOT / "README.md"]


# -- reading a page ------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_DECLARATION = re.compile(r"^%\s*docs-test:\s*(?P<what>.*)$")

#: Directives that show no code typed on the page.
SHOWS_NO_CODE = {"toctree", "automodule", "autoclass", "autofunction", "autodata",
                 "literalinclude", "image", "figure", "eval-rst"}
_API_DIRECTIVE = re.compile(r"\.\. (auto\w+|py:\w+)::")


def _check_api_only(block: Block) -> None:
    """An ``{eval-rst}`` block may only hold API directives (autodoc, ``py:``), whose
    content is prose: reStructuredText code blocks would escape this test."""
    for n, line in enumerate(block.text.splitlines(), block.line + 1):
        stripped = line.strip()
        if line and not line[0].isspace() and not _API_DIRECTIVE.match(line):
            raise PageError(f"{block.page.relative_to(ROOT)}:{n}: an {{eval-rst}} block holds "
                            f"API directives (autodoc, py:) only")
        if stripped.endswith("::") and not _API_DIRECTIVE.match(stripped):
            raise PageError(f"{block.page.relative_to(ROOT)}:{n}: a literal block in "
                            f"{{eval-rst}} would not be tested: write a fenced block")


class PageError(Exception):
    pass


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    flags: set
    values: dict
    text: str
    output: Block | None = None  # the ```text output``` block that follows

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def directive(self) -> str | None:
        return self.lang[1:-1] if self.lang.startswith("{") and self.lang.endswith("}") \
            else None


@dataclass
class Page:
    path: Path
    blocks: list = field(default_factory=list)
    runnable: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    copies: list = field(default_factory=list)
    venv: bool = False
    includes: list = field(default_factory=list)


def read_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body, j = [], i + 1
        while j < len(lines) and not closing.match(lines[j]):
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            j += 1
        if j == len(lines):
            raise PageError(f"{path.relative_to(ROOT)}:{i + 1}: the block never closes")
        if info.startswith("{"):  # a directive: ```{name} argument
            lang, _, argument = info.partition("}")
            lang, flags, values = lang + "}", set(), {"argument": argument.strip()}
        else:
            words = info.split()
            lang = words[0] if words else ""
            flags = {w for w in words[1:] if "=" not in w}
            values = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        blocks.append(Block(path, i + 1, lang, flags, values, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def read_page(path: Path) -> Page:
    """The page's blocks, sorted into what runs, what is written and what is shown."""
    page = Page(path, read_blocks(path))
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _DECLARATION.match(line)
        if not m:
            continue
        words = m["what"].split()
        if words == ["venv"]:
            page.venv = True
        elif len(words) in (2, 4) and words[0] == "copy" and (len(words) == 2
                                                              or words[2] == "as"):
            page.copies.append((words[1], words[3] if len(words) == 4 else
                                Path(words[1]).name))
        else:
            raise PageError(f"{path.relative_to(ROOT)}: unknown declaration {line!r}")
    previous = None
    for block in page.blocks:
        if block.directive is not None:
            if block.directive.startswith("bchook-"):
                pass  # generated from the code by docs/_ext/bchook_docs.py
            elif block.directive not in SHOWS_NO_CODE:
                raise PageError(f"{block.where}: the directive {{{block.directive}}} is not "
                                f"known to show no code: use a plain block with markers")
            elif block.directive == "literalinclude":
                page.includes.append(block)
            elif block.directive == "eval-rst":
                _check_api_only(block)
            previous = None
            continue
        if "output" in block.flags:
            if block.lang != "text":
                raise PageError(f"{block.where}: an output block is ```text output```")
            if previous is None or previous.output is not None:
                raise PageError(f"{block.where}: an output block must follow a ```python "
                                f"block that has none yet")
            if previous.lang == "console":
                raise PageError(f"{block.where}: a console block shows the output after "
                                f"each command, not in an output block")
            previous.output = block
            continue
        previous = None
        if "norun" in block.flags:
            continue
        if "file" in block.values:
            page.files[block.values["file"]] = block.text
            continue
        if block.lang in ("python", "console"):
            page.runnable.append(block)
            previous = block
            continue
        raise PageError(f"{block.where}: a ```{block.lang or '(no language)'} block is "
                        f"neither run nor marked: make it ```python or ```console, or add "
                        f"'norun' or 'file=NAME' (see docs/about-these-docs.md)")
    for include in page.includes:
        name = include.values["argument"]
        if not (path.parent / name).resolve().is_file():
            raise PageError(f"{include.where}: {name} does not exist")
        commands = " ".join(b.text for b in page.runnable if b.lang == "console")
        if Path(name).name not in commands and not re.search(
                rf"\b{re.escape(Path(name).stem)}\b", commands):
            raise PageError(f"{include.where}: {name} is shown but no command on the page "
                            f"runs it")
    return page


# -- running a page ------------------------------------------------------------------------

def matches(expected: str, actual: str) -> bool:
    """``actual`` as ``expected`` shows it, with ``...`` wildcards (see the module doc)."""
    pattern = []
    for line in _lines(expected):
        if line.strip() == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append("[^\n]*".join(re.escape(part) for part in line.split("...")) + "\n")
    text = "".join(line + "\n" for line in _lines(actual))
    return re.fullmatch("".join(pattern), text) is not None


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def console_commands(block: Block) -> list[tuple[str, str]]:
    """``[(command, expected output)]`` of a console block."""
    commands: list[list] = []
    continued = False
    for line in block.text.splitlines():
        if continued:  # shown with the shell's "> " prompt
            commands[-1][0] += "\n" + (line[2:] if line.startswith("> ") else line)
            continued = line.endswith("\\")
        elif line.startswith("$ "):
            commands.append([line[2:], ""])
            continued = line.endswith("\\")
        elif not commands:
            if line.strip():
                raise PageError(f"{block.where}: a console block starts with a '$ ' line")
        else:
            commands[-1][1] += line + "\n"
    if not commands:
        raise PageError(f"{block.where}: a console block holds '$ command' lines")
    return [(cmd, out) for cmd, out in commands]


def _environment(*bindirs: Path) -> dict:
    # What a reader's shell has: none of the test run's settings (bchook's, pytest's,
    # coverage's subprocess measurement, PYTHONDONTWRITEBYTECODE...)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "PYTEST_", "COVERAGE_", "PYTHON"))}
    env["PATH"] = os.pathsep.join([*map(str, bindirs), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleave as written
    env["COLUMNS"] = "100"
    return env


def _make_venv(root: Path) -> Path:
    """A throwaway environment that also reads the test interpreter's site-packages."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    python = root / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    parent = sysconfig.get_paths()["purelib"]
    (site / "00-parent-site.pth").write_text(
        f"import site; site.addsitedir({parent!r})\n", encoding="utf-8")
    return root / "bin"


def prepare(page: Page, folder: Path) -> dict:
    for src, dest in page.copies:
        source, target = ROOT / src, (folder / dest).resolve()
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
                "__pycache__", "build", "*.egg-info"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for name, text in page.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    ours = Path(sys.executable).parent  # its python, and its bchook script
    return _environment(_make_venv(folder.parent / "venv"), ours) if page.venv \
        else _environment(ours)


def run_block(block: Block, folder: Path, env: dict) -> list[str]:
    """Run one block; returns the differences from what the page shows."""
    problems = []
    if block.lang == "python":
        (folder / "snippet.py").write_text(block.text, encoding="utf-8")
        steps = [(f"{sys.executable} snippet.py", block.output.text if block.output else "")]
        shell = False
    else:
        steps = console_commands(block)
        shell = True
    status = int(block.values.get("status", 0))
    for n, (command, expected) in enumerate(steps):
        proc = subprocess.run(
            command if shell else command.split(" "), shell=shell, executable="/bin/bash"
            if shell else None, cwd=folder, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
        wanted = status if n == len(steps) - 1 else 0
        if proc.returncode != wanted:
            problems.append(f"{block.where}: `{command}` exited with {proc.returncode}, the "
                            f"page says {wanted}:\n{proc.stdout}")
        elif not matches(expected, proc.stdout):
            problems.append(f"{block.where}: `{command}` printed\n{proc.stdout}\n"
                            f"the page shows\n{expected}")
    return problems


def run_page(path: Path, folder: Path) -> list[str]:
    page = read_page(path)
    work = folder / "page"
    work.mkdir(parents=True)
    env = prepare(page, work)
    problems = []
    for block in page.runnable:
        problems += run_block(block, work, env)
    return problems


# -- the tests -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_is_run_or_marked(path):
    read_page(path)


def _runnable_pages() -> list:
    """The pages with code to run; those with many commands, or that run pytest sessions,
    take seconds: ``slow``."""
    params = []
    for path in pages():
        blocks = [b for b in read_blocks(path) if b.lang in ("python", "console")
                  and "norun" not in b.flags and "file" not in b.values]
        if not blocks:
            continue
        commands = sum(b.text.count("\n$ ") + b.text.startswith("$ ") if b.lang == "console"
                       else 1 for b in blocks)
        sessions = any(re.search(r"^\$ .*\bpytest\b", b.text, re.M) for b in blocks
                       if b.lang == "console")
        params.append(pytest.param(path, id=str(path.relative_to(ROOT)),
                                   marks=[pytest.mark.slow] if commands >= 8 or sessions
                                   else []))
    return params


@pytest.mark.parametrize("path", _runnable_pages())
def test_page_code_prints_what_the_page_shows(path, tmp_path):
    problems = run_page(path, tmp_path)
    assert not problems, "\n\n".join(problems)


# -- the convention catches what it must ---------------------------------------------------

@pytest.fixture
def page_at(tmp_path, monkeypatch):
    """Write a page in a temporary folder (messages name it relative to that folder)."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)

    def write(text: str) -> Path:
        path = tmp_path / "page.md"
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.mark.parametrize("block", ["```toml\n[tool.bchook]\n```",
                                   "```\nsome text\n```",
                                   "```{code-block} python\nprint(1)\n```",
                                   "```python\n1\n```\n\n```text\n1\n```"])
def test_a_block_neither_run_nor_marked_fails(page_at, block):
    with pytest.raises(PageError, match="neither run nor marked|not known to show no code"):
        read_page(page_at(f"# Page\n\n{block}\n"))


@pytest.mark.parametrize("text", ["```text output\nhi\n```",
                                  "```console\n$ true\n```\n```text output\nhi\n```"])
def test_an_output_block_belongs_to_a_runnable_block(page_at, text):
    with pytest.raises(PageError, match="output block|after each command"):
        read_page(page_at(text))


def test_an_included_file_must_be_run_on_its_page(page_at, tmp_path):
    (tmp_path / "step.py").write_text("print('hi')\n")
    with pytest.raises(PageError, match="no command on the page runs it"):
        read_page(page_at("```{literalinclude} step.py\n```\n"))
    read_page(page_at("```{literalinclude} step.py\n```\n```console\n$ python step.py\nhi\n```\n"))


def test_shown_output_is_checked(page_at, tmp_path):
    ok = page_at("```python\nprint('a')\nprint('b b b')\n```\n```text output\na\nb ... b\n```\n"
                 "```console\n$ echo one; echo two; echo three\none\n...\nthree\n"
                 "$ exit 3\n```\n")
    assert run_page(ok, tmp_path / "ok") == [f"{ok.name}:9: `exit 3` exited with 3, the page "
                                             f"says 0:\n"]
    wrong = page_at("```python\nprint('a')\n```\n```text output\nb\n```\n"
                    "```python\nprint('unexpected')\n```\n"
                    "```console status=3\n$ echo x\nx\n$ exit 3\n```\n")
    problems = run_page(wrong, tmp_path / "wrong")
    assert len(problems) == 2 and "printed\na\n" in problems[0] \
        and "printed\nunexpected\n" in problems[1], problems


def test_declared_files_and_copies_are_there(page_at, tmp_path):
    page = page_at("% docs-test: copy examples/hello.py as ex/hello.py\n"
                   "```python file=app.py\nprint('app')\n```\n"
                   "```console\n$ python app.py\napp\n$ ls ex\nhello.py\n```\n")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "hello.py").write_text("")
    assert run_page(page, tmp_path / "run") == []


def test_wildcards():
    assert matches("a\n...\nd", "a\nb\nc\nd\n")
    assert matches("a\n...\nb", "a\nb")
    assert matches("x ... z", "x yyy z")
    assert not matches("x ... z", "x y\nz")
    assert not matches("a\nb", "a\nb\nc")


# -- the site ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if sys.version_info < (3, 11):
        pytest.skip("Sphinx 9 and MyST need Python 3.11+ (the pages' code blocks still run "
                    "on this Python)")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    return proc, out / "html"


@pytest.mark.slow
def test_site_builds_strictly(site):
    proc, _ = site
    assert proc.returncode == 0, (
        f"python -m sphinx -W --keep-going -n -b html docs build/docs failed (is the docs "
        f"extra installed? pip install -e '.[docs]'):\n{proc.stderr}{proc.stdout}")


def _text(html_file: Path) -> str:
    import html

    text = re.sub(r"<(script|style).*?</\1>", "", html_file.read_text(encoding="utf-8"),
                  flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@pytest.mark.slow
def test_generated_reference_shows_every_flag_option_and_setting(site):
    from importlib import metadata

    proc, html = site
    assert proc.returncode == 0, proc.stderr
    sys.path.insert(0, str(DOCS / "_ext"))
    try:  # the modules the extension generates the pages from, wherever they live
        from bchook_docs import _sources
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    _cli, _config = _sources.module("cli"), _sources.module("config")
    cli = _text(html / "reference" / "cli.html")
    for flag in ("--passes", "--include", "--exclude", "--no-cache", "--option", "--user",
                 "--raw", "--asm", "--cfg", "--format"):
        assert flag in cli
    for command in _cli._COMMANDS:
        assert f"bchook {command}" in cli
    options = _text(html / "reference" / "passes.html")
    for ep in metadata.entry_points(group="bchook.passes"):
        if ep.dist is not None and ep.dist.metadata["Name"] == "bchook":
            for key in ep.load().option_types:
                assert f"{ep.name}.{key}" in options, (ep.name, key)
    config = _text(html / "reference" / "configuration.html")
    for name, value in vars(_config).items():
        if name.startswith("ENV_"):
            assert value in config
    for key in _config._FILE_KEYS:
        assert f"{key}" in config
    for flag in ("--bchook-pass", "--bchook-include", "--bchook-exclude", "--bchook-option",
                 "--bchook-no-cache", "bchook_passes", "bchook_options"):
        assert flag in config


def test_eval_rst_holds_api_directives_only(page_at):
    read_page(page_at("```{eval-rst}\n.. automodule:: bchook.ir\n   :members:\n```\n"))
    for body in (".. code-block:: python\n\n   print(1)\n", "Example::\n\n   print(1)\n"):
        with pytest.raises(PageError, match="eval-rst"):
            read_page(page_at(f"```{{eval-rst}}\n{body}```\n"))


# -- code in the docstrings the API reference shows -----------------------------------------

#: The modules docs/reference/ documents with autodoc.
DOCUMENTED = ["bchook", "bchook.ir", "bchook.ir.version", "bchook.ir.raw", "bchook.asm",
              "bchook.goto", "bchook.trace", "bchook.testing"]
#: Docstring code that outlines rather than runs, by object: why it is not run.
NOT_RUN = {
    "bchook.ir": "an outline of the API: `code` stands for any code object",
    "bchook.trace": "an outline: `work()` stands for the program's own code",
}
_LITERAL = re.compile(r"::\n\n((?:[ \t]+\S.*\n|[ \t]*\n)+)")


def documented_docstrings():
    """``(name, module, docstring)`` of each documented module and its public members."""
    import importlib
    import inspect

    import bchook.ir

    for modname in DOCUMENTED:
        module = importlib.import_module(modname) if modname not in (
            "bchook.ir.version", "bchook.ir.raw") else getattr(bchook.ir, modname[10:])
        yield modname, module, inspect.getdoc(module) or ""
        names = getattr(module, "__all__", None) or [n for n in vars(module)
                                                     if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            yield f"{modname}.{name}", module, inspect.getdoc(obj) or ""
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and callable(member):
                        yield f"{modname}.{name}.{attr}", module, inspect.getdoc(member) or ""


def test_code_in_the_api_reference_runs():
    """The reference shows docstrings: their ``>>>`` examples and ``::`` blocks run too."""
    import doctest
    import textwrap

    ran, problems = 0, []
    for name, module, doc in documented_docstrings():
        if (">>>" not in doc and not _LITERAL.search(doc + "\n")) or name in NOT_RUN:
            continue
        globs = dict(vars(module))
        if ">>>" in doc:
            test = doctest.DocTestParser().get_doctest(doc, globs, name, None, 0)
            out = []
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(test, out=out.append, clear_globs=False)
            if runner.failures:
                problems.append(f"{name}: {''.join(out)}")
            globs.update(test.globs)  # a literal block below continues the examples
            ran += 1
        for block in _LITERAL.findall(doc + "\n"):
            try:
                exec(compile(textwrap.dedent(block), f"<docstring of {name}>", "exec"), globs)
            except Exception as exc:  # noqa: BLE001 - reported with the block
                problems.append(f"{name}: {type(exc).__name__}: {exc}\n{block}")
            ran += 1
    assert not problems, "docstring code that the reference shows does not run (fix it, or "\
        "say in NOT_RUN why it is an outline):\n" + "\n".join(problems)
    assert ran, "no docstring example found: is DOCUMENTED right?"
