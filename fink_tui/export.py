"""Exports of the lag table: an SVG screenshot of the lag screen, plus CSV and JSON.

File names say the group and the time of the snapshot, e.g.
``lag_mygroup_20261124T031500Z.svg``. ``fink-tui lag --export FILE.svg`` renders the same
screen with no terminal, for cron jobs and reports.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from fink_tui.config import Settings
from fink_tui.core.files import export_stem, write_table_files
from fink_tui.core.lag import LagSnapshot

if TYPE_CHECKING:
    from textual.app import App


def export_lag_files(app: App[object], snapshot: LagSnapshot, folder: Path) -> list[Path]:
    """Screenshot the running app's lag screen and write the table files beside it."""
    stem = export_stem(snapshot)
    folder.mkdir(parents=True, exist_ok=True)
    svg = Path(app.save_screenshot(filename=f"{stem}.svg", path=str(folder)))
    return [svg, *write_table_files(snapshot, folder, stem)]


def export_lag_svg(
    settings: Settings, snapshot: LagSnapshot, path: Path, all_partitions: bool = False
) -> Path:
    """Render the lag screen for ``snapshot`` to an SVG file, with no terminal."""
    from fink_tui.app import FinkApp
    from fink_tui.core.events import CONNECTED, ConnectionChanged, LagUpdated

    app = FinkApp(settings, start_worker=False, mode="lag")
    app.state.apply(ConnectionChanged(CONNECTED, settings.servers))
    app.state.apply(LagUpdated(snapshot))
    rows = sum(len(t.partitions) + 2 for t in snapshot.topics)
    size = (110, min(max(rows + 14, 24), 200))
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)

    async def render() -> None:
        async with app.run_test(size=size, headless=True) as pilot:
            if all_partitions:
                await pilot.press("e")
            await pilot.pause()
            app.refresh_views()
            await pilot.pause()
            path.write_text(
                app.export_screenshot(title=f"fink-tui lag — {snapshot.group}"), encoding="utf-8"
            )

    asyncio.run(render())
    return path
