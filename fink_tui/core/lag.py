"""Where a consumer group stands on its topics: committed offsets, watermarks and lag.

The figures are those of fink-client's ``fink_consumer --display_statistics``
(``return_offsets``): lag = high watermark − committed; with nothing committed,
lag = high − low and the committed column shows "-". A committed offset below the low
watermark (the messages were deleted) is clamped to it, so it shows no phantom lag.

:func:`fetch_lag` asks the broker in a few batched requests — metadata, the group's
committed offsets, then the low and the high watermarks of every partition at once — rather
than one watermark request per partition as fink-client does.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from fink_tui.core.errors import StreamError, describe_kafka_error

TABLE_WIDTH = 72


def table_row(name: str, committed: object, lag: object) -> str:
    """A line of fink-client's table: ``"%-50s  %9s  %9s"``."""
    return f"{name:<50}  {committed!s:>9}  {lag!s:>9}"


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One partition: the group's committed offset (None if never committed) and watermarks."""

    topic: str
    partition: int
    committed: int | None
    low: int
    high: int

    @property
    def lag(self) -> int:
        """Messages the group has yet to read on this partition."""
        if self.high < 0:
            return 0
        if self.committed is None:
            return max(self.high - self.low, 0)
        return max(self.high - max(self.committed, self.low), 0)

    @property
    def empty(self) -> bool:
        """Nothing committed and nothing to read (hidden in the default table)."""
        return self.committed is None and self.lag == 0


@dataclass(frozen=True, slots=True)
class TopicLag:
    """All partitions of one topic, with totals."""

    topic: str
    partitions: tuple[PartitionLag, ...]
    error: str = ""
    """Why the topic could not be read (unknown topic, no access), if so."""

    @property
    def committed(self) -> int:
        """Sum of committed offsets (never-committed partitions count 0, as fink-client does)."""
        return sum(p.committed or 0 for p in self.partitions)

    @property
    def lag(self) -> int:
        """Sum of the partitions' lag."""
        return sum(p.lag for p in self.partitions)


@dataclass(frozen=True, slots=True)
class LagSnapshot:
    """The group's position on every topic at one moment."""

    group: str
    topics: tuple[TopicLag, ...]
    taken_at: float = field(default_factory=time.time)
    """Unix time of the snapshot."""

    @property
    def lag(self) -> int:
        """Total lag over all topics."""
        return sum(t.lag for t in self.topics)

    def partition(self, topic: str, partition: int) -> PartitionLag | None:
        """One partition's figures, if the snapshot has them."""
        for t in self.topics:
            if t.topic == topic:
                for p in t.partitions:
                    if p.partition == partition:
                        return p
        return None

    def to_dict(self) -> dict[str, Any]:
        """The ``fink-tui lag --json`` document."""
        return {
            "group": self.group,
            "taken_at": self.taken_at,
            "topics": [
                {
                    "topic": t.topic,
                    "committed": t.committed,
                    "lag": t.lag,
                    **({"error": t.error} if t.error else {}),
                    "partitions": [
                        {
                            "partition": p.partition,
                            "committed": p.committed,
                            "low": p.low,
                            "high": p.high,
                            "lag": p.lag,
                        }
                        for p in t.partitions
                    ],
                }
                for t in self.topics
            ],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_csv_rows(self) -> list[list[str]]:
        """Rows for a CSV export: a header, then one row a partition."""
        rows = [["topic", "partition", "committed", "low", "high", "lag"]]
        for t in self.topics:
            for p in t.partitions:
                committed = "" if p.committed is None else str(p.committed)
                rows.append(
                    [t.topic, str(p.partition), committed, str(p.low), str(p.high), str(p.lag)]
                )
        return rows

    def to_text(self, all_partitions: bool = False) -> str:
        """The table in ``fink_consumer --display_statistics`` layout."""
        lines = []
        for t in self.topics:
            lines.append(table_row("Topic [Partition]", "Committed", "Lag"))
            lines.append("=" * TABLE_WIDTH)
            if t.error:
                lines.append(f"{t.topic}: {t.error}")
            for p in t.partitions:
                if all_partitions or not p.empty:
                    committed = "-" if p.committed is None else str(p.committed)
                    lines.append(table_row(f"{t.topic} [{p.partition}]", committed, p.lag))
            lines.append("-" * TABLE_WIDTH)
            lines.append(table_row(f"Total for {t.topic}", t.committed, t.lag))
            lines.append("-" * TABLE_WIDTH)
        return "\n".join(lines)


def build_snapshot(
    group: str,
    partitions: dict[str, Sequence[int] | str],
    committed: dict[tuple[str, int], int | None],
    watermarks: dict[tuple[str, int], tuple[int, int]],
    taken_at: float | None = None,
) -> LagSnapshot:
    """Assemble a snapshot from raw figures (pure: no broker).

    ``partitions`` maps each topic to its partition ids, or to an error text.
    """
    topics = []
    for topic, parts in partitions.items():
        if isinstance(parts, str):
            topics.append(TopicLag(topic, (), parts))
            continue
        rows = []
        for p in sorted(parts):
            low, high = watermarks.get((topic, p), (-1, -1))
            offset = committed.get((topic, p))
            rows.append(
                PartitionLag(
                    topic, p, offset if offset is not None and offset >= 0 else None, low, high
                )
            )
        topics.append(TopicLag(topic, tuple(rows)))
    return LagSnapshot(group, tuple(topics), time.time() if taken_at is None else taken_at)


def topic_partitions(
    admin: AdminClient, topics: Iterable[str], timeout: float
) -> dict[str, Sequence[int] | str]:
    """Partition ids of each topic from one metadata request; an error text for missing ones."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise StreamError(describe_kafka_error(exc)) from exc
    result: dict[str, Sequence[int] | str] = {}
    for topic in topics:
        meta = metadata.topics.get(topic)
        if meta is None:
            result[topic] = "unknown topic (not on this broker, or not readable by you)"
        elif meta.error is not None:
            result[topic] = meta.error.str()
        else:
            result[topic] = sorted(meta.partitions)
    return result


def fetch_lag(admin: AdminClient, group: str, topics: Iterable[str], timeout: float) -> LagSnapshot:
    """The group's lag on ``topics``, from four batched requests (three of them in flight
    at once)."""
    parts = topic_partitions(admin, topics, timeout)
    tps = [TopicPartition(t, p) for t, ps in parts.items() if not isinstance(ps, str) for p in ps]
    committed: dict[tuple[str, int], int | None] = {}
    watermarks: dict[tuple[str, int], tuple[int, int]] = {}
    if tps:
        try:
            # The three requests go out together; only then is any answer awaited.
            group_future = admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group, tps)], request_timeout=timeout
            )[group]
            earliest, latest = OffsetSpec.earliest(), OffsetSpec.latest()  # type: ignore[no-untyped-call]
            lows = admin.list_offsets({tp: earliest for tp in tps}, request_timeout=timeout)
            highs = admin.list_offsets({tp: latest for tp in tps}, request_timeout=timeout)
            for tp in group_future.result(timeout=timeout).topic_partitions:
                committed[(tp.topic, tp.partition)] = tp.offset if tp.offset >= 0 else None
            for tp in tps:
                key = (tp.topic, tp.partition)
                watermarks[key] = (
                    lows[tp].result(timeout=timeout).offset,
                    highs[tp].result(timeout=timeout).offset,
                )
        except KafkaException as exc:
            raise StreamError(describe_kafka_error(exc)) from exc
        except concurrent.futures.TimeoutError as exc:
            raise StreamError(f"the servers did not answer in {timeout:g} s") from exc
    return build_snapshot(group, parts, committed, watermarks)
