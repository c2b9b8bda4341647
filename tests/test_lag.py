"""Lag figures: pure arithmetic, and read from the real broker over several topics."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from fink_tui.core.lag import build_snapshot, fetch_lag
from fink_tui.demo.broker import EmbeddedBroker
from tests.helpers import ZTF_ALERTS, produce, unique, wire_messages


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
    assert row.split()[-2:] == ["-", "5"]
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
    assert doc["topics"][0]["partitions"][1] == {
        "partition": 1,
        "committed": None,
        "low": 0,
        "high": 4,
        "lag": 4,
    }
