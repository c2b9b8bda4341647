"""The dashboard's model: bounded memory, rates, schemas and lag history (no Textual)."""

from __future__ import annotations

from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef
from fink_tui.core.events import AlertsReceived, LagUpdated, PauseChanged
from fink_tui.core.lag import build_snapshot
from fink_tui.model import RATE_BUCKETS, RateCounter, StreamState
from tests.helpers import LSST_ALERTS, ZTF_ALERTS, wire_messages


def alerts(n: int, topic: str = "fink_t_ztf") -> tuple[Alert, ...]:
    decoder = AlertDecoder()
    messages = list(wire_messages(ZTF_ALERTS))
    out = []
    for i in range(n):
        key, value = messages[i % len(messages)]
        result = decoder.decode(MessageRef(topic, 0, i), key, value)
        assert isinstance(result, Alert)
        out.append(result)
    return tuple(out)


def test_alerts_bounded_by_count_and_bytes() -> None:
    """However many alerts arrive, the model keeps at most N of them and M bytes."""
    state = StreamState(max_alerts=50, max_bytes=10**9)
    for _ in range(4):
        state.apply(AlertsReceived(alerts(40), ()))
    assert len(state.alerts) == 50 and state.alert_count == 160
    assert state.kept_bytes == sum(len(a.value) for a in state.alerts)
    small = StreamState(max_alerts=1000, max_bytes=500_000)
    small.apply(AlertsReceived(alerts(40), ()))
    assert small.kept_bytes <= 500_000 and 0 < len(small.alerts) < 40
    assert small.alerts[-1].ref.offset == 39  # the newest are the ones kept


def test_failures_keep_the_key_not_the_value() -> None:
    """A failure stays listed with its key (to dump its schema) without its heavy value."""
    key, value = wire_messages(LSST_ALERTS)[0]
    failure = DecodeFailure(MessageRef("t", 1, 7), "truncated", None, key, value[:10])
    state = StreamState()
    state.apply(AlertsReceived((), (failure,)))
    kept = state.failures[0]
    assert kept.key == key and kept.value is None and state.failure_count == 1
    assert "t" in state.rates


def test_rate_counter() -> None:
    """Alerts per second over complete seconds; a quiet minute falls back to zero."""
    counter = RateCounter(100.0)
    for second in range(100, 110):
        counter.add(5, second + 0.5)
    counter.roll(110.2)
    assert counter.per_second() == 5.0
    counter.roll(110.2 + RATE_BUCKETS * 2)
    assert counter.per_second() == 0.0
    assert len(counter.buckets) <= RATE_BUCKETS


def test_schemas_and_lag_history() -> None:
    """Each schema is counted per topic with its version fields; lag history is kept."""
    state = StreamState()
    state.apply(AlertsReceived(alerts(3, "a") + alerts(2, "b"), (), received_at=50.0))
    (seen,) = state.schemas.values()
    assert seen.alerts == 5 and seen.topics == {"a", "b"} and seen.first_seen == 50.0
    assert dict(seen.versions)["schemavsn"] == "4.02"
    for high in (10, 7, 3):
        snap = build_snapshot("g", {"a": [0]}, {("a", 0): 0}, {("a", 0): (0, high)})
        state.apply(LagUpdated(snap))
    assert list(state.lag_history["a"]) == [10, 7, 3]
    state.apply(PauseChanged(True))
    assert state.paused


def test_lag_trend_words() -> None:
    """How the lag screen words a topic's recent lag."""
    from fink_tui.screens.lag import trend_text

    assert trend_text([5, 3, 0]) == "caught up"
    assert trend_text([9, 7, 4]) == "draining"
    assert trend_text([1, 4, 6]) == "growing"
    assert trend_text([3, 3]) == "steady"
