"""Regenerate the README's screenshots from the app itself, on the demo stream.

``python -m fink_tui.demo.screenshots docs`` (``make screenshots``) starts the embedded
broker, publishes the demo's backlog, opens the app without a terminal, and saves an SVG of
each screen with the app's own ``save_screenshot``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from fink_tui.app import FinkApp
from fink_tui.demo.broker import EmbeddedBroker
from fink_tui.demo.run import TOPICS, DemoStream, demo_settings

SIZE = (132, 38)
SHOTS = ("feed", "alert", "lag", "reset", "schema")


async def _shoot(app: FinkApp, folder: Path) -> list[Path]:
    saved: list[Path] = []
    async with app.run_test(size=SIZE, headless=True) as pilot:
        for _ in range(600):
            if app.state.lag is not None and app.state.alerts and app.state.lag.lag == 0:
                break
            await pilot.pause(0.05)
        await pilot.pause(1.2)  # let the rate counters see a full second

        async def save(name: str) -> None:
            app.refresh_views()
            await pilot.pause(0.3)
            saved.append(Path(app.save_screenshot(filename=f"{name}.svg", path=str(folder))))

        await save("feed")
        # A supernova makes the most telling light curve.
        await pilot.press("slash", *"early_sn", "enter", "enter")
        await pilot.pause(0.5)
        await save("alert")
        await pilot.press("escape", "escape", "2")
        await save("lag")
        await pilot.press("t")
        await save("reset")
        await pilot.press("escape", "3")
        await save("schema")
        await pilot.press("q")
    return saved


def main(argv: list[str]) -> int:
    """Write the screenshots into the folder given (default ``docs``)."""
    folder = Path(argv[0] if argv else "docs")
    folder.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker() as broker:
        broker.create_topics({t.name: t.partitions for t in TOPICS})
        stream = DemoStream(broker.bootstrap, seed=2026)
        stream.setup(backlog_bursts=4)  # past the schema switch, with malformed messages
        app = FinkApp(
            demo_settings(broker.bootstrap), start_worker=True, worker_options={"lag_interval": 1.0}
        )
        for path in asyncio.run(_shoot(app, folder)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
