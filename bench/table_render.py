"""The lag table's refresh: what drawing it again costs the UI thread, against a DataTable.

``.venv/bin/python bench/table_render.py`` (``--refreshes 40``; ~20 s; no broker). A lag table
the size of a real subscription (3 Fink LSST topics of 10 partitions each, as Fink's docs show
one: 33 rows with the totals) in a headless app, 160 columns wide; a new snapshot every
refresh, in three kinds: every partition moved (a backlog being read), one partition moved,
nothing moved (an idle stream, every 5 s). Timed: ``show()`` (the rows made and compared) and
the render of the table's lines that Textual then draws (``render_lines`` of its region: only
the dirty lines are drawn again). The anchor: Textual's ``DataTable`` holding the same cells,
changed cell by cell with ``update_cell`` (what the lag table was until the eleventh session).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult  # noqa: E402
from textual.geometry import Region  # noqa: E402
from textual.widget import Widget  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from fink_tui.core.lag import LagSnapshot, build_snapshot  # noqa: E402
from fink_tui.widgets.lag_table import LagTable  # noqa: E402
from fink_tui.widgets.line_table import looks  # noqa: E402

TOPICS = (
    "fink_extragalactic_new_candidate_lsst",
    "fink_in_tns_lsst",
    "fink_hostless_candidate_lsst",
)
PARTITIONS = 10
SIZE = (160, 90)
"""Both tables at once, each 44 lines (a 160x45 lag screen's table is ~30)."""
KINDS = ("every partition moved", "one partition moved", "nothing moved")


def snapshot(step: int, kind: str) -> LagSnapshot:
    """The ``step``-th snapshot: committed offsets moved as ``kind`` says."""

    def committed(topic: str, p: int) -> int:
        moved = kind == KINDS[0] or (kind == KINDS[1] and (topic, p) == (TOPICS[0], 0))
        return 1000 * p + (37 * step if moved else 0)

    snap = build_snapshot(
        "bench",
        {t: list(range(PARTITIONS)) for t in TOPICS},
        {(t, p): committed(t, p) for t in TOPICS for p in range(PARTITIONS)},
        {(t, p): (0, 28_000 * (p + 1)) for t in TOPICS for p in range(PARTITIONS)},
    )
    return replace(snap, taken_at=1000.0 + step)


class DataLagTable(DataTable[object]):
    """The anchor: a DataTable with the lag table's cells, changed cell by cell."""

    DEFAULT_CSS = "DataLagTable { height: 44; }"

    def show(self, rows: list[tuple[str, list[object]]]) -> None:
        if not self.columns:
            for name in ("Topic [Partition]", "Committed", "Low", "High", "Lag"):
                self.add_column(name, key=name)
            for name in ("Time lag", "Lost", "Status"):
                self.add_column(name, key=name)
        if [key for key, _ in rows] != [row.key.value for row in self.ordered_rows]:
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            return
        columns = list(self.columns)
        for key, cells in rows:
            for column, old, new in zip(columns, self.get_row(key), cells, strict=True):
                if looks(old) != looks(new):  # type: ignore[arg-type]
                    self.update_cell(key, column, new, update_width=True)


class Tables(App[None]):
    CSS = "LagTable { height: 44; }"

    def compose(self) -> ComposeResult:
        yield LagTable()
        yield DataLagTable()


def render_ms(widget: Widget) -> float:
    began = time.thread_time()
    widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return (time.thread_time() - began) * 1000


async def measure(refreshes: int) -> dict[tuple[str, str], list[float]]:
    app = Tables()
    times: dict[tuple[str, str], list[float]] = {}
    async with app.run_test(size=SIZE) as pilot:
        lag, anchor = app.query_one(LagTable), app.query_one(DataLagTable)
        step = 0
        for kind in KINDS:
            for _ in range(refreshes):
                step += 1
                snap = snapshot(step, kind)
                for name, table in (("line table", lag), ("DataTable", anchor)):
                    began = time.thread_time()
                    if table is lag:
                        lag.show(snap)
                    else:
                        anchor.show(lag._rows(snap))  # type: ignore[arg-type]
                    shown = (time.thread_time() - began) * 1000
                    times.setdefault((kind, name), []).append(shown + render_ms(table))
                await pilot.pause()
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refreshes", type=int, default=40, help="snapshots of each kind")
    args = parser.parse_args(argv)
    times = asyncio.run(measure(args.refreshes))
    rows = len(TOPICS) * (PARTITIONS + 1)
    print(f"Lag table refresh, UI-thread CPU, {rows} rows, {SIZE[0]} columns, headless")
    print(f"  {'snapshot':<24} {'LagTable (median, max)':>24} {'DataTable (median, max)':>26}")
    for kind in KINDS:
        ours, anchor = sorted(times[(kind, "line table")]), sorted(times[(kind, "DataTable")])
        print(
            f"  {kind:<24} {statistics.median(ours):10.1f} ms {ours[-1]:7.1f} ms"
            f" {statistics.median(anchor):12.1f} ms {anchor[-1]:7.1f} ms"
            f"   {statistics.median(anchor) / max(statistics.median(ours), 0.01):5.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
