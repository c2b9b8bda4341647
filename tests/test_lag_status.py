"""The lag status rules (Burrow's, on windows of refreshes), drain rates and ETAs, retention
loss and the time lag columns: pure, no broker."""

from __future__ import annotations

import json

import pytest

from fink_tui.core.lag import GroupInfo, Member, build_snapshot
from fink_tui.core.lag_reader import LagWindow, with_times
from fink_tui.core.lag_status import (
    MIN_SAMPLES,
    Drain,
    Sample,
    Status,
    Trend,
    format_duration,
    partition_status,
    time_lag_text,
    topic_drain,
    worst,
)


def window(*points: tuple[int | None, int]) -> list[Sample]:
    """Samples 3 s apart from (committed, lag) pairs."""
    return [Sample(3.0 * i, c, lag) for i, (c, lag) in enumerate(points)]


# Burrow's own cases (its evaluator tests), read as refreshes of one partition.
BURROW_CASES = [
    # rule 1: lag zero at some point in the window -> OK, whatever else happened
    ("lag zero once", window((10, 5), (10, 0), (10, 4), (10, 4)), True, Status.OK),
    ("lag zero now", window((10, 5), (10, 5), (10, 5), (15, 0)), True, Status.OK),
    ("stalled but caught up", window((10, 0), (10, 0), (10, 0)), True, Status.OK),
    # rule 2: the offset went backwards -> REWIND (before the window fills up, too)
    ("rewind", window((10, 5), (20, 3), (5, 18), (8, 15)), True, Status.REWIND),
    ("rewind early", window((10, 5), (4, 11)), True, Status.REWIND),
    # rule 3/4: the offset never moves while lag exists
    ("stalled, consumer there", window((10, 5), (10, 6), (10, 9), (10, 9)), True, Status.STALL),
    ("stalled, owner unknown", window((10, 5), (10, 5), (10, 5)), None, Status.STALL),
    ("stopped, nobody owns it", window((10, 5), (10, 6), (10, 9), (10, 9)), False, Status.STOP),
    ("never committed", window((None, 5), (None, 7), (None, 8)), None, Status.STOP),
    # rule 5: offsets advance but the lag never falls -> WARN
    ("slow consumer", window((10, 5), (12, 5), (14, 6), (16, 9)), True, Status.WARN),
    ("lag flat", window((10, 5), (20, 5), (30, 5)), True, Status.WARN),
    # otherwise OK
    ("draining", window((10, 50), (20, 40), (30, 30)), True, Status.OK),
    ("lag fell once", window((10, 5), (12, 6), (14, 5), (16, 9)), True, Status.OK),
]


@pytest.mark.parametrize(
    ("samples", "owned", "expected"),
    [case[1:] for case in BURROW_CASES],
    ids=[case[0] for case in BURROW_CASES],
)
def test_burrow_rules(samples: list[Sample], owned: bool | None, expected: Status) -> None:
    """Each rule of Burrow's evaluator on a synthetic window of commits."""
    assert partition_status(samples, owned) is expected


def test_short_window_judges_no_motion() -> None:
    """Before MIN_SAMPLES refreshes, a partition with lag is not yet WARN, STALL or STOP."""
    short = window(*[(10, 5)] * (MIN_SAMPLES - 1))
    assert partition_status(short, True) is Status.OK
    assert partition_status(window(*[(10, 5)] * MIN_SAMPLES), True) is Status.STALL
    assert partition_status([], None) is Status.OK


def test_worst_order() -> None:
    """A topic's status is its worst partition's: OK < WARN < REWIND < STALL < STOP < ERR."""
    assert worst([Status.OK, Status.STALL, Status.WARN]) is Status.STALL
    assert worst([Status.STOP, Status.ERR]) is Status.ERR
    assert worst([]) is Status.OK
    assert [s.value for s in sorted(Status, key=lambda s: s.severity)] == [
        "OK",
        "WARN",
        "REWIND",
        "STALL",
        "STOP",
        "ERR",
    ]


def test_drain_rate_and_eta() -> None:
    """Draining: rate and time to zero; growing; stuck (no commit moves); caught up."""
    draining = topic_drain([(0.0, 1000, 0), (60.0, 700, 400), (120.0, 400, 800)])
    assert draining.trend is Trend.DRAINING and draining.rate == pytest.approx(5.0)
    assert draining.eta == pytest.approx(80.0) and draining.text() == "ETA 1m 20s"
    growing = topic_drain([(0.0, 100, 0), (30.0, 160, 50)])
    assert growing.trend is Trend.GROWING and growing.rate == pytest.approx(-2.0)
    assert growing.text() == "growing"
    stuck = topic_drain([(0.0, 100, 7), (30.0, 130, 7)])
    assert stuck.text() == "stuck"
    assert topic_drain([(0.0, 100, 0), (30.0, 0, 100)]).text() == "caught up"
    assert topic_drain([(0.0, 100, 0)]).trend is Trend.UNKNOWN
    assert topic_drain([]).text() == "measuring"
    steady = topic_drain([(0.0, 100, 0), (30.0, 100, 90)])
    assert steady.trend is Trend.STEADY
    # Only the last minutes count: an old burst of draining is forgotten.
    old = topic_drain([(0.0, 5000, 0), (400.0, 100, 4900), (460.0, 160, 4950)])
    assert old.trend is Trend.GROWING


def test_durations() -> None:
    """Short human durations, and 'caught up' at zero lag whatever the timestamp says."""
    assert [format_duration(s) for s in (0, 42, 200, 3600 * 5 + 420, 86400 * 2 + 3600 * 4)] == [
        "0s",
        "42s",
        "3m 20s",
        "5h 07m",
        "2d 04h",
    ]
    assert time_lag_text(None, 0) == "caught up"
    assert time_lag_text(None, 5) == "-"
    assert time_lag_text(90.0, 5) == "1m 30s"


def test_retention_loss() -> None:
    """A committed offset below the earliest kept one: the gap expired unread, per partition
    and in total; the lag counts from the earliest kept (no phantom lag)."""
    s = build_snapshot(
        "g",
        {"t": [0, 1, 2]},
        {("t", 0): 10, ("t", 1): 55, ("t", 2): None},
        {("t", 0): (0, 100), ("t", 1): (40, 60), ("t", 2): (30, 35)},
        taken_at=0.0,
    )
    p0, p1, p2 = s.topics[0].partitions
    assert (p0.lost, p1.lost, p2.lost) == (0, 0, 0)
    s = build_snapshot(
        "g",
        {"t": [0, 1]},
        {("t", 0): 10, ("t", 1): 25},
        {("t", 0): (0, 100), ("t", 1): (40, 60)},
        taken_at=0.0,
    )
    p0, p1 = s.topics[0].partitions
    assert (p1.lost, p1.lag, p1.next_offset) == (15, 20, 40)
    assert s.topics[0].lost == 15 and s.lost == 15
    doc = s.to_dict()
    assert doc["lost"] == 15 and doc["topics"][0]["partitions"][1]["lost"] == 15
    text = s.to_text()
    assert "15 alerts expired unread" in text and "reset --to earliest" in text
    assert s.to_csv_rows()[0][-2:] == ["lost", "status"]


def test_window_statuses_and_members() -> None:
    """LagWindow judges each refresh on the ones before; the members say who owns what."""
    group = GroupInfo("Stable", (Member("alpha", "127.0.0.1", "m1", (("t", 0),)),))
    lw = LagWindow()
    s = None
    for i in range(4):
        s = lw.apply(
            with_times(
                build_snapshot(
                    "g",
                    {"t": [0, 1]},
                    {("t", 0): 10 + 5 * i, ("t", 1): 45},
                    {("t", 0): (0, 100 + 10 * i), ("t", 1): (40, 60)},
                    taken_at=3.0 * i,
                ),
                {("t", 0): -57.0},
                group,
            )
        )
    assert s is not None and s.window == 4
    p0, p1 = s.topics[0].partitions
    assert p0.status is Status.WARN and p0.owner == "alpha"
    assert p0.time_lag == pytest.approx(66.0) and p0.next_timestamp == -57.0
    assert p1.status is Status.STOP and p1.owner is None  # nobody owns it, nothing moves
    assert s.topics[0].status is Status.STOP and s.status is Status.STOP
    assert s.topics[0].drain.trend is Trend.GROWING
    doc = json.loads(s.to_json())
    assert doc["status"] == "STOP" and doc["window"] == {"refreshes": 4, "size": 10}
    assert doc["members"]["members"][0]["client_id"] == "alpha"
    assert doc["topics"][0]["partitions"][0]["status"] == "WARN"
    assert doc["topics"][0]["trend"] == "growing" and doc["topics"][0]["time_lag_s"] == 66.0
    text = s.to_text()
    assert "state Stable · 1 consumer: alpha@127.0.0.1 t [0]" in text
    assert "STOP nobody reading" in text and "trend: growing" in text


def test_unreported_members_and_errors() -> None:
    """A broker that lists no members while the group is Stable: said, and the owner is
    unknown (so a stuck partition is STALL, not STOP); an unreadable topic is ERR."""
    info = GroupInfo("Stable", (), reported=False)
    assert info.describe() == "members: not reported by this broker · state Stable"
    lw = LagWindow()
    for i in range(3):
        s = lw.apply(
            with_times(
                build_snapshot(
                    "g",
                    {"t": [0], "gone": "unknown topic"},
                    {("t", 0): 1},
                    {("t", 0): (0, 9)},
                    taken_at=float(i),
                ),
                {},
                info,
            )
        )
    assert s.topics[0].partitions[0].status is Status.STALL
    assert s.topics[0].partitions[0].time_lag is None
    assert s.topics[1].status is Status.ERR and s.status is Status.ERR
    assert Drain(Trend.UNKNOWN).text() == "measuring"
    empty = GroupInfo("Empty", reported=True)
    assert empty.empty and empty.describe() == "state Empty · 0 consumers"
