"""The dashboard's model: bounded memory, rates, schemas and lag history (no Textual)."""

from __future__ import annotations

from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef
from fink_tui.core.events import AlertsReceived, LagUpdated, PauseChanged
from fink_tui.core.lag import build_snapshot
from fink_tui.model import (
    FAILURE_VALUES,
    MAX_FAILURE_VALUE_BYTES,
    MAX_FAILURES,
    RATE_BUCKETS,
    RateCounter,
    Section,
    StreamState,
)
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
    """However many alerts arrive, the feed keeps N of them, and the newest hold at most M
    bytes: the older ones keep their row (summary and place) without their bytes."""
    state = StreamState(max_alerts=50, max_bytes=10**9)
    for _ in range(4):
        state.apply(AlertsReceived(alerts(40), ()))
    assert len(state.alerts) == 50 and state.alert_count == 160
    assert state.kept_bytes == sum(len(a.value or b"") for a in state.alerts)
    small = StreamState(max_alerts=1000, max_bytes=500_000)
    small.apply(AlertsReceived(alerts(40), ()))
    assert len(small.alerts) == 40  # every row stays
    held = [a for a in small.alerts if a.held]
    assert 0 < len(held) < 40 and small.kept_bytes == sum(len(a.value or b"") for a in held)
    assert small.kept_bytes <= 500_000
    assert held == list(small.alerts)[-len(held) :]  # the newest are the ones held
    assert small.alerts[0].summary.object_id  # a row let go still shows its alert


def test_bytes_held_stay_within_the_budget_however_many_objects() -> None:
    """Each object keeps its latest alert and the notification its matches, but only the
    feed's alerts hold their bytes: 2,000 real ZTF alerts of 2,000 objects, all matching,
    hold no more than the budget (they held 100 MB; 3,000 LSST objects held 750 MB).
    The others keep their summary and place, to be read again from the source."""
    from dataclasses import replace

    from fink_tui.core.query import compile_query

    budget = 2_000_000
    state = StreamState(max_bytes=budget)
    state.set_notify(compile_query("objectId != 'none'"))
    for batch in range(40):
        distinct = []
        for alert in alerts(50):
            n = batch * 50 + alert.ref.offset
            summary = replace(alert.summary, object_id=f"ZTF26obj{n:05d}")
            distinct.append(Alert(replace(alert.ref, offset=n), alert.schema, summary, alert.value))
        state.apply(AlertsReceived(tuple(distinct), ()))
    assert len(state.objects) == 2000 and len(state.matches) == 1000
    everywhere = {
        id(a): a
        for a in (*state.alerts, *state.matches, *(o.latest for o in state.objects.recent(2000)))
    }
    held = [a for a in everywhere.values() if a.held]
    assert sum(len(a.value or b"") for a in held) == state.kept_bytes <= budget
    assert all(a.held for a in list(state.alerts)[-len(held) :])  # the newest, in the feed
    assert len(state.alerts) == 2000  # the others keep their rows
    oldest = state.objects.get("ztf", "ZTF26obj00000")
    assert oldest is not None and not oldest.latest.held
    assert oldest.latest.summary.object_id == "ZTF26obj00000"  # the row still shows it


def test_failures_keep_the_key_and_the_newest_values() -> None:
    """A failure stays listed with its key (to dump its schema); the newest ones keep their
    raw value too (to save for a bug report), within a count and a byte budget."""
    key, value = wire_messages(LSST_ALERTS)[0]
    state = StreamState()
    state.apply(
        AlertsReceived((), (DecodeFailure(MessageRef("t", 1, 7), "bad", None, key, value),))
    )
    kept = state.failures[0]
    assert kept.key == key and kept.value == value and state.failure_count == 1
    assert "t" in state.rates
    many = tuple(
        DecodeFailure(MessageRef("t", 0, n), "bad", None, key, value[:1000] + bytes([n % 256]))
        for n in range(FAILURE_VALUES + 30)
    )
    state.apply(AlertsReceived((), many))
    with_value = [f.ref.offset for f in state.failures if f.value is not None]
    assert with_value == [f.ref.offset for f in many[-FAILURE_VALUES:]]  # the newest
    assert state.failures[-1].value == many[-1].value
    assert state.failure_value_bytes == sum(len(f.value or b"") for f in state.failures)
    big = DecodeFailure(
        MessageRef("t", 0, 99), "bad", None, key, b"x" * (MAX_FAILURE_VALUE_BYTES // 2)
    )
    state.apply(AlertsReceived((), (big, big, big)))
    assert state.failure_value_bytes <= MAX_FAILURE_VALUE_BYTES
    assert [f.value is not None for f in state.failures][-3:] == [False, True, True]
    assert state.failure_value_bytes == sum(len(f.value or b"") for f in state.failures)
    state.apply(AlertsReceived((), (DecodeFailure(MessageRef("t", 0, 100), "no value", None),)))
    assert state.failure_value_bytes == 0 and all(f.value is None for f in state.failures)
    for n in range(MAX_FAILURES):  # the list stays bounded, the byte count right
        state.apply(AlertsReceived((), (many[n % len(many)],)))
    assert len(state.failures) == MAX_FAILURES
    assert state.failure_value_bytes == sum(len(f.value or b"") for f in state.failures)


def test_rate_counter() -> None:
    """Alerts per second over the last minute (or since the first alert); a quiet minute
    falls back to zero."""
    counter = RateCounter(100.0)
    for second in range(100, 110):
        counter.add(5, second + 0.5)
    assert counter.per_second() == 5.0  # ten seconds since the first alert, the current one too
    counter.roll(110.2)
    assert counter.per_second() == 50 / 11
    counter.roll(110.2 + RATE_BUCKETS * 2)
    assert counter.per_second() == 0.0
    assert len(counter.buckets) <= RATE_BUCKETS


def test_rate_between_bursts() -> None:
    """Bursts every 30 s, as exposures come: the rate counts a burst in the second it
    arrives, stays near the mean between bursts (never 0.0), and is redrawn at most once a
    second while alerts are in the window, never while the stream is quiet."""
    state = StreamState(clock=lambda: now)
    now = 1000.0
    readings = []
    for burst in range(4):
        now = 1000.0 + 30 * burst
        state.apply(AlertsReceived(alerts(30), (), received_at=now))
        assert state.rate >= 30 / RATE_BUCKETS  # at once, not after the second ends
        for step in range(1, 30):
            now = 1000.0 + 30 * burst + step
            state.tick()
            readings.append(state.rate)
    assert min(readings) > 0.0
    assert abs(readings[-1] - 1.0) < 0.1  # 30 alerts every 30 s
    quiet = now + RATE_BUCKETS + 1
    redraws = state.revisions[Section.RATES]
    while now < quiet:
        now += 0.25
        state.tick()
    assert state.rate == 0.0
    assert state.revisions[Section.RATES] - redraws <= RATE_BUCKETS + 1
    settled = state.revisions[Section.RATES]
    for _ in range(40):
        now += 0.25
        state.tick()
    assert state.revisions[Section.RATES] == settled  # quiet: nothing to redraw


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


def test_a_notification_on_a_path_sees_every_alert_of_a_batch_over_the_budget() -> None:
    """The notification reads its Avro paths before the batch's older alerts let their bytes
    go (a saved file sends 200 alerts at once, far over the budget)."""
    from fink_tui.core.query import compile_query
    from tests.helpers import read_alerts

    records = read_alerts(ZTF_ALERTS)[1]
    want = sum(r["candidate"]["ndethist"] > 5 for r in records)
    state = StreamState(max_bytes=1)
    state.set_notify(compile_query("candidate.ndethist > 5"))
    state.apply(AlertsReceived(alerts(len(records)), ()))
    assert [a.held for a in state.alerts].count(True) == 1
    assert 0 < want < len(records) and state.match_count == want
