"""Write the README's generated tables from the code: the runner's flags (``RUNNER_FLAGS``
in ``bchook/frontends/cli.py``) and each built-in pass's options (its ``option_specs``).

    python tools/readme_tables.py          # rewrite README.md in place
    python tools/readme_tables.py --check  # exit 1 if README.md is out of date

Each table sits between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``;
``tests/frontends/test_cli.py`` checks that the README holds what this writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                    re.S)


def regenerate(text: str) -> str:
    from bchook.frontends.cli import readme_tables

    tables = readme_tables()

    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in tables:
            raise SystemExit(f"README.md: no generated table is called {name!r} "
                             f"(known: {', '.join(sorted(tables))})")
        return f"{match[1]}{tables[name]}\n{match[4]}"

    return _BLOCK.sub(fill, text)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = regenerate(text)
    if "--check" in argv:
        if new != text:
            print("README.md: generated tables are out of date; run python tools/readme_tables.py")
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md: tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
