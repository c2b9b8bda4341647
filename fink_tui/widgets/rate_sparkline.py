"""A sparkline drawn as Textual's draws it, for a fraction of its cost.

A rate's sparkline is drawn again every second while the burst it shows scrolls out of its
window, on a screen that is otherwise idle. Textual's sparkline works each bucket's bounds out
with ``Fraction`` and makes a colour and a ``Style`` for every bar, one segment each: 1.3 ms
for 98 bars, 2.8 ms with the segments' way through the compositor, the feed's largest cost
while idle. This one gives the same bars in the same colours (tested against Textual's), with
integer bounds, a style made once per height of bar, and a bar's neighbours of the same style
in one segment: 1.0 ms in the app (bench/README.md, thirteenth session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from rich.color import Color
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from textual.app import RenderResult
from textual.renderables._blend_colors import blend_colors
from textual.widgets import Sparkline

BARS = "▁▂▃▄▅▆▇█"


class Bars:
    """The renderable: ``data`` in ``width`` buckets, each summed up by ``summary``, on
    ``height`` lines, coloured from ``low`` (the smallest) to ``high`` (the largest)."""

    def __init__(
        self,
        data: Sequence[float],
        width: int,
        height: int,
        low: Color,
        high: Color,
        summary: Callable[[Sequence[float]], float],
    ) -> None:
        self.data, self.width, self.height = list(data), width, max(height, 1)
        self.low, self.high, self.summary = low, high, summary

    def buckets(self, width: int) -> list[Sequence[float]]:
        """The data cut into ``width`` runs (empty runs left out, as Textual does)."""
        data, n = self.data, len(self.data)
        runs = (data[n * b // width : n * (b + 1) // width] for b in range(width))
        return [run for run in runs if run]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        width, height = self.width or options.max_width, self.height
        if not self.data:  # a flat line at the bottom
            yield from (Segment.line() for _ in range(height - 1))
            yield Segment("▁" * width, Style.from_color(self.low))
            return
        if len(self.data) == 1:  # full bars
            full = Segment("█" * width, Style.from_color(self.high))
            yield full
            yield from (part for _ in range(height - 1) for part in (Segment.line(), full))
            return
        low, top = min(self.data), max(self.data)
        extent = top - low or 1
        levels = len(BARS) * height - 1
        buckets = self.buckets(width)
        step = len(buckets) / width
        ratios: list[float] = []
        index = 0.0
        for _ in range(width):  # Textual's walk, float steps and all, for the same bars
            ratios.append((self.summary(buckets[int(index)]) - low) / extent)
            index += step
        styles: dict[float, Style] = {}
        for i in reversed(range(height)):
            floor, ceiling = i * len(BARS), (i + 1) * len(BARS)
            run, run_style = "", None
            style: Style | None
            for ratio in ratios:
                level = int(ratio * levels)
                if level < floor:
                    bar, style = " ", None
                else:
                    bar = "█" if level >= ceiling else BARS[level % len(BARS)]
                    style = styles.get(ratio)
                    if style is None:
                        style = styles[ratio] = Style.from_color(
                            blend_colors(self.low, self.high, ratio)
                        )
                if style is run_style:
                    run += bar
                    continue
                if run:
                    yield Segment(run, run_style)
                run, run_style = bar, style
            if run:
                yield Segment(run, run_style)
            if i > 0:
                yield Segment.line()


class RateSparkline(Sparkline):
    """Textual's Sparkline (its CSS, colours and data), drawn by :class:`Bars`."""

    def render(self) -> RenderResult:
        _, base = self.background_colors
        low = base + (
            self.get_component_styles("sparkline--min-color").color
            if self.min_color is None
            else self.min_color
        )
        high = base + (
            self.get_component_styles("sparkline--max-color").color
            if self.max_color is None
            else self.max_color
        )
        return Bars(
            self.data or [],
            self.size.width,
            self.size.height,
            low.rich_color,
            high.rich_color,
            self.summary_function,
        )
