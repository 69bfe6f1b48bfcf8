#!/usr/bin/env python3
"""Refresh the flame graph renderer vendored into bchook's HTML report.

    python tools/refresh_flamegraph.py                 # the versions pinned below
    python tools/refresh_flamegraph.py --d3 7.9.2 --flamegraph 5.0.0

Fetches the packages from the npm registry with ``npm pack`` (nothing is installed),
copies their browser builds and licenses into ``src/bchook/passes/trace/runtime/vendor/`` and writes
``VERSIONS`` there (name, version, sha256 of each file). The HTML report inlines these
files, so the page needs no network. Review the diff and run tests/passes/trace/test_trace_html.py.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENDOR = os.path.join(ROOT, "src", "bchook", "passes", "trace", "runtime", "vendor")
D3 = "7.9.2"
FLAMEGRAPH = "5.0.0"
#: (package, {file in the package: name in vendor/})
FILES = {
    "d3": {"dist/d3.min.js": "d3.min.js", "LICENSE": "LICENSE.d3"},
    "d3-flame-graph": {"dist/d3-flamegraph.umd.min.js": "d3-flamegraph.min.js",
                       "dist/d3-flamegraph.css": "d3-flamegraph.css",
                       "LICENSE": "LICENSE.d3-flame-graph"},
}


def fetch(package: str, version: str, work: str) -> str:
    """Unpack ``package@version`` from the npm registry into a folder; return it."""
    out = subprocess.run(["npm", "pack", "--silent", f"{package}@{version}"], cwd=work,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"npm pack {package}@{version} failed:\n{out.stderr}")
    tgz = os.path.join(work, out.stdout.strip().splitlines()[-1])
    folder = os.path.join(work, package)
    with tarfile.open(tgz) as tar:
        tar.extractall(folder, filter="data") if hasattr(tarfile, "data_filter") \
            else tar.extractall(folder)
    return os.path.join(folder, "package")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d3", default=D3)
    parser.add_argument("--flamegraph", default=FLAMEGRAPH)
    args = parser.parse_args()
    versions = {"d3": args.d3, "d3-flame-graph": args.flamegraph}
    os.makedirs(VENDOR, exist_ok=True)
    lines = ["# Vendored by tools/refresh_flamegraph.py from the npm registry; do not edit.",
             "# file  package@version  sha256"]
    with tempfile.TemporaryDirectory() as work:
        for package, files in FILES.items():
            src = fetch(package, versions[package], work)
            for inside, name in files.items():
                target = os.path.join(VENDOR, name)
                shutil.copyfile(os.path.join(src, inside), target)
                with open(target, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                lines.append(f"{name}  {package}@{versions[package]}  {digest}")
    with open(os.path.join(VENDOR, "VERSIONS"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
