"""The stream-source boundary without a broker: a replay answers commands the way a broker
would, and a recording keeps what the source sent until it was done (not its stop)."""

from __future__ import annotations

from fink_tui.core.events import (
    ApplyReset,
    Command,
    Connection,
    ConnectionChanged,
    Event,
    LagUpdated,
    OffsetsReset,
    PauseChanged,
    PlanReset,
    ResetPlanned,
    SetPaused,
)
from fink_tui.core.lag import build_snapshot
from fink_tui.core.reset import ResetTarget
from fink_tui.core.source import ReplaySource, Sink, record

SNAP = build_snapshot("g", {"a": [0, 1]}, {("a", 0): 5}, {("a", 0): (0, 10), ("a", 1): (2, 8)})


def test_replay_plays_then_answers_commands() -> None:
    """Recorded events first; then a reset is planned from the last snapshot, applied (the
    new committed offsets in the next snapshot), and a pause is confirmed."""
    got: list[Event] = []
    source = ReplaySource([ConnectionChanged(Connection.CONNECTED), LagUpdated(SNAP)])
    source.start(got.append)
    assert [type(e) for e in got] == [ConnectionChanged, LagUpdated]
    source.send(PlanReset(ResetTarget("latest"), "a"))
    planned = got[-1]
    assert isinstance(planned, ResetPlanned)
    assert [(r.partition, r.new) for r in planned.plan.rows] == [(0, 10), (1, 8)]
    source.send(ApplyReset(planned.plan))
    reset, lag = got[-2], got[-1]
    assert isinstance(reset, OffsetsReset) and isinstance(lag, LagUpdated)
    assert [p.committed for t in lag.snapshot.topics for p in t.partitions] == [10, 8]
    source.send(SetPaused(True))
    assert got[-1] == PauseChanged(True)


class StoppingSource:
    """A source that sends two events at start and says it stopped when stopped."""

    def __init__(self) -> None:
        self.sink: Sink | None = None

    def start(self, sink: Sink) -> None:
        self.sink = sink
        sink(ConnectionChanged(Connection.CONNECTED))
        sink(LagUpdated(SNAP))

    def send(self, command: Command) -> None:
        pass

    def stop(self) -> None:
        assert self.sink is not None
        self.sink(ConnectionChanged(Connection.STOPPED))


def test_a_recording_ends_where_it_was_done() -> None:
    """What the source says when it is stopped is not part of the recording."""
    events = record(StoppingSource(), lambda seen: len(seen) >= 2, timeout=5)
    assert [type(e) for e in events] == [ConnectionChanged, LagUpdated]
    events = record(StoppingSource(), lambda seen: False, timeout=0.2)
    assert all(
        not (isinstance(e, ConnectionChanged) and e.state is Connection.STOPPED) for e in events
    )
