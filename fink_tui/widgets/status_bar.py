"""The status line on every screen: connection, group, alert rate, decode failures."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from fink_tui.core.events import Connection
from fink_tui.model import StreamState

STATE_STYLES = {
    Connection.CONNECTED: "bold green",
    Connection.AUTH_FAILED: "bold red",
    Connection.UNREACHABLE: "bold red",
    Connection.ERROR: "bold red",
    Connection.STOPPED: "bold red",
    Connection.OFFLINE: "bold cyan",
}


class StatusBar(Static):
    """One line that always says where the stream stands."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown: Text | None = None

    def show(self, state: StreamState, group: str, rates: bool = True) -> None:
        """Redraw from the model: what matters most first, so a narrow terminal keeps it
        (the state, PAUSED, failures), the long reason of a state last."""
        conn = state.connection
        text = Text()
        text.append("● ", STATE_STYLES.get(conn.state, "bold yellow"))
        text.append(conn.state.value, STATE_STYLES.get(conn.state, "yellow"))
        if state.paused:
            text.append("  │  ", "dim")
            text.append("PAUSED", "bold reverse yellow")
        n = state.failure_count
        if n:
            text.append("  │  ", "dim")
            text.append(f"{n} decode failure{'' if n == 1 else 's'}", "bold red")
        if state.forced is not None:
            text.append("  │  forced schema ", "dim")
            text.append(state.forced.fingerprint, "bold magenta")
        text.append("  │  group ", "dim")
        text.append(group or "-", "bold")
        if rates:  # not in an export of a snapshot: nothing was read there
            text.append("  │  ", "dim")
            text.append(f"{state.rate:.1f}", "bold")
            text.append(" alerts/s", "dim")
            text.append(f"  {state.alert_count:,} received", "dim")
        if conn.detail and conn.state != Connection.CONNECTED:
            text.append(f"  │  {conn.detail}", "dim")
        if text == self._shown:
            return  # the same line (asked every second): no repaint
        self._shown = text
        self.update(text, layout=False)  # one line, always: no layout of the screen
