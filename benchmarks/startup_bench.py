"""Start-up cost of bchook's front ends against plain ``python -c pass``, in the same run.

    python benchmarks/startup_bench.py [--repeat 25] [--passes identity,goto,...]

Each command runs many times in a fresh interpreter (the one running this script); the
figure is the best run's CPU time (user + system) of that process, which other work on
the machine disturbs less than wall time (the best wall time is shown too). The three
front ends, each with the passes given:

* runner: ``python -m bchook -p PASS -c pass`` against ``python -c pass``;
* autoload: ``BCHOOK_PASSES=PASS python -c pass`` in a throwaway virtual environment with
  ``bchook pth install`` done, against ``python -c pass`` in the same environment without
  ``BCHOOK_PASSES`` (and against the plain interpreter's);
* pytest plugin: ``pytest --bchook-pass PASS`` on one trivial test against the same pytest
  run without it (the plugin loaded but asked for nothing).

Everything runs in a folder whose ``pyproject.toml`` has no ``[tool.bchook]`` table; one
more runner row takes its passes from one (what the TOML parser found is remembered after
the untimed first run, as in real use). Python writes its
pycs as usual (``PYTHONDONTWRITEBYTECODE`` is dropped) and an untimed run warms them.
Target (issue 17): each front end adds at most 20 ms with the built-in passes that import
nothing heavy (``identity``); the other passes' own imports are shown for reference.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
import venv

TARGET_MS = 20.0


def measure(commands: list[tuple], repeat: int) -> list[tuple[float, float]]:
    """Best CPU time and best wall time of each ``(cmd, cwd, env)``, in milliseconds.

    The commands take turns, one run each per round, so that a change in the machine's
    load during the benchmark touches them all alike."""
    for cmd, cwd, env in commands:  # pycs and caches warm
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    best = [[float("inf"), float("inf")] for _ in commands]
    for _ in range(repeat):
        for (cmd, cwd, env), times in zip(commands, best):
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            if status != 0:
                raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
            times[0] = min(times[0], usage.ru_utime + usage.ru_stime)
            times[1] = min(times[1], wall)
    return [(cpu * 1000, wall * 1000) for cpu, wall in best]


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BCHOOK_", "PYTEST_", "COVERAGE_"))
           and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def autoload_venv(folder: str) -> str:
    """A throwaway environment that sees this interpreter's packages (bchook included)
    through a .pth of its own, with the autoload installed: its python."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(folder)
    python = os.path.join(folder, "Scripts" if os.name == "nt" else "bin",
                          "python.exe" if os.name == "nt" else "python")
    site = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip()
    parent = sysconfig.get_paths()["purelib"]
    with open(os.path.join(site, "00-parent-site.pth"), "w") as f:
        f.write(f"import site; site.addsitedir({parent!r})\n")
    subprocess.run([python, "-m", "bchook", "pth", "install"], check=True,
                   stdout=subprocess.DEVNULL, env=clean_env())
    return python


class Table:
    """Rows of ``command, CPU, added (to its own baseline), ratio to python -c pass``."""

    def __init__(self, plain_cpu: float):
        self.plain_cpu = plain_cpu
        print(f"{'command':<54} {'CPU':>9}  {'added':>9}  {'/ python -c pass':>16}  wall")

    def row(self, label: str, cpu: float, wall: float, base: tuple[float, float] | None = None,
            target: bool = False) -> None:
        added = "" if base is None else f"{cpu - base[0]:+6.1f} ms"
        wall_added = "" if base is None else f" ({wall - base[1]:+.1f})"
        mark = ""
        if target and base is not None:
            mark = "  ok" if cpu - base[0] <= TARGET_MS else f"  OVER {TARGET_MS:.0f} ms"
        print(f"{label:<54} {cpu:6.1f} ms  {added:>9}  {cpu / self.plain_cpu:15.2f}x  "
              f"{wall:.1f} ms{wall_added}{mark}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--passes", default="identity,goto,constfold,trace")
    parser.add_argument("--no-pytest", action="store_true")
    ns = parser.parse_args()
    passes = [p for p in ns.passes.split(",") if p]
    py = sys.executable
    print(f"Python {sys.version.split()[0]} ({py}); best of {ns.repeat} runs, CPU time; "
          f"'added' is to the row's own baseline (marked *)")
    with tempfile.TemporaryDirectory() as tmp:
        project = os.path.join(tmp, "project")
        os.makedirs(project)
        with open(os.path.join(project, "pyproject.toml"), "w") as f:
            f.write('[project]\nname = "app"\nversion = "1"\n')
        with open(os.path.join(project, "test_one.py"), "w") as f:
            f.write("def test_one():\n    assert 1\n")
        configured = os.path.join(tmp, "configured")
        os.makedirs(configured)
        with open(os.path.join(configured, "pyproject.toml"), "w") as f:
            f.write(textwrap.dedent("""\
                [project]
                name = "app"
                [tool.bchook]
                passes = ["identity"]
                """))
        python = autoload_venv(os.path.join(tmp, "env"))
        env = clean_env()
        pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_one.py"]

        # (label, command, folder, environment, baseline label, the 20 ms target applies)
        rows = [("* python -c pass", [py, "-c", "pass"], project, env, None, False)]
        rows += [(f"runner: python -m bchook -p {name} -c pass",
                  [py, "-m", "bchook", "-p", name, "-c", "pass"], project, env,
                  "* python -c pass", name == "identity") for name in passes]
        rows.append(("runner, identity from [tool.bchook] (remembered)",
                     [py, "-m", "bchook", "-c", "pass"], configured, env, "* python -c pass",
                     False))
        rows.append(("* venv with the autoload: python -c pass", [python, "-c", "pass"],
                     project, env, "* python -c pass", False))
        rows += [(f"autoload: BCHOOK_PASSES={name} python -c pass", [python, "-c", "pass"],
                  project, clean_env(BCHOOK_PASSES=name),
                  "* venv with the autoload: python -c pass", name == "identity")
                 for name in passes]
        if not ns.no_pytest:
            rows.append(("* pytest test_one.py (the plugin asked for nothing)", pytest,
                         project, env, "* python -c pass", False))
            rows += [(f"pytest plugin: --bchook-pass {name}", [*pytest, "--bchook-pass", name],
                      project, env, "* pytest test_one.py (the plugin asked for nothing)",
                      name == "identity") for name in passes]

        results = measure([(cmd, cwd, e) for _, cmd, cwd, e, _, _ in rows], ns.repeat)
        by_label = {row[0]: result for row, result in zip(rows, results)}
        table = Table(by_label["* python -c pass"][0])
        for (label, _, _, _, baseline, target), result in zip(rows, results):
            table.row(label, *result, by_label.get(baseline), target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
