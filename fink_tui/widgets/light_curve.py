"""An alert's light curve drawn in the terminal with plotext."""

from __future__ import annotations

from collections import defaultdict

from textual_plotext import PlotextPlot

from fink_tui.core.survey import LightCurvePoint

BAND_COLORS = {"u": "magenta", "g": "green", "r": "red", "i": "orange", "z": "yellow", "y": "white"}


class LightCurvePlot(PlotextPlot):
    """Magnitudes (ZTF, brighter up, upper limits as ▼) or fluxes in nJy (LSST) per band,
    against days before the latest point."""

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
        groups: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(
            lambda: ([], [])
        )
        for p in self.points:
            kind = "upper limit" if p.upper else ("forced" if p.forced else "")
            xs, ys = groups[(p.band, kind)]
            xs.append((p.time - last).total_seconds() / 86400)
            ys.append(p.value)
        for (band, kind), (xs, ys) in sorted(groups.items()):
            marker = "▼" if kind == "upper limit" else ("·" if kind == "forced" else "●")
            label = f"{band} {kind}".strip()
            plt.scatter(xs, ys, marker=marker, color=BAND_COLORS.get(band, "white"), label=label)
        plt.xlabel("days before the latest point")
        if self.survey == "ztf":
            plt.ylabel("magnitude")
            plt.yreverse(True)
        else:
            plt.ylabel("flux (nJy)")
        plt.title(f"light curve: {len(self.points)} points")
