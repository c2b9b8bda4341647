"""Finding and keeping the row under a DataTable's cursor across redraws."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist


def cursor_row_key(table: DataTable[Any]) -> str | None:
    """The cursor row's key, or None for an empty table."""
    if not table.row_count:
        return None
    try:
        value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except CellDoesNotExist:
        return None
    return None if value is None else str(value)


def move_cursor_to_key(table: DataTable[Any], key: str) -> None:
    """Put the cursor back on the row with ``key`` after a redraw, if that row is still there."""
    try:
        table.move_cursor(row=table.get_row_index(key), animate=False)
    except RowDoesNotExist:
        pass


class RowTable(DataTable[str | Text]):
    """A table of rows whose Home and End move the cursor to the first and last row
    (DataTable's own Home/End scroll sideways, which a table of alerts or partitions never
    needs)."""

    BINDINGS = [
        Binding("home", "first_row", "First row", show=False, id="table.first_row"),
        Binding("end", "last_row", "Last row", show=False, id="table.last_row"),
    ]
    """Keys of row tables."""

    def action_first_row(self) -> None:
        """Cursor to the first row."""
        if self.row_count:
            self.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        """Cursor to the last row."""
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)
