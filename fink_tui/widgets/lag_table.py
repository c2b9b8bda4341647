"""The lag table: committed offset and lag per topic and partition, with a total per topic."""

from __future__ import annotations

from rich.text import Text

from fink_tui.core.lag import LagSnapshot
from fink_tui.widgets.table_cursor import RowTable, cursor_row_key, move_cursor_to_key

COLUMNS = ("Topic [Partition]", "Committed", "Low", "High", "Lag")
TOTAL = "total"


def row_key(topic: str, partition: int | None) -> str:
    """Key of a partition row, or of a topic's total row (partition None)."""
    return f"{topic}\x1f{TOTAL if partition is None else partition}"


def parse_row_key(key: str) -> tuple[str, int | None]:
    """The topic and partition (None for a total row) of a row key."""
    topic, _, part = key.rpartition("\x1f")
    return topic, None if part == TOTAL else int(part)


class LagTable(RowTable):
    """The figures of ``fink-tui lag``, one row a partition, keeping the cursor's row."""

    DEFAULT_CSS = """
    LagTable { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self.show_empty = False
        self._shown: tuple[float, bool] | None = None

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def show(self, snapshot: LagSnapshot | None) -> None:
        """Redraw from a snapshot (only when it or the empty toggle changed)."""
        if snapshot is None:
            return
        signature = (snapshot.taken_at, self.show_empty)
        if signature == self._shown:
            return
        self._shown = signature
        current = self.selected()
        self.clear()
        for t in snapshot.topics:
            if t.error:
                self.add_row(
                    Text(f"{t.topic}: {t.error}", style="red"),
                    "",
                    "",
                    "",
                    "",
                    key=row_key(t.topic, -1),
                )
                continue
            for p in t.partitions:
                if p.empty and not self.show_empty:
                    continue
                lag_style = "bold yellow" if p.lag else "green"
                self.add_row(
                    Text(f"{t.topic} [{p.partition}]"),
                    Text("-" if p.committed is None else f"{p.committed:,}", justify="right"),
                    Text(f"{p.low:,}", justify="right", style="dim"),
                    Text(f"{p.high:,}", justify="right", style="dim"),
                    Text(f"{p.lag:,}", justify="right", style=lag_style),
                    key=row_key(t.topic, p.partition),
                )
            self.add_row(
                Text(f"Total for {t.topic}", style="bold"),
                Text(f"{t.committed:,}", justify="right", style="bold"),
                "",
                "",
                Text(f"{t.lag:,}", justify="right", style="bold"),
                key=row_key(t.topic, None),
            )
        if current is not None:
            move_cursor_to_key(self, row_key(*current))

    def selected(self) -> tuple[str, int | None] | None:
        """(topic, partition) of the cursor's row; partition None on a total row."""
        key = cursor_row_key(self)
        if key is None:
            return None
        topic, partition = parse_row_key(key)
        return (topic, partition) if partition != -1 else (topic, None)
