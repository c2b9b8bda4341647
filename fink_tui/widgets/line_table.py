"""A table of keyed rows drawn line by line: each row one :class:`Strip`, made when its cells
change and kept.

For a table refreshed from the model while a person reads it (the lag table, every few seconds
and after each reset). A ``DataTable`` renders every visible cell again once any cell changes
(its line caches key on an update count): 53-68 ms of the UI thread, median, for a lag table of
3 topics of 10 partitions at 160 columns each time figures moved, and a key pressed then waited
for it. Here a refresh draws the rows whose cells changed (3-8 ms), and none when none did
(``bench/table_render.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from fink_tui.widgets.row_cursor import RowCursor

Cell = str | Text
"""A cell: a str is plain text (never markup: it may be data), a Text keeps its style and
justification."""
CELL_PADDING = 1
"""Blank cells left and right of each cell (as a DataTable pads them)."""


def looks(cell: Cell) -> object:
    """What a cell shows: its text, style, spans and justification."""
    if isinstance(cell, Text):
        return (cell.plain, str(cell.style), cell.justify, tuple(cell.spans))
    return cell


def cell_segments(cell: Cell, width: int, console: Console) -> list[Segment]:
    """``cell`` in exactly ``width`` cells (cut with an ellipsis, justified), padded."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    text.truncate(width, overflow="ellipsis")
    room = width - text.cell_len
    if text.justify == "right":
        text.pad_left(room)
    elif text.justify == "center":
        text.pad_left(room // 2)
        text.pad_right(room - room // 2)
    else:
        text.pad_right(room)
    text.pad(CELL_PADDING)
    return list(text.render(console))


class LineTableMessage(Message):
    """A message from a line table (its ``control``)."""

    def __init__(self, table: LineTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> LineTable:
        return self.table


class LineTable(RowCursor):
    """Named columns, each as wide as its widest cell; keyed rows under a row cursor that
    stays on its row's key when the rows are replaced. The header stays at the top."""

    BINDINGS = [Binding("enter", "select_cursor", "Select", show=False)]
    """Enter on the cursor's row (the keys that move it: :class:`RowCursor`)."""

    class RowHighlighted(LineTableMessage):
        """The cursor moved to another row (or the rows under it changed)."""

    class RowSelected(LineTableMessage):
        """Enter, or a click on the cursor's row."""

    def __init__(
        self, zebra_stripes: bool = False, follow_top: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.zebra_stripes = zebra_stripes
        """Every other row on a lighter (or darker) background."""
        self.follow_top = follow_top
        """A cursor on the first row stays there when rows come above it (newest-first
        tables, like ``tail -f``); elsewhere it stays on its row."""
        self._names: tuple[str, ...] = ()
        self._fixed: tuple[int | None, ...] = ()
        self._row_cells: dict[str, tuple[Cell, ...]] = {}
        self._widths: list[int] = []

    # --- columns and rows --------------------------------------------------------------------

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns' names, in the order shown."""
        return self._names

    @property
    def column_widths(self) -> tuple[int, ...]:
        """Each column's width, in cells, without its padding."""
        return tuple(self._widths)

    def get_row(self, key: str) -> tuple[Cell, ...]:
        """The cells of the row with ``key`` (KeyError if there is none)."""
        return self._row_cells[key]

    def get_row_at(self, index: int) -> tuple[Cell, ...]:
        """The cells of row ``index``."""
        return self._row_cells[self._keys[index]]

    def get_row_index(self, key: str) -> int:
        """The index of the row with ``key`` (ValueError if there is none)."""
        return self._keys.index(key)

    def set_columns(self, names: Sequence[str], widths: Sequence[int | None] = ()) -> None:
        """New columns, each ``widths`` wide (cells cut with an ellipsis) or, for None or
        none given, as wide as its widest cell. The rows go (they have other cells now)."""
        self._names = tuple(names)
        self._fixed = tuple(widths) or (None,) * len(self._names)
        self.set_rows([])

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Show ``rows`` (key, cells), in order. Rows whose cells look as before keep their
        line; the cursor stays on its row's key while that row is there (on the first row, with
        :attr:`follow_top`)."""
        current = self.selected_key()
        new = {key: cells if isinstance(cells, tuple) else tuple(cells) for key, cells in rows}
        widths = [
            cell_len(name) if fixed is None else fixed
            for name, fixed in zip(self._names, self._fixed, strict=True)
        ]
        fitted = [i for i, fixed in enumerate(self._fixed) if fixed is None]
        for cells in new.values():
            for i in fitted:
                cell = cells[i]
                widths[i] = max(widths[i], cell_len(cell.plain if isinstance(cell, Text) else cell))
        old, self._row_cells = self._row_cells, new
        keys = list(new)
        moved = keys != self._keys or widths != self._widths
        if widths != self._widths:
            self._widths = widths
            self._strips.clear()
        changed = {
            key
            for key in keys
            if key in old
            and old[key] is not new[key]
            and list(map(looks, old[key])) != list(map(looks, new[key]))
        }
        self._strips = {
            k: strip for k, strip in self._strips.items() if k[0] in new and k[0] not in changed
        }
        self._keys = keys
        if self.follow_top and self.cursor_row == 0:
            pass
        elif current in new:
            self.cursor_row = keys.index(current)
        else:
            self.cursor_row = max(0, min(self.cursor_row, len(keys) - 1))
        width = sum(widths) + 2 * CELL_PADDING * len(widths)
        self.virtual_size = Size(width, len(keys) + 1)  # the header is line 0
        if moved:
            self._scroll_to_cursor()
            self.refresh()
        else:
            for index, key in enumerate(keys):
                if key in changed:
                    self.refresh_line(index + 1)
        if self.selected_key() != current:
            self.post_message(self.RowHighlighted(self))

    # --- drawing -----------------------------------------------------------------------------

    def _line(self, cells: Sequence[Cell], look: Style, width: int) -> Strip:
        """``cells`` in their columns, over ``look``, at least ``width`` cells long."""
        console = self.app.console
        segments = [
            segment
            for cell, column in zip(cells, self._widths, strict=False)
            for segment in cell_segments(cell, column, console)
        ]
        return Strip(segments).apply_style(look).extend_cell_length(width, look)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        left = self.scroll_offset.x
        if y == 0:
            return self._line(self._names, self.look("header"), left + width).crop(
                left, left + width
            )
        index = self.scroll_offset.y + y - 1
        if index >= len(self._keys):
            return self.blank(width)
        key = self._keys[index]
        if index == self.cursor_row:
            name = "cursor"
        else:
            name = "even-row" if self.zebra_stripes and not index % 2 else "row"
        strip = self._strips.get((key, name))
        if strip is None or strip.cell_length < left + width:
            strip = self._line(self._row_cells[key], self.look(name), left + width)
            self._strips[(key, name)] = strip
        return strip.crop(left, left + width)

    # --- the cursor ---------------------------------------------------------------------------

    def cursor_moved(self) -> None:
        self.post_message(self.RowHighlighted(self))

    def action_select_cursor(self) -> None:
        """Select the row under the cursor."""
        if self._keys:
            self.post_message(self.RowSelected(self))

    def on_click(self, event: events.Click) -> None:
        self.click_row(event)
