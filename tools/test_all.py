#!/usr/bin/env python3
"""Run the test suite on every supported CPython found on this machine, with coverage.

    python tools/test_all.py                      # every interpreter found
    python tools/test_all.py --python 3.12        # only these (repeatable; X.Y or a path)
    python tools/test_all.py --fast -- -x         # quick: no slow tests, every CPU, no coverage
    python tools/test_all.py -- tests/ir/test_ir_edit.py   # only these test files

Interpreters: ``pythonX.Y`` on PATH if it really runs (a pyenv shim of a version that is not
activated does not), ``$(pyenv root)/versions/X.Y.*`` (``~/.pyenv`` without pyenv), and the
interpreter running this script. For each it keeps a virtual environment in ``.venvs/X.Y``
(recreated when its Python no longer runs; dependencies reinstalled when a
``pyproject.toml`` changes), builds wheels of bchook and of every plugin under
``plugins/`` from one clean copy of the working tree and installs them non-editable, as
users and the acceptance suites do, then runs ``coverage run -m pytest tests`` from the
repository root (subprocesses the tests start are measured too); ``--fast`` runs the tests
not marked slow with plain ``pytest -n auto`` instead, the quick check while working.
Interpreters run one after another; the last line is the total: ``N passed, N failed,
N skipped`` (errors count as failed). Exit status 1 if anything failed or no interpreter was
found. Needs only the standard library to start.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENVS = os.path.join(ROOT, ".venvs")
#: Bump when the way environments are set up changes, to force a reinstall everywhere.
SETUP_FORMAT = "1"
#: Wall-clock limit of one interpreter's pytest run (CI's whole budget is 90 minutes).
RUN_TIMEOUT = 40 * 60
PROBE = ("import sys, platform; "
         "print('%d.%d' % sys.version_info[:2], platform.python_implementation()); "
         "import venv, ensurepip")
#: What of the working tree a wheel is built from: these names nowhere...
_IGNORED_ANYWHERE = shutil.ignore_patterns(
    ".git", ".venvs", "build", "dist", "__pycache__", "*.pyc", "*.egg-info", ".hypothesis",
    ".pytest_cache", ".coverage*", "htmlcov")
#: ... and the repository's own folders of tests and tools (``src/bchook/tools`` stays).
_IGNORED_AT_THE_ROOT = {"tests", "benchmarks", "tools", ".ci"}


def build_ignore(folder: str, names: list[str]) -> set[str]:
    """``shutil.copytree``'s ``ignore``: what the snapshot of the working tree leaves out."""
    ignored = set(_IGNORED_ANYWHERE(folder, names))
    if os.path.abspath(folder) == ROOT:
        ignored |= _IGNORED_AT_THE_ROOT.intersection(names)
    return ignored


def log(message: str = "") -> None:
    print(message, flush=True)


# -- finding interpreters -------------------------------------------------------------

def probe(executable: str) -> str | None:
    """``X.Y`` if ``executable`` is a working CPython that can create venvs, else None.

    pyenv shims exist for every installed version but fail unless that version is
    activated, so being on PATH proves nothing: run it.
    """
    try:
        proc = subprocess.run([executable, "-c", PROBE], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = proc.stdout.split()
    if proc.returncode != 0 or len(parts) != 2 or parts[1] != "CPython":
        return None
    return parts[0]


def pyenv_root() -> str | None:
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            root = None
    if not root:
        root = os.path.expanduser("~/.pyenv")
    return root if os.path.isdir(root) else None


def _version_key(path: str) -> tuple:
    return tuple(int(x) if x.isdigit() else -1 for x in re.split(r"[.\-]", path))


def candidates(version: str) -> list[str]:
    """Places a CPython ``version`` may live, most specific first."""
    found = []
    if "%d.%d" % sys.version_info[:2] == version:
        found.append(sys.executable)
    for name in (f"python{version}", f"python{version}.exe"):
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            path = os.path.join(directory, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                found.append(path)
    root = pyenv_root()
    if root:
        pattern = os.path.join(root, "versions", f"{version}.*", "bin", "python")
        dirs = [p for p in glob.glob(pattern)
                if re.fullmatch(re.escape(version) + r"\.\d+",
                                os.path.basename(os.path.dirname(os.path.dirname(p))))]
        found.extend(sorted(dirs, key=_version_key, reverse=True))
    unique = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def find_interpreter(version: str) -> str | None:
    for path in candidates(version):
        if probe(path) == version:
            return path
    return None


def find_interpreters(wanted: list[str]) -> tuple[dict[str, str], list[str]]:
    """({version: executable}, [what was asked for but not found])."""
    found: dict[str, str] = {}
    missing = []
    for item in wanted:
        if os.sep in item or item.startswith("."):  # an explicit path
            version = probe(item)
            if version in SUPPORTED:
                found[version] = os.path.abspath(item)
            else:
                missing.append(f"{item} (not a working CPython {'/'.join(SUPPORTED)})")
            continue
        if item not in SUPPORTED:
            raise SystemExit(f"test_all: unsupported version {item!r}; "
                             f"choose from {', '.join(SUPPORTED)} or give a path")
        path = find_interpreter(item)
        if path:
            found[item] = path
        else:
            missing.append(item)
    return found, missing


# -- environments ---------------------------------------------------------------------

def venv_python(venv: str) -> str:
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def plugin_dirs() -> list[str]:
    return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(ROOT, "plugins", "*",
                                                                     "pyproject.toml")))


def deps_hash() -> str:
    """Everything that decides which dependencies a venv needs."""
    h = hashlib.sha256(f"{SETUP_FORMAT}\n".encode())
    files = [os.path.join(ROOT, "pyproject.toml")]
    for d in plugin_dirs():
        files += [os.path.join(d, f) for f in ("pyproject.toml", "setup.cfg", "setup.py")]
    for path in files:
        if os.path.exists(path):
            h.update(os.path.relpath(path, ROOT).encode() + b"\0")
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def run(cmd, **kwargs) -> int:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(cmd, **kwargs).returncode


def pip(python: str, *args: str) -> int:
    return run([python, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q", *args],
               env=clean_env())


def clean_env() -> dict:
    """The environment for everything this script starts: no developer's bchook settings,
    no outer virtualenv, no hypothesis randomness."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "COVERAGE_")) and k not in (
               "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_USER")}
    env.setdefault("HYPOTHESIS_PROFILE", "ci")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def venv_works(python: str, version: str) -> bool:
    return os.path.exists(python) and probe_venv(python) == version


def probe_venv(python: str) -> str | None:
    try:
        proc = subprocess.run(
            [python, "-c", "import sys, pip; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_venv(version: str, base_python: str) -> tuple[str, bool]:
    """(venv python, whether its dependencies must be (re)installed)."""
    venv = os.path.join(VENVS, version)
    python = venv_python(venv)
    stamp = os.path.join(venv, ".bchook-deps")
    wanted = deps_hash()
    if venv_works(python, version):
        try:
            with open(stamp) as f:
                current = f.read().strip()
        except OSError:
            current = ""
        return python, current != wanted
    if os.path.exists(venv):
        log(f"[{version}] {venv} no longer works: recreating it")
        shutil.rmtree(venv)
    log(f"[{version}] creating {venv} with {base_python}")
    if run([base_python, "-m", "venv", venv], env=clean_env()) != 0:
        raise SetupError(f"could not create {venv} with {base_python}")
    return python, True


def write_stamp(version: str) -> None:
    with open(os.path.join(VENVS, version, ".bchook-deps"), "w") as f:
        f.write(deps_hash() + "\n")


class SetupError(Exception):
    pass


def snapshot(out_dir: str) -> str:
    """A clean copy of the working tree to build from, so that stale build/ or egg-info
    folders never leak into what is tested, and every interpreter tests the same code."""
    src = os.path.join(out_dir, "src-copy")
    shutil.copytree(ROOT, src, ignore=build_ignore)
    return src


def build_wheels(python: str, version: str, src: str, out_dir: str) -> tuple[str, list[str]]:
    """Wheels of bchook and of every plugin for one interpreter (bchook has an optional C
    accelerator, so its wheel is specific to the interpreter)."""
    wheels = os.path.join(out_dir, f"wheels-{version}")
    projects = [src] + [os.path.join(src, "plugins", os.path.basename(d))
                        for d in plugin_dirs()]
    log(f"[{version}] building wheels of {len(projects)} distribution(s)")
    if pip(python, "wheel", "--no-deps", "--wheel-dir", wheels, *projects) != 0:
        raise SetupError(f"building the wheels failed on {version} (see pip's output above)")
    found = sorted(glob.glob(os.path.join(wheels, "*.whl")))
    own = [w for w in found if os.path.basename(w).startswith("bchook-")]
    if len(own) != 1:
        raise SetupError(f"expected one bchook wheel, got {found}")
    return own[0], [w for w in found if w != own[0]]


def install(python: str, version: str, needs_deps: bool, bchook_wheel: str,
            plugin_wheels: list[str]) -> None:
    if needs_deps:
        log(f"[{version}] installing bchook[test] and {len(plugin_wheels)} plugin(s) "
            "with their dependencies")
        if pip(python, "install", "--upgrade", "pip") != 0:
            log(f"[{version}] (could not upgrade pip; continuing with the one there)")
        if pip(python, "install", f"{bchook_wheel}[test]", *plugin_wheels) != 0:
            raise SetupError(f"pip install of bchook[test] failed on {version}")
        write_stamp(version)
    if pip(python, "install", "--force-reinstall", "--no-deps", bchook_wheel,
           *plugin_wheels) != 0:
        raise SetupError(f"pip install of the freshly built wheels failed on {version}")
    install_coverage_startup(python)


def install_coverage_startup(python: str) -> None:
    """A ``.pth`` file that starts coverage in every Python process of the venv when
    ``COVERAGE_PROCESS_START`` is set (only this script sets it), so code run by the
    tests' subprocesses counts too."""
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True).stdout.strip()
    with open(os.path.join(purelib, "zz_bchook_test_coverage.pth"), "w") as f:
        f.write("import os; 'COVERAGE_PROCESS_START' in os.environ and "
                "__import__('coverage').process_startup()\n")


# -- running --------------------------------------------------------------------------

@dataclass
class Result:
    version: str
    python: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    coverage: str = "-"
    seconds: float = 0.0
    problem: str = ""
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problem and self.failed == 0

    def line(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        text = (f"{status} {self.version}  {self.passed} passed, {self.failed} failed, "
                f"{self.skipped} skipped, coverage {self.coverage}, {self.seconds:.0f} s"
                f"  ({self.python})")
        return text + (f"  -- {self.problem}" if self.problem else "")


def coverage_rc(venv: str) -> str:
    rc = os.path.join(venv, "coveragerc")
    data = os.path.join(venv, ".coverage")
    with open(rc, "w") as f:
        f.write("[run]\n"
                "source = bchook\n"
                "parallel = True\n"
                f"data_file = {data}\n"
                # child processes must print nothing of their own: tests compare outputs
                "disable_warnings = no-data-collected, module-not-imported, "
                "module-not-measured, already-imported, no-ctracer, couldnt-parse\n"
                "[report]\n"
                # code some tests compile under made-up file names has no source to show
                "ignore_errors = True\n"
                "precision = 1\n"
                "show_missing = False\n")
    return rc


def run_tests(version: str, python: str, pytest_args: list[str], subprocess_coverage: bool,
              work: str, measure: bool = True) -> Result:
    """One interpreter's pytest run; under ``coverage run`` unless not ``measure``."""
    venv = os.path.dirname(os.path.dirname(python))
    result = Result(version, python)
    rc_file = coverage_rc(venv)
    for old in glob.glob(os.path.join(venv, ".coverage*")):
        os.remove(old)
    junit = os.path.join(work, f"junit-{version}.xml")
    env = clean_env()
    if subprocess_coverage:
        env["COVERAGE_PROCESS_START"] = rc_file
    # test files or node ids given after -- replace the default "tests"
    chosen = [a for a in pytest_args
              if not a.startswith("-") and os.path.exists(os.path.join(ROOT, a.split("::")[0]))]
    if not measure:
        env.pop("COVERAGE_PROCESS_START", None)
    runner = ["-m", "coverage", "run", f"--rcfile={rc_file}", "--source=bchook"] \
        if measure else []
    cmd = [python, *runner, "-m", "pytest", *([] if chosen else ["tests"]), "-q",
           "-p", "no:cacheprovider", f"--junitxml={junit}", *pytest_args]
    log(f"[{version}] {' '.join(cmd)}")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        rc = proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        rc = -1
        result.problem = f"timed out after {RUN_TIMEOUT // 60} min"
    result.seconds = time.monotonic() - start
    counts = read_junit(junit)
    if counts is None:
        result.failed = 1
        result.problem = result.problem or f"pytest exited with {rc} and wrote no report"
    else:
        result.passed, result.failed, result.skipped = counts
        if rc not in (0, 1) and not result.problem:
            result.problem = f"pytest exited with {rc}" + (
                " (no tests collected)" if rc == 5 else "")
        elif rc == 1 and result.failed == 0:
            result.problem = "pytest exited with 1"
    if measure:
        result.coverage = coverage_total(python, rc_file, version)
    return result


def read_junit(path: str) -> tuple[int, int, int] | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = skipped = 0
    for s in suites:
        tests += int(s.get("tests", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    # a test that fails and then errors in teardown is counted twice by pytest
    return max(tests - failed - skipped, 0), failed, skipped


def coverage_total(python: str, rc_file: str, version: str) -> str:
    env = clean_env()
    subprocess.run([python, "-m", "coverage", "combine", f"--rcfile={rc_file}", "-q"],
                   cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    proc = subprocess.run([python, "-m", "coverage", "report", f"--rcfile={rc_file}"],
                          cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    total = [line for line in proc.stdout.splitlines() if line.startswith("TOTAL")]
    if not total:
        log(f"[{version}] coverage: no data ({proc.stderr.strip() or proc.stdout.strip()})")
        return "-"
    log(f"[{version}] coverage {total[0]}")
    return total[0].split()[-1]


# -- main -----------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    else:
        passthrough = []
    parser = argparse.ArgumentParser(
        prog="python tools/test_all.py",
        description="Run bchook's tests on every supported CPython found, with coverage.",
        epilog="Arguments after -- go to pytest unchanged.")
    parser.add_argument("--python", action="append", metavar="X.Y|PATH",
                        help="interpreter to use (repeatable; default: every one of "
                             f"{', '.join(SUPPORTED)} that is found)")
    parser.add_argument("--fast", action="store_true",
                        help="the quick check: skip tests marked slow (pytest -m 'not slow'), "
                             "run the tests on every CPU (pytest-xdist's -n auto) and measure "
                             "no coverage")
    parser.add_argument("-k", metavar="EXPR", help="only tests matching EXPR (pytest -k)")
    parser.add_argument("--no-subprocess-coverage", action="store_true",
                        help="measure coverage in the pytest process only")
    parser.add_argument("--setup-only", action="store_true",
                        help="create/update the .venvs and stop")
    args = parser.parse_args(argv)
    args.pytest_args = list(passthrough)
    if args.fast:
        args.pytest_args[:0] = ["-m", "not slow", "-n", "auto"]
    if args.k:
        args.pytest_args[:0] = ["-k", args.k]
    return args


def prepare(found: dict[str, str], work: str) -> dict[str, str]:
    """Create/refresh a venv per interpreter and install the current code into each.
    Returns {version: venv python}; a version whose set-up failed is reported and left out."""
    ready: dict[str, tuple[str, bool]] = {}
    for version, base in found.items():
        try:
            ready[version] = ensure_venv(version, base)
        except (SetupError, OSError) as exc:
            log(f"[{version}] SET-UP FAILED: {exc}")
    if not ready:
        return {}
    src = snapshot(work)
    pythons = {}
    for version, (python, needs_deps) in ready.items():
        try:
            bchook_wheel, plugin_wheels = build_wheels(python, version, src, work)
            install(python, version, needs_deps, bchook_wheel, plugin_wheels)
            pythons[version] = python
        except (SetupError, OSError, subprocess.CalledProcessError) as exc:
            log(f"[{version}] SET-UP FAILED: {exc}")
    return pythons


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    wanted = args.python or list(SUPPORTED)
    found, missing = find_interpreters(wanted)
    for version in SUPPORTED:
        if version in found:
            log(f"found   {version}: {found[version]}")
    for item in missing:
        log(f"SKIPPED {item}: no working interpreter found")
    if not found:
        log("no supported interpreter found: nothing was tested")
        log("0 passed, 0 failed, 0 skipped")
        return 1
    os.makedirs(VENVS, exist_ok=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bchook-test-all-") as work:
        try:
            pythons = prepare(found, work)
        except (SetupError, OSError) as exc:
            log(f"SET-UP FAILED: {exc}")
            pythons = {}
        for version in found:
            if version not in pythons:
                results.append(Result(version, found[version], failed=1,
                                      problem="environment set-up failed"))
        if args.setup_only:
            for version, python in pythons.items():
                log(f"ready   {version}: {python}")
            return 0 if len(pythons) == len(found) else 1
        for version, python in pythons.items():
            log(f"\n===== {version} ({found[version]}) =====")
            result = run_tests(version, python, args.pytest_args,
                               not args.no_subprocess_coverage, work, measure=not args.fast)
            log(f"[{version}] {result.passed} passed, {result.failed} failed, "
                f"{result.skipped} skipped in {result.seconds:.0f} s")
            results.append(result)
    results.sort(key=lambda r: SUPPORTED.index(r.version))
    log("\n===== summary =====")
    for item in missing:
        log(f"skip {item}: not found")
    for r in results:
        log(r.line())
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    log(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
