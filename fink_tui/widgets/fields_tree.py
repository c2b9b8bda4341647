"""An alert's fields as a tree of lines: a container's fields are listed once it is opened (an
LSST alert has tens of thousands of values).

A line table (:class:`~fink_tui.widgets.line_table.LineTable`) rather than Textual's ``Tree``:
each line is made once and kept, where the Tree made each visible line again on every paint of
a changed tree, walking the widget's ancestors for its style on each: when the decoded alert
arrived, its 40 lines took 11 ms of the alert screen's 17-29 ms paint (UI CPU, in process), and
a key pressed then (Escape, back to the feed) waited for it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.binding import Binding

from fink_tui.widgets.line_table import LineTable

PREVIEW = 60
INDENT = "  "
OPEN, CLOSED, LEAF = "▼ ", "▶ ", "  "
SEP = "\x1f"
"""Between the names of a field's path in its row's key."""
COLUMNS = ("field and value",)


def describe(value: Any) -> Text:
    """The one-line preview of a value."""
    if isinstance(value, bytes):
        return Text(f"<{len(value):,} bytes>", style="dim")
    if isinstance(value, dict):
        return Text(f"{{{len(value)} fields}}", style="dim")
    if isinstance(value, list):
        return Text(f"[{len(value)} items]", style="dim")
    if value is None:
        return Text("null", style="dim italic")
    if isinstance(value, float):
        return Text(f"{value:.10g}", style="cyan")
    if isinstance(value, bool | int):
        return Text(str(value), style="cyan")
    text = str(value)
    return Text(repr(text if len(text) <= PREVIEW else text[:PREVIEW] + "…"), style="green")


def opens(value: Any) -> bool:
    """Whether a value has fields or items to list."""
    return isinstance(value, dict | list) and bool(value)


def children(value: Any) -> Iterable[tuple[Any, Any]]:
    """A container's (name or index, value) pairs."""
    return value.items() if isinstance(value, dict) else enumerate(value)


class FieldsTree(LineTable):
    """Every field of an alert record, one per line; a container opens and closes with Enter,
    space or a click on its line (→ opens, ← closes or goes up to the container)."""

    BINDINGS = [
        Binding("space", "toggle_field", "Open / close", show=False),
        Binding("right", "open", "Open", show=False),
        Binding("left", "close", "Close", show=False),
    ]
    """Keys of the tree (the cursor's: :class:`~fink_tui.widgets.row_cursor.RowCursor`)."""

    def __init__(self, record: dict[str, Any] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.record = record
        self._opened: set[str] = set()
        self._values: dict[str, Any] = {}
        """Each line's value, by its key (the path of its field)."""

    def on_mount(self) -> None:
        self.set_columns(COLUMNS)
        if self.record is not None:
            self.show(self.record)

    def clear(self) -> FieldsTree:
        """No fields (the alert is being read)."""
        self.record = None
        self._opened.clear()
        self._values = {}
        self.set_rows([])
        return self

    def show(self, record: dict[str, Any]) -> None:
        """Show ``record``'s fields, every container closed."""
        self.record = record
        self._opened.clear()
        self.cursor_row = 0
        self._list()

    def is_open(self, key: str) -> bool:
        """Whether the container on the line with ``key`` lists its fields."""
        return key in self._opened

    def _list(self) -> None:
        """The lines of the fields in view: the record's, and the opened containers'."""
        rows: list[tuple[str, tuple[Text]]] = []
        values: dict[str, Any] = {}

        def walk(container: Any, prefix: str, depth: int) -> None:
            for name, value in children(container):
                key = f"{prefix}{SEP}{name}" if prefix else str(name)
                opened = key in self._opened
                marker = (OPEN if opened else CLOSED) if opens(value) else LEAF
                line = Text.assemble(INDENT * depth, marker, (str(name), "bold"), " ")
                line.append_text(describe(value))
                rows.append((key, (line,)))
                values[key] = value
                if opened:
                    walk(value, key, depth + 1)

        if self.record is not None:
            walk(self.record, "", 0)
        self._values = values
        self.set_rows(rows)

    def _set_open(self, key: str, opened: bool) -> None:
        if not opens(self._values.get(key)) or opened == (key in self._opened):
            return
        if opened:
            self._opened.add(key)
        else:
            # What was open inside stays closed when it shows again, as a tree would.
            self._opened = {k for k in self._opened if k != key and not k.startswith(key + SEP)}
        self._list()

    def action_select_cursor(self) -> None:
        """Enter, or a click on the cursor's line: open or close its container."""
        self.action_toggle_field()

    def action_toggle_field(self) -> None:
        """Open or close the container under the cursor."""
        key = self.selected_key()
        if key is not None:
            self._set_open(key, key not in self._opened)

    def action_open(self) -> None:
        """Open the container under the cursor."""
        key = self.selected_key()
        if key is not None:
            self._set_open(key, True)

    def action_close(self) -> None:
        """Close the container under the cursor, or go up to the one it is in."""
        key = self.selected_key()
        if key is None:
            return
        if key in self._opened:
            self._set_open(key, False)
        elif SEP in key:
            self.move_cursor(self.get_row_index(key.rpartition(SEP)[0]))
