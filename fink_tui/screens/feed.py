"""The Feed screen: alerts as they arrive, newest first, with rates per topic."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from fink_tui.model import Section, StreamState
from fink_tui.screens.base import TABLE_PACE, DashboardScreen
from fink_tui.widgets.alert_table import AlertTable
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.status_bar import StatusBar
from fink_tui.widgets.topic_sparklines import TopicSparklines


class FeedScreen(DashboardScreen):
    """Live alerts; Enter opens one."""

    BINDINGS = [
        Binding(
            "space",
            "pause",
            "Pause",
            tooltip="Stop reading (and committing) alerts",
            id="feed.pause",
        ),
        Binding("space", "resume", "Resume", tooltip="Read alerts again", id="feed.resume"),
        Binding(
            "slash", "filter", "Filter", tooltip="Filter rows on any shown column", id="feed.filter"
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="feed.clear_filter"),
        Binding(
            "enter", "open_alert", "Open", tooltip="Fields, light curve and cutouts", id="feed.open"
        ),
    ]
    """Keys of the feed."""

    def __init__(self) -> None:
        super().__init__()
        self._table_view: object = None
        self._table_at = 0.0

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="feed-title")
        yield AlertTable(id="alerts")
        yield TopicSparklines(id="rates")
        yield Input(
            placeholder="filter: text in any column (Enter to apply, Esc to clear)", id="filter"
        )
        yield KeyBar()

    def update_view(self, state: StreamState) -> None:
        super().update_view(state)
        table = self.query_one(AlertTable)
        table.today = datetime.fromtimestamp(state.clock(), tz=UTC).date()
        view = (table.filter_text, table.today)
        now = time.monotonic()
        if self.steady and view == self._table_view and now - self._table_at < TABLE_PACE:
            pass  # rows pouring in: drawn twice a second, leaving the UI free for keys
        elif self.stale(state, "alerts", Section.ALERTS, view=view):
            table.show(list(state.alerts))
            self._title(table)
            self._table_view, self._table_at = view, now
        if self.stale(state, "rates", Section.RATES):
            self.query_one(TopicSparklines).show(
                {
                    topic: (f"{counter.per_second():.1f}/s", counter.buckets)
                    for topic, counter in state.rates.items()
                }
            )

    def _title(self, table: AlertTable) -> None:
        kept = len(self.fink.state.alerts)
        title = f"{len(table.shown)} shown of {kept} kept"
        if table.filter_text:
            title += f" — filter: {table.filter_text}"
        if table.new_above:
            title += f" — {table.new_above} new above ↑ (Home)"
        self.query_one("#feed-title", Static).update(title, layout=False)  # height 1

    def on_alert_table_row_highlighted(self, event: AlertTable.RowHighlighted) -> None:
        self._title(event.table)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # One key, two bindings: the footer shows the one that applies now.
        if action == "pause":
            return not self.fink.state.paused
        if action == "resume":
            return self.fink.state.paused
        if action == "open_alert":
            return self.query_one(AlertTable).selected_alert() is not None or None
        return True

    def action_pause(self) -> None:
        """Pause consumption: nothing new is read or committed until resumed."""
        self.fink.set_paused(True)

    def action_resume(self) -> None:
        """Resume consumption."""
        self.fink.set_paused(False)

    def action_filter(self) -> None:
        """Show the filter input."""
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and hide its input."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("visible")
        self._apply_filter("")
        self.query_one(AlertTable).focus()  # keys go back to the rows, not the hidden box

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self._apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value:
                event.input.remove_class("visible")
            self.query_one(AlertTable).focus()

    def _apply_filter(self, text: str) -> None:
        table = self.query_one(AlertTable)
        table.filter_text = text.strip()
        self.redraw(self.fink.state)

    def on_alert_table_row_selected(self, event: AlertTable.RowSelected) -> None:
        self.action_open_alert()

    def action_open_alert(self) -> None:
        """Open the selected alert: fields, light curve, cutouts."""
        alert = self.query_one(AlertTable).selected_alert()
        if alert is not None:
            from fink_tui.screens.alert import AlertScreen

            self.app.push_screen(AlertScreen(alert))
