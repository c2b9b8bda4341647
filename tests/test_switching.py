"""Switching screens at once: the screens out of sight are brought up to date while the stream
is quiet, a mode is drawn before it is shown (one layout, one paint), and a line of text over
the lag table is updated without laying the screen out again unless its height changes."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from fink_tui import app as app_module
from fink_tui.app import CATCH_UP_AFTER, FinkApp
from fink_tui.core.events import LagUpdated
from fink_tui.core.source import ReplaySource
from fink_tui.screens.base import update_static
from fink_tui.screens.lag import LagScreen
from fink_tui.textual_compat import mode_screen
from fink_tui.widgets.lag_table import LagTable
from tests.test_remote import until
from tests.test_snapshots import snapshot_app

SIZE = (160, 45)


def play_committed(app: FinkApp, committed: int) -> None:
    """A new lag snapshot: the first partition now committed at ``committed``."""
    source, lag = app.source, app.state.lag
    assert isinstance(source, ReplaySource) and lag is not None
    first = lag.topics[0]
    moved = replace(first.partitions[0], committed=committed)
    topic = replace(first, partitions=(moved, *first.partitions[1:]))
    snapshot = replace(lag, topics=(topic, *lag.topics[1:]), taken_at=lag.taken_at + 5)
    source.play([LagUpdated(snapshot)])


async def built_lag_screen(pilot: Pilot[int]) -> LagScreen:
    """The lag screen, once the app has built it out of sight."""
    for _ in range(100):
        lag = mode_screen(pilot.app, "lag")
        if lag is not None:
            break
        await pilot.pause(0.05)
    assert isinstance(lag, LagScreen)
    return lag


def committed_cells(table: LagTable) -> list[str]:
    return [str(getattr(table.get_row_at(i)[1], "plain", "")) for i in range(table.row_count)]


async def test_a_mode_out_of_sight_catches_up_once_the_stream_is_quiet() -> None:
    """The feed shown, the lag screen built out of sight: once no alert and no key came for
    CATCH_UP_AFTER seconds its table holds the snapshot and it is laid out at the terminal's
    size, before anyone switches to it, and caught up on the model. (What a later refresh
    does there: the next test.)"""
    app = snapshot_app("feed")
    async with app.run_test(size=SIZE) as pilot:
        lag = None
        for _ in range(200):
            lag = mode_screen(app, "lag")
            if isinstance(lag, LagScreen) and lag.query_one(LagTable).row_count:
                break
            await pilot.pause(0.05)
        assert isinstance(lag, LagScreen) and app.screen is not lag
        table = lag.query_one(LagTable)
        assert committed_cells(table)[:2] == ["6", "4"]
        for _ in range(40):
            if table.size.width:
                break
            await pilot.pause(0.05)
        assert table.size.width == SIZE[0] and table.size.height > 0
        assert await until(pilot, lambda: lag._caught_up is not None, CATCH_UP_AFTER + 3)
        assert app.screen is not lag
        await pilot.press("q")


async def test_a_refresh_out_of_sight_that_only_moves_figures_waits_for_the_key() -> None:
    """The feed shown and the app at rest: a lag refresh that only changes figures (and the
    time) leaves the lag screen out of sight as it is, and the app at its quiet pace; `2`
    shows the new figures at once. A refresh that brings a row (a partition with alerts for
    the first time) is drawn out of sight, before the key."""
    app = snapshot_app("feed")
    async with app.run_test(size=SIZE) as pilot:
        lag = await built_lag_screen(pilot)
        table = lag.query_one(LagTable)
        assert await until(pilot, lambda: app._quiet and lag._caught_up is not None, 15)
        rows = table.row_count
        play_committed(app, 9)
        await pilot.pause(CATCH_UP_AFTER + 1.0)
        assert committed_cells(table)[:1] == ["6"]  # not redrawn out of sight
        assert app._quiet  # nor at the quick pace for it
        await pilot.press("2")
        assert app.screen is lag and committed_cells(table)[:1] == ["9"]
        await pilot.press("1")
        assert await until(pilot, lambda: app._quiet, 15)
        snapshot = app.state.lag
        assert snapshot is not None
        first = snapshot.topics[0]
        hidden = next(p for p in first.partitions if p.empty)
        filled = replace(hidden, high=hidden.low + 5)  # alerts in it now: a row of its own
        parts = tuple(filled if p is hidden else p for p in first.partitions)
        topic = replace(first, partitions=parts)
        source = app.source
        assert isinstance(source, ReplaySource)
        topics = (topic, *snapshot.topics[1:])
        source.play([LagUpdated(replace(snapshot, topics=topics, taken_at=snapshot.taken_at + 5))])
        assert await until(pilot, lambda: table.row_count == rows + 1, CATCH_UP_AFTER + 3)
        assert app.screen is not lag
        await pilot.press("q")


async def test_a_lag_refresh_on_the_lag_screen_is_drawn_when_it_comes() -> None:
    """At the quiet pace (a redraw every QUIET_REFRESH seconds), a new snapshot on the lag
    screen is drawn as it comes, not at the next tick."""
    app = snapshot_app("lag")
    async with app.run_test(size=SIZE) as pilot:
        lag = app.screen
        assert isinstance(lag, LagScreen)
        table = lag.query_one(LagTable)
        assert await until(pilot, lambda: app._quiet and table.row_count > 0, 15)
        play_committed(app, 9)
        await pilot.pause(0.1)  # the next tick is up to QUIET_REFRESH (2 s) away
        assert committed_cells(table)[:1] == ["9"]
        await pilot.press("q")


async def test_nothing_is_drawn_out_of_sight_while_alerts_arrive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alerts a moment ago: the screens out of sight are left as they are; a second later
    without alerts or keys, one is caught up."""
    monkeypatch.setattr(app_module, "CATCH_UP_AFTER", 3600.0)  # no tick catches up meanwhile
    app = snapshot_app("feed")
    async with app.run_test(size=SIZE) as pilot:
        lag = await built_lag_screen(pilot)
        table = lag.query_one(LagTable)
        monkeypatch.setattr(app_module, "CATCH_UP_AFTER", 1.0)
        play_committed(app, 7)
        app._alerts_at = time.monotonic()
        app._catch_up_out_of_sight()
        assert committed_cells(table)[:1] != ["7"]
        app._alerts_at = time.monotonic() - 1.5
        app.collections.last_key = app._alerts_at
        for _ in app.MODES:  # one screen a call: the lag screen's turn comes
            app._catch_up_out_of_sight()
        assert committed_cells(table)[:1] == ["7"]
        await pilot.press("q")


async def test_a_mode_is_drawn_before_it_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Alerts or keys all along (nothing caught up out of sight): the switch itself draws the
    lag screen from the model before Textual lays it out and paints it, so its first paint is
    current."""
    monkeypatch.setattr(app_module, "CATCH_UP_AFTER", 3600.0)
    app = snapshot_app("feed")
    async with app.run_test(size=SIZE) as pilot:
        lag = await built_lag_screen(pilot)
        play_committed(app, 8)
        assert committed_cells(lag.query_one(LagTable))[:1] != ["8"]  # out of sight: not yet
        app.switch_mode("lag")  # no await: nothing else has run yet
        assert committed_cells(lag.query_one(LagTable))[:2] == ["8", "4"]
        assert not app._batch_count  # painted at once, not held (delay_update)
        await pilot.pause()
        assert app.screen is lag
        await pilot.press("q")


class TwoStatics(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("one line", id="top")
        yield Static("below", id="below")


async def test_a_static_is_laid_out_again_only_when_its_height_changes() -> None:
    """update_static: a second line pushes what is below down, a shorter text pulls it back,
    and a text of the same height is shown in place."""
    app = TwoStatics()
    async with app.run_test(size=(40, 10)) as pilot:
        top, below = app.query_one("#top", Static), app.query_one("#below", Static)
        update_static(top, "two\nlines")
        await pilot.pause()
        assert top.size.height == 2 and below.region.y == 2
        update_static(top, "one")
        await pilot.pause()
        assert top.size.height == 1 and below.region.y == 1
        update_static(top, "another")
        await pilot.pause()
        assert str(top.render()) == "another" and below.region.y == 1


class OneLagTable(App[None]):
    def compose(self) -> ComposeResult:
        yield LagTable()


async def test_a_lag_refresh_draws_only_the_rows_that_changed() -> None:
    """The same partitions: a snapshot with the same figures draws no row again (an idle
    stream redraws nothing every 5 s), one with a new committed offset for one partition
    draws that row (and the total's) only and keeps the cursor; a partition more is drawn
    without drawing the others again."""
    from fink_tui.core.lag import build_snapshot
    from fink_tui.widgets.lag_table import row_key

    def snapshot(offsets: dict[int, int], at: float):  # type: ignore[no-untyped-def]
        snap = build_snapshot(
            "g",
            {"t": list(offsets)},
            {("t", p): offset for p, offset in offsets.items()},
            {("t", p): (0, 100) for p in offsets},
        )
        return replace(snap, taken_at=at)

    app = OneLagTable()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(LagTable)
        table.show(snapshot({0: 10, 1: 11, 2: 12}, 1000.0))
        await pilot.pause()
        table.move_cursor(row=1)
        lines = [table.render_line(y) for y in range(1, 5)]  # the header is line 0
        table.show(snapshot({0: 10, 1: 11, 2: 12}, 1005.0))
        assert all(table.render_line(y) is lines[y - 1] for y in range(1, 5))
        table.show(snapshot({0: 10, 1: 11, 2: 22}, 1010.0))
        again = [table.render_line(y) for y in range(1, 5)]
        assert [a is b for a, b in zip(lines, again, strict=True)] == [True, True, False, False]
        assert [str(c) for c in table.get_row(row_key("t", 2))][1:5] == ["22", "0", "100", "78"]
        assert table.selected() == ("t", 1)
        table.show(snapshot({0: 10, 1: 11, 2: 22, 3: 5}, 1015.0))
        assert table.row_count == 5 and table.selected() == ("t", 1)
        assert table.render_line(1) is again[0]
        assert "t [3]" in "".join(segment.text for segment in table.render_line(4))


async def test_the_reset_dialog_is_built_before_the_first_p() -> None:
    """Once the screens are built, the lag screen's reset dialog is too: the first `p` shows
    it without building it."""
    app = snapshot_app("lag")
    async with app.run_test(size=SIZE) as pilot:
        lag = app.screen
        assert isinstance(lag, LagScreen)
        for _ in range(200):
            if lag.reset_dialog().is_running:
                break
            await pilot.pause(0.05)
        dialog = lag.reset_dialog()
        assert dialog.is_running and app.screen is lag
        await pilot.press("p")
        await pilot.pause()
        assert app.screen is dialog
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is lag


async def test_catching_up_while_the_app_closes_does_nothing() -> None:
    """The refresh tick can come once the screens are gone (the app closing): nothing to catch
    up then, and no error (it crashed the app's closing once)."""
    app = snapshot_app("feed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    app._alerts_at = 0.0
    app.collections.last_key = -CATCH_UP_AFTER
    app._catch_up_out_of_sight()
