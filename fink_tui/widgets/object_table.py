"""The table of objects: the stream's alerts grouped by object, most recently updated first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events
from textual.binding import Binding

from fink_tui.model import TrackedObject
from fink_tui.widgets.alert_table import BAND_STYLES
from fink_tui.widgets.line_table import LineTable

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
    """One row of the table, every column."""
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
    return cells


class ObjectTable(LineTable):
    """Objects, most recently updated first, drawn from the model: the rows of objects that
    changed are drawn again, the others kept. On the first row the cursor stays there as
    objects are updated (as the feed follows new alerts); elsewhere it stays on its object."""

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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(zebra_stripes=True, follow_top=True, **kwargs)
        self.shown: dict[str, TrackedObject] = {}
        """The rows, by key, in the order shown."""
        self._drawn: dict[str, tuple[int, tuple[Text, ...]]] = {}
        """Key -> the object's update count when its cells were made, and those cells."""
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
        self.set_columns([COLUMNS[i][0] for i, _ in chosen], [size for _, size in chosen])
        objects, self.shown, self._drawn = list(self.shown.values()), {}, {}
        self.show(objects)

    def show(self, objects: list[TrackedObject]) -> None:
        """Show ``objects`` in this order; only the rows of objects updated since are made
        again."""
        rows = []
        drawn, shown = {}, {}
        for obj in objects:
            key = object_key(obj)
            made = self._drawn.get(key)
            if made is None or made[0] != obj.updates:
                cells = object_cells(obj)
                made = (obj.updates, tuple(cells[i] for i, _ in self._columns))
            drawn[key], shown[key] = made, obj
            rows.append((key, made[1]))
        self._drawn, self.shown = drawn, shown
        self.set_rows(rows)

    def selected_object(self) -> TrackedObject | None:
        """The object under the cursor, if any."""
        key = self.selected_key()
        return self.shown.get(key) if key else None
