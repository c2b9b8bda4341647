"""The live table of alerts, newest first, with a text filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable

from fink_tui.core.decode import Alert
from fink_tui.widgets.table_cursor import RowTable, cursor_row_key, move_cursor_to_key


@dataclass(frozen=True)
class Column:
    """A column of the feed: its width, and which go first when the screen is narrow."""

    name: str
    width: int
    rank: int
    """0 is shown always; higher ranks only if there is room, lowest first."""


COLUMNS = (
    Column("Time (UTC)", 19, 0),
    Column("Topic", 24, 5),
    Column("Object", 18, 1),
    Column("Class", 20, 2),
    Column("Mag / Flux", 12, 3),
    Column("Band", 4, 4),
    Column("RA", 10, 6),
    Column("Dec", 10, 6),
    Column("Source id", 19, 7),
)
"""In the order shown; the id, class, brightness and time matter most."""
CELL_PADDING = 2
SCROLLBAR = 2


def columns_for(width: int) -> tuple[int, ...]:
    """The columns that fit ``width`` cells, whole: by rank, in the order shown."""
    budget = width - SCROLLBAR
    chosen: list[int] = []
    for rank in sorted({c.rank for c in COLUMNS}):
        group = [i for i, c in enumerate(COLUMNS) if c.rank == rank]
        need = sum(COLUMNS[i].width + CELL_PADDING for i in group)
        if need <= budget or rank == 0:
            chosen.extend(group)
            budget -= need
    return tuple(sorted(chosen))


BAND_STYLES = {
    "u": "magenta",
    "g": "green",
    "r": "red",
    "i": "dark_orange",
    "z": "yellow",
    "y": "bright_yellow",
}


def alert_key(alert: Alert) -> str:
    """A row key unique on the broker: topic, partition, offset."""
    r = alert.ref
    return f"{r.topic}/{r.partition}/{r.offset}"


def alert_cells(alert: Alert, today: date | None = None) -> tuple[str, ...]:
    """The text of an alert, one string per column (also what the filter searches): the
    time with its date unless it is ``today``."""
    s = alert.summary
    when = ""
    if s.time:
        when = s.time.strftime("%H:%M:%S" if s.time.date() == today else "%Y-%m-%d %H:%M:%S")
    return (
        when,
        alert.ref.topic.removeprefix("fink_"),
        s.object_id or f"{alert.ref.partition}:{alert.ref.offset}",
        s.classification,
        s.brightness,
        s.band,
        f"{s.ra:.5f}" if s.ra is not None else "",
        f"{s.dec:+.5f}" if s.dec is not None else "",
        s.source_id,
    )


class AlertTable(RowTable):
    """Alerts newest first, drawn from the model: new rows are added and dropped ones removed
    (never a rebuild for a new batch). While the cursor is on the newest row the view follows
    new alerts, like ``tail -f``; once the user moves away it stays on their alert, and
    :attr:`new_above` counts what arrived above it."""

    BINDINGS = [
        Binding(
            "enter",
            "select_cursor",
            "Open",
            tooltip="Fields, light curve and cutouts of the alert",
            id="feed.open_row",
        ),
    ]
    """Enter on a row opens its alert (the screen handles the selection): said in the footer
    rather than DataTable's hidden "Select"."""

    DEFAULT_CSS = """
    AlertTable { height: 1fr; }
    """

    def __init__(self, max_rows: int = 500, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.max_rows = max_rows
        self.filter_text = ""
        self.shown: dict[str, Alert] = {}
        """The rows, by key, newest first."""
        self.new_above = 0
        """Alerts that arrived above the cursor since the user moved away from the top."""
        self.today: date | None = None
        """Times of this day are shown without their date."""
        self._first_cell: dict[str, Text] = {}
        self._drawn_filter = ""
        self._drawn_today: date | None = None
        self._columns: tuple[int, ...] = ()

    def _set_columns(self, width: int) -> bool:
        """Choose the columns for ``width``; True if they changed (the rows must be redrawn)."""
        chosen = columns_for(width)
        if chosen == self._columns:
            return False
        self._columns = chosen
        rows = list(self.shown.items())
        self.clear(columns=True)
        for i in chosen:
            self.add_column(COLUMNS[i].name, key=COLUMNS[i].name, width=COLUMNS[i].width)
        self._rebuild(rows)
        return True

    def on_mount(self) -> None:
        self._set_columns(self.size.width or 160)

    def on_resize(self, event: events.Resize) -> None:
        self._set_columns(event.size.width)

    def _wanted(self, alerts: list[Alert]) -> list[tuple[str, Alert]]:
        """The rows to show: newest first, each alert once, filtered, at most ``max_rows``."""
        needle = self.filter_text.lower()
        rows: list[tuple[str, Alert]] = []
        seen: set[str] = set()
        for alert in reversed(alerts):
            key = alert_key(alert)
            if key in seen:  # read again after a reset: the newest copy is the row
                continue
            seen.add(key)
            if needle and not any(needle in c.lower() for c in alert_cells(alert, self.today)):
                continue
            rows.append((key, alert))
            if len(rows) >= self.max_rows:
                break
        return rows

    def show(self, alerts: list[Alert]) -> None:
        """Show ``alerts`` (oldest first, as the model keeps them) newest first."""
        rows = self._wanted(alerts)
        current = self.selected_key()
        following = current is None or self.cursor_row == 0
        wanted = {key for key, _ in rows}
        gone = [key for key in self.shown if key not in wanted]
        new = [(key, alert) for key, alert in rows if key not in self.shown]
        if (
            self.filter_text != self._drawn_filter
            or self.today != self._drawn_today
            or len(gone) + len(new) > self.max_rows // 2
            or any(self.shown[key] is not alert for key, alert in rows if key in self.shown)
        ):
            self._rebuild(rows)
        elif gone or new:
            for key in gone:
                self.remove_row(key)
                del self.shown[key]
                del self._first_cell[key]
            for key, alert in new:
                self._add(key, alert)
            rank = {id(self._first_cell[key]): i for i, (key, _) in enumerate(rows)}
            self.sort(key=lambda cells: rank[id(cells[0])])
            self.shown = {key: alert for key, alert in rows}
        else:
            return
        if following or current not in self.shown:
            self.new_above = 0
            if self.row_count:
                self.move_cursor(row=0, animate=False)
        else:
            self.new_above += len(new)
            move_cursor_to_key(self, current)

    def _rebuild(self, rows: list[tuple[str, Alert]]) -> None:
        self.clear()
        self.shown, self._first_cell = {}, {}
        self._drawn_filter, self._drawn_today = self.filter_text, self.today
        for key, alert in rows:
            self._add(key, alert)
            self.shown[key] = alert

    def _add(self, key: str, alert: Alert) -> None:
        cells = alert_cells(alert, self.today)
        # Text, not str: a DataTable reads str cells as markup, and alert text is data.
        styled = [Text(cells[i], no_wrap=True, overflow="ellipsis") for i in self._columns]
        if 5 in self._columns:
            styled[self._columns.index(5)].stylize(BAND_STYLES.get(cells[5], ""))
        self.add_row(*styled, key=key)
        self._first_cell[key] = styled[0]
        self.shown[key] = alert

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row == 0:
            self.new_above = 0

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        return cursor_row_key(self)

    def selected_alert(self) -> Alert | None:
        """The alert under the cursor, if any."""
        key = self.selected_key()
        return self.shown.get(key) if key else None
