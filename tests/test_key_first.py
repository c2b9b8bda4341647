"""A key comes before the stream's events: the events queued with it wait until it has been
handled and painted, then are handled in the order they came, none lost; keys held down do
not hold them back for ever."""

from __future__ import annotations

import time

from textual import events

from fink_tui.app import DEFER_MOST, KEY_FIRST, FinkApp
from fink_tui.config import Settings
from fink_tui.core.events import (
    AlertsReceived,
    AlertsShown,
    Connection,
    ConnectionChanged,
    Event,
)
from fink_tui.core.source import ReplaySource
from fink_tui.messages import StreamEventPosted
from fink_tui.screens.lag import LagScreen
from tests.helpers import decoded_ztf
from tests.test_remote import until

TOPIC = "fink_key_first_ztf"
SIZE = (120, 36)


class NotingApp(FinkApp):
    """Notes when each event is handled, and on which screen."""

    def __init__(self, settings: Settings, source: ReplaySource) -> None:
        super().__init__(settings, source)
        self.handled: list[tuple[float, str, Event]] = []
        self.during_a_key: list[Event] = []
        """Events handled while a key was queued or being painted."""
        self.keys: list[float] = []

    def handle_event(self, event: Event) -> None:
        self.handled.append((time.monotonic(), type(self.screen).__name__, event))
        if self.key_first():
            self.during_a_key.append(event)
        super().handle_event(event)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.keys.append(time.monotonic())
        await super().on_event(event)


def batches(n: int, size: int) -> list[AlertsReceived]:
    """``n`` batches of ``size`` real ZTF alerts, at consecutive offsets of one partition."""
    return [
        AlertsReceived(
            tuple(decoded_ztf(TOPIC, b * size, size)), (), offsets=((TOPIC, 0, (b + 1) * size),)
        )
        for b in range(n)
    ]


def app_with_replay() -> tuple[NotingApp, ReplaySource]:
    source = ReplaySource()
    settings = Settings(servers="127.0.0.1:9092", group_id="key-first", topics=(TOPIC,))
    return NotingApp(settings, source), source


def send_key(app: FinkApp, key: str, character: str | None) -> None:
    """The key as the terminal's driver sends it (the app counts it before it is queued)."""
    driver = app._driver
    assert driver is not None
    driver.send_message(events.Key(key, character))


async def test_a_batch_queued_with_a_key_waits_for_the_key() -> None:
    """A batch posted just before a key (ahead of it in the queue) and one just after: the
    key switches to the lag screen first; both batches are handled after it, KEY_FIRST
    later, in order, and only then are their offsets handed back for commit."""
    app, source = app_with_replay()
    first, second = batches(2, 5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        app.post_message(StreamEventPosted(first))
        send_key(app, "2", "2")
        app.post_message(StreamEventPosted(second))
        assert await until(pilot, lambda: app.state.alert_count == 10)
        [key_at] = app.keys
        shown = [(at, screen, e) for at, screen, e in app.handled if e in (first, second)]
        assert [e for _, _, e in shown] == [first, second]
        assert all(screen == LagScreen.__name__ for _, screen, _ in shown)
        assert all(at - key_at >= KEY_FIRST * 0.9 for at, _, _ in shown)
        commits = [c for c in source.sent if isinstance(c, AlertsShown)]
        assert [c.offsets for c in commits] == [first.offsets, second.offsets]
        assert isinstance(app.screen, LagScreen)
        assert app.during_a_key == []
        await pilot.press("q")


async def test_what_the_person_asked_for_does_not_wait_for_the_key() -> None:
    """With no batch waiting, the other events (a connection's state, a reset's plan) are
    handled at once, key or not; one that comes behind a waiting batch keeps its place."""
    app, _ = app_with_replay()
    [batch] = batches(1, 3)
    connected = ConnectionChanged(Connection.CONNECTED, "127.0.0.1:9092")
    again = ConnectionChanged(Connection.CONNECTED, "127.0.0.1:9093")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        send_key(app, "2", "2")
        app.post_message(StreamEventPosted(connected))
        app.post_message(StreamEventPosted(batch))
        app.post_message(StreamEventPosted(again))
        assert await until(pilot, lambda: app.state.alert_count == 3 and again in order(app))
        assert order(app) == [connected, batch, again]
        assert app.during_a_key == [connected]
        await pilot.press("q")


def order(app: NotingApp) -> list[Event]:
    return [e for _, _, e in app.handled if isinstance(e, AlertsReceived | ConnectionChanged)]


async def test_keys_held_down_hold_the_events_back_at_most_defer_most() -> None:
    """A key every 30 ms for 1.5 s and a batch every 100 ms meanwhile: the batches are
    handled while the keys still come (each within about DEFER_MOST of being posted, where
    without the bound the first would wait the whole 1.5 s), every one of them, in order."""
    app, _ = app_with_replay()
    sent = batches(15, 2)
    posted: dict[int, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < 1.5:
            if n < len(sent) and time.monotonic() - start >= n * 0.1:
                posted[id(sent[n])] = time.monotonic()
                app.post_message(StreamEventPosted(sent[n]))
                n += 1
            send_key(app, "down", None)
            await pilot.pause(0.03)
        keys_ended = time.monotonic()
        assert await until(pilot, lambda: app.state.alert_count == 2 * len(sent))
        handled = [(at, e) for at, _, e in app.handled if e in sent]
        assert [e for _, e in handled] == sent
        before_the_end = [e for at, e in handled if at < keys_ended]
        assert len(before_the_end) >= len(sent) // 2, (len(before_the_end), len(sent))
        waits = [at - posted[id(e)] for at, e in handled if at < keys_ended]
        assert max(waits) < DEFER_MOST + 0.6, waits  # 0.6: timers late on a loaded machine
        await pilot.press("q")
