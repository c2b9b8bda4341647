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
- Screens built ahead, out of sight: :func:`prepare_mode` (``App._init_mode``, and the screen's
  ``_css_update_count``), :func:`in_a_stack` (``App._screen_stacks``).
- Default CSS parsed ahead: :func:`load_default_css` (``DOMNode._get_default_css`` and
  ``_css_bases``, the stylesheet's ``add_source`` and ``rules_map``).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
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
    # _init_mode styled the new screen, but marks as styled only the screens of the mode
    # shown: the first switch to this one parsed and applied the whole stylesheet again
    # (~55 ms of that key). A theme changed later still restyles it when it is shown.
    app._screen_stacks[mode][0]._css_update_count = app._css_update_count
    return True


def load_default_css(app: App[Any], classes: Iterable[type[DOMNode]]) -> None:
    """Add the ``DEFAULT_CSS`` of these classes to the app's stylesheet and parse it now.
    Textual adds a class's default CSS when its first widget is mounted, and the whole
    stylesheet is then parsed again: 30-70 ms of the key that first opens a dialog."""
    stylesheet = app.stylesheet
    for cls in classes:
        # What DOMNode._get_default_css reads of an instance: its CSS bases.
        stand_in = SimpleNamespace(_node_bases=cls._css_bases(cls))
        for read_from, css, tie_breaker, scope in DOMNode._get_default_css(stand_in):  # type: ignore[arg-type]
            stylesheet.add_source(
                css,
                read_from=read_from,
                is_default_css=True,
                tie_breaker=tie_breaker,
                scope=scope,
            )
    _ = stylesheet.rules_map  # parsed here, not at the first dialog


def widget_classes() -> list[type[DOMNode]]:
    """Every widget class imported so far (screens included), ancestors first."""
    found: list[type[DOMNode]] = []
    todo: list[type[DOMNode]] = [Widget]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def in_a_stack(app: App[Any], screen: Screen[Any]) -> bool:
    """Whether ``screen`` is in the stack of any mode (shown there, or under another)."""
    return any(screen in stack for stack in app._screen_stacks.values())
