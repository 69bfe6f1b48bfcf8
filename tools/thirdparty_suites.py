"""Run real third-party test suites plain and under bchook, and compare the outcomes.

    python tools/thirdparty_suites.py                            # this interpreter
    python tools/thirdparty_suites.py --python python3.11 --python python3.13
    python tools/thirdparty_suites.py --packages attrs --via pth --work /tmp/tp --keep

For each interpreter, a throwaway virtual environment gets bchook (built from this
repository, not editable) and, for each package, its source distribution (``pip download
--no-binary :all:``: the sdist ships the tests), installed from source with its test
dependencies. The package's own test suite then runs twice with pytest from the unpacked
sdist: plain, and with the package's modules rewritten by ``-p constfold,trace`` (default;
``--passes`` to change), either through the runner (``python -m bchook -p ... --include PKG
-m pytest``, the default) or through the ``.pth`` autoload (``--via pth``: ``bchook pth
install`` in the environment, then ``BCHOOK_PASSES=... BCHOOK_INCLUDE=PKG python -m
pytest``). The outcome of every test case must be the same. A probe checks that the
package really was rewritten (its modules' loader is bchook's). Hypothesis-based suites run
with a fixed seed.

Needs network access (PyPI) and takes minutes; not part of CI. Exit status 0 when every
suite matches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Package:
    dist: str                    # name on PyPI
    include: list[str]           # module-name patterns of the package
    test_deps: list[str]
    tests: str = "tests"         # where the suite is, in the unpacked sdist
    pytest_args: list[str] = field(default_factory=list)


PACKAGES = {
    "attrs": Package("attrs", ["attr", "attrs"], ["pytest", "hypothesis", "cloudpickle"],
                     pytest_args=["--hypothesis-seed=0"]),
    "more-itertools": Package("more-itertools", ["more_itertools"], ["pytest"]),
    "packaging": Package("packaging", ["packaging"],
                         ["pytest", "pretend", "hypothesis", "tomli", "tomli_w"],
                         pytest_args=["--hypothesis-seed=0"]),
}


def run(cmd, cwd=None, env=None, timeout=3600, check=True):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")
    return proc


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "PYTHONPATH", "COVERAGE_PROCESS"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the cache is part of a real run
    env["PYTHONHASHSEED"] = "0"
    env.update(extra)
    return env


def outcomes(xml_path: str) -> dict[str, str]:
    result = {}
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return result
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = child.tag
                break
        result[name] = status
    return result


class Environment:
    """A throwaway venv of one interpreter with bchook installed from this repository."""

    def __init__(self, python: str, work: str):
        self.work = work
        self.venv = os.path.join(work, "venv")
        run([python, "-m", "venv", self.venv])
        self.python = os.path.join(self.venv, "bin", "python")
        self.version = run([self.python, "-c", "import platform; print(platform."
                            "python_version())"]).stdout.strip()
        self.pip("install", "-q", "--upgrade", "pip")
        self.pip("install", "-q", ROOT)  # bchook itself, built as users get it

    def pip(self, *args):
        return run([self.python, "-m", "pip", *args], env=clean_env(), timeout=1800)

    def fetch(self, package: Package) -> str:
        """Download, unpack and install the sdist; returns the unpacked folder."""
        downloads = os.path.join(self.work, "sdists")
        self.pip("download", "-q", "--no-binary", ":all:", "--no-deps", "-d", downloads,
                 package.dist)
        stem = package.dist.replace("-", "_").lower()
        archives = [f for f in os.listdir(downloads)
                    if f.replace("-", "_").lower().startswith(stem + "_")]
        archive = os.path.join(downloads, sorted(archives)[-1])
        with tarfile.open(archive) as tar:
            top = tar.getnames()[0].split("/")[0]
            try:
                tar.extractall(self.work, filter="data")
            except TypeError:  # Python without extraction filters
                tar.extractall(self.work)
        folder = os.path.join(self.work, top)
        self.pip("install", "-q", folder, *package.test_deps)
        return folder


def run_suite(env: Environment, package: Package, folder: str, passes: str, via: str,
              timeout: int) -> dict:
    report = {"package": package.dist, "version": os.path.basename(folder).rsplit("-", 1)[-1]}
    pytest_args = ["-m", "pytest", package.tests, "-q", "-p", "no:cacheprovider",
                   *package.pytest_args]
    results = {}
    for mode in ("plain", "hooked"):
        xml = os.path.join(env.work, f"{package.dist}-{mode}.xml")
        trace_out = os.path.join(env.work, f"{package.dist}-trace.folded")
        extra = {}
        cmd = [env.python]
        if mode == "hooked":
            options = f"trace.output={trace_out}" if "trace" in passes.split(",") else ""
            if via == "runner":
                cmd += ["-m", "bchook", "-p", passes]
                for pattern in package.include:
                    cmd += ["--include", pattern]
                if options:
                    cmd += ["-o", options]
            else:
                extra = {"BCHOOK_PASSES": passes, "BCHOOK_INCLUDE": ",".join(package.include)}
                if options:
                    extra["BCHOOK_OPTIONS"] = options
        start = time.perf_counter()
        proc = run([*cmd, *pytest_args, f"--junitxml={xml}"], cwd=folder,
                   env=clean_env(**extra), timeout=timeout, check=False)
        report[f"{mode}_seconds"] = round(time.perf_counter() - start, 1)
        report[f"{mode}_exit"] = proc.returncode
        results[mode] = outcomes(xml)
        if not results[mode]:
            report[f"{mode}_tail"] = (proc.stdout + proc.stderr)[-2000:]
    plain, hooked = results["plain"], results["hooked"]
    report["cases"] = len(plain)
    for status in ("passed", "failure", "error", "skipped"):
        report[status] = sum(1 for v in plain.values() if v == status)
    report["failed"] = report.pop("failure")
    report["same"] = bool(plain) and plain == hooked
    report["differences"] = sorted(
        (name, plain.get(name), hooked.get(name))
        for name in set(plain) | set(hooked) if plain.get(name) != hooked.get(name))
    report["rewritten"] = probe(env, package, passes, via)
    return report


def probe(env: Environment, package: Package, passes: str, via: str) -> bool:
    """Were the package's modules really loaded by bchook?"""
    module = package.include[0]
    code = (f"import sys, {module}; "
            f"print(type(sys.modules[{module!r}].__loader__).__name__)")
    option = ""
    if "trace" in passes.split(","):
        option = f"trace.output={os.path.join(env.work, 'probe.folded')}"
    if via == "runner":
        cmd = [env.python, "-m", "bchook", "-p", passes, "--include", ",".join(package.include)]
        cmd += ["-o", option] if option else []
        cmd += ["-c", code]
        extra = {}
    else:
        cmd = [env.python, "-c", code]
        extra = {"BCHOOK_PASSES": passes, "BCHOOK_INCLUDE": ",".join(package.include),
                 "BCHOOK_OPTIONS": option}
    proc = run(cmd, cwd=env.work, env=clean_env(**extra), check=False)
    return proc.stdout.strip() == "BchookLoader"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", default=[],
                        help="interpreter to test (repeatable; default: this one)")
    parser.add_argument("--packages", default=",".join(PACKAGES),
                        help=f"comma-separated, among {', '.join(PACKAGES)}")
    parser.add_argument("-p", "--passes", default="constfold,trace")
    parser.add_argument("--via", choices=["runner", "pth"], default="runner",
                        help="how the suite runs under bchook (default: the runner)")
    parser.add_argument("--work", default=None, help="working folder (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per suite run")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.packages.split(",") if n.strip()]
    unknown = [n for n in names if n not in PACKAGES]
    if unknown:
        parser.error(f"unknown package(s): {', '.join(unknown)}")
    work_root = args.work or tempfile.mkdtemp(prefix="bchook-thirdparty-")
    rows = []
    all_ok = True
    try:
        for index, python in enumerate(args.python or [sys.executable]):
            work = os.path.join(work_root, f"{index}-{os.path.basename(python)}")
            os.makedirs(work, exist_ok=True)
            env = Environment(python, work)
            print(f"== Python {env.version}: passes {args.passes} via the {args.via}",
                  flush=True)
            if args.via == "pth":
                run([env.python, "-m", "bchook", "pth", "install"], env=clean_env())
            for name in names:
                package = PACKAGES[name]
                try:
                    folder = env.fetch(package)
                    report = run_suite(env, package, folder, args.passes, args.via,
                                       args.timeout)
                except Exception as exc:  # set-up failures are reported, not hidden
                    print(f"  {name}: could not run: {exc}", flush=True)
                    all_ok = False
                    continue
                ok = report["same"] and report["rewritten"]
                all_ok &= ok
                rows.append((env.version, report))
                print(f"  {report['package']} {report['version']}: "
                      f"{'same' if report['same'] else 'DIFFERENT'}, {report['cases']} cases "
                      f"({report['passed']} passed, {report['failed'] + report['error']} "
                      f"failed, {report['skipped']} skipped); plain {report['plain_seconds']} "
                      f"s, under bchook {report['hooked_seconds']} s; rewritten: "
                      f"{'yes' if report['rewritten'] else 'NO'}", flush=True)
                for diff in report["differences"][:20]:
                    print(f"    {diff[0]}: plain {diff[1]}, under bchook {diff[2]}")
                for mode in ("plain", "hooked"):
                    if f"{mode}_tail" in report:
                        print(f"    no results {mode} (exit {report[mode + '_exit']}):\n" +
                              report[mode + "_tail"])
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work_root, ignore_errors=True)
    print("\n| Python | package | test cases | passed | failed | skipped | plain s | "
          f"{args.passes} s | same outcomes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for version, r in rows:
        print(f"| {version} | {r['package']} {r['version']} | {r['cases']} | {r['passed']} | "
              f"{r['failed'] + r['error']} | {r['skipped']} | {r['plain_seconds']} | "
              f"{r['hooked_seconds']} | {'yes' if r['same'] else 'NO'} |")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
