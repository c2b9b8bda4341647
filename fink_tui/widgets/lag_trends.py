"""Lag over time per topic: a sparkline and whether the queue drains or grows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, Sparkline

from fink_tui.model import StreamState


def trend_text(history: list[int]) -> str:
    """'draining', 'growing' or 'steady', from the first and last of the recent points."""
    if len(history) < 2 or history[-1] == history[0]:
        return "steady"
    return "draining" if history[-1] < history[0] else "growing"


class TopicLagTrend(Horizontal):
    """One topic's lag history."""

    DEFAULT_CSS = """
    TopicLagTrend { height: 1; }
    TopicLagTrend > Label { width: 40; }
    TopicLagTrend > Label.trend { width: 22; text-align: right; padding-right: 1; }
    TopicLagTrend > Sparkline { width: 1fr; }
    """

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topic = topic

    def compose(self) -> ComposeResult:
        yield Label(self.topic)
        yield Label("", classes="trend")
        yield Sparkline([])

    def show(self, history: list[int]) -> None:
        """Redraw from the lag values, oldest first."""
        recent = history[-10:]
        self.query_one(".trend", Label).update(f"{history[-1]:,} {trend_text(recent)}")
        self.query_one(Sparkline).data = [float(v) for v in history] or [0.0]


class LagTrends(VerticalScroll):
    """A lag sparkline for every topic of the group."""

    DEFAULT_CSS = """
    LagTrends { height: auto; max-height: 8; border-top: solid $panel-lighten-2; }
    """

    def show(self, state: StreamState) -> None:
        """Add rows for new topics and redraw them all."""
        rows = {row.topic: row for row in self.query(TopicLagTrend)}
        for topic in state.lag_history:
            if topic not in rows:
                rows[topic] = TopicLagTrend(topic)
                self.mount(rows[topic])
        for topic, history in state.lag_history.items():
            row = rows[topic]
            if row.is_mounted and row.children and history:
                row.show(list(history))
