"""The Lag screen: where the group stands on each partition, resets, and exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fink_tui.core.events import Connection, PlanReset, RefreshLag
from fink_tui.core.files import export_stem, write_table_files, write_text_atomic
from fink_tui.core.reset import ResetTarget, scope_text
from fink_tui.model import Section, StreamState
from fink_tui.screens.base import DashboardScreen
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.lag_table import LagTable
from fink_tui.widgets.status_bar import StatusBar
from fink_tui.widgets.topic_sparklines import TopicSparklines

if TYPE_CHECKING:
    from fink_tui.screens.reset_offsets import ResetOffsetsModal


def trend_text(history: list[int]) -> str:
    """'caught up', 'draining', 'growing' or 'steady', from the recent points."""
    if history and history[-1] == 0:
        return "caught up"
    if len(history) < 2 or history[-1] == history[0]:
        return "steady"
    return "draining" if history[-1] < history[0] else "growing"


class LagScreen(DashboardScreen):
    """Committed vs lag per topic and partition, refreshed every few seconds."""

    BINDINGS = [
        Binding("r", "refresh_lag", "Refresh", tooltip="Ask the broker now", id="lag.refresh"),
        Binding(
            "e",
            "toggle_empty",
            "Empty partitions",
            tooltip="Show or hide empty partitions",
            id="lag.toggle_empty",
        ),
        Binding(
            "p",
            "reset('partition')",
            "Reset partition",
            tooltip="Move the selected partition's committed offset",
            id="lag.reset_partition",
        ),
        Binding(
            "t",
            "reset('topic')",
            "Reset topic",
            tooltip="Move every partition of the selected topic",
            id="lag.reset_topic",
        ),
        Binding(
            "A",
            "reset('all')",
            "Reset all",
            tooltip="Move every partition of every topic",
            id="lag.reset_all",
        ),
        Binding(
            "x", "export", "Export", tooltip="Save the table as SVG, CSV and JSON", id="lag.export"
        ),
    ]
    """Keys of the lag table."""

    def __init__(self) -> None:
        super().__init__()
        self._row_kind: bool | None = None
        self._reset_modal: ResetOffsetsModal | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("waiting for the first lag snapshot…", id="lag-summary")
        table = LagTable(id="lag-table")
        table.show_empty = self.fink.show_empty_partitions
        yield table
        yield TopicSparklines(id="trends")
        yield KeyBar()

    def update_view(self, state: StreamState) -> None:
        super().update_view(state)
        table = self.query_one(LagTable)
        # Not on every batch (the status section moves with each): on a new snapshot, or
        # when the broker stops or starts answering.
        live = state.connection.state == Connection.CONNECTED
        if not self.stale(state, "lag", Section.LAG, view=(table.show_empty, live)):
            return
        table.show(state.lag)
        if state.lag is not None:
            when = datetime.fromtimestamp(state.lag.taken_at, tz=UTC).strftime("%H:%M:%S")
            hidden = "" if table.show_empty else "  (empty partitions hidden: e shows them)"
            self.query_one("#lag-summary", Static).update(
                Text.assemble(
                    "group ",
                    (state.lag.group, "bold"),
                    " — total lag ",
                    (f"{state.lag.lag:,}", "bold"),
                    f" — snapshot {when} UTC",
                    ("" if live else ("  STALE: the broker does not answer", "bold red")),
                    hidden,
                )
            )
        self.query_one(TopicSparklines).show(
            {
                topic: (f"{history[-1]:,} {trend_text(list(history)[-10:])}", history)
                for topic, history in state.lag_history.items()
                if history
            }
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reset" and parameters:
            selected = self.query_one(LagTable).selected()
            if parameters[0] == "partition":
                return (selected is not None and selected[1] is not None) or None
            if parameters[0] == "topic":
                return selected is not None or None
            return self.fink.state.lag is not None or None
        if action == "export":
            return self.fink.state.lag is not None or None
        return True

    def on_data_table_row_highlighted(self) -> None:
        # Which reset keys apply depends on the kind of row under the cursor; the footer is
        # rebuilt only when that kind changes (every lag refresh moves the cursor back).
        selected = self.query_one(LagTable).selected()
        kind = None if selected is None else (selected[1] is not None)
        if kind != self._row_kind:
            self._row_kind = kind
            self.refresh_bindings()

    def action_refresh_lag(self) -> None:
        """Take a lag snapshot now."""
        self.fink.send_command(RefreshLag())
        self.notify("asking the broker…", title="Lag", timeout=2, markup=False)

    def action_toggle_empty(self) -> None:
        """Show or hide partitions with nothing committed and nothing to read."""
        table = self.query_one(LagTable)
        table.show_empty = not table.show_empty
        self.update_view(self.fink.state)

    def action_reset(self, scope: str) -> None:
        """Choose a target for the scope, then ask the worker for the plan to confirm."""
        selected = self.query_one(LagTable).selected()
        topic = partition = None
        if scope in ("topic", "partition") and selected is not None:
            topic = selected[0]
            partition = selected[1] if scope == "partition" else None
        from fink_tui.screens.reset_offsets import ResetOffsetsModal

        def chosen(target: ResetTarget | None) -> None:
            if target is not None:
                self.fink.send_command(PlanReset(target, topic, partition))

        if self._reset_modal is None:
            self._reset_modal = ResetOffsetsModal(self.fink.settings.group_id, "")
            self.app.install_screen(self._reset_modal, name="reset-offsets")
        self.app.push_screen(self._reset_modal.ask(scope_text(topic, partition)), chosen)

    def action_export(self) -> None:
        """Save the table as an SVG screenshot, plus CSV and JSON, in the export folder."""
        snapshot = self.fink.state.lag
        if snapshot is None:
            return
        folder = self.fink.directories.exports
        stem = export_stem(snapshot)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            svg = folder / f"{stem}.svg"
            write_text_atomic(svg, self.app.export_screenshot(title=f"fink-tui lag — {stem}"))
            paths = [svg, *write_table_files(snapshot, folder, stem)]
        except OSError as exc:
            self.fink.report_error(f"cannot export the lag table: {exc}")
            return
        self.notify(
            "\n".join(str(p) for p in paths), title="Lag table exported", timeout=8, markup=False
        )
