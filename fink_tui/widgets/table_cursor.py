"""Finding and keeping the row under a DataTable's cursor across redraws."""

from __future__ import annotations

from typing import Any

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
