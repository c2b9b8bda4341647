"""``python -m fink_tui``: the same as the ``fink-tui`` command."""

from __future__ import annotations

import sys

from fink_tui.cli import main

# Guarded: decoding processes are started with spawn, which imports this module again.
if __name__ == "__main__":
    sys.exit(main())
