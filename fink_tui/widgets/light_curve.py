"""An alert's light curve drawn in the terminal with plotext, and its legend."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from fink_tui.core.survey import LightCurvePoint

BAND_COLORS = {"u": "magenta", "g": "green", "r": "red", "i": "orange", "z": "yellow", "y": "white"}
"""plotext's colour names."""
BAND_STYLES = {**BAND_COLORS, "i": "dark_orange"}
"""The same colours as Rich styles (Rich has no plain "orange")."""
DETECTION, UPPER_LIMIT, FORCED, ERROR_BAR = "●", "▼", "·", "│"
TICKS = 5


def legend(points: list[LightCurvePoint], survey: str) -> Text:
    """One line: the bands in their colours and what the markers mean."""
    text = Text(f"{len(points)} points  ")
    for band in sorted({p.band for p in points}, key=lambda b: "ugrizy".find(b)):
        text.append(f"{DETECTION} {band}  ", style=BAND_STYLES.get(band, "white"))
    if any(p.upper for p in points):
        text.append(f"{UPPER_LIMIT} upper limit  ", style="dim")
    if any(p.forced for p in points):
        text.append(f"{FORCED} forced photometry  ", style="dim")
    if any(has_error_bar(p) for p in points):
        text.append(f"{ERROR_BAR} ±1σ  ", style="dim")
    text.append("magnitude (brighter up)" if survey == "ztf" else "flux (nJy)", style="dim")
    return text


def has_error_bar(point: LightCurvePoint) -> bool:
    """Whether a point is drawn with an error bar (a measure with its error: ZTF sigmapsf,
    LSST psfFluxErr; an upper limit has none)."""
    return not point.upper and point.error is not None and point.error > 0


def draw(plt: Plot, points: list[LightCurvePoint], survey: str) -> None:
    """Set the light curve up on a plotext figure (drawn by its ``build``)."""
    plt.clear_figure()
    if not points:
        plt.title("no light curve in this alert")
        return
    last = max(p.time for p in points)
    # Magnitudes are drawn negated, with their own labels, so brighter is up: plotext's
    # axis reversal flips again on every redraw.
    sign = -1.0 if survey == "ztf" else 1.0
    groups: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    bars: dict[str, tuple[list[float], list[float], list[float]]] = defaultdict(
        lambda: ([], [], [])
    )
    reach: list[float] = []  # the ends of the error bars, for the magnitude ticks
    for p in points:
        marker = UPPER_LIMIT if p.upper else (FORCED if p.forced else DETECTION)
        xs, ys = groups[(p.band, marker)]
        xs.append((p.time - last).total_seconds() / 86400)
        ys.append(sign * p.value)
        if has_error_bar(p):
            bx, by, berr = bars[p.band]
            bx.append(xs[-1])
            by.append(ys[-1])
            berr.append(p.error or 0.0)
            reach += [ys[-1] - berr[-1], ys[-1] + berr[-1]]
    # The bars first, so the markers are drawn over them.
    for band, (bx, by, berr) in sorted(bars.items()):
        plt.error(bx, by, yerr=berr, color=BAND_COLORS.get(band, "white"))
    for (band, marker), (xs, ys) in sorted(groups.items()):
        plt.scatter(xs, ys, marker=marker, color=BAND_COLORS.get(band, "white"))
    plt.xlabel("days before the latest point")
    if survey == "ztf":
        values = [y for _, ys in groups.values() for y in ys]
        values += reach
        low, high = min(values), max(values)
        step = (high - low) / (TICKS - 1) or 1.0
        ticks = [low + i * step for i in range(TICKS)]
        plt.yticks(ticks, [f"{-t:.1f}" for t in ticks])


DrawingKey = tuple[int, int, str]
"""(width, height, plotext theme) of a drawing."""


def light_curve_lines(
    points: list[LightCurvePoint], survey: str, key: DrawingKey, plt: Plot | None = None
) -> list[Strip]:
    """The light curve's lines drawn at ``key``, on ``plt`` or a figure of its own: any
    thread. plotext takes ~30 ms, and Rich as long again to turn its picture into lines, which
    the UI thread need not spend."""
    width, height, theme = key
    if plt is None:
        plt = Plot()
        draw(plt, points, survey)
    plt.plotsize(width, height)
    plt._set_size(width, height)  # as PlotextPlot.render does (textual-plotext issue 5)
    plt.theme(theme)
    text = Text.from_ansi(plt.build(), no_wrap=True, overflow="crop")
    console = Console(width=width, color_system="truecolor", force_terminal=True)
    lines = Segment.split_and_crop_lines(text.render(console), width, pad=True)
    return [Strip(line, width) for line in lines][:height]


class LightCurvePlot(PlotextPlot):
    """Magnitudes (ZTF, brighter up, upper limits as ▼) or fluxes in nJy (LSST) per band,
    with their ±1σ error bars, against days before the latest point. What it drew is kept for
    its size and theme (plotext builds the whole picture for every paint otherwise)."""

    def __init__(
        self,
        points: list[LightCurvePoint] | None,
        survey: str,
        *,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.points = points
        """None until the alert is read: nothing drawn."""
        self.survey = survey
        self._drawn: tuple[DrawingKey, list[Strip]] | None = None

    def on_mount(self) -> None:
        if self.points is not None:
            draw(self.plt, self.points, self.survey)

    def drawing_key(self) -> DrawingKey:
        """(width, height, plotext theme) of the next paint (UI thread)."""
        return (self.size.width, self.size.height, self._get_plotext_theme_name(self.app.theme))

    def show(
        self,
        points: list[LightCurvePoint] | None,
        survey: str,
        drawn: tuple[DrawingKey, list[Strip]] | None = None,
    ) -> None:
        """Draw these points (``drawn``: made already for a size, by :func:`light_curve_lines`;
        None: nothing yet)."""
        if points is None and self.points is None:
            self.survey = survey
            return  # blank already: its lines drawn stay (AlertScreen renders them ahead)
        self.points, self.survey, self._drawn = points, survey, drawn
        if points is not None:
            draw(self.plt, points, survey)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        if self.points is None:
            return Strip.blank(self.size.width)
        key = self.drawing_key()
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = (key, light_curve_lines(self.points, self.survey, key, self.plt))
        lines = self._drawn[1]
        return lines[y] if y < len(lines) else Strip.blank(self.size.width)
