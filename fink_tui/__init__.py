"""fink-tui: a terminal dashboard for the Fink alert broker's Livestream."""

from __future__ import annotations

__version__ = "0.1.0"
