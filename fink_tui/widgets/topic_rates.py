"""A sparkline of the alert rate per topic over the last minute."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, Sparkline

from fink_tui.model import StreamState


class TopicRate(Horizontal):
    """One topic: its name, alerts per second, and a sparkline of the last minute."""

    DEFAULT_CSS = """
    TopicRate { height: 1; }
    TopicRate > Label { width: 40; }
    TopicRate > Label.rate { width: 10; text-align: right; padding-right: 1; }
    TopicRate > Sparkline { width: 1fr; }
    """

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topic = topic

    def compose(self) -> ComposeResult:
        yield Label(self.topic)
        yield Label("", classes="rate")
        yield Sparkline([])

    def show(self, buckets: list[int], rate: float) -> None:
        """Redraw with the latest counts."""
        self.query_one(".rate", Label).update(f"{rate:.1f}/s")
        self.query_one(Sparkline).data = [float(b) for b in buckets] or [0.0]


class TopicRates(VerticalScroll):
    """Rate sparklines for every topic seen so far."""

    DEFAULT_CSS = """
    TopicRates { height: auto; max-height: 8; border-top: solid $panel-lighten-2; }
    """

    def show(self, state: StreamState) -> None:
        """Add rows for new topics and redraw every row."""
        existing = {row.topic: row for row in self.query(TopicRate)}
        for topic in sorted(state.rates):
            if topic not in existing:
                row = TopicRate(topic)
                existing[topic] = row
                self.mount(row)
        for topic, counter in state.rates.items():
            row = existing[topic]
            if row.is_mounted and row.children:
                row.show(list(counter.buckets), counter.per_second())
