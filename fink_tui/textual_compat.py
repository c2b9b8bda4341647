"""The only place fink-tui touches Textual's private API; tests/test_textual_compat.py fails
as soon as a Textual release changes any of it.

- A crash report without local variables: Textual's own report prints every local of the
  traceback, and locals can hold credentials. :class:`QuietCrashApp` overrides the private
  ``App._fatal_error`` to hand the traceback to :meth:`QuietCrashApp.crash_report` instead, and
  closes the app the way Textual does (``App._close_messages_no_wait``).
- Escape sequences written to the terminal as they are (the bell and desktop notifications):
  :func:`write_to_terminal` uses the private ``App._driver``, as ``App.bell`` and
  ``App.copy_to_clipboard`` do.
- The radio button under a :class:`~textual.widgets.RadioSet`'s cursor, which Textual keeps in
  the private ``RadioSet._selected``.
"""

from __future__ import annotations

import traceback
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import RadioSet


def write_to_terminal(app: App[Any], text: str) -> bool:
    """Write ``text`` to the terminal as it is; False if there is none (headless, closing)."""
    driver = getattr(app, "_driver", None)
    if driver is None or app.is_headless:
        return False
    driver.write(text)
    return True


class QuietCrashApp(App[int]):
    """An App whose unhandled errors go to :meth:`crash_report`, never to the terminal."""

    def crash_report(self, traceback_text: str) -> None:
        """Record an unhandled error (the app then closes)."""

    def _fatal_error(self) -> None:
        self.crash_report(traceback.format_exc())
        self._close_messages_no_wait()


def highlighted_index(radio_set: RadioSet) -> int | None:
    """The index of the button under the radio set's cursor (None: none)."""
    index = radio_set._selected
    return index if isinstance(index, int) else None


def highlight(radio_set: RadioSet, index: int) -> None:
    """Put the radio set's cursor on button ``index``."""
    radio_set._selected = index


def prepare_mode(app: App[Any], mode: str) -> bool:
    """Build the screen of ``mode`` now without showing it (Textual builds a mode's screen the
    first time it is switched to, which made that first switch the slowest key). False if it
    was built already."""
    if mode in app._screen_stacks:
        return False
    app._init_mode(mode)
    return True


def in_a_stack(app: App[Any], screen: Screen[Any]) -> bool:
    """Whether ``screen`` is in the stack of any mode (shown there, or under another)."""
    return any(screen in stack for stack in app._screen_stacks.values())
