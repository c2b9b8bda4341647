"""``python -m fink_tui``: the same as the ``fink-tui`` command."""

from __future__ import annotations

import sys

from fink_tui.cli import main

sys.exit(main())
