"""The live table of alerts, newest first, with a text filter."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from fink_tui.core.decode import Alert
from fink_tui.widgets.table_cursor import cursor_row_key, move_cursor_to_key

# The source id comes last: on a narrow screen it is the one to scroll for.
COLUMNS = ("Time (UTC)", "Topic", "Object", "Class", "Mag / Flux", "Band", "RA", "Dec", "Source")
FIXED_WIDTHS = {"Topic": 26, "Class": 20}
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


def alert_cells(alert: Alert) -> tuple[str, ...]:
    """The shown text of an alert, one string per column (also what the filter searches)."""
    s = alert.summary
    return (
        s.time.strftime("%m-%d %H:%M:%S") if s.time else "",
        alert.ref.topic.removeprefix("fink_"),
        s.object_id or f"{alert.ref.partition}:{alert.ref.offset}",
        s.classification,
        s.brightness,
        s.band,
        f"{s.ra:.5f}" if s.ra is not None else "",
        f"{s.dec:+.5f}" if s.dec is not None else "",
        s.source_id,
    )


class AlertTable(DataTable[str | Text]):
    """Alerts newest first; redrawn from the model, keeping the cursor on its alert."""

    DEFAULT_CSS = """
    AlertTable { height: 1fr; }
    """

    def __init__(self, max_rows: int = 500, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.max_rows = max_rows
        self.filter_text = ""
        self.shown: dict[str, Alert] = {}

    def on_mount(self) -> None:
        for name in COLUMNS:
            # Long Livestream topic names would push the class column off a 120-column screen.
            self.add_column(name, key=name, width=FIXED_WIDTHS.get(name))

    def show(self, alerts: list[Alert]) -> None:
        """Show ``alerts`` (oldest first, as the model keeps them) newest first."""
        needle = self.filter_text.lower()
        rows: list[tuple[str, Alert, tuple[str, ...]]] = []
        seen: set[str] = set()
        for alert in reversed(alerts):
            key = alert_key(alert)
            if key in seen:  # read again after a reset: the newest copy is the row
                continue
            seen.add(key)
            cells = alert_cells(alert)
            if needle and not any(needle in c.lower() for c in cells):
                continue
            rows.append((key, alert, cells))
            if len(rows) >= self.max_rows:
                break
        current = self.selected_key()
        self.clear()
        self.shown = {}
        for key, alert, cells in rows:
            # Text, not str: a DataTable reads str cells as markup, and alert text is data.
            styled = [Text(cell) for cell in cells]
            styled[5].stylize(BAND_STYLES.get(cells[5], ""))
            self.add_row(*styled, key=key)
            self.shown[key] = alert
        if current in self.shown:
            move_cursor_to_key(self, current)

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        return cursor_row_key(self)

    def selected_alert(self) -> Alert | None:
        """The alert under the cursor, if any."""
        key = self.selected_key()
        return self.shown.get(key) if key else None
