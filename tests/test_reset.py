"""Offset reset: plans (pure) and their application, read back from the real broker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka.admin import AdminClient

from fink_tui.core.lag import build_snapshot, fetch_lag
from fink_tui.core.reset import (
    ResetTarget,
    apply_plan_admin,
    make_plan,
    parse_target,
    plan_reset,
)
from fink_tui.demo.broker import EmbeddedBroker
from tests.helpers import ZTF_ALERTS, produce, unique, wire_messages

SNAP = build_snapshot(
    "g",
    {"a": [0, 1], "b": [0]},
    {("a", 0): 5, ("a", 1): None, ("b", 0): 2},
    {("a", 0): (0, 10), ("a", 1): (3, 8), ("b", 0): (0, 4)},
)


def news(plan):  # type: ignore[no-untyped-def]
    return {(r.topic, r.partition): r.new for r in plan.rows}


def test_parse_target() -> None:
    """earliest/latest/offset/ISO time/shift; bad text is a ValueError that says why."""
    assert parse_target("earliest") == ResetTarget("earliest")
    assert parse_target("LATEST", -3) == ResetTarget("latest", 0, -3)
    assert parse_target("42") == ResetTarget("offset", 42)
    assert parse_target(None, 5) == ResetTarget("current", 0, 5)
    ms = int(datetime(2026, 3, 22, 12, tzinfo=UTC).timestamp() * 1000)
    assert parse_target("2026-03-22T12:00:00Z") == ResetTarget("time", ms)
    assert parse_target("2026-03-22T13:00:00+01:00") == ResetTarget("time", ms)
    assert parse_target("2026-03-22 12:00") == ResetTarget("time", ms)
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_target("yesterday")
    with pytest.raises(ValueError, match="say where"):
        parse_target(None, 0)


def test_plans_for_every_kind_and_scope() -> None:
    """Each kind over each scope, clamped to [low, high]."""
    assert news(plan_reset(SNAP, ResetTarget("earliest"))) == {
        ("a", 0): 0,
        ("a", 1): 3,
        ("b", 0): 0,
    }
    assert news(plan_reset(SNAP, ResetTarget("latest"), "a")) == {("a", 0): 10, ("a", 1): 8}
    assert news(plan_reset(SNAP, ResetTarget("offset", 7), "a", 1)) == {("a", 1): 7}
    assert news(plan_reset(SNAP, ResetTarget("offset", 99), "b")) == {("b", 0): 4}
    assert news(plan_reset(SNAP, ResetTarget("current", 0, -3))) == {
        ("a", 0): 2,
        ("a", 1): 3,
        ("b", 0): 0,
    }
    assert news(plan_reset(SNAP, ResetTarget("latest", 0, -2), "a")) == {("a", 0): 8, ("a", 1): 6}
    times = {("a", 0): 6, ("a", 1): -1, ("b", 0): 1}
    assert news(plan_reset(SNAP, ResetTarget("time", 123), time_offsets=times)) == {
        ("a", 0): 6,
        ("a", 1): 8,
        ("b", 0): 1,
    }
    plan = plan_reset(SNAP, ResetTarget("offset", 5), "a", 0)
    assert not plan.changes and "(unchanged)" in plan.to_text()


def test_bad_scopes() -> None:
    """Unknown topic or partition is a ValueError naming it."""
    with pytest.raises(ValueError, match="'zz'"):
        plan_reset(SNAP, ResetTarget("earliest"), "zz")
    with pytest.raises(ValueError, match="no partition 9"):
        plan_reset(SNAP, ResetTarget("earliest"), "a", 9)


@pytest.fixture
def loaded(broker: EmbeddedBroker):  # type: ignore[no-untyped-def]
    """Two topics with alerts, a group that has committed nothing yet."""
    a, b, group = unique("fink_reset_a_ztf"), unique("fink_reset_b_ztf"), unique("g")
    broker.create_topics({a: 2, b: 1})
    msgs = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, a, msgs[:8], partition=0)
    produce(broker.bootstrap, a, msgs[8:13], partition=1)
    produce(broker.bootstrap, b, msgs[13:16], partition=0)
    return AdminClient({"bootstrap.servers": broker.bootstrap}), group, a, b


def committed(
    admin: AdminClient, group: str, topics: list[str]
) -> dict[tuple[str, int], int | None]:
    snap = fetch_lag(admin, group, topics, timeout=10)
    return {(p.topic, p.partition): p.committed for t in snap.topics for p in t.partitions}


@pytest.mark.parametrize(
    ("target", "topic", "partition", "expected"),
    [
        ("latest", None, None, {0: 8, 1: 5, 2: 3}),
        ("earliest", None, None, {0: 0, 1: 0, 2: 0}),
        ("latest", "A", None, {0: 8, 1: 5, 2: None}),
        ("3", "A", 1, {0: None, 1: 3, 2: None}),
    ],
)
def test_apply_reads_back_from_broker(loaded, target, topic, partition, expected) -> None:  # type: ignore[no-untyped-def]
    """Applying a plan leaves exactly the planned offsets committed on the broker."""
    admin, group, a, b = loaded
    topic = a if topic == "A" else topic
    snap = fetch_lag(admin, group, [a, b], timeout=10)
    plan = make_plan(admin, snap, parse_target(target), topic, partition, timeout=10)
    apply_plan_admin(admin, plan, timeout=10)
    got = committed(admin, group, [a, b])
    assert [got[(a, 0)], got[(a, 1)], got[(b, 0)]] == [expected[0], expected[1], expected[2]]


def test_shift_from_committed_on_broker(loaded) -> None:  # type: ignore[no-untyped-def]
    """--shift moves from the committed offsets: latest then -2 leaves 2 to read each."""
    admin, group, a, b = loaded
    snap = fetch_lag(admin, group, [a, b], timeout=10)
    apply_plan_admin(admin, make_plan(admin, snap, parse_target("latest"), None, None, 10), 10)
    snap = fetch_lag(admin, group, [a, b], timeout=10)
    apply_plan_admin(admin, make_plan(admin, snap, parse_target(None, -2), None, None, 10), 10)
    assert committed(admin, group, [a, b]) == {(a, 0): 6, (a, 1): 3, (b, 0): 1}
    assert fetch_lag(admin, group, [a, b], timeout=10).lag == 6


def test_time_reset_plan_uses_broker_answers(loaded) -> None:  # type: ignore[no-untyped-def]
    """A time target asks the broker per partition (tansu answers 0 for any time: see
    DESIGN.md, so only the plumbing is proven here; the arithmetic is in the unit tests)."""
    admin, group, a, b = loaded
    snap = fetch_lag(admin, group, [a, b], timeout=10)
    plan = make_plan(admin, snap, parse_target("2026-01-01T00:00:00Z"), None, None, 10)
    assert {(r.topic, r.partition) for r in plan.rows} == {(a, 0), (a, 1), (b, 0)}
    assert all(r.low <= r.new <= r.high for r in plan.rows)


def test_times_before_1970_are_refused() -> None:
    """-1 and -2 ms would mean latest and earliest to the broker: such times are an error."""
    with pytest.raises(ValueError, match="before 1970"):
        parse_target("1969-12-31T23:59:59.999Z")


def test_a_future_time_is_refused() -> None:
    """A time after now has no alerts: refused in words, rather than planned back to 0."""
    with pytest.raises(ValueError, match="in the future"):
        parse_target("2030-01-01")


def test_no_offset_for_a_time_means_the_end() -> None:
    """Apache Kafka answers offset -1, the test broker offset 0 with timestamp -1: both are
    "nothing at or after that time", and the partition goes to its end."""
    from fink_tui.core.reset import time_answer

    assert time_answer(-1, -1) == -1
    assert time_answer(0, -1) == -1
    assert time_answer(7, 1_700_000_000_000) == 7
    plan = plan_reset(SNAP, ResetTarget("time", 123), "a", time_offsets={("a", 0): -1, ("a", 1): 3})
    assert news(plan) == {("a", 0): 10, ("a", 1): 3}


def test_plan_totals_what_is_read_again_and_skipped() -> None:
    """The plan says how many alerts are read again and skipped; a first commit at the start
    of a partition is not a move."""
    snap = build_snapshot(
        "g",
        {"a": [0, 1, 2]},
        {("a", 0): 5, ("a", 1): 2},
        {("a", 0): (0, 10), ("a", 1): (0, 8), ("a", 2): (3, 3)},
    )
    plan = plan_reset(snap, ResetTarget("offset", 4), "a")
    assert [r.delta for r in plan.rows] == [-1, 2, 0]
    assert (plan.reread, plan.skipped, len(plan.moves)) == (1, 2, 2)
    assert plan.summary() == (
        "2 of 3 partition(s) move: 1 alert(s) read again, 2 skipped"
        " (1 get a first commit where they start anyway)"
    )
    assert plan.to_text().endswith(plan.summary())
