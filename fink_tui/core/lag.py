"""Where a consumer group stands on its topics: committed offsets, watermarks and lag, and
how far behind that is in time, whether it drains, what expired unread, who reads the group.

The figures are those of fink-client's ``fink_consumer --display_statistics``
(``return_offsets``): lag = high watermark − committed; with nothing committed,
lag = high − low and the committed column shows "-". A committed offset below the low
watermark (the messages were deleted) is clamped to it, so it shows no phantom lag.

:func:`fetch_lag` asks the broker in a few batched requests — metadata, the group's
committed offsets, then the low and the high watermarks of every partition at once — rather
than one watermark request per partition as fink-client does. :func:`fetch_group` asks who
the group's members are; :mod:`fink_tui.core.lag_reader` adds the time lag, the statuses and
the drain rates, which need more than one request or more than one snapshot.
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
from fink_tui.core.lag_status import WINDOW, Drain, Status, Trend, time_lag_text, worst

TABLE_WIDTH = 72
WIDE_WIDTH = 104
"""fink-client's three columns, then time lag, lost and status."""


def table_row(name: str, committed: object, lag: object) -> str:
    """A line of fink-client's table: ``"%-50s  %9s  %9s"``."""
    return f"{name:<50}  {committed!s:>9}  {lag!s:>9}"


def lag_row(
    name: str, committed: object, lag: object, time_lag: str, lost: object, status: str
) -> str:
    """A line of ``fink-tui lag``: fink-client's columns first (scripts that read them go on
    working), then the time lag, the alerts lost to retention and the status."""
    return f"{table_row(name, committed, lag)}  {time_lag:>10}  {lost!s:>9}  {status:<6}".rstrip()


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One partition: the group's committed offset (None if never committed) and watermarks."""

    topic: str
    partition: int
    committed: int | None
    low: int
    high: int
    next_timestamp: float | None = None
    """Unix time of the next alert to read (at the committed offset, or the earliest kept);
    None when not fetched."""
    time_lag: float | None = None
    """Seconds from that alert's timestamp to the snapshot (0 when caught up)."""
    status: Status = Status.OK
    owner: str | None = None
    """Client id of the group member that owns the partition, if the broker says."""

    @property
    def next_offset(self) -> int:
        """Where the group reads next: the committed offset, or the earliest kept."""
        if self.committed is None:
            return self.low
        return max(self.committed, self.low)

    @property
    def lost(self) -> int:
        """Alerts that expired unread: the committed offset is below the earliest kept."""
        if self.committed is None or self.low < 0:
            return 0
        return max(self.low - self.committed, 0)

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
    drain: Drain = Drain(Trend.UNKNOWN)
    """How fast the lag falls, and when it reaches zero."""

    @property
    def status(self) -> Status:
        """The worst partition's status (ERR when the topic cannot be read)."""
        if self.error:
            return Status.ERR
        return worst([p.status for p in self.partitions])

    @property
    def time_lag(self) -> float | None:
        """The largest time lag of its partitions (0 when caught up, None if unknown)."""
        if self.lag == 0:
            return 0.0
        known = [p.time_lag for p in self.partitions if p.time_lag is not None and p.lag]
        return max(known) if known else None

    @property
    def lost(self) -> int:
        """Alerts that expired unread, over its partitions."""
        return sum(p.lost for p in self.partitions)

    @property
    def committed(self) -> int:
        """Sum of committed offsets (never-committed partitions count 0, as fink-client does)."""
        return sum(p.committed or 0 for p in self.partitions)

    @property
    def lag(self) -> int:
        """Sum of the partitions' lag."""
        return sum(p.lag for p in self.partitions)


@dataclass(frozen=True, slots=True)
class Member:
    """A consumer in the group, as the broker describes it."""

    client_id: str
    host: str
    member_id: str = ""
    partitions: tuple[tuple[str, int], ...] = ()
    """The (topic, partition) pairs it owns."""

    def to_dict(self) -> dict[str, Any]:
        """The member in ``lag --json``."""
        return {
            "client_id": self.client_id,
            "host": self.host,
            "member_id": self.member_id,
            "partitions": [{"topic": t, "partition": p} for t, p in self.partitions],
        }


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """Who reads the group: its state (Stable, Empty, …) and its members."""

    state: str
    members: tuple[Member, ...] = ()
    reported: bool = True
    """False when the broker says the group has consumers but does not list them."""
    error: str = ""
    """Why the group could not be described, if so."""

    def owners(self) -> dict[tuple[str, int], str]:
        """The client id owning each (topic, partition)."""
        return {tp: m.client_id for m in self.members for tp in m.partitions}

    @property
    def empty(self) -> bool:
        """Nobody is in the group."""
        return self.state.lower() == "empty" or (self.reported and not self.members)

    def describe(self) -> str:
        """One line: state, how many consumers and who (or why not)."""
        if self.error:
            return f"members: {self.error}"
        if not self.reported:
            return f"members: not reported by this broker · state {self.state}"
        n = len(self.members)
        who = "; ".join(
            f"{m.client_id}@{m.host} {partitions_text(m.partitions)}" for m in self.members
        )
        return f"state {self.state} · {n} consumer{'' if n == 1 else 's'}" + (
            f": {who}" if who else ""
        )

    def to_dict(self) -> dict[str, Any]:
        """The group in ``lag --json``."""
        return {
            "state": self.state,
            "members_reported": self.reported,
            "members": [m.to_dict() for m in self.members],
            **({"error": self.error} if self.error else {}),
        }


def partitions_text(partitions: Sequence[tuple[str, int]]) -> str:
    """``"topic [0,1,2] other [0]"``: the partitions a member owns, by topic."""
    by_topic: dict[str, list[int]] = {}
    for topic, partition in partitions:
        by_topic.setdefault(topic, []).append(partition)
    return " ".join(f"{t} [{','.join(map(str, sorted(ps)))}]" for t, ps in by_topic.items())


@dataclass(frozen=True, slots=True)
class LagSnapshot:
    """The group's position on every topic at one moment."""

    group: str
    topics: tuple[TopicLag, ...]
    taken_at: float = field(default_factory=time.time)
    """Unix time of the snapshot."""
    group_info: GroupInfo | None = None
    """The group's state and members (None: not asked)."""
    window: int = 0
    """Refreshes the statuses were judged on (0: none: a bare snapshot)."""

    @property
    def lag(self) -> int:
        """Total lag over all topics."""
        return sum(t.lag for t in self.topics)

    @property
    def lost(self) -> int:
        """Alerts expired unread over all topics."""
        return sum(t.lost for t in self.topics)

    @property
    def status(self) -> Status:
        """The worst topic's status."""
        return worst([t.status for t in self.topics])

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
            "status": self.status.value,
            "lost": self.lost,
            "window": {"refreshes": self.window, "size": WINDOW},
            "members": None if self.group_info is None else self.group_info.to_dict(),
            "topics": [
                {
                    "topic": t.topic,
                    "committed": t.committed,
                    "lag": t.lag,
                    "time_lag_s": _seconds(t.time_lag),
                    "lost": t.lost,
                    "status": t.status.value,
                    "trend": t.drain.trend.value,
                    "drain_per_s": None if t.drain.rate is None else round(t.drain.rate, 3),
                    "eta_s": _seconds(t.drain.eta),
                    **({"error": t.error} if t.error else {}),
                    "partitions": [
                        {
                            "partition": p.partition,
                            "committed": p.committed,
                            "low": p.low,
                            "high": p.high,
                            "lag": p.lag,
                            "time_lag_s": _seconds(p.time_lag),
                            "next_timestamp": p.next_timestamp,
                            "lost": p.lost,
                            "status": p.status.value,
                            "owner": p.owner,
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
        rows = [
            [
                "topic",
                "partition",
                "committed",
                "low",
                "high",
                "lag",
                "time_lag_s",
                "lost",
                "status",
            ]
        ]
        for t in self.topics:
            for p in t.partitions:
                committed = "" if p.committed is None else str(p.committed)
                seconds = _seconds(p.time_lag)
                rows.append(
                    [
                        t.topic,
                        str(p.partition),
                        committed,
                        str(p.low),
                        str(p.high),
                        str(p.lag),
                        "" if seconds is None else str(seconds),
                        str(p.lost),
                        p.status.value,
                    ]
                )
        return rows

    def to_text(self, all_partitions: bool = False) -> str:
        """The table in ``fink_consumer --display_statistics`` layout, with the time lag, the
        alerts lost to retention and the status on the right; then the drain of each topic,
        the expired alerts and the group's members."""
        lines = []
        for t in self.topics:
            lines.append(
                lag_row("Topic [Partition]", "Committed", "Lag", "Time lag", "Lost", "Status")
            )
            lines.append("=" * WIDE_WIDTH)
            if t.error:
                lines.append(f"{t.topic}: {t.error}")
            for p in t.partitions:
                if all_partitions or not p.empty:
                    committed = "-" if p.committed is None else str(p.committed)
                    lines.append(
                        lag_row(
                            f"{t.topic} [{p.partition}]",
                            committed,
                            p.lag,
                            time_lag_text(p.time_lag, p.lag),
                            p.lost or "",
                            p.status.value,
                        )
                    )
            lines.append("-" * WIDE_WIDTH)
            lines.append(
                lag_row(
                    f"Total for {t.topic}",
                    t.committed,
                    t.lag,
                    time_lag_text(t.time_lag, t.lag),
                    t.lost or "",
                    t.status.value,
                )
            )
            if self.window > 1 and not t.error:
                lines.append(f"  trend: {t.drain.text()}" + _rate_text(t.drain.rate))
            lines.append("-" * WIDE_WIDTH)
        if self.lost:
            lines.append(
                f"{self.lost:,} alerts expired unread (committed below the earliest kept "
                "offset): `fink-tui reset --to earliest` reads what is left"
            )
        if self.group_info is not None:
            lines.append(f"group {self.group}: {self.group_info.describe()}")
        if self.window:
            lines.append(
                f"status over {self.window} refresh{'es' if self.window != 1 else ''} "
                f"(of {WINDOW}): " + STATUS_LEGEND
            )
        return "\n".join(lines)


STATUS_LEGEND = ", ".join(f"{s.value} {s.meaning}" for s in Status)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rate_text(rate: float | None) -> str:
    if rate is None:
        return ""
    if rate < 0:
        return f" (lag grows by {-rate:,.1f} alerts/s)"
    return f" (lag falls by {rate:,.1f} alerts/s)" if rate else ""


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


def group_state_name(state: object) -> str:
    """``ConsumerGroupState.PREPARING_REBALANCING`` → ``"Preparing rebalancing"``."""
    name = getattr(state, "name", str(state))
    return name.replace("_", " ").capitalize()


def send_describe_group(
    admin: AdminClient, group: str, timeout: float
) -> concurrent.futures.Future[Any] | None:
    """Ask who the group's members are (the answer is read by :func:`read_group`)."""
    try:
        return admin.describe_consumer_groups([group], request_timeout=timeout)[group]
    except (KafkaException, ValueError, TypeError):
        return None


def read_group(future: concurrent.futures.Future[Any] | None, timeout: float) -> GroupInfo:
    """The group's state and members; a broker that cannot say gets a GroupInfo saying so
    (never an exception: the lag figures stand without it)."""
    if future is None:
        return GroupInfo("unknown", reported=False, error="not reported by this broker")
    try:
        desc = future.result(timeout=timeout)
    except KafkaException as exc:
        return GroupInfo(
            "unknown",
            reported=False,
            error=f"not reported by this broker ({describe_kafka_error(exc)})",
        )
    except concurrent.futures.TimeoutError:
        return GroupInfo("unknown", reported=False, error=f"no answer in {timeout:g} s")
    members = []
    for m in desc.members or ():
        assigned = m.assignment.topic_partitions if m.assignment is not None else []
        members.append(
            Member(
                str(m.client_id or ""),
                str(m.host or "").lstrip("/"),
                str(m.member_id or ""),
                tuple(sorted((tp.topic, tp.partition) for tp in assigned)),
            )
        )
    state = group_state_name(desc.state)
    reported = bool(members) or state in ("Empty", "Dead")
    return GroupInfo(state, tuple(sorted(members, key=lambda m: m.client_id)), reported)


def fetch_group(admin: AdminClient, group: str, timeout: float) -> GroupInfo:
    """The group's state and members, from one DescribeGroups request."""
    return read_group(send_describe_group(admin, group, timeout), timeout)
