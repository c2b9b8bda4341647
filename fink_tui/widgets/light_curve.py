"""An alert's light curve drawn in the terminal with plotext, and its legend."""

from __future__ import annotations

from collections import defaultdict

from rich.text import Text
from textual_plotext import PlotextPlot

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


class LightCurvePlot(PlotextPlot):
    """Magnitudes (ZTF, brighter up, upper limits as ▼) or fluxes in nJy (LSST) per band,
    with their ±1σ error bars, against days before the latest point."""

    def __init__(
        self,
        points: list[LightCurvePoint],
        survey: str,
        *,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.points = points
        self.survey = survey

    def on_mount(self) -> None:
        plt = self.plt
        plt.clear_figure()
        if not self.points:
            plt.title("no light curve in this alert")
            return
        last = max(p.time for p in self.points)
        # Magnitudes are drawn negated, with their own labels, so brighter is up: plotext's
        # axis reversal flips again on every redraw.
        sign = -1.0 if self.survey == "ztf" else 1.0
        groups: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(
            lambda: ([], [])
        )
        bars: dict[str, tuple[list[float], list[float], list[float]]] = defaultdict(
            lambda: ([], [], [])
        )
        reach: list[float] = []  # the ends of the error bars, for the magnitude ticks
        for p in self.points:
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
        if self.survey == "ztf":
            values = [y for _, ys in groups.values() for y in ys]
            values += reach
            low, high = min(values), max(values)
            step = (high - low) / (TICKS - 1) or 1.0
            ticks = [low + i * step for i in range(TICKS)]
            plt.yticks(ticks, [f"{-t:.1f}" for t in ticks])
