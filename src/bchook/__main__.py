"""``python -m bchook``: the same command as the ``bchook`` script."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
