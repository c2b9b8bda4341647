"""The lag table: committed offset, lag, time lag, alerts lost and status per topic and
partition, with a total per topic (a :class:`LineTable`: a refresh draws the rows that
changed)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events

from fink_tui.core.lag import LagSnapshot
from fink_tui.core.lag_status import Status, time_lag_text
from fink_tui.widgets.line_table import Cell, LineTable

COLUMNS = ("Topic [Partition]", "Committed", "Low", "High", "Lag", "Time lag", "Lost", "Status")
NARROW_COLUMNS = ("Topic [Partition]", "Committed", "Lag", "Time lag", "Lost", "Status")
"""Below :data:`WIDE` columns of terminal the watermarks make way for the rest."""
WIDE = 110
TOTAL = "total"

STATUS_STYLE = {
    # Explicit colours: a theme's ANSI yellow and red can come out alike (orange, pink).
    Status.OK: "bold #51cf66",
    Status.WARN: "bold #ffd43b",
    Status.REWIND: "bold #cc5de8",
    Status.STALL: "bold #ff922b",
    Status.STOP: "bold #ff4d4f",
    Status.ERR: "bold #ffffff on #c92a2a",
}
"""How each status is drawn (the legend uses the same)."""


def status_text(status: Status) -> Text:
    """A status, coloured."""
    return Text(status.value, style=STATUS_STYLE[status])


def legend() -> Text:
    """Every status, coloured, with what it means."""
    parts: list[Text | str] = []
    for status in Status:
        if parts:
            parts.append("  ")
        parts.extend([status_text(status), f" {status.meaning}"])
    return Text.assemble(*parts)


def row_key(topic: str, partition: int | None) -> str:
    """Key of a partition row, or of a topic's total row (partition None)."""
    return f"{topic}\x1f{TOTAL if partition is None else partition}"


def parse_row_key(key: str) -> tuple[str, int | None]:
    """The topic and partition (None for a total row) of a row key."""
    topic, _, part = key.rpartition("\x1f")
    return topic, None if part == TOTAL else int(part)


class LagTable(LineTable):
    """The figures of ``fink-tui lag``, one row a partition, keeping the cursor's row."""

    DEFAULT_CSS = """
    LagTable { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.show_empty = False
        self.wide = True
        self._snapshot: LagSnapshot | None = None
        self._shown: tuple[float, bool, bool] | None = None

    def on_mount(self) -> None:
        self._columns(self.app.size.width >= WIDE)

    def on_resize(self, event: events.Resize) -> None:
        wide = self.app.size.width >= WIDE
        if wide != self.wide:
            self._columns(wide)
            self.show(self._snapshot)

    def _columns(self, wide: bool) -> None:
        self.wide = wide
        self.set_columns(COLUMNS if wide else NARROW_COLUMNS)

    def show(self, snapshot: LagSnapshot | None) -> None:
        """Redraw from a snapshot (only when it, the width or the empty toggle changed)."""
        if snapshot is None:
            return
        self._snapshot = snapshot
        signature = (snapshot.taken_at, self.show_empty, self.wide)
        if signature == self._shown:
            return
        self._shown = signature
        self.set_rows(self._rows(snapshot))

    def _rows(self, snapshot: LagSnapshot) -> list[tuple[str, list[Cell]]]:
        """Each row's key and cells, in the order shown."""
        rows: list[tuple[str, list[Cell]]] = []
        blanks: list[Cell] = [""] * (len(self.column_names) - 2)
        for t in snapshot.topics:
            if t.error:
                cells = [Text(f"{t.topic}: {t.error}", style="red"), *blanks, status_text(t.status)]
                rows.append((row_key(t.topic, -1), cells))
                continue
            for p in t.partitions:
                if p.empty and not self.show_empty:
                    continue
                lag_style = "bold yellow" if p.lag else "green"
                watermarks = (
                    [
                        Text(f"{p.low:,}", justify="right", style="dim"),
                        Text(f"{p.high:,}", justify="right", style="dim"),
                    ]
                    if self.wide
                    else []
                )
                cells = [
                    Text(f"{t.topic} [{p.partition}]"),
                    Text("-" if p.committed is None else f"{p.committed:,}", justify="right"),
                    *watermarks,
                    Text(f"{p.lag:,}", justify="right", style=lag_style),
                    Text(time_lag_text(p.time_lag, p.lag), justify="right", style=lag_style),
                    Text(f"{p.lost:,}" if p.lost else "", justify="right", style="bold red"),
                    status_text(p.status),
                ]
                rows.append((row_key(t.topic, p.partition), cells))
            cells = [
                # fink-client's label; narrow, one that is no wider than the partitions' rows
                Text(f"Total for {t.topic}" if self.wide else f"{t.topic} total", style="bold"),
                Text(f"{t.committed:,}", justify="right", style="bold"),
                *([""] * 2 if self.wide else []),
                Text(f"{t.lag:,}", justify="right", style="bold"),
                Text(time_lag_text(t.time_lag, t.lag), justify="right", style="bold"),
                Text(f"{t.lost:,}" if t.lost else "", justify="right", style="bold red"),
                status_text(t.status),
            ]
            rows.append((row_key(t.topic, None), cells))
        return rows

    def selected(self) -> tuple[str, int | None] | None:
        """(topic, partition) of the cursor's row; partition None on a total row."""
        key = self.selected_key()
        if key is None:
            return None
        topic, partition = parse_row_key(key)
        return (topic, partition) if partition != -1 else (topic, None)
