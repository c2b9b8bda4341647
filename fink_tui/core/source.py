"""Where the dashboard's events come from: the stream-source boundary.

The app is *given* a :class:`StreamSource`; it starts it with a sink, sends it commands and
stops it. Events flow out through the sink, and nothing writes into the app's state any other
way. Two sources exist:

- :class:`~fink_tui.core.worker.KafkaSource`: the live consumer (a worker thread), and
- :class:`ReplaySource`: recorded events played back, answering commands the way a broker
  would (a reset plan from the last lag snapshot, pause, forced schema) — what the snapshot
  tests, the headless SVG export and the README screenshots use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Protocol, assert_never

from fink_tui.core.decode import Alert, MessageRef
from fink_tui.core.errors import StreamError
from fink_tui.core.events import (
    AlertsReceived,
    AlertsShown,
    ApplyReset,
    CarryPaths,
    Command,
    CommandFailed,
    Connection,
    ConnectionChanged,
    Event,
    ForceSchema,
    LagUpdated,
    OffsetsReset,
    PauseChanged,
    PlanReset,
    RefreshLag,
    ResetPlanned,
    SchemaForced,
    SetPaused,
)
from fink_tui.core.lag import LagSnapshot
from fink_tui.core.reset import plan_reset

Sink = Callable[[Event], Any]
"""Receives every event (from any thread); returning False means the event was not taken."""


class StreamSource(Protocol):
    """Something that produces the dashboard's events and carries out its commands."""

    def start(self, sink: Sink) -> None:
        """Begin producing events into ``sink``; returns at once."""

    def send(self, command: Command) -> None:
        """Hand over a command (thread-safe); its outcome comes back as events."""

    def make_way(self, seconds: float) -> None:
        """Produce nothing for ``seconds`` (thread-safe): the person pressed a key, and the
        screen it changes needs the interpreter more than the stream does."""

    def stop(self) -> None:
        """Stop producing events, and release what the source holds."""

    def fetch_value(self, ref: MessageRef) -> bytes:
        """The raw bytes of the alert at ``ref`` once more (the model let them go): blocking,
        so never on the UI thread. Raises :class:`StreamError` saying why not."""


class ReplaySource:
    """Plays recorded events into the sink, and answers commands from what it replayed.

    Events are delivered on the thread that calls :meth:`start` (and :meth:`send`), in order:
    no thread races a screenshot. Each play hands over copies of the recorded alerts (the
    model lets the bytes of older ones go), so a recording can be played again.
    """

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.events = list(events)
        self._values: dict[MessageRef, bytes] = {}
        self.sink: Sink | None = None
        self.sent: list[Command] = []
        """Every command received, for tests."""
        self._lag: LagSnapshot | None = None
        self._lock = threading.Lock()

    def start(self, sink: Sink) -> None:
        self.sink = sink
        self.play(self.events)

    def play(self, events: Iterable[Event]) -> None:
        """Send more recorded events now (after :meth:`start`)."""
        for event in events:
            if isinstance(event, AlertsReceived):
                alerts = tuple(self._own(alert) for alert in event.alerts)
                event = replace(event, alerts=alerts)
            self._emit(event)

    def _own(self, alert: Alert) -> Alert:
        value = alert.value if alert.value is not None else self._values.get(alert.ref)
        if value is None:
            return alert  # let go before this source saw it: fetch_value says so
        self._values[alert.ref] = value
        return alert.with_value(value)

    def fetch_value(self, ref: MessageRef) -> bytes:
        try:
            return self._values[ref]
        except KeyError:
            raise StreamError(f"{ref.place}: not in the recording") from None

    def make_way(self, seconds: float) -> None:
        pass  # it plays on the caller's thread: nothing runs beside the screen

    def send(self, command: Command) -> None:
        with self._lock:
            self.sent.append(command)
        match command:
            case AlertsShown():
                pass  # nothing to commit: the events were recorded
            case RefreshLag():
                if self._lag is not None:
                    self._emit(LagUpdated(self._lag))
            case SetPaused(paused=paused):
                self._emit(PauseChanged(paused))
            case ForceSchema(schema=schema, topics=topics):
                self._emit(SchemaForced(schema, topics))
            case PlanReset(target=target, topic=topic, partition=partition):
                if self._lag is None:
                    self._emit(CommandFailed("PlanReset", "no lag snapshot to plan from"))
                    return
                try:
                    plan = plan_reset(self._lag, target, topic, partition)
                except ValueError as exc:
                    self._emit(CommandFailed("PlanReset", str(exc)))
                    return
                self._emit(ResetPlanned(plan))
            case ApplyReset(plan=plan):
                if self._lag is None:
                    return
                moved = {(r.topic, r.partition): r.new for r in plan.changes}
                snapshot = _with_committed(self._lag, moved)
                self._emit(OffsetsReset(plan, snapshot))
                self._emit(LagUpdated(snapshot))
            case CarryPaths():
                pass  # recorded alerts: a query reads their paths itself
            case _:
                assert_never(command)

    def stop(self) -> None:
        self.sink = None

    def _emit(self, event: Event) -> None:
        if isinstance(event, LagUpdated | OffsetsReset):
            self._lag = event.snapshot
        if self.sink is not None:
            self.sink(event)


def _with_committed(snapshot: LagSnapshot, moved: dict[tuple[str, int], int]) -> LagSnapshot:
    """``snapshot`` with some committed offsets replaced (what a reset leaves)."""
    topics = tuple(
        replace(
            topic,
            partitions=tuple(
                replace(p, committed=moved.get((p.topic, p.partition), p.committed))
                for p in topic.partitions
            ),
        )
        for topic in snapshot.topics
    )
    return replace(snapshot, topics=topics)


def record(
    source: StreamSource, done: Callable[[list[Event]], bool], timeout: float
) -> list[Event]:
    """Run ``source`` until ``done(events so far)`` or ``timeout`` seconds, and return what it
    sent until then (not what stopping it sent): a recording for :class:`ReplaySource`.
    Alerts are confirmed as they arrive."""
    events: list[Event] = []
    lock = threading.Lock()

    def sink(event: Event) -> bool:
        with lock:
            events.append(event)
        if isinstance(event, AlertsReceived) and event.offsets:
            source.send(AlertsShown(event.offsets, event.epoch))
        return True

    source.start(sink)
    deadline = time.monotonic() + timeout
    recorded: list[Event] | None = None
    try:
        while time.monotonic() < deadline and recorded is None:
            with lock:
                if done(events):
                    recorded = list(events)
            time.sleep(0.05)
    finally:
        source.stop()
    if recorded is None:  # the time ran out: what came before the stop
        with lock:
            recorded = [e for e in events if not _stopping(e)]
    return recorded


def _stopping(event: Event) -> bool:
    return isinstance(event, ConnectionChanged) and event.state is Connection.STOPPED
