"""The Lag screen: where the group stands on each partition — in alerts and in time, with a
status per partition and an ETA per topic — who reads the group, resets, and exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from fink_tui.core.events import Connection, PlanReset, RefreshLag
from fink_tui.core.files import export_stem, write_table_files, write_text_atomic
from fink_tui.core.lag import LagSnapshot
from fink_tui.core.lag_status import WINDOW, format_duration
from fink_tui.core.reset import ResetTarget, TargetKind, scope_text
from fink_tui.model import Section, StreamState
from fink_tui.screens.base import DashboardScreen, update_static
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.lag_table import LagTable, legend, status_text
from fink_tui.widgets.status_bar import StatusBar
from fink_tui.widgets.topic_sparklines import TopicSparklines

if TYPE_CHECKING:
    from fink_tui.screens.reset_offsets import ResetOffsetsModal


READ_ONLY_NOTE = (
    "\nread-only: resets disabled (the app is not a member of the group and commits nothing)",
    "yellow",
)


def trend_text(history: list[int]) -> str:
    """'caught up', 'draining', 'growing' or 'steady', from the recent points."""
    if history and history[-1] == 0:
        return "caught up"
    if len(history) < 2 or history[-1] == history[0]:
        return "steady"
    return "draining" if history[-1] < history[0] else "growing"


ASKING = ("  · asking the broker…", "italic")
"""What the summary line adds between `r` and the snapshot that answers it."""


def summary_text(snapshot: LagSnapshot, live: bool) -> Text:
    """The line over the table: group, total lag in alerts and in time, status, freshness;
    alerts expired unread in red on a second line."""
    when = datetime.fromtimestamp(snapshot.taken_at, tz=UTC).strftime("%H:%M:%S")
    behind = max((t.time_lag or 0.0 for t in snapshot.topics), default=0.0)
    status = snapshot.status
    parts: list[Text | str | tuple[str, str]] = [
        "group ",
        (snapshot.group, "bold"),
        " · lag ",
        (f"{snapshot.lag:,}", "bold"),
    ]
    if snapshot.lag == 0:
        parts.append(("  caught up", "bold green"))
    elif behind:
        parts += [" · behind ", (format_duration(behind), "bold")]
    if snapshot.window:
        parts += [" · ", status_text(status)]
    parts.append(f" · {when} UTC")
    if not live:
        parts.append(("  STALE: the broker does not answer", "bold red"))
    if snapshot.lost:
        parts.append(
            (
                f"\n{snapshot.lost:,} alerts expired unread (committed below the earliest kept "
                "offset) · E: read what is left",
                "bold red",
            )
        )
    return Text.assemble(*parts)


def members_text(snapshot: LagSnapshot) -> str:
    """Who reads the group."""
    info = snapshot.group_info
    if info is None:
        return "members: not known yet"
    who = info.describe()
    return who if who.startswith("members") else f"members: {who}"


def legend_text(snapshot: LagSnapshot | None) -> Text:
    """The statuses' colours and meanings, and how many refreshes they were judged on."""
    window = snapshot.window if snapshot is not None else 0
    head = f"status over {window}/{WINDOW} refreshes: " if window else "status: "
    return Text.assemble((head, "dim"), legend())


class LagScreen(DashboardScreen):
    """Committed vs lag per topic and partition, refreshed every few seconds."""

    DRAWS = (Section.LAG_ROWS,)
    """Out of sight, redrawn only when rows or lines come or go (what the key that shows it
    would otherwise lay out): a refresh that only changes figures and the time is drawn by
    that key (a few ms). Caught up on every refresh, the lag screen cost the idle feed a
    redraw, then a layout at the quick pace, every 5 s; with a lag refresh a minute apart
    instead of 5 s, the idle app used 1.1-1.2 % of a core instead of ~2 % (the UI thread
    0.25 % instead of 0.9 %: bench/README.md, twenty-first session)."""

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
            "E",
            "recover",
            "Recover expired",
            tooltip="Move the partitions whose next alerts expired to the earliest kept one",
            id="lag.recover",
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
        self._asked: tuple[int, ...] | None = None
        """The lag snapshots' revision when `r` asked for one (None: not asking)."""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("waiting for the first lag snapshot…", id="lag-summary")
        table = LagTable(id="lag-table")
        table.show_empty = self.fink.show_empty_partitions
        yield table
        yield Static("", id="lag-members")
        yield Static(legend_text(None), id="lag-legend")
        yield TopicSparklines(axis=True, id="trends")
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
        snapshot = state.lag
        if self._asked is not None and state.revision(Section.LAG) != self._asked:
            self._asked = None  # answered
        if snapshot is not None:
            summary = summary_text(snapshot, live)
            if self.fink.settings.read_only:
                summary.append(*READ_ONLY_NOTE)
            if self._asked is not None:  # redrawn (the broker's answering changed) meanwhile
                summary.append(*ASKING)
            update_static(self.query_one("#lag-summary", Static), summary)
            update_static(self.query_one("#lag-members", Static), members_text(snapshot))
            update_static(self.query_one("#lag-legend", Static), legend_text(snapshot))
        drains = {} if snapshot is None else {t.topic: t for t in snapshot.topics}
        rows = {}
        span = 0.0
        for topic, history in state.lag_history.items():
            if not history:
                continue
            shown = drains.get(topic)
            if shown is not None and snapshot is not None and snapshot.window:
                trend = shown.drain.text()
            else:  # a snapshot with no window (a replay of an older recording)
                trend = trend_text(list(history)[-10:])
            rows[topic] = (f"{history[-1]:,} · {trend}", history)
            times = state.lag_times.get(topic)
            if times:
                span = max(span, times[-1] - times[0])
        self.query_one(TopicSparklines).show(rows, span)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("reset", "recover") and self.fink.settings.read_only:
            return None  # shown dimmed; the summary line says why
        if action == "recover":
            return (self.fink.state.lag is not None and self.fink.state.lag.lost > 0) or None
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

    def on_line_table_row_highlighted(self) -> None:
        # Which reset keys apply depends on the kind of row under the cursor; the footer is
        # rebuilt only when that kind changes (every lag refresh moves the cursor back).
        selected = self.query_one(LagTable).selected()
        kind = None if selected is None else (selected[1] is not None)
        if kind != self._row_kind:
            self._row_kind = kind
            self.refresh_bindings()

    def action_refresh_lag(self) -> None:
        """Take a lag snapshot now (the summary says so until the next one replaces it)."""
        self.fink.send_command(RefreshLag())
        state = self.fink.state
        self._asked = state.revision(Section.LAG)
        summary = self.query_one("#lag-summary", Static)
        live = state.connection.state == Connection.CONNECTED
        text = summary_text(state.lag, live) if state.lag is not None else Text()
        update_static(summary, text.append(*ASKING))

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

        def chosen(target: ResetTarget | None) -> None:
            if target is not None:
                self.fink.send_command(PlanReset(target, topic, partition))

        self.app.push_screen(self.reset_dialog().ask(scope_text(topic, partition)), chosen)

    def reset_dialog(self) -> ResetOffsetsModal:
        """The reset dialog, made and installed at the first call, then kept."""
        from fink_tui.screens.reset_offsets import ResetOffsetsModal

        if self._reset_modal is None:
            self._reset_modal = ResetOffsetsModal(self.fink.settings.group_id, "")
            self.app.install_screen(self._reset_modal, name="reset-offsets")
        return self._reset_modal

    def action_recover(self) -> None:
        """Plan moving the partitions of a topic whose next alerts expired (the selected
        topic, or the first with expired alerts) to the earliest kept alert, to confirm; its
        other partitions stay where they are."""
        snapshot = self.fink.state.lag
        if snapshot is None:
            return
        lossy = [t.topic for t in snapshot.topics if t.lost]
        selected = self.query_one(LagTable).selected()
        topic = selected[0] if selected is not None and selected[0] in lossy else None
        if topic is None and lossy:
            topic = lossy[0]
        if topic is None:
            return
        lost = [p for t in snapshot.topics if t.topic == topic for p in t.partitions if p.lost]
        if len(lost) == 1:
            plan = PlanReset(ResetTarget(TargetKind.EARLIEST), topic, lost[0].partition)
        else:  # "current", kept within the watermarks: only the expired ones move
            plan = PlanReset(ResetTarget(TargetKind.CURRENT), topic)
        self.fink.send_command(plan)

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
