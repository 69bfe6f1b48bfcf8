"""Worker processes: programs run plainly or under one chain, each in a process of its own
kind, so that a chain (and whatever its runtime does to the interpreter) never touches the
process that compares, nor the plain runs.

    python -m bchook.tools.check.worker      # one JSON request per line on stdin

A worker is set up once (``{"op": "setup", "chain": SPEC or null}``) and then runs
programs on request (``{"op": "run", "file": ..., ...}``), replying one JSON line each on
the stdout it started with (the programs' own output is captured). :class:`Worker` is the
other end: it starts the process, restarts it after a crash, and turns a crash or a
program that never finishes into an outcome (``crashed``, ``timeout``) instead of an error.

A chain SPEC is a list of ``{"name": NAME}`` (a pass found by its entry point in the
worker's own environment) or ``{"class": "module:QualName", "root": FOLDER}`` (a ``Pass``
subclass imported there, its module found from ``FOLDER``), each with its ``options``;
``path`` entries are added to the worker's ``sys.path`` (for what a test suite's classes
import).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading

__all__ = ["Worker", "WorkerError", "chain_spec", "build_chain", "spec_label", "serve"]

#: Bumped when requests or replies change: both ends must speak the same version.
PROTOCOL = 1


class WorkerError(Exception):
    """The worker could not be started or set up (bchook missing there, a pass that cannot
    be created...): one line for the user."""


# -- chains as data -------------------------------------------------------------------------

def chain_spec(chain, options=None) -> list[dict]:
    """A chain (``"a,b"``, or a list of names, Pass classes and instances, as
    ``bchook.install`` takes) and its ``options`` (``{pass: {key: value}}``) as a SPEC.
    Instances are rebuilt in the worker from their class and their options."""
    from ...errors import OptionError, UsageError
    from ...pipeline.api import Pass

    if isinstance(chain, (str, Pass)) or (isinstance(chain, type) and issubclass(chain, Pass)):
        chain = [chain]
    options = {name: dict(table) for name, table in (options or {}).items()}
    spec: list[dict] = []
    used = set()
    for item in chain:
        if isinstance(item, str):
            for name in (part.strip() for part in item.split(",")):
                if name:
                    spec.append({"name": name, "options": options.get(name, {})})
                    used.add(name)
        elif isinstance(item, type) and issubclass(item, Pass):
            spec.append(_class_entry(item, options.get(item.name, {})))
            used.add(item.name)
        elif isinstance(item, Pass):
            spec.append(_class_entry(type(item), dict(item.options)))
        elif isinstance(item, dict) and ("name" in item or "class" in item):
            spec.append({**item, "options": dict(item.get("options", {}))})
        else:
            raise UsageError(f"a pass must be a name, a Pass instance or a Pass subclass, "
                             f"not {item!r}")
    unused = sorted(set(options) - used)
    if unused:
        raise OptionError(f"options given for pass {unused[0]!r}, which is not in the chain "
                          f"(passes: {spec_label(spec) or 'none'})")
    if not spec:
        raise UsageError("no passes given: name at least one pass, e.g. 'identity'")
    for entry in spec:
        for key, value in entry["options"].items():
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                raise OptionError(f"option {_entry_name(entry)}.{key}: {value!r} cannot be "
                                  f"sent to another process (give it as text)")
    return spec


def _class_entry(cls, options: dict) -> dict:
    """A pass class as the worker finds it: ``module:QualName``, and the folder its module
    is imported from (a test module's folder may leave ``sys.path`` meanwhile)."""
    qualname = cls.__qualname__
    if "<locals>" in qualname or cls.__module__ == "__main__":
        raise ValueError(
            f"pass class {qualname} cannot be imported by another process: define it at "
            f"the top level of an importable module (or register it and use its name)")
    entry = {"class": f"{cls.__module__}:{qualname}", "options": options}
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if filename:
        root = os.path.dirname(os.path.abspath(filename))
        depth = cls.__module__.count(".") + (os.path.basename(filename) == "__init__.py")
        for _ in range(depth):
            root = os.path.dirname(root)
        entry["root"] = root
    return entry


def _entry_name(entry: dict) -> str:
    return entry.get("name") or entry["class"].rpartition(":")[2]


def spec_label(spec: list[dict]) -> str:
    """``"identity(pad=1),shout"``: the chain as messages show it."""
    parts = []
    for entry in spec:
        opts = ",".join(f"{k}={v}" for k, v in entry.get("options", {}).items())
        parts.append(_entry_name(entry) + (f"({opts})" if opts else ""))
    return ",".join(parts)


def build_chain(spec: list[dict]) -> list:
    """The passes of a SPEC, created in this process."""
    import importlib

    from ...pipeline.registry import create_passes

    chain = []
    for entry in spec:
        options = entry.get("options", {})
        if "name" in entry:
            name = entry["name"]
            chain += create_passes([name], {name: options} if options else None)
        else:
            module, _, qualname = entry["class"].partition(":")
            if entry.get("root") and entry["root"] not in sys.path:
                sys.path.insert(0, entry["root"])
            obj = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            chain.append(obj(**options))
    return chain


# -- the worker's side ----------------------------------------------------------------------

def _describe_chain(chain) -> dict:
    from ...pipeline.api import Pass

    return {
        "passes": [p.name for p in chain],
        "keeps_lines": all(getattr(p, "keeps_lines", True) for p in chain),
        "bytecode": any(type(p).transform_ir is not Pass.transform_ir or
                        type(p).transform_code is not Pass.transform_code for p in chain),
    }


def serve(requests, reply) -> None:
    """Answer ``requests`` (JSON lines) with ``reply(dict)`` until ``quit`` or the end."""
    import platform

    from ... import __version__
    from ...errors import BchookError
    from . import observe

    import builtins

    chain = None
    extra_builtins: list[str] | None = None
    startup_builtins = set(vars(builtins))
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.get("op")
        if op == "quit":
            return
        if op == "setup":
            for entry in reversed(request.get("path") or []):
                if entry not in sys.path:
                    sys.path.insert(0, entry)
            answer = {"ok": True, "protocol": PROTOCOL, "python": platform.python_version(),
                      "executable": sys.executable, "bchook": __version__}
            if request.get("chain") is not None:
                try:
                    chain = build_chain(request["chain"])
                except (BchookError, ImportError, AttributeError, TypeError,
                        ValueError) as exc:
                    reply({"ok": False, "protocol": PROTOCOL,
                           "error": " ".join(str(exc).split()) or repr(exc)})
                    continue
                answer.update(_describe_chain(chain))
            reply(answer)
            continue
        if op == "run":
            path = request["file"]
            with open(path, "rb") as f:
                source = f.read()
            if request.get("mode") == "grammar":
                if chain is not None and extra_builtins is None:
                    extra_builtins = observe.runtime_builtins(chain, startup_builtins)
                result = observe.run_limited(source, path, chain,
                                             limit=request.get("limit", 500),
                                             extra_builtins=extra_builtins or ())
            else:
                result = observe.run_program(source, path, chain,
                                             name=request.get("name") or "__main__",
                                             call=request.get("call"),
                                             line_events=bool(request.get("line_events")))
            reply(result)
            continue
        reply({"ok": False, "error": f"unknown request {op!r}"})


def main() -> int:
    # Requests come on the stdin the worker started with and replies go to its stdout;
    # the programs get an empty stdin, their output is captured, and anything written
    # below Python's sys.stdout goes nowhere.
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    reply_stream = os.fdopen(os.dup(1), "w", encoding="utf-8")
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY)):
        devnull = os.open(os.devnull, mode)
        os.dup2(devnull, fd)
        os.close(devnull)
    sys.stdin = open(0, "r", encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.dont_write_bytecode = True

    def reply(answer: dict) -> None:
        reply_stream.write(json.dumps(answer) + "\n")
        reply_stream.flush()

    serve(requests, reply)
    return 0


# -- the controller's side ------------------------------------------------------------------

def _signal_name(status: int) -> str:
    if status < 0:
        try:
            return f"killed by signal {-status} ({signal.Signals(-status).name})"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


class Worker:
    """One worker process for ``python``, plain (``spec`` None) or under a chain.

    ``setup()`` starts it and returns what it said about itself (Python version, whether
    the chain keeps line events...), raising :class:`WorkerError` if it cannot start.
    ``run(request, timeout)`` returns the outcome of one program, or ``{"crashed": ...}``
    / ``{"timeout": seconds}``: the process is then started again for the next request.
    """

    def __init__(self, python: str, spec: list[dict] | None, *, cwd: str,
                 path: list[str] | None = None, env: dict | None = None):
        self.python = resolve_python(python)
        self.spec = spec
        self.cwd = cwd
        self.path = list(path or [])
        self.env = env if env is not None else worker_environment()
        self.proc: subprocess.Popen | None = None
        self.replies: queue.Queue | None = None
        self.stderr = None
        self.info: dict = {}

    def setup(self, timeout: float = 120) -> dict:
        self._start()
        answer = self._ask({"op": "setup", "chain": self.spec, "path": self.path}, timeout)
        if "crashed" in answer or "timeout" in answer:
            self.close()
            raise WorkerError(self._startup_failure(answer))
        if answer.get("protocol") != PROTOCOL:
            self.close()
            raise WorkerError(f"{self.python} runs bchook {answer.get('bchook', '?')}, which "
                              f"does not speak this bchook's worker protocol: install the "
                              f"same version there")
        if not answer.get("ok"):
            self.close()
            raise WorkerError(answer.get("error", "the worker refused the chain"))
        self.info = answer
        return answer

    def _startup_failure(self, answer: dict) -> str:
        text = answer.get("stderr", "")
        last = [line for line in text.splitlines() if line.strip()]
        reason = last[-1].strip() if last else answer.get("crashed", "no answer")
        if "No module named" in reason and "bchook" in reason:
            return (f"bchook is not importable by {self.python} ({reason}): install "
                    f"bchook into that interpreter's environment first")
        if "timeout" in answer:
            return f"the worker under {self.python} did not start within {answer['timeout']} s"
        return f"the worker under {self.python} could not start: {reason}"

    def _start(self) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(
            [self.python, "-m", "bchook.tools.check.worker"], cwd=self.cwd, env=self.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True, encoding="utf-8", errors="replace", bufsize=1)
        self.replies = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.replies),
                         daemon=True).start()

    @staticmethod
    def _read(proc, replies) -> None:
        for line in proc.stdout:
            replies.put(line)
        replies.put(None)

    def _ask(self, request: dict, timeout: float) -> dict:
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died already: the reader says so
        return self._receive(timeout)

    def _receive(self, timeout: float) -> dict:
        proc, replies = self.proc, self.replies
        if proc is None:
            return {"crashed": "not running", "stderr": ""}
        try:
            line = replies.get(timeout=timeout)
        except queue.Empty:
            self._kill()
            return {"timeout": timeout}
        if line is None:
            status = proc.wait()
            return {"crashed": _signal_name(status), "stderr": self._stderr_tail()}
        return json.loads(line)

    def _stderr_tail(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read()[-3000:]
        except (OSError, ValueError):
            return ""

    def send(self, request: dict) -> None:
        """Ask for one program's run (starting the process again if it died)."""
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            self.setup()
        try:
            self.proc.stdin.write(json.dumps({"op": "run", **request}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died meanwhile: receive() says so

    def receive(self, timeout: float = 60) -> dict:
        """The answer to the request sent last: an outcome, or ``crashed``/``timeout``."""
        answer = self._receive(timeout)
        if "crashed" in answer or "timeout" in answer:
            self.close()
        return answer

    def run(self, request: dict, timeout: float = 60) -> dict:
        """``send`` then ``receive``."""
        self.send(request)
        return self.receive(timeout)

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        proc = self.proc
        self.proc = None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                proc.kill()
                proc.wait()
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except (OSError, ValueError):
                    pass
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def resolve_python(python: str) -> str:
    """The absolute path of an interpreter given as a path or a command name."""
    import shutil

    found = shutil.which(python) if os.sep not in python else \
        (python if os.path.isfile(python) and os.access(python, os.X_OK) else None)
    if found is None:
        raise WorkerError(f"--python {python}: no such interpreter (give the path of a "
                          f"Python executable, or a command on PATH)")
    return os.path.abspath(found)


def worker_environment() -> dict:
    """The environment of a worker: this one without bchook's own settings (the start-up
    autoload must not rewrite the worker), with ``PYTHONPATH`` made absolute, and with
    fixed hash seeds (the same set order in the plain and the chained runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
    if env.get("PYTHONPATH"):  # workers run in a folder of their own
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) if entry else entry
                                            for entry in env["PYTHONPATH"].split(os.pathsep))
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


if __name__ == "__main__":
    sys.exit(main())
