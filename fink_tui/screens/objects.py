"""The Objects screen: the stream's alerts grouped by object, and one object's alerts."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fink_tui.core.decode import Alert
from fink_tui.model import Section, StreamState, TrackedObject
from fink_tui.screens.alert_rows import AlertRowsScreen
from fink_tui.screens.base import DashboardScreen
from fink_tui.screens.links import COPY, LINKS, LinksModal, copy_id
from fink_tui.widgets.alert_table import AlertTable
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.line_table import LineTable
from fink_tui.widgets.object_table import ObjectTable
from fink_tui.widgets.status_bar import StatusBar

MAX_ROWS = 500
"""Objects shown: the most recently updated."""
OBJECTS_PACE = 1.0
"""Seconds between two redraws of the table by the refresh timer while alerts pour in."""


class ObjectsScreen(DashboardScreen):
    """Objects of the stream since the app started, the most recently updated first."""

    DRAWS = (Section.ALERTS,)

    BINDINGS = [
        Binding("enter", "open_object", "Alerts", tooltip="The object's alerts", id="objects.open"),
        COPY,
        LINKS,
    ]
    """Keys of the objects table."""

    def __init__(self) -> None:
        super().__init__()
        self._table_at = 0.0

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="objects-title")
        yield ObjectTable(id="objects")
        yield KeyBar()

    def update_view(self, state: StreamState) -> None:
        super().update_view(state)
        now = time.monotonic()
        if self.steady and now - self._table_at < OBJECTS_PACE:
            return
        if self.stale(state, "objects", Section.ALERTS):
            table = self.query_one(ObjectTable)
            table.show(state.objects.recent(MAX_ROWS))
            self._table_at = now
            book = state.objects
            new = sum(1 for o in table.shown.values() if o.new)
            title = f"{len(book):,} objects since the app started"
            if len(book) > len(table.shown):
                title += f" — the {len(table.shown):,} most recently seen shown"
            if new:
                title += f" — {new} new (first published since the start)"
            self.query_one("#objects-title", Static).update(title)

    def selected(self) -> TrackedObject | None:
        """The object under the cursor."""
        return self.query_one(ObjectTable).selected_object()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_object", "copy_id", "links"):
            return self.selected() is not None or None
        return True

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        self.action_open_object()

    def on_line_table_row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def action_open_object(self) -> None:
        """Show the selected object's alerts."""
        obj = self.selected()
        if obj is not None:
            self.app.push_screen(ObjectAlertsScreen(obj.survey, obj.object_id))

    def action_copy_id(self) -> None:
        """Copy the selected object's id."""
        obj = self.selected()
        if obj is not None:
            copy_id(self.app, obj.latest.summary)

    def action_links(self) -> None:
        """The selected object's pages: Fink portal, TNS, SIMBAD."""
        obj = self.selected()
        if obj is not None:
            self.app.push_screen(LinksModal(obj.latest.summary))


class ObjectAlertsScreen(AlertRowsScreen):
    """One object's alerts still in the feed, newest first — or, once they all left it, its
    latest alert (read again from the source to be opened); Enter opens one."""

    BINDINGS = [
        Binding(
            "escape,q", "app.pop_screen", "Back", tooltip="Back to the objects", id="object.back"
        ),
        Binding(
            "enter",
            "open_alert",
            "Open",
            tooltip="Fields, light curve and cutouts",
            id="object.open",
        ),
        COPY,
        LINKS,
    ]
    """Keys of an object's alerts."""

    def __init__(self, survey: str, object_id: str) -> None:
        super().__init__()
        self.survey = survey
        self.object_id = object_id

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="object-title")
        yield AlertTable(id="object-alerts")
        yield KeyBar()

    def in_feed(self, state: StreamState) -> list[Alert]:
        """The object's alerts among those the feed keeps, oldest first."""
        return [
            a
            for a in state.alerts
            if a.summary.object_id == self.object_id and a.summary.survey == self.survey
        ]

    def update_view(self, state: StreamState) -> None:
        super().update_view(state)
        if not self.stale(state, "alerts", Section.ALERTS):
            return
        table = self.query_one(AlertTable)
        in_feed = self.in_feed(state)
        obj = state.objects.get(self.survey, self.object_id)
        kept = in_feed or ([obj.latest] if obj is not None else [])
        table.show(kept)
        total = obj.alerts if obj is not None else len(kept)
        title = f"{self.object_id} — {total:,} alert{'' if total == 1 else 's'} since the start"
        if not in_feed and kept:
            title += ", the latest shown (the others left the feed)"
        elif len(kept) < total:
            title += f", {len(kept):,} still in the feed"
        let_go = sum(not a.held for a in kept)
        if let_go:
            some = "" if let_go == len(kept) else f" {let_go:,} of them"
            title += f";{some} read again to open"
        self.query_one("#object-title", Static).update(title)
