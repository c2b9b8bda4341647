"""Offset resets for a consumer group: to earliest, latest, an offset, a time, or shifted by
±N, on every topic, one topic or one partition.

A reset is first a :class:`ResetPlan` (per partition: current → new) that can be shown and
confirmed, then applied. Applying writes the new committed offsets on the broker before it
returns — unlike fink-client's ``-start_at``, which waits for the next rebalance.
"""

from __future__ import annotations

import concurrent.futures
import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from fink_tui.core.errors import StreamError, describe_kafka_error
from fink_tui.core.lag import LagSnapshot, PartitionLag, table_row

FUTURE_SLACK_MS = 60_000
"""A time up to this far ahead of the clock is taken as now (clocks differ a little)."""


class TargetKind(enum.StrEnum):
    """The base of a reset target."""

    EARLIEST = "earliest"
    LATEST = "latest"
    OFFSET = "offset"
    TIME = "time"
    CURRENT = "current"


@dataclass(frozen=True, slots=True)
class ResetTarget:
    """Where to move: a base (earliest, latest, an offset, a time, current) plus a shift."""

    kind: TargetKind
    value: int = 0
    """The offset for ``offset``; milliseconds since the epoch for ``time``."""
    shift: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TargetKind(self.kind))  # "earliest" works too

    def describe(self) -> str:
        """Short text for plans and confirmations."""
        match self.kind:
            case TargetKind.OFFSET:
                base = f"offset {self.value}"
            case TargetKind.TIME:
                when = datetime.fromtimestamp(self.value / 1000, tz=UTC)
                base = f"time {when:%Y-%m-%d %H:%M:%S} UTC"
            case _:
                base = self.kind.value
        if self.shift:
            if self.kind is TargetKind.CURRENT:
                return f"shift {self.shift:+d}"
            return f"{base} {self.shift:+d}"
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
    if millis > time.time() * 1000 + FUTURE_SLACK_MS:
        raise ValueError(
            f"{text!r} is in the future: no alert has that time yet (use 'latest' for the end)"
        )
    return millis


def parse_target(to: str | None, shift: int = 0) -> ResetTarget:
    """``--to`` and ``--shift`` as a target; ``--shift`` alone moves from the current offset."""
    if to is None or not to.strip():
        if not shift:
            raise ValueError("say where to: --to earliest|latest|<offset>|<ISO time>, or --shift N")
        return ResetTarget(TargetKind.CURRENT, 0, shift)
    text = to.strip().lower()
    if text in ("earliest", "beginning", "start"):
        return ResetTarget(TargetKind.EARLIEST, 0, shift)
    if text in ("latest", "end"):
        return ResetTarget(TargetKind.LATEST, 0, shift)
    if text.lstrip("-").isdigit():
        offset = int(text)
        if offset < 0:
            raise ValueError(f"an offset is 0 or more, got {offset}")
        return ResetTarget(TargetKind.OFFSET, offset, shift)
    return ResetTarget(TargetKind.TIME, parse_time(to), shift)


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
        """Whether applying writes a new committed offset for this partition."""
        return self.current != self.new

    @property
    def delta(self) -> int:
        """Alerts skipped (> 0) or to read again (< 0). A group that never committed reads
        from the start, so a first commit at the start moves nothing."""
        return self.new - (self.low if self.current is None else max(self.current, self.low))


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
        """The partitions whose committed offset is written."""
        return tuple(r for r in self.rows if r.changes)

    @property
    def moves(self) -> tuple[PlannedOffset, ...]:
        """The partitions where reading really moves (not a first commit at the start)."""
        return tuple(r for r in self.rows if r.delta)

    @property
    def reread(self) -> int:
        """Alerts that will be read again."""
        return sum(-r.delta for r in self.rows if r.delta < 0)

    @property
    def skipped(self) -> int:
        """Alerts that will be skipped, never read."""
        return sum(r.delta for r in self.rows if r.delta > 0)

    def summary(self) -> str:
        """``3 of 10 partitions move: 1,200 alerts read again, 40 skipped``."""
        text = f"{len(self.moves)} of {len(self.rows)} partition(s) move"
        effects = []
        if self.reread:
            effects.append(f"{self.reread:,} alert(s) read again")
        if self.skipped:
            effects.append(f"{self.skipped:,} skipped")
        text += ": " + ", ".join(effects) if effects else ""
        firsts = sum(1 for r in self.rows if r.changes and not r.delta)
        if firsts:
            text += f" ({firsts} get a first commit where they start anyway)"
        return text

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
        lines.append(self.summary())
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
        if target.kind is TargetKind.EARLIEST:
            base = p.low
        elif target.kind is TargetKind.LATEST:
            base = p.high
        elif target.kind is TargetKind.OFFSET:
            base = target.value
        elif target.kind is TargetKind.TIME:
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
        answers = {(tp.topic, tp.partition): futures[tp].result(timeout=timeout) for tp in tps}
    except KafkaException as exc:
        raise StreamError(describe_kafka_error(exc)) from exc
    except concurrent.futures.TimeoutError as exc:
        raise StreamError(f"the servers did not answer in {timeout:g} s") from exc
    return {where: time_answer(info.offset, info.timestamp) for where, info in answers.items()}


def time_answer(offset: int, timestamp: int) -> int:
    """A broker's answer to "the first offset at or after this time": -1 when there is none.
    Apache Kafka says offset -1; the test broker says offset 0 with timestamp -1."""
    return -1 if offset < 0 or timestamp < 0 else offset


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
    if target.kind is TargetKind.TIME:
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
