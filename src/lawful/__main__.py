"""``python -m lawful``: the same command line as the ``lawful`` script."""

from __future__ import annotations

import sys

from lawful.cli import main

if __name__ == "__main__":
    sys.exit(main())
