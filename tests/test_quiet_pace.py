"""The shown screen is redrawn four times a second while something moves, every QUIET_REFRESH
seconds (two) when nothing does (no alert, no key, no news from the stream but lag refreshes,
no new terminal size), and at the quick pace again as soon as one of those comes."""

from __future__ import annotations

import time
from itertools import pairwise

from fink_tui.app import QUIET_REFRESH, REFRESH_SECONDS, FinkApp
from fink_tui.config import Settings
from fink_tui.core.source import ReplaySource
from fink_tui.messages import StreamEventPosted
from tests.test_key_first import TOPIC, batches, send_key
from tests.test_remote import until

SIZE = (120, 36)


class CountingApp(FinkApp):
    """Notes when the timer redraws the screen."""

    def __init__(self) -> None:
        settings = Settings(servers="127.0.0.1:9092", group_id="quiet-pace", topics=(TOPIC,))
        super().__init__(settings, ReplaySource())
        self.redraws: list[float] = []
        self.ticks: list[float] = []

    def _tick(self) -> None:
        self.ticks.append(time.monotonic())
        super()._tick()

    def refresh_views(self, steady: bool = False) -> None:
        if steady:
            self.redraws.append(time.monotonic())
        super().refresh_views(steady)


def redraws_within(app: CountingApp, began: float, seconds: float) -> list[float]:
    return [at for at in app.redraws if began <= at < began + seconds]


async def test_the_screen_is_redrawn_at_the_quiet_pace_while_nothing_moves() -> None:
    """After the alerts, once the screens out of sight are caught up: at most one redraw
    every QUIET_REFRESH seconds, and no tick of the timer between two. The next batch, later
    a key, and later a new terminal size bring back four a second."""
    app = CountingApp()
    first, second = batches(2, 3)
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(StreamEventPosted(first))
        assert await until(pilot, lambda: app.state.alert_count == 3)
        assert await until(pilot, lambda: app._quiet, 15)
        began = time.monotonic()
        await pilot.pause(2.5)
        quiet = redraws_within(app, began, 2.5)
        assert 1 <= len(quiet) <= 3  # four a second would be ten
        assert all(b - a >= QUIET_REFRESH - REFRESH_SECONDS for a, b in pairwise(quiet))
        # Nor is the app woken for nothing in between: one timer tick per redraw.
        assert len([at for at in app.ticks if began <= at < began + 2.5]) <= 3

        app.post_message(StreamEventPosted(second))
        assert await until(pilot, lambda: app.state.alert_count == 6)
        began = time.monotonic()
        await pilot.pause(1.5)
        assert len(redraws_within(app, began, 1.5)) >= 4

        assert await until(pilot, lambda: app._quiet, 15)
        send_key(app, "2", "2")
        await pilot.pause(0.05)
        began = time.monotonic()
        await pilot.pause(1.5)
        assert len(redraws_within(app, began, 1.5)) >= 4

        assert await until(pilot, lambda: app._quiet, 15)
        await pilot.resize_terminal(SIZE[0] + 20, SIZE[1])
        began = time.monotonic()
        await pilot.pause(1.5)
        assert len(redraws_within(app, began, 1.5)) >= 4
        await pilot.press("q")
