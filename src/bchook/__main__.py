"""``python -m bchook``: the same command as the ``bchook`` script."""

import sys

from .frontends.cli import main

if __name__ == "__main__":
    sys.exit(main())
