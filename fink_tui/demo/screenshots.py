"""Regenerate the README's screenshots from the app itself, on the demo stream.

``python -m fink_tui.demo.screenshots docs`` (``make screenshots``) starts the embedded
broker, publishes the demo's backlog, records what the Kafka source sends while it reads the
backlog, then opens the app on a replay of that recording without a terminal (nothing races
the screenshots), and saves an SVG of each screen with the app's own ``save_screenshot``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from fink_tui.app import FinkApp
from fink_tui.core.events import AlertsReceived, Event, LagUpdated
from fink_tui.core.source import ReplaySource, record
from fink_tui.core.worker import KafkaSource
from fink_tui.demo.broker import EmbeddedBroker
from fink_tui.demo.run import TOPICS, DemoStream, demo_settings

SIZE = (132, 38)
SHOTS = ("feed", "alert", "lag", "reset", "schema")


async def _shoot(app: FinkApp, folder: Path) -> list[Path]:
    saved: list[Path] = []
    async with app.run_test(size=SIZE, headless=True) as pilot:
        await pilot.pause(0.3)

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


def caught_up(events: list[Event]) -> bool:
    """The recording has alerts and a lag snapshot at zero lag."""
    lags = [e.snapshot for e in events if isinstance(e, LagUpdated)]
    return bool(lags) and lags[-1].lag == 0 and any(isinstance(e, AlertsReceived) for e in events)


def main(argv: list[str]) -> int:
    """Write the screenshots into the folder given (default ``docs``)."""
    folder = Path(argv[0] if argv else "docs")
    folder.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker() as broker:
        broker.create_topics({t.name: t.partitions for t in TOPICS})
        stream = DemoStream(broker.bootstrap, seed=2026)
        stream.setup(backlog_bursts=4)  # past the schema switch, with malformed messages
        settings = demo_settings(broker.bootstrap)
        events = record(KafkaSource(settings, lag_interval=1.0), caught_up, timeout=60)
        last = max((e.received_at for e in events if isinstance(e, AlertsReceived)), default=0)
        # The rates are shown as the second after the last batch saw them.
        app = FinkApp(settings, ReplaySource(events), clock=lambda: last + 1.5)
        for path in asyncio.run(_shoot(app, folder)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
