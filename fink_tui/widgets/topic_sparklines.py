"""One sparkline row per topic: its name, a figure, and the recent history; under them, a
time axis (how long ago the left end was)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label

from fink_tui.core.lag_status import format_duration
from fink_tui.widgets.rate_sparkline import RateSparkline


class TopicSparkline(Horizontal):
    """One topic's row."""

    DEFAULT_CSS = """
    TopicSparkline { height: 1; }
    TopicSparkline > Label { width: 40; }
    TopicSparkline > Label.figure { width: 22; text-align: right; padding-right: 1; }
    TopicSparkline > RateSparkline { width: 1fr; }
    """

    def __init__(self, topic: str, figure: str = "", history: Sequence[float] = ()) -> None:
        super().__init__()
        self.topic = topic
        self.figure = figure
        self.history = [float(v) for v in history] or [0.0]

    def compose(self) -> ComposeResult:
        yield Label(self.topic)
        yield Label(self.figure, classes="figure")
        yield RateSparkline(self.history)

    def on_mount(self) -> None:
        # What was shown while the row was still composing.
        self._draw()

    def show(self, figure: str, history: Sequence[float]) -> None:
        """Redraw with the figure text and the values, oldest first."""
        shown = self.figure
        self.figure, self.history = figure, [float(v) for v in history] or [0.0]
        self._draw(figure != shown)

    def _draw(self, figure: bool = True) -> None:
        labels, lines = self.query(".figure").results(Label), self.query(RateSparkline)
        for label in labels if figure else ():
            label.update(self.figure, layout=False)  # fixed size: no layout of the screen
        for line in lines:
            line.data = self.history


class AxisLine(Widget):
    """``-6m 00s ······ -3m 00s ······ now`` across its width."""

    DEFAULT_CSS = """
    AxisLine { width: 1fr; height: 1; color: $text-muted; }
    """

    span: reactive[float] = reactive(0.0)
    """Seconds from the left end to the right end."""

    def render(self) -> Text:
        width = self.size.width
        if self.span <= 0 or width < 12:
            return Text("now".rjust(width))
        left, middle = f"-{format_duration(self.span)}", f"-{format_duration(self.span / 2)}"
        line = [" "] * width
        marks = [(0, left), (width - 3, "now")]
        centre = (width - len(middle)) // 2
        if centre > len(left) + 1 and centre + len(middle) < width - 4:  # room for it
            marks.append((centre, middle))
        for start, text in marks:
            line[start : start + len(text)] = list(text)
        return Text("".join(line[:width]))


class TimeAxis(Horizontal):
    """The row under the sparklines: the time their left end stands for."""

    DEFAULT_CSS = """
    TimeAxis { height: 1; }
    TimeAxis > Label { width: 62; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Label("lag over time")
        yield AxisLine()


class TopicSparklines(VerticalScroll):
    """A row per topic, added as topics appear, and (``axis``) a time axis under them."""

    DEFAULT_CSS = """
    TopicSparklines { height: auto; max-height: 8; border-top: solid $panel-lighten-2; }
    """

    def __init__(self, *, axis: bool = False, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.axis = axis

    def compose(self) -> ComposeResult:
        if self.axis:
            yield TimeAxis()

    def show(self, rows: Mapping[str, tuple[str, Sequence[float]]], span: float = 0.0) -> None:
        """``rows`` maps each topic to (figure text, history); ``span``: seconds from the
        oldest point to the newest."""
        existing = {row.topic: row for row in self.query(TopicSparkline)}
        axis = self.query(TimeAxis).first() if self.axis else None
        for topic in sorted(rows):
            figure, history = rows[topic]
            if topic in existing:
                existing[topic].show(figure, history)
            else:
                self.mount(TopicSparkline(topic, figure, history), before=axis)
        for line in self.query(AxisLine):
            line.span = span
