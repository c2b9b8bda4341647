"""The rate sparkline draws what Textual's sparkline draws: the same bars, the same colours."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from hypothesis import given
from hypothesis import strategies as st
from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from textual.renderables.sparkline import Sparkline as TextualBars

from fink_tui.widgets.rate_sparkline import Bars

LOW, HIGH = Color.from_rgb(10, 40, 90), Color.from_rgb(240, 120, 30)


def cells(renderable: object, width: int) -> list[tuple[str, object]]:
    """What a terminal shows: each cell's character and style, line by line."""
    console = Console(width=width, color_system="truecolor", legacy_windows=False)
    segments = console.render(renderable, console.options.update_width(width))
    return [(ch, seg.style) for seg in Segment.simplify(segments) for ch in seg.text]


def both(
    data: Sequence[float], width: int, height: int, summary: Callable[..., float] = max
) -> tuple[list[tuple[str, object]], list[tuple[str, object]]]:
    theirs = TextualBars(
        data, width=width, height=height, min_color=LOW, max_color=HIGH, summary_function=summary
    )
    ours = Bars(data, width, height, LOW, HIGH, summary)
    return cells(theirs, width), cells(ours, width)


@given(
    data=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=400),
    width=st.integers(min_value=1, max_value=160),
    height=st.integers(min_value=1, max_value=3),
)
def test_the_same_cells_as_textuals_sparkline(data: list[float], width: int, height: int) -> None:
    """Any data, longer or shorter than the width, on one to three lines."""
    theirs, ours = both(data, width, height)
    assert ours == theirs


def test_a_minute_of_rates_after_a_burst() -> None:
    """What the feed shows: 60 one-second buckets across 98 columns, a burst in the middle,
    with a mean per bar as well as the default max; fewer segments than bars."""
    data = [0.0] * 20 + [40.0, 120.0, 310.0, 305.0, 90.0, 3.0] + [0.0] * 34
    for summary in (max, statistics.mean):
        theirs, ours = both(data, 98, 1, summary)
        assert ours == theirs
    console = Console(width=98, color_system="truecolor")
    segments = list(console.render(Bars(data, 98, 1, LOW, HIGH, max)))
    assert len(segments) < 20  # the zeros on either side are one segment each


def test_nothing_and_one_value() -> None:
    """No data: a flat line of the low colour; one value: full bars of the high colour."""
    for data in ([], [5.0]):
        for height in (1, 2):
            theirs, ours = both(data, 30, height)
            assert ours == theirs
