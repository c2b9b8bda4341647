"""The table of objects: the stream's alerts grouped by object, most recently updated first."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import events
from textual.binding import Binding

from fink_tui.model import TrackedObject
from fink_tui.widgets.alert_table import BAND_STYLES
from fink_tui.widgets.table_cursor import RowTable, cursor_row_key, move_cursor_to_key

COLUMNS = (
    ("Object", 18),
    ("", 3),
    ("Alerts", 6),
    ("First seen", 11),
    ("Last seen", 11),
    ("Mag / Flux", 11),
    ("Change", 7),
    ("Band", 4),
    ("Class", 20),
    ("Topics", 28),
)
"""Name and width; the first column (the id) never changes for a row."""
RANKS = (0, 0, 1, 5, 3, 1, 4, 4, 2, 6)
"""Which columns go first when the terminal is narrow (0: always; then the lowest ranks)."""
TOPICS = len(COLUMNS) - 1
MIN_TOPICS = 12
CELL_PADDING = 2
SCROLLBAR = 2


def columns_for(width: int) -> tuple[tuple[int, int], ...]:
    """(column, width) of the columns that fit ``width`` cells, in the order shown: by rank,
    whole; the topics take what is left (cut with an ellipsis), if that is enough to read."""
    budget = width - SCROLLBAR
    chosen: dict[int, int] = {}
    for rank in sorted(set(RANKS)):
        group = [i for i, r in enumerate(RANKS) if r == rank and i != TOPICS]
        need = sum(COLUMNS[i][1] + CELL_PADDING for i in group)
        if group and (need <= budget or rank == 0):
            chosen.update((i, COLUMNS[i][1]) for i in group)
            budget -= need
    if budget - CELL_PADDING >= MIN_TOPICS:
        chosen[TOPICS] = min(COLUMNS[TOPICS][1], budget - CELL_PADDING)
    return tuple(sorted(chosen.items()))


def object_key(obj: TrackedObject) -> str:
    """A row key: the survey and the id (a ZTF and an LSST id cannot meet)."""
    return f"{obj.survey}/{obj.object_id}"


def _when(moment: datetime) -> str:
    return moment.strftime("%m-%d %H:%M")


def change_text(obj: TrackedObject) -> Text:
    """The change of brightness since the previous alert in the same band: green when the
    object brightened (a magnitude falls, a flux rises), red when it faded."""
    change = obj.change
    if change is None:
        return Text("")
    magnitude = obj.latest.summary.mag is not None
    text = f"{change:+.2f}" if magnitude else f"{change:+,.0f}"
    brighter = change < 0 if magnitude else change > 0
    return Text(text, style="green" if brighter else "red" if change else "")


def object_cells(obj: TrackedObject) -> tuple[Text, ...]:
    """One row of the table (Text, not str: a DataTable reads str as markup, and this is data)."""
    s = obj.latest.summary
    if s.mag is not None:
        brightness = f"{s.mag:.2f}"
    elif s.flux is not None:
        brightness = f"{s.flux:,.0f} nJy"
    else:
        brightness = ""
    topics = ", ".join(sorted(t.removeprefix("fink_") for t in obj.topics))
    cells = (
        Text(obj.object_id),
        Text("new", style="bold green") if obj.new else Text(""),
        Text(f"{obj.alerts:,}", justify="right"),
        Text(_when(obj.first_seen)),
        Text(_when(obj.last_seen)),
        Text(brightness, justify="right"),
        change_text(obj),
        Text(s.band, style=BAND_STYLES.get(s.band, "")),
        Text(s.classification),
        Text(topics),
    )
    for cell in cells:
        cell.no_wrap, cell.overflow = True, "ellipsis"
    return cells


class ObjectTable(RowTable):
    """Objects, most recently updated first, drawn from the model: rows of objects that
    changed are updated in place, new ones added, those pushed out removed. The cursor stays
    on its object."""

    BINDINGS = [
        Binding(
            "enter",
            "select_cursor",
            "Alerts",
            tooltip="The alerts of the object under the cursor",
            id="objects.open_row",
        ),
    ]
    """Enter on a row shows the object's alerts (the screen handles the selection)."""

    DEFAULT_CSS = """
    ObjectTable { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.shown: dict[str, TrackedObject] = {}
        """The rows, by key, in the order shown."""
        self._drawn: dict[str, int] = {}
        """Key -> the object's update count when its row was drawn."""
        self._first_cell: dict[str, Text] = {}
        self._columns: tuple[tuple[int, int], ...] = ()

    def on_mount(self) -> None:
        self._set_columns(self.size.width or 160)

    def on_resize(self, event: events.Resize) -> None:
        self._set_columns(event.size.width)

    def _set_columns(self, width: int) -> None:
        """Show the columns that fit ``width`` (never a header cut at the edge)."""
        chosen = columns_for(width)
        if chosen == self._columns:
            return
        self._columns = chosen
        objects = list(self.shown.values())
        self.clear(columns=True)
        for i, size in chosen:
            name = COLUMNS[i][0]
            self.add_column(name, key=name or "new", width=size)
        self.shown, self._drawn, self._first_cell = {}, {}, {}
        for obj in objects:
            self._add(object_key(obj), obj)

    def show(self, objects: list[TrackedObject]) -> None:
        """Show ``objects`` in this order, changing only the rows that changed."""
        rows = [(object_key(o), o) for o in objects]
        wanted = dict(rows)
        gone = [key for key in self.shown if key not in wanted]
        new = [(key, o) for key, o in rows if key not in self.shown]
        changed = [
            (key, o) for key, o in rows if key in self._drawn and self._drawn[key] != o.updates
        ]
        order_same = list(self.shown) == list(wanted)
        if not (gone or new or changed) and order_same:
            return
        current = cursor_row_key(self)
        if len(gone) + len(new) + len(changed) > max(50, len(rows) // 2):
            self.clear()
            self.shown, self._drawn, self._first_cell = {}, {}, {}
            for key, obj in rows:
                self._add(key, obj)
        else:
            for key in gone:
                self.remove_row(key)
                del self.shown[key], self._drawn[key], self._first_cell[key]
            for key, obj in changed:
                cells = object_cells(obj)
                for i, _ in self._columns[1:]:
                    self.update_cell(key, COLUMNS[i][0] or "new", cells[i])
                self._drawn[key] = obj.updates
            for key, obj in new:
                self._add(key, obj)
            rank = {id(self._first_cell[key]): i for i, (key, _) in enumerate(rows)}
            self.sort(key=lambda cells: rank[id(cells[0])])
        self.shown = {key: wanted[key] for key, _ in rows}
        if current is not None:
            move_cursor_to_key(self, current)

    def _add(self, key: str, obj: TrackedObject) -> None:
        cells = object_cells(obj)
        self.add_row(*(cells[i] for i, _ in self._columns), key=key)
        self._first_cell[key] = cells[0]
        self._drawn[key] = obj.updates
        self.shown[key] = obj

    def selected_object(self) -> TrackedObject | None:
        """The object under the cursor, if any."""
        key = cursor_row_key(self)
        return self.shown.get(key) if key else None
