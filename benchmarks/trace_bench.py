"""Cost of the trace pass against the profilers people use, as ratios to plain Python.

    python benchmarks/trace_bench.py [--rounds N] [--reps N] [--quick] [--only VARIANTS]

Workloads: ``fib`` (recursive fib(25): calls and nothing else), ``sim`` (a small
class-heavy particle simulation: method calls, attribute access, small objects),
``report`` (a realistic program: parse records, group, sort, evaluate formulas with a
recursive-descent parser, format a report) and ``nx`` (networkx, traced with the program:
Dijkstra, a minimum spanning tree, closeness and betweenness centrality (100 sources) on a
600-node graph; left out when networkx is not installed). ``calls`` below is fib + sim
together: the call-heavy workload the targets are about.

Each variant runs in a fresh interpreter that times every workload ``--reps`` times
(CPU time, after one warm-up run); the variants take turns for ``--rounds`` rounds and
each keeps its best time, so that a busy machine disturbs all of them alike. Ratios are
against ``plain`` from the same run. Variants: plain, cProfile, viztracer (when installed),
sys.setprofile with a Python callback counting calls, sys.monitoring counting PY_START
(3.12+), the standard library's ``profiling`` package (3.15+: ``profiling.tracing``,
cProfile's new home, and ``profiling.sampling``, the statistical profiler, at its default
rate: it samples the program from another process, so its column is the program's own
slowdown), and the trace pass in each mode: calls, timeline, lines flags, lines count,
the same with the pure-Python recorder, calls after ``bchook.trace.stop()`` (off
means off), calls outside any region (``bchook.trace.region`` made, never entered: the
functions run their untraced code) and calls inside a region (each timed run inside
one: recorded by a profile function instead of the probes). ``coverage run`` (when coverage.py is installed) measures lines as
coverage.py does, to compare with ``trace lines -> .coverage``, which writes coverage's
data file.

One more variant is a reference, not a mode: ``pure-Python probes alone`` runs the
pure-Python timeline with its folding switched off in the harness, so the events are made
and thrown away. It is the floor of that recorder (the probes' bytecode, the two clock
reads and the two appends per call); the distance from it to ``trace timeline (pure
Python)`` is what keeping complete aggregates costs.

After the table, the cost of entering and leaving a ``bchook.trace.region`` (as a ``with``
block and as a decorator around an empty function; a traced program, C recorder and pure
Python) in µs per entry and exit, best of the rounds.

Targets: calls <= 1.5x on the call-heavy workload and <= 1.35x on nx, timeline <= 2.5x
(C recorder) and <= 6x (pure Python), lines flags <= 1.3x, stopped <= 1.01x, outside
regions <= 1.05x, a region's entry and exit <= 50 µs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

WORKLOADS = {
    "bw_fib": """
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        def run():
            return fib(25)
    """,
    "bw_sim": """
        class Vec:
            __slots__ = ("x", "y")

            def __init__(self, x, y):
                self.x = x
                self.y = y

            def add(self, other):
                return Vec(self.x + other.x, self.y + other.y)

            def scale(self, k):
                return Vec(self.x * k, self.y * k)

            def norm2(self):
                return self.x * self.x + self.y * self.y


        class Particle:
            def __init__(self, i):
                self.pos = Vec(i % 7, i % 11)
                self.vel = Vec(1 + i % 3, -1 + i % 5)

            def step(self, dt):
                self.pos = self.pos.add(self.vel.scale(dt))
                if self.pos.norm2() > 400:
                    self.vel = self.vel.scale(-1)


        class World:
            def __init__(self, n):
                self.particles = [Particle(i) for i in range(n)]

            def step(self, dt):
                for p in self.particles:
                    p.step(dt)

            def energy(self):
                return sum(p.vel.norm2() for p in self.particles)


        def run():
            w = World(200)
            for _ in range(150):
                w.step(0.1)
            return w.energy()
    """,
    "bw_report": """
        import random

        FIELDS = ("region", "product", "units", "price", "discount")


        def make_lines(n, seed=7):
            rnd = random.Random(seed)
            regions = ["north", "south", "east", "west"]
            products = ["ant", "bee", "cat", "dog", "eel", "fox"]
            for i in range(n):
                yield ",".join([rnd.choice(regions), rnd.choice(products),
                                str(rnd.randint(1, 40)), f"{rnd.uniform(1, 99):.2f}",
                                str(rnd.choice((0, 5, 10, 15)))])


        class Record:
            def __init__(self, region, product, units, price, discount):
                self.region = region
                self.product = product
                self.units = int(units)
                self.price = float(price)
                self.discount = int(discount)

            def revenue(self):
                return self.units * self.price * (100 - self.discount) / 100


        def parse(lines):
            for line in lines:
                parts = line.split(",")
                if len(parts) == len(FIELDS):
                    yield Record(*parts)


        class Parser:
            def __init__(self, text, env):
                self.tokens = text.replace("(", " ( ").replace(")", " ) ").split()
                self.pos = 0
                self.env = env

            def peek(self):
                return self.tokens[self.pos] if self.pos < len(self.tokens) else None

            def take(self):
                tok = self.tokens[self.pos]
                self.pos += 1
                return tok

            def expr(self):
                value = self.term()
                while self.peek() in ("+", "-"):
                    op = self.take()
                    rhs = self.term()
                    value = value + rhs if op == "+" else value - rhs
                return value

            def term(self):
                value = self.atom()
                while self.peek() in ("*", "/"):
                    op = self.take()
                    rhs = self.atom()
                    value = value * rhs if op == "*" else value / rhs
                return value

            def atom(self):
                tok = self.take()
                if tok == "(":
                    value = self.expr()
                    self.take()
                    return value
                if tok in self.env:
                    return self.env[tok]
                return float(tok)


        FORMULAS = {
            "margin": "( revenue - units * 3 ) / ( units + 1 )",
            "score": "revenue * 2 - ( units * units ) / 10 + 7",
        }


        def summarize(records):
            groups = {}
            for r in records:
                groups.setdefault((r.region, r.product), []).append(r)
            rows = []
            for (region, product), rs in sorted(groups.items()):
                env = {"revenue": sum(r.revenue() for r in rs),
                       "units": float(sum(r.units for r in rs))}
                scores = {name: Parser(text, env).expr() for name, text in FORMULAS.items()}
                rows.append((region, product, len(rs), env["revenue"], scores))
            return rows


        def render(rows):
            out = [f"{'region':<8}{'product':<8}{'n':>5}{'revenue':>12}{'margin':>10}"]
            for region, product, n, revenue, scores in rows:
                out.append(f"{region:<8}{product:<8}{n:>5}{revenue:>12.2f}"
                           f"{scores['margin']:>10.2f}")
            return "\\n".join(out)


        def run():
            return len(render(summarize(parse(make_lines(6000)))))
    """,
    "bw_nx": """
        import random

        import networkx as nx


        def make_graph(n=600, seed=7):
            rnd = random.Random(seed)
            g = nx.connected_watts_strogatz_graph(n, 6, 0.2, seed=seed)
            for u, v in g.edges():
                g[u][v]["weight"] = rnd.randint(1, 20)
            return g


        def run():
            g = make_graph()
            lengths = nx.single_source_dijkstra_path_length(g, 0)
            tree = nx.minimum_spanning_tree(g)
            close = nx.closeness_centrality(g)
            between = nx.betweenness_centrality(g, k=100, seed=3)
            return (sum(lengths.values()), tree.size(weight="weight"), max(close.values()),
                    max(between.values()))
    """,
}

HARNESS = """
import sys, time, json, importlib
variant = sys.argv[1]
reps = int(sys.argv[2])
names = sys.argv[3].split(",")
mods = [importlib.import_module(n) for n in names]
before = after = None

if variant == "cprofile":
    import cProfile
    prof = cProfile.Profile()
    before, after = prof.enable, prof.disable
elif variant == "profiling.tracing":
    import profiling.tracing
    prof = profiling.tracing.Profile()
    before, after = prof.enable, prof.disable
elif variant == "viztracer":
    from viztracer import VizTracer
    tracer = VizTracer(verbose=0, tracer_entries=1000000)
    before, after = tracer.start, tracer.stop
elif variant == "setprofile":
    counts = {}
    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            counts[code] = counts.get(code, 0) + 1
    before, after = (lambda: sys.setprofile(hook)), (lambda: sys.setprofile(None))
elif variant == "monitoring":
    mon = sys.monitoring
    tool = mon.PROFILER_ID
    mon.use_tool_id(tool, "bench")
    counts = {}
    def on_start(code, offset):
        counts[code] = counts.get(code, 0) + 1
    mon.register_callback(tool, mon.events.PY_START, on_start)
    before = lambda: mon.set_events(tool, mon.events.PY_START)
    after = lambda: mon.set_events(tool, 0)
elif variant == "pure-Python probes alone":
    from bchook.trace import _pyrecorder
    _pyrecorder.PyRecorder._fold = lambda self, thread, batch: None
elif variant.endswith("after stop()"):
    import bchook.trace
    bchook.trace.stop()
elif variant.endswith("outside regions"):
    import bchook.trace
    bchook.trace.region("never entered")
elif variant.endswith("inside a region"):
    import bchook.trace
    inside = bchook.trace.region("timed")
    before, after = inside.__enter__, lambda: inside.__exit__(None, None, None)

result = {}
for name, mod in zip(names, mods):
    best = None
    for i in range(reps + 1):
        if before: before()
        t0 = time.process_time()
        mod.run()
        t = time.process_time() - t0
        if after: after()
        if i and (best is None or t < best):
            best = t
    result[name] = best
print("RESULT " + json.dumps(result))
"""

TRACE_VARIANTS = {
    "trace calls": [],
    "trace timeline": ["-o", "trace.mode=timeline"],
    "trace lines flags": ["-o", "trace.lines=1"],
    "trace lines count": ["-o", "trace.lines=count"],
    "trace calls (pure Python)": ["-o", "trace.accel=0"],
    "trace timeline (pure Python)": ["-o", "trace.mode=timeline", "-o", "trace.accel=0"],
    "trace calls after stop()": [],
    "trace calls outside regions": [],
    "trace calls inside a region": [],
    "pure-Python probes alone": ["-o", "trace.mode=timeline", "-o", "trace.accel=0"],
    # lines written as coverage.py's data file, against `coverage run` below
    "trace lines -> .coverage": ["-o", "trace.lines=1"],
}
#: Trace variants that write another file than out.prof (at exit: not in the timings).
TRACE_OUTPUTS = {"trace lines -> .coverage": "traced.coverage"}


def variants() -> list[str]:
    names = ["plain", "cprofile"]
    try:
        import viztracer  # noqa: F401
        names.append("viztracer")
    except ImportError:
        pass
    names.append("setprofile")
    if hasattr(sys, "monitoring"):
        names.append("monitoring")
    names += [name for name in ("profiling.tracing", "profiling.sampling")
              if _has_module(name)]
    if _has_module("coverage"):
        names.append("coverage run")
    names += list(TRACE_VARIANTS)
    return names


def _has_module(name: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def workloads() -> list[str]:
    return [name for name in WORKLOADS if name != "bw_nx" or _has_module("networkx")]


def run_variant(folder: str, variant: str, reps: int) -> dict:
    names = ",".join(workloads())
    harness = os.path.join(folder, "harness_main.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measured with bchook's cache warm
    if variant in TRACE_VARIANTS:
        out = os.path.join(folder, TRACE_OUTPUTS.get(variant, "out.prof"))
        cmd = [sys.executable, "-m", "bchook", "-p", "trace", "--include", "bw_*",
               "--include", "networkx*",
               *TRACE_VARIANTS[variant], "-o", f"trace.output={out}",
               harness, variant, str(reps), names]
    elif variant == "profiling.sampling":  # samples the harness from another process
        out = os.path.join(folder, "sampled.pstats")
        cmd = [sys.executable, "-m", "profiling.sampling", "run", "--pstats", "-o", out,
               harness, variant, str(reps), names]
    elif variant == "coverage run":  # line coverage, as `trace lines -> .coverage` records
        cmd = [sys.executable, "-m", "coverage", "run", "--include=*/bw_*",
               f"--data-file={os.path.join(folder, 'run.coverage')}", harness, variant,
               str(reps), names]
    else:
        cmd = [sys.executable, harness, variant, str(reps), names]
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{variant} failed:\n{proc.stdout}\n{proc.stderr}")

REGION_HARNESS = """
import sys, time, json
import bchook.trace

N = 20000

@bchook.trace.region("decorated")
def decorated():
    pass

def run():
    with bchook.trace.region("warm-up"):
        pass
    best = {}
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(N):
            with bchook.trace.region("with"):
                pass
        t1 = time.perf_counter()
        for _ in range(N):
            decorated()
        t2 = time.perf_counter()
        for name, t in (("with", t1 - t0), ("decorator", t2 - t1)):
            best[name] = min(best.get(name, t), t)
    print("RESULT " + json.dumps({k: v / N * 1e6 for k, v in best.items()}))

run()
"""


def region_cost(folder: str) -> dict[str, dict[str, float]]:
    """µs per region entry and exit, traced, with each recorder."""
    with open(os.path.join(folder, "bw_region_main.py"), "w") as f:
        f.write(REGION_HARNESS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    result = {}
    for recorder, accel in (("C recorder", "1"), ("pure Python", "0")):
        proc = subprocess.run(
            [sys.executable, "-m", "bchook", "-p", "trace", "--include", "bw_*",
             "-o", f"trace.accel={accel}", "-o",
             f"trace.output={os.path.join(folder, 'region.prof')}",
             os.path.join(folder, "bw_region_main.py")],
            cwd=folder, env=env, capture_output=True, text=True, timeout=600)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            raise RuntimeError(f"region harness failed:\n{proc.stdout}\n{proc.stderr}")
        result[recorder] = json.loads(lines[-1][7:])
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="turns of every variant")
    parser.add_argument("--reps", type=int, default=3, help="timed runs per workload")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 reps")
    parser.add_argument("--only", help="comma-separated variants to run besides plain "
                        "(e.g. 'trace lines flags,cprofile')")
    args = parser.parse_args(argv)
    chosen = variants()
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        unknown = wanted - set(chosen)
        if unknown:
            parser.error(f"unknown variant(s) {', '.join(sorted(unknown))}; "
                         f"choose from: {', '.join(chosen)}")
        chosen = [name for name in chosen if name == "plain" or name in wanted]
    reps = 2 if args.quick else args.reps
    rounds = 1 if args.quick else args.rounds
    import bchook.trace
    print(f"Python {sys.version.split()[0]}, C recorder "
          f"{'built' if bchook.trace.accelerated() else 'NOT built'}; "
          f"CPU time, best of {rounds} rounds x {reps} runs")
    with tempfile.TemporaryDirectory() as folder:
        for name, source in WORKLOADS.items():
            with open(os.path.join(folder, name + ".py"), "w") as f:
                f.write(textwrap.dedent(source))
        with open(os.path.join(folder, "harness_main.py"), "w") as f:
            f.write(HARNESS)
        results: dict[str, dict] = {}
        regions: dict[str, dict[str, float]] = {}
        for _ in range(rounds):
            for variant in chosen:
                times = run_variant(folder, variant, reps)
                best = results.setdefault(variant, times)
                for name, t in times.items():
                    best[name] = min(best[name], t)
            for recorder, costs in region_cost(folder).items():
                best = regions.setdefault(recorder, costs)
                for name, cost in costs.items():
                    best[name] = min(best[name], cost)
    base = results["plain"]
    columns = ["calls", *workloads()]
    header = f"{'variant':<30}" + "".join(f"{c.removeprefix('bw_'):>9}" for c in columns)
    print(header)
    print("-" * len(header))
    for variant, times in results.items():
        row = f"{variant:<30}"
        for c in columns:
            if c == "calls":
                ratio = (times["bw_fib"] + times["bw_sim"]) / (base["bw_fib"] + base["bw_sim"])
            else:
                ratio = times[c] / base[c]
            row += f"{ratio:>8.2f}x"
        print(row)
    print(f"plain: fib {base['bw_fib'] * 1e3:.1f} ms, sim {base['bw_sim'] * 1e3:.1f} ms, "
          f"report {base['bw_report'] * 1e3:.1f} ms")
    for recorder, costs in regions.items():
        print(f"region entry and exit, {recorder}: "
              + ", ".join(f"{name} {cost:.2f} µs" for name, cost in costs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
