"""Offset resets for a consumer group: to earliest, latest, an offset, a time, or shifted by
±N, on every topic, one topic or one partition.

A reset is first a :class:`ResetPlan` (per partition: current → new) that can be shown and
confirmed, then applied. Applying writes the new committed offsets on the broker before it
returns — unlike fink-client's ``-start_at``, which waits for the next rebalance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from fink_tui.core.errors import StreamError, describe_kafka_error
from fink_tui.core.lag import LagSnapshot, PartitionLag, table_row

KINDS = ("earliest", "latest", "offset", "time", "current")


@dataclass(frozen=True, slots=True)
class ResetTarget:
    """Where to move: a base (earliest, latest, an offset, a time, current) plus a shift."""

    kind: str
    value: int = 0
    """The offset for ``offset``; milliseconds since the epoch for ``time``."""
    shift: int = 0

    def describe(self) -> str:
        """Short text for plans and confirmations."""
        if self.kind == "offset":
            base = f"offset {self.value}"
        elif self.kind == "time":
            when = datetime.fromtimestamp(self.value / 1000, tz=UTC)
            base = f"time {when:%Y-%m-%d %H:%M:%S} UTC"
        else:
            base = self.kind
        if self.shift:
            return f"{base} {self.shift:+d}" if self.kind != "current" else f"shift {self.shift:+d}"
        return base


def parse_time(text: str) -> int:
    """An ISO-8601 time (UTC unless it says otherwise) as milliseconds since the epoch."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"not an offset, 'earliest', 'latest' or an ISO-8601 time: {text!r}"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    millis = int(when.timestamp() * 1000)
    if millis < 0:  # -1 and -2 mean latest and earliest to a broker
        raise ValueError(f"a time before 1970 has no alerts: {text!r}")
    return millis


def parse_target(to: str | None, shift: int = 0) -> ResetTarget:
    """``--to`` and ``--shift`` as a target; ``--shift`` alone moves from the current offset."""
    if to is None or not to.strip():
        if not shift:
            raise ValueError("say where to: --to earliest|latest|<offset>|<ISO time>, or --shift N")
        return ResetTarget("current", 0, shift)
    text = to.strip().lower()
    if text in ("earliest", "beginning", "start"):
        return ResetTarget("earliest", 0, shift)
    if text in ("latest", "end"):
        return ResetTarget("latest", 0, shift)
    if text.lstrip("-").isdigit():
        offset = int(text)
        if offset < 0:
            raise ValueError(f"an offset is 0 or more, got {offset}")
        return ResetTarget("offset", offset, shift)
    return ResetTarget("time", parse_time(to), shift)


@dataclass(frozen=True, slots=True)
class PlannedOffset:
    """One partition of a plan."""

    topic: str
    partition: int
    current: int | None
    new: int
    low: int
    high: int

    @property
    def changes(self) -> bool:
        """Whether applying moves this partition."""
        return self.current != self.new


@dataclass(frozen=True, slots=True)
class ResetPlan:
    """What a reset will do, partition by partition."""

    group: str
    target: ResetTarget
    scope: str
    """Human text: 'all topics', 'topic T', 'T [P]'."""
    rows: tuple[PlannedOffset, ...]

    @property
    def changes(self) -> tuple[PlannedOffset, ...]:
        """Only the partitions that move."""
        return tuple(r for r in self.rows if r.changes)

    def to_text(self) -> str:
        """The plan as a table."""
        lines = [
            f"Reset group {self.group!r}, {self.scope}, to {self.target.describe()}:",
            table_row("Topic [Partition]", "Current", "New"),
        ]
        for r in self.rows:
            current = "-" if r.current is None else str(r.current)
            mark = "" if r.changes else "  (unchanged)"
            lines.append(table_row(f"{r.topic} [{r.partition}]", current, r.new) + mark)
        if not self.rows:
            lines.append("(no partitions in scope)")
        return "\n".join(lines)


def scope_text(topic: str | None, partition: int | None) -> str:
    """How a scope reads in plans and confirmations."""
    if topic is None:
        return "all topics"
    if partition is None:
        return f"topic {topic}"
    return f"{topic} [{partition}]"


def select_partitions(
    snapshot: LagSnapshot, topic: str | None = None, partition: int | None = None
) -> list[PartitionLag]:
    """The partitions of a scope; raises ValueError for a topic or partition not there."""
    chosen = []
    for t in snapshot.topics:
        if topic is not None and t.topic != topic:
            continue
        if t.error:
            raise ValueError(f"{t.topic}: {t.error}")
        for p in t.partitions:
            if partition is None or p.partition == partition:
                chosen.append(p)
    if topic is not None and not any(t.topic == topic for t in snapshot.topics):
        raise ValueError(f"topic {topic!r} is not one of the group's topics")
    if partition is not None and not chosen:
        raise ValueError(f"topic {topic!r} has no partition {partition}")
    return chosen


def plan_reset(
    snapshot: LagSnapshot,
    target: ResetTarget,
    topic: str | None = None,
    partition: int | None = None,
    time_offsets: Mapping[tuple[str, int], int] | None = None,
) -> ResetPlan:
    """The plan for moving the scope to ``target`` (pure: no broker).

    ``time_offsets`` holds, for a time target, the first offset at or after that time per
    partition (-1 when there is none: the partition then goes to its end).
    New offsets are kept within [low, high].
    """
    rows = []
    for p in select_partitions(snapshot, topic, partition):
        if target.kind == "earliest":
            base = p.low
        elif target.kind == "latest":
            base = p.high
        elif target.kind == "offset":
            base = target.value
        elif target.kind == "time":
            if time_offsets is None or (p.topic, p.partition) not in time_offsets:
                raise ValueError("a time reset needs the offsets for that time")
            found = time_offsets[(p.topic, p.partition)]
            base = p.high if found < 0 else found
        else:
            base = p.low if p.committed is None else max(p.committed, p.low)
        new = min(max(base + target.shift, p.low), p.high)
        rows.append(PlannedOffset(p.topic, p.partition, p.committed, new, p.low, p.high))
    return ResetPlan(snapshot.group, target, scope_text(topic, partition), tuple(rows))


def offsets_for_time(
    admin: AdminClient, partitions: list[PartitionLag], when_ms: int, timeout: float
) -> dict[tuple[str, int], int]:
    """The first offset at or after ``when_ms`` on each partition, in one batched request."""
    if not partitions:
        return {}
    tps = [TopicPartition(p.topic, p.partition) for p in partitions]
    try:
        futures = admin.list_offsets(
            {tp: OffsetSpec.for_timestamp(when_ms) for tp in tps}, request_timeout=timeout
        )
        return {(tp.topic, tp.partition): futures[tp].result(timeout=timeout).offset for tp in tps}
    except KafkaException as exc:
        raise StreamError(describe_kafka_error(exc)) from exc


def make_plan(
    admin: AdminClient,
    snapshot: LagSnapshot,
    target: ResetTarget,
    topic: str | None,
    partition: int | None,
    timeout: float,
) -> ResetPlan:
    """A plan from a fresh snapshot, asking the broker for time offsets when needed."""
    time_offsets = None
    if target.kind == "time":
        scope = select_partitions(snapshot, topic, partition)
        time_offsets = offsets_for_time(admin, scope, target.value, timeout)
    return plan_reset(snapshot, target, topic, partition, time_offsets)


def apply_plan_admin(admin: AdminClient, plan: ResetPlan, timeout: float) -> None:
    """Write the plan's offsets for a group with no running member (headless reset)."""
    rows = plan.changes
    if not rows:
        return
    tps = [TopicPartition(r.topic, r.partition, r.new) for r in rows]
    try:
        futures = admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(plan.group, tps)], request_timeout=timeout
        )
        result = futures[plan.group].result(timeout=timeout)
    except KafkaException as exc:
        text = describe_kafka_error(exc)
        if "UNKNOWN_MEMBER" in text.upper() or "not empty" in text.lower() or "SUBSCRIBED" in text:
            text += (
                " — the group has running members (fink-tui or fink_consumer?): stop them "
                "first, or reset from inside fink-tui"
            )
        raise StreamError(text) from exc
    failed = [tp for tp in result.topic_partitions if tp.error is not None]
    if failed:
        tp = failed[0]
        raise StreamError(f"{tp.topic} [{tp.partition}]: {tp.error.str()}")
