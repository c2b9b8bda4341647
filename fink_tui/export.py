"""``fink-tui lag --export FILE.svg``: the lag screen rendered with no terminal, for cron jobs
and reports — the dashboard given a replay of one lag snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fink_tui.app import FinkApp
from fink_tui.config import Settings
from fink_tui.core.events import Connection, ConnectionChanged, LagUpdated
from fink_tui.core.files import write_text_atomic
from fink_tui.core.lag import LagSnapshot
from fink_tui.core.source import ReplaySource


def export_lag_svg(
    settings: Settings, snapshot: LagSnapshot, path: Path, all_partitions: bool = False
) -> Path:
    """Render the lag screen for ``snapshot`` to an SVG file, with no terminal: the app is
    given a replay of that one snapshot."""
    source = ReplaySource([ConnectionChanged(Connection.CONNECTED), LagUpdated(snapshot)])
    app = FinkApp(
        settings, source, mode="lag", show_empty_partitions=all_partitions, live=False
    )
    rows = sum(len(t.partitions) + 2 for t in snapshot.topics)
    size = (110, min(max(rows + 14, 24), 200))
    path = path.expanduser()

    async def render() -> None:
        async with app.run_test(size=size, headless=True) as pilot:
            await pilot.pause()
            app.refresh_views()
            await pilot.pause()
            svg = app.export_screenshot(title=f"fink-tui lag — {snapshot.group}")
        write_text_atomic(path, svg)

    asyncio.run(render())
    return path
