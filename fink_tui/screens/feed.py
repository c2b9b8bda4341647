"""The Feed screen: alerts as they arrive, newest first, with rates per topic.

``/`` filters the rows on a word (any shown column contains it) or a query
(``mag < 19 AND class = 'SN candidate'``, ``candidate.magpsf < 18``: ``core/query.py``); the
title says how many kept alerts match. A query's Avro paths are read with each new alert by
the source's decoding processes; the alerts kept from before are read once by a thread, and
count as "reading" until then. ``s`` sorts on the next column (a click on a column's name sorts
on it), ``S`` reverses, ``n`` goes back to newest first.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from fink_tui.core.paths import carry_paths
from fink_tui.core.query import Query, QueryError, search_or_query, unknown_paths
from fink_tui.model import Section, StreamState
from fink_tui.screens.alert_rows import AlertRowsScreen
from fink_tui.screens.base import TABLE_PACE
from fink_tui.screens.links import COPY, LINKS
from fink_tui.widgets.alert_table import COLUMNS, AlertTable
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.status_bar import StatusBar
from fink_tui.widgets.topic_sparklines import TopicSparklines


class FeedScreen(AlertRowsScreen):
    """Live alerts; Enter opens one."""

    DRAWS = (Section.ALERTS, Section.MATCHES)

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
            "slash",
            "filter",
            "Filter",
            tooltip="Keep the rows with a word, or where a query holds: mag < 19 AND dec > -30",
            id="feed.filter",
            # Checked as the key comes, before the keys typed after it are handed to the
            # focused rows: "/ztf⏎" typed at once is a filter, not an alert opened.
            priority=True,
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="feed.clear_filter"),
        Binding(
            "s",
            "sort_next",
            "Sort",
            tooltip="Sort on the next column (or click a column's name)",
            show=False,  # in the keys panel and the palette: the bar keeps room for 1 2 3
            id="feed.sort",
        ),
        Binding(
            "S", "reverse_sort", "Reverse", tooltip="Reverse the sort order", id="feed.reverse"
        ),
        Binding(
            "n", "newest_first", "Newest first", tooltip="Back to newest first", id="feed.newest"
        ),
        Binding(
            "m",
            "show_matches",
            "Matches",
            tooltip="The alerts that matched the notification (--notify)",
            id="feed.matches",
        ),
        Binding(
            "enter",
            "open_alert",
            "Open",
            tooltip="Fields, light curve and cutouts",
            id="feed.open",
            # As the key comes: the alert opened is the one under the cursor then, and the
            # keys typed after Enter go to the alert screen, not to the rows (as for /).
            priority=True,
        ),
        # In the keys panel and the palette; the bar keeps its room for 1 2 3 at 80 columns.
        replace(COPY, show=False),
        replace(LINKS, show=False),
    ]
    """Keys of the feed."""

    def __init__(self) -> None:
        super().__init__()
        self._table_view: object = None
        self._table_at = 0.0
        self._filter_error = ""
        self._reading: Query | None = None
        """The query whose paths the thread is reading on kept alerts (None: no thread)."""
        self._read_rounds = 0

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="feed-title")
        yield AlertTable(id="alerts")
        yield TopicSparklines(id="rates")
        yield Input(
            placeholder="filter: a word, or a query such as  mag < 19 AND class = 'SN candidate'"
            "  or  candidate.magpsf < 18  (Enter to apply, Esc to clear)",
            id="filter",
        )
        yield KeyBar()

    def update_view(self, state: StreamState) -> None:
        super().update_view(state)
        table = self.query_one(AlertTable)
        minute = datetime.fromtimestamp(state.clock(), tz=UTC).replace(second=0, microsecond=0)
        table.today, table.now = minute.date(), minute  # the ages move once a minute
        table.marked = state.matched
        view = (table.filter_text, table.now, table.order, self._read_rounds)
        now = time.monotonic()
        if self.steady and view == self._table_view and now - self._table_at < TABLE_PACE:
            pass  # rows pouring in: drawn twice a second, leaving the UI free for keys
        elif self.stale(state, "alerts", Section.ALERTS, view=view):
            table.show(list(state.alerts))
            self._title(table)
            self._table_view, self._table_at = view, now
            if table.pending and table.filter_query is not None and self._reading is None:
                self._read_fields(table.filter_query)
        if self.stale(state, "rates", Section.RATES):
            self.query_one(TopicSparklines).show(
                {
                    topic: (f"{counter.per_second():.1f}/s", counter.buckets)
                    for topic, counter in state.rates.items()
                }
            )

    def _title(self, table: AlertTable) -> None:
        kept = len(self.fink.state.alerts)
        title = Text()  # not markup: the filter is the person's text
        if table.filter_text:
            title.append(f"{table.matched:,} match of {kept:,} kept")
            if table.matched > len(table.shown):
                title.append(f" ({len(table.shown):,} shown)")
            what = "query" if table.filter_query is not None else "filter"
            title.append(f" — {what}: {table.filter_text} (Esc clears)")
            if table.pending:
                title.append(f" — reading fields of {table.pending:,} alerts…")
            if table.unchecked:
                title.append(f" — {table.unchecked:,} older not checked (bytes let go)")
            if table.filter_query is not None:
                schemas = (seen.info for seen in self.fink.state.schemas.values())
                missing = unknown_paths(table.filter_query, schemas)
                if missing:
                    what = ", ".join(missing)
                    title.append(f" — no schema seen has {what}", style="yellow")
        else:
            title.append(f"{len(table.shown):,} shown of {kept:,} kept")
        if table.sort_column is not None:
            arrow = "▼" if table.descending else "▲"
            name = COLUMNS[table.sort_column].name
            title.append(f" — sorted by {name} {arrow} (n: newest first)")
        if table.new_above:
            title.append(f" — {table.new_above} new above ↑ (Home)")
        if self._filter_error:
            title.append(f" — {self._filter_error}", style="bold red")
        self.query_one("#feed-title", Static).update(title, layout=False)  # height 1

    def on_alert_table_row_highlighted(self, event: AlertTable.RowHighlighted) -> None:
        self._title(event.table)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # One key, two bindings: the footer shows the one that applies now.
        if action == "pause":
            return not self.fink.state.paused
        if action == "resume":
            return self.fink.state.paused
        if action in ("reverse_sort", "newest_first"):
            return self.query_one(AlertTable).sort_column is not None
        if action in ("filter", "open_alert"):
            # In the box, / is a character and Enter applies the filter. Enter is shown
            # enabled from the start, as the rows' own Enter was (an empty feed opens nothing).
            return not isinstance(self.focused, Input)
        if action == "show_matches":
            return self.fink.state.notify is not None or self.fink.state.match_count > 0
        return super().check_action(action, parameters)

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
        self.set_focus(box)  # now, not after the keys already typed: they are the filter's

    def action_clear_filter(self) -> None:
        """Drop the filter and hide its input."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("visible")
        self._apply_filter("")
        self.set_focus(self.query_one(AlertTable))  # keys go back to the rows, not the box

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self._apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            # The title says the filter; the box, over the rates, goes until / edits it.
            event.input.remove_class("visible")
            self.set_focus(self.query_one(AlertTable))

    def set_filter(self, text: str) -> None:
        """Filter on ``text`` as if typed (a saved filter picked from the palette)."""
        box = self.query_one("#filter", Input)
        box.value = text  # what / edits; its change applies it
        self._apply_filter(text)

    def action_show_matches(self) -> None:
        """The alerts that matched the notification."""
        self.fink.show_matches()

    def _apply_filter(self, text: str) -> None:
        """Filter on ``text``: a query if it is one, else a word; a query with a mistake
        leaves the rows as they were and says where the mistake is."""
        table = self.query_one(AlertTable)
        text = text.strip()
        try:
            query = search_or_query(text)
        except QueryError as exc:
            self._filter_error = str(exc)
            self._title(table)
            return
        self._filter_error = ""
        table.filter_text, table.filter_query = text, query
        self.fink.carry_paths("feed", query.paths if query is not None else ())
        self.redraw(self.fink.state)

    @work(thread=True, exclusive=True, group="feed-fields")
    def _read_fields(self, query: Query) -> None:
        """Read the query's paths of the kept alerts that came without them (from before the
        query, or decoded while it was sent), off the UI thread, newest first."""
        self._reading = query
        worker = get_current_worker()
        try:
            for alert in reversed(list(self.fink.state.alerts)):
                if worker.is_cancelled or self._table_query() is not query:
                    return
                if alert.held and not query.carried(alert):
                    carry_paths(alert, query.paths)
        finally:
            try:
                self.app.call_from_thread(self._fields_read)
            except RuntimeError:  # the app closed meanwhile
                pass

    def _table_query(self) -> Query | None:
        return self.query_one(AlertTable).filter_query

    def _fields_read(self) -> None:
        self._reading = None
        self._read_rounds += 1
        self.redraw(self.fink.state)

    def action_sort_next(self) -> None:
        """Sort on the next shown column (after the last: newest first again)."""
        table = self.query_one(AlertTable)
        shown = table.shown_columns
        if table.sort_column is None:
            column: int | None = shown[0]
        else:
            later = [c for c in shown if c > table.sort_column]
            column = later[0] if later else None
        self._sort(column, False)

    def action_reverse_sort(self) -> None:
        """Reverse the order of the sorted column."""
        table = self.query_one(AlertTable)
        self._sort(table.sort_column, not table.descending)

    def action_newest_first(self) -> None:
        """Back to newest first."""
        self._sort(None, False)

    def on_alert_table_header_clicked(self, event: AlertTable.HeaderClicked) -> None:
        table = event.table
        same = table.sort_column == event.column
        self._sort(event.column, not table.descending if same else False)

    def _sort(self, column: int | None, descending: bool) -> None:
        table = self.query_one(AlertTable)
        table.sort_column, table.descending = column, descending
        self.refresh_bindings()
        self.redraw(self.fink.state)
