"""One sparkline row per topic: its name, a figure, and the recent history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, Sparkline


class TopicSparkline(Horizontal):
    """One topic's row."""

    DEFAULT_CSS = """
    TopicSparkline { height: 1; }
    TopicSparkline > Label { width: 40; }
    TopicSparkline > Label.figure { width: 22; text-align: right; padding-right: 1; }
    TopicSparkline > Sparkline { width: 1fr; }
    """

    def __init__(self, topic: str, figure: str = "", history: Sequence[float] = ()) -> None:
        super().__init__()
        self.topic = topic
        self.figure = figure
        self.history = [float(v) for v in history] or [0.0]

    def compose(self) -> ComposeResult:
        yield Label(self.topic)
        yield Label(self.figure, classes="figure")
        yield Sparkline(self.history)

    def on_mount(self) -> None:
        # What was shown while the row was still composing.
        self._draw()

    def show(self, figure: str, history: Sequence[float]) -> None:
        """Redraw with the figure text and the values, oldest first."""
        self.figure, self.history = figure, [float(v) for v in history] or [0.0]
        self._draw()

    def _draw(self) -> None:
        labels, lines = self.query(".figure").results(Label), self.query(Sparkline)
        for label in labels:
            label.update(self.figure, layout=False)  # fixed size: no layout of the screen
        for line in lines:
            line.data = self.history


class TopicSparklines(VerticalScroll):
    """A row per topic, added as topics appear."""

    DEFAULT_CSS = """
    TopicSparklines { height: auto; max-height: 8; border-top: solid $panel-lighten-2; }
    """

    def show(self, rows: Mapping[str, tuple[str, Sequence[float]]]) -> None:
        """``rows`` maps each topic to (figure text, history)."""
        existing = {row.topic: row for row in self.query(TopicSparkline)}
        for topic in sorted(rows):
            figure, history = rows[topic]
            if topic in existing:
                existing[topic].show(figure, history)
            else:
                self.mount(TopicSparkline(topic, figure, history))
