"""The live table of alerts, newest first (or sorted on a column), filtered by a word or a
query (``core/query.py``).

A line-API widget rather than a ``DataTable``: a DataTable renders every visible cell again
(Rich padding and cropping, ~0.3 ms a cell) whenever a row is added or removed, the focus moves
or the size changes, which made the feed cost 100+ ms of the UI thread per batch and per key.
Here each row is one :class:`Strip`, made once per row and look (zebra stripe, cursor) and kept;
new rows cost their own strip only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from fink_tui.core.decode import Alert, MessageRef
from fink_tui.core.query import Query
from fink_tui.widgets.row_cursor import RowCursor


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


BAND_LOOKS = {band: Style.parse(style) for band, style in BAND_STYLES.items()}
MARKED = Style(bold=True, color="bright_yellow")
"""A row whose alert matched the notification."""
MARK = "★ "


def alert_key(alert: Alert) -> str:
    """A row key unique on the broker: topic, partition, offset."""
    r = alert.ref
    return f"{r.topic}/{r.partition}/{r.offset}"


def age_text(seconds: float) -> str:
    """How long ago, as a person says it at a glance: ``now``, ``3 min``, ``2 h``."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "now"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h"


def alert_cells(
    alert: Alert, today: date | None = None, now: datetime | None = None
) -> tuple[str, ...]:
    """The text of an alert, one string per column (also what the filter searches): the
    time with its date unless it is ``today``, and then its age at ``now`` where it fits."""
    s = alert.summary
    when = ""
    if s.time:
        if s.time.date() != today:
            when = s.time.strftime("%Y-%m-%d %H:%M:%S")
        elif now is not None and s.time <= now + timedelta(minutes=1):
            when = f"{s.time:%H:%M:%S} {age_text((now - s.time).total_seconds()):>6}"
        else:
            when = s.time.strftime("%H:%M:%S")
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


def sort_value(alert: Alert, column: int) -> Any:
    """What rows are ordered by on ``column`` (None: an empty cell, always last). Magnitudes
    come before fluxes; numeric ids sort as numbers."""
    s = alert.summary
    match column:
        case 0:
            return s.time
        case 1:
            return alert.ref.topic
        case 2:
            ident = s.object_id
            return (0, int(ident), "") if ident.isdigit() else (1, 0, ident) if ident else None
        case 3:
            return s.classification or None
        case 4:
            return (0, s.mag) if s.mag is not None else (1, s.flux) if s.flux is not None else None
        case 5:
            return s.band or None
        case 6:
            return s.ra
        case 7:
            return s.dec
        case _:
            ident = s.source_id
            return (0, int(ident), "") if ident.isdigit() else (1, 0, ident) if ident else None


def sort_rows(
    rows: list[tuple[str, Alert]], column: int, descending: bool
) -> list[tuple[str, Alert]]:
    """``rows`` ordered on ``column`` (ties keep their order), empty cells last either way."""
    valued = [(sort_value(alert, column), key, alert) for key, alert in rows]
    present = [row for row in valued if row[0] is not None]
    present.sort(key=lambda row: row[0], reverse=descending)
    return [(key, alert) for _, key, alert in present] + [
        (key, alert) for value, key, alert in valued if value is None
    ]


def fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut with an ellipsis."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


class TableMessage(Message):
    """A message from an alert table (its ``control``)."""

    def __init__(self, table: AlertTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> AlertTable:
        return self.table


class AlertTable(RowCursor):
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
    """Enter on a row opens its alert (the screen handles the selection; the keys that move
    the cursor: :class:`RowCursor`)."""

    DEFAULT_CSS = """
    AlertTable { height: 1fr; overflow-x: hidden; }
    """

    class RowHighlighted(TableMessage):
        """The cursor moved to another row (or the rows under it changed)."""

    class HeaderClicked(TableMessage):
        """A click on a column's name (the screen sorts on it)."""

        def __init__(self, table: AlertTable, column: int) -> None:
            super().__init__(table)
            self.column = column

    class RowSelected(TableMessage):
        """Enter (or a click on the cursor's row): open this alert."""

        def __init__(self, table: AlertTable, alert: Alert) -> None:
            super().__init__(table)
            self.alert = alert

    def __init__(self, max_rows: int = 500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_rows = max_rows
        self.filter_text = ""
        self.filter_query: Query | None = None
        """The filter as a query (None: :attr:`filter_text` is a word to search for)."""
        self.marked: set[MessageRef] | frozenset[MessageRef] = frozenset()
        """Alerts whose rows are marked (★, bold): those that matched the notification."""
        self.sort_column: int | None = None
        """The column rows are ordered on (None: newest first)."""
        self.descending = False
        self.matched = 0
        """Kept alerts that pass the filter (more than are shown past ``max_rows``)."""
        self.pending = 0
        """Kept alerts whose fields the query reads are not read yet (left out meanwhile)."""
        self.unchecked = 0
        """Older alerts the query cannot check: their bytes were let go before it asked for
        those fields (left out, and said in the title)."""
        self.shown: dict[str, Alert] = {}
        """The rows, by key, newest first."""
        self.new_above = 0
        """Alerts that arrived above the cursor since the user moved away from the top."""
        self.today: date | None = None
        self.now: datetime | None = None
        """The minute the ages are counted to (None: no ages)."""
        """Times of this day are shown without their date."""
        self._drawn_filter = ""
        self._drawn_clock: tuple[date | None, datetime | None] = (None, None)
        self._drawn_order: tuple[int | None, bool] = (None, False)
        self._columns: tuple[int, ...] = ()
        self._cells: dict[str, list[Segment]] = {}
        """Each row's text, cut to its columns, without the row's background."""

    # --- the DataTable-like surface the screens and tests use ------------------------------

    def get_row_at(self, index: int) -> tuple[str, ...]:
        """The text of each shown column of row ``index``."""
        cells = alert_cells(self.shown[self._keys[index]], self.today, self.now)
        return tuple(cells[i] for i in self._columns)

    def selected_alert(self) -> Alert | None:
        """The alert under the cursor, if any."""
        key = self.selected_key()
        return self.shown.get(key) if key else None

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row ``row`` (clamped), scrolled into view; on the newest row,
        nothing is new above it any more."""
        super().move_cursor(row)
        if self.cursor_row == 0:
            self.new_above = 0

    def cursor_moved(self) -> None:
        self.post_message(self.RowHighlighted(self))

    # --- rows from the model -------------------------------------------------------------------

    def on_mount(self) -> None:
        self._set_columns(self.size.width or 160)

    def on_resize(self, event: events.Resize) -> None:
        if self._set_columns(event.size.width):
            self.refresh()

    def _set_columns(self, width: int) -> bool:
        """Choose the columns for ``width``; True if they changed (the rows must be redrawn)."""
        chosen = columns_for(width)
        if chosen == self._columns:
            return False
        self._columns = chosen
        self._cells.clear()
        self._strips.clear()
        return True

    @property
    def shown_columns(self) -> tuple[int, ...]:
        """The indices (in :data:`COLUMNS`) of the columns that fit, in the order shown."""
        return self._columns

    @property
    def order(self) -> tuple[int | None, bool]:
        """How rows are ordered: the column (None: newest first) and whether descending."""
        return self.sort_column, self.descending

    def _wanted(self, alerts: list[Alert]) -> list[tuple[str, Alert]]:
        """The rows to show: newest first (or sorted), each alert once, filtered, at most
        ``max_rows``; counts the matches (:attr:`matched`) and the alerts not yet readable."""
        query = self.filter_query
        needle = self.filter_text.lower() if query is None else ""
        # Unfiltered and unsorted, the newest max_rows are all that is needed.
        everything = bool(query or needle) or self.sort_column is not None
        rows: list[tuple[str, Alert]] = []
        seen: set[str] = set()
        self.pending = self.unchecked = 0
        for alert in reversed(alerts):
            key = alert_key(alert)
            if key in seen:  # read again after a reset: the newest copy is the row
                continue
            seen.add(key)
            if query is not None:
                if not query.carried(alert):
                    if alert.held:
                        self.pending += 1  # its fields are being read (see the feed screen)
                    else:
                        self.unchecked += 1  # its bytes were let go before the query came
                    continue
                if not query.matches(alert):
                    continue
            elif needle and not any(
                needle in c.lower() for c in alert_cells(alert, self.today, self.now)
            ):
                continue
            rows.append((key, alert))
            if not everything and len(rows) >= self.max_rows:
                break
        self.matched = len(rows)
        if self.sort_column is not None:
            rows = sort_rows(rows, self.sort_column, self.descending)
        return rows[: self.max_rows]

    def show(self, alerts: list[Alert]) -> None:
        """Show ``alerts`` (oldest first, as the model keeps them) newest first."""
        rows = self._wanted(alerts)
        current = self.selected_key()
        following = current is None or self.cursor_row == 0
        reordered, self._drawn_order = self.order != self._drawn_order, self.order
        clock = (self.today, self.now)
        if self.filter_text != self._drawn_filter or clock != self._drawn_clock:
            self._cells.clear()
            self._strips.clear()
            self._drawn_filter, self._drawn_clock = self.filter_text, clock
        elif (
            not reordered
            and [key for key, _ in rows] == self._keys
            and all(self.shown[key] is alert for key, alert in rows)
        ):
            return
        new = sum(1 for key, _ in rows if key not in self.shown)
        for key, alert in rows:
            if self.shown.get(key) not in (None, alert):  # the same offset read again
                self._cells.pop(key, None)
        self.shown = dict(rows)
        self._keys = list(self.shown)
        for gone in self._cells.keys() - self.shown.keys():
            del self._cells[gone]
        self._strips = {k: v for k, v in self._strips.items() if k[0] in self.shown}
        self.virtual_size = Size(0, len(self._keys) + 1)  # the header is line 0
        if following or current not in self.shown:
            self.new_above = 0
            self.cursor_row = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        else:
            self.new_above += new
            self.cursor_row = self._keys.index(current)
            # The person's alert stays where it was on screen: the view moves with it.
            self.scroll_to(y=self.scroll_y + new, animate=False, immediate=True)
            self._scroll_to_cursor()
        self.refresh()
        if self.selected_key() != current:
            self.post_message(self.RowHighlighted(self))

    # --- drawing -----------------------------------------------------------------------------

    def _row_cells(self, key: str) -> list[Segment]:
        cells = self._cells.get(key)
        if cells is None:
            alert = self.shown[key]
            text = alert_cells(alert, self.today, self.now)
            marked = alert.ref in self.marked
            cells = []
            for i in self._columns:
                column = COLUMNS[i]
                style = BAND_LOOKS.get(text[i]) if i == 5 else MARKED if marked else None
                shown = MARK + text[i] if marked and i == 3 else text[i]
                cells.append(Segment(" " + fit(shown, column.width) + " ", style))
            self._cells[key] = cells
        return cells

    def _header(self, width: int) -> Strip:
        look = self.look("header")
        names = []
        for i in self._columns:
            name = COLUMNS[i].name
            if i == self.sort_column:
                name = f"{name} {'▼' if self.descending else '▲'}"
            names.append(Segment(" " + fit(name, COLUMNS[i].width) + " "))
        return Strip(names).apply_style(look).extend_cell_length(width, look).crop(0, width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(width)
        index = self.scroll_offset.y + y - 1
        if index >= len(self._keys):
            return self.blank(width)
        key = self._keys[index]
        look = "cursor" if index == self.cursor_row else ("even-row" if index % 2 else "row")
        strip = self._strips.get((key, look))
        if strip is None or strip.cell_length != width:
            style = self.look(look)
            strip = (
                Strip(self._row_cells(key))
                .apply_style(style)
                .extend_cell_length(width, style)
                .crop(0, width)
            )
            self._strips[(key, look)] = strip
        return strip

    def _refresh_row(self, index: int) -> None:
        self.refresh_line(index + 1)

    # --- the cursor ---------------------------------------------------------------------------

    def action_select_cursor(self) -> None:
        """Open the alert under the cursor."""
        alert = self.selected_alert()
        if alert is not None:
            self.post_message(self.RowSelected(self, alert))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            left = 0
            for i in self._columns:
                left += COLUMNS[i].width + CELL_PADDING
                if event.x < left:
                    self.post_message(self.HeaderClicked(self, i))
                    return
            return
        self.click_row(event)
