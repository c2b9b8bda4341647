"""Notifications: the alerts of the night that matched ``--notify EXPR`` (or "Notify me when…"
from the command palette), on their own screen, and the dialog that asks for the expression.

When an alert matches, the app rings the terminal's bell, sends a desktop notification through
the terminal (``core/terminal.py``) and marks the alert's row in the feed; the model keeps the
matches (``StreamState.matches``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from fink_tui.core.query import QueryError, compile_query
from fink_tui.screens.alert_rows import AlertRows
from fink_tui.widgets.alert_table import AlertTable
from fink_tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from fink_tui.app import FinkApp


class MatchesScreen(AlertRows):
    """The alerts that matched the notification query since the app started, newest first."""

    BINDINGS = [
        Binding(
            "escape,q", "app.pop_screen", "Back", tooltip="Back to the feed", id="matches.back"
        ),
        Binding(
            "enter",
            "open_alert",
            "Open",
            tooltip="Fields, light curve and cutouts",
            id="matches.open",
        ),
    ]
    """Keys of the matches screen."""

    DEFAULT_CSS = """
    MatchesScreen #matches-title { height: 1; padding: 0 1; color: $text-muted; }
    """

    @property
    def fink(self) -> FinkApp:
        """The app, typed."""
        return cast("FinkApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="matches-title")
        yield AlertTable(max_rows=1000, id="matches")
        yield KeyBar()

    def on_mount(self) -> None:
        self.show_matches()
        self.set_interval(0.5, self.show_matches)

    def show_matches(self) -> None:
        """Draw the matches the model holds now."""
        state = self.fink.state
        table = self.query_one(AlertTable)
        table.today = datetime.fromtimestamp(state.clock(), tz=UTC).date()
        table.show(list(state.matches))
        query = state.notify
        what = f"when {query.text}" if query is not None else "off"
        count = state.match_count
        text = Text(f"{count:,} alert{'' if count == 1 else 's'} matched — notify {what}")
        if state.match_count > len(state.matches):
            text.append(f" ({len(state.matches):,} newest kept)")
        self.query_one("#matches-title", Static).update(text)


class NotifyModal(ModalScreen[str | None]):
    """Asks for the notification expression: returns it (checked), "" to stop notifying, or
    None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="notify.cancel")]
    """Keys of the dialog."""

    DEFAULT_CSS = """
    NotifyModal { align: center middle; background: $background; }
    NotifyModal > Vertical {
        width: 90; max-width: 100%; height: auto; border: thick $accent; background: $surface;
        padding: 1 2;
    }
    NotifyModal Label { width: 100%; }
    NotifyModal #error { color: $error; height: auto; }
    """

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                "Notify me when an alert arrives where this holds (bell, desktop notification, "
                "marked row). Enter sets it; an empty line stops notifying; Esc cancels."
            )
            yield Input(
                value=self.current,
                placeholder="class = 'SN candidate' AND mag < 19   or   candidate.magpsf < 17",
                id="expression",
            )
            yield Label("", id="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            try:
                compile_query(text)
            except QueryError as exc:
                self.query_one("#error", Label).update(Text(str(exc)))
                return
        self.dismiss(text)

    def action_cancel(self) -> None:
        """Close without changing the notification."""
        self.dismiss(None)
