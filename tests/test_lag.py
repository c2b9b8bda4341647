"""Lag figures: pure arithmetic, and read from the real broker over several topics."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from fink_tui.cli import main
from fink_tui.core.clients import ErrorTracker, make_admin
from fink_tui.core.lag import build_snapshot, fetch_group, fetch_lag
from fink_tui.core.lag_reader import make_lag_reader
from fink_tui.demo.broker import EmbeddedBroker
from tests.helpers import (
    FAST_GROUP,
    ZTF_ALERTS,
    produce,
    settings_for,
    unique,
    wait_until,
    wire_messages,
)


def test_arithmetic_like_fink_client() -> None:
    """lag = high - committed; none committed: high - low, shown '-'; clamp below low."""
    snap = build_snapshot(
        "g",
        {"t": [0, 1, 2, 3]},
        {("t", 0): 4, ("t", 1): None, ("t", 2): 1, ("t", 3): None},
        {("t", 0): (0, 10), ("t", 1): (2, 7), ("t", 2): (5, 9), ("t", 3): (0, 0)},
        taken_at=0.0,
    )
    parts = snap.topics[0].partitions
    assert [p.lag for p in parts] == [6, 5, 4, 0]
    assert snap.topics[0].committed == 5 and snap.topics[0].lag == 15
    assert parts[3].empty and not parts[1].empty
    text = snap.to_text()
    assert "t [3]" not in text and "t [1]" in text
    assert "t [3]" in snap.to_text(all_partitions=True)
    row = next(line for line in text.splitlines() if line.startswith("t [1]"))
    assert row.split()[2:4] == ["-", "5"]
    assert text.splitlines()[0].startswith("Topic [Partition]")
    assert "Total for t" in text


def test_unknown_topic_is_reported_not_raised() -> None:
    """A topic the broker does not know shows its error and no partitions."""
    snap = build_snapshot("g", {"nope": "unknown topic"}, {}, {})
    assert snap.topics[0].error == "unknown topic" and snap.lag == 0
    assert "unknown topic" in snap.to_text()


def test_fetch_lag_on_broker(broker: EmbeddedBroker) -> None:
    """Committed, never-committed and empty partitions over two topics, from the broker."""
    a, b, group = unique("fink_lag_a_ztf"), unique("fink_lag_b_ztf"), unique("g")
    broker.create_topics({a: 3, b: 2})
    msgs = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, a, msgs[:10], partition=0)
    produce(broker.bootstrap, a, msgs[10:14], partition=1)
    produce(broker.bootstrap, b, msgs[14:20], partition=0)
    committer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    committer.commit(offsets=[TopicPartition(a, 0, 4), TopicPartition(b, 0, 6)], asynchronous=False)
    committer.close()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    snap = fetch_lag(admin, group, [a, b], timeout=10)
    ta, tb = snap.topics
    assert [(p.committed, p.low, p.high, p.lag) for p in ta.partitions] == [
        (4, 0, 10, 6),
        (None, 0, 4, 4),
        (None, 0, 0, 0),
    ]
    assert (ta.committed, ta.lag) == (4, 10)
    assert [(p.committed, p.lag) for p in tb.partitions] == [(6, 0), (None, 0)]
    doc = snap.to_dict()
    assert doc["group"] == group
    part = doc["topics"][0]["partitions"][1]
    assert {k: part[k] for k in ("partition", "committed", "low", "high", "lag")} == {
        "partition": 1,
        "committed": None,
        "low": 0,
        "high": 4,
        "lag": 4,
    }


def test_time_lag_from_known_timestamps(broker: EmbeddedBroker) -> None:
    """The time lag is now minus the timestamp of the next alert to read: at the committed
    offset, or the earliest for a partition with no commit; 0 ("caught up") at zero lag. The
    timestamps come from one fetch, and are not fetched again while the offsets stay."""
    topic, group = unique("fink_timelag_ztf"), unique("g")
    broker.create_topics({topic: 3})
    msgs = list(wire_messages(ZTF_ALERTS))
    now_ms = int(time.time() * 1000)
    hour_ago, minute_ago = now_ms - 3_600_000, now_ms - 60_000
    produce(broker.bootstrap, topic, msgs[:4], partition=0, timestamp_ms=hour_ago)
    produce(broker.bootstrap, topic, msgs[4:8], partition=0, timestamp_ms=minute_ago)
    produce(broker.bootstrap, topic, msgs[8:11], partition=1, timestamp_ms=hour_ago - 600_000)
    produce(broker.bootstrap, topic, msgs[11:13], partition=2, timestamp_ms=hour_ago)
    committer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    committer.commit(
        offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 2, 2)], asynchronous=False
    )
    committer.close()
    settings = settings_for(broker.bootstrap, group, [topic])
    tracker = ErrorTracker(settings)
    reader = make_lag_reader(settings, make_admin(settings, tracker), tracker, 5.0)
    try:
        snap = reader.read()
        p0, p1, p2 = snap.topics[0].partitions
        assert p0.lag == 4 and p0.next_timestamp == pytest.approx(minute_ago / 1000)
        assert p0.time_lag == pytest.approx(60, abs=5)
        assert p1.committed is None and p1.time_lag == pytest.approx(4200, abs=5)
        assert (p2.lag, p2.time_lag) == (0, 0.0)
        assert snap.topics[0].time_lag == pytest.approx(4200, abs=5)
        assert "caught up" in snap.to_text()
        assert reader.times is not None and reader.times.fetches == 1
        again = reader.read()
        assert reader.times.fetches == 1  # same offsets: the timestamps were kept
        assert again.window == 2
        assert again.topics[0].partitions[0].time_lag == pytest.approx(60, abs=5)
    finally:
        reader.close()


def test_members_of_a_group_with_two_consumers(broker: EmbeddedBroker) -> None:
    """Two consumers in the group: the broker's state of the group, and its members when it
    lists them (tansu says "Stable" but lists none: said so, never an error); Empty once
    they leave."""
    topic, group = unique("fink_members_ztf"), unique("g")
    broker.create_topics({topic: 2})
    produce(broker.bootstrap, topic, list(wire_messages(ZTF_ALERTS))[:4], partition=0)
    conf = {"bootstrap.servers": broker.bootstrap, "group.id": group, **dict(FAST_GROUP)}
    consumers = [Consumer({**conf, "client.id": name}) for name in ("alpha", "beta")]
    for c in consumers:
        c.subscribe([topic])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    try:
        assert wait_until(
            lambda: all(c.consume(10, 0.1) is not None and c.assignment() for c in consumers)
        )
        info = fetch_group(admin, group, 5.0)
        assert info.state == "Stable"
        if info.reported:  # a broker that lists members (Apache Kafka)
            assert sorted(m.client_id for m in info.members) == ["alpha", "beta"]
            owned = sorted(tp for m in info.members for tp in m.partitions)
            assert owned == [(topic, 0), (topic, 1)]
        else:
            assert info.describe() == "members: not reported by this broker · state Stable"
    finally:
        for c in consumers:
            c.close()
    assert wait_until(lambda: fetch_group(admin, group, 5.0).state == "Empty", timeout=10)
    assert fetch_group(admin, group, 5.0).empty


def test_lag_json_with_samples(broker: EmbeddedBroker, capsys: pytest.CaptureFixture[str]) -> None:
    """`lag --json --samples 3`: statuses judged on 3 refreshes (nobody reads: STOP), the
    time lag and the group's state."""
    topic, group = unique("fink_lagjson_ztf"), unique("g")
    broker.create_topics({topic: 1})
    produce(
        broker.bootstrap,
        topic,
        list(wire_messages(ZTF_ALERTS))[:3],
        partition=0,
        timestamp_ms=int(time.time() * 1000) - 120_000,
    )
    args = ["--servers", broker.bootstrap, "--group-id", group, "--topics", topic]
    code = main(["lag", "--json", "--samples", "3", "--interval", "0.1", *args])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["status"] == "STOP" and doc["window"]["refreshes"] == 3
    part = doc["topics"][0]["partitions"][0]
    assert part["status"] == "STOP" and part["time_lag_s"] == pytest.approx(120, abs=5)
    assert doc["topics"][0]["trend"] == "stuck"
    assert doc["members"]["state"] == "Empty"
    code = main(["lag", *args])
    out = capsys.readouterr().out
    assert code == 0 and "2m 0" in out and "state Empty" in out
