"""Reading beside a consumer group without touching it, and seeing who else is in it.

Fink's Livestream gives each registration one group. A member of the group takes partitions
away from the other members (a pipeline running ``fink_consumer``), and commits move the
group. In read-only mode the app joins no group and commits nothing: it assigns the
partitions itself, where the group stands (its committed offsets), or ``--last N`` messages
before the end. Without it, the app can at least say who else is in the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING

from fink_tui.core.errors import StreamError
from fink_tui.core.lag import LagSnapshot

READ_ONLY_RESET = (
    "read-only: resets are disabled (the app is not a member of the group and commits "
    "nothing; run without --read-only to move the group)"
)
"""Why a reset is refused in read-only mode."""


def start_offsets(snapshot: LagSnapshot, last: int | None) -> list[tuple[str, int, int]]:
    """Where a read-only reader starts on each partition of ``snapshot``: ``last`` messages
    before the high watermark (not before the low one) when given, else the group's committed
    offset, else the beginning (where the group itself would start: auto.offset.reset is
    earliest, as in fink-client)."""
    starts = []
    for topic in snapshot.topics:
        for p in topic.partitions:
            if last is not None and p.high >= 0:
                offset = max(p.high - last, p.low, 0)
            elif p.committed is not None and p.committed >= 0:
                offset = p.committed
            else:
                offset = OFFSET_BEGINNING
            starts.append((p.topic, p.partition, offset))
    return starts


@dataclass(frozen=True)
class GroupMember:
    """Another member of the group: its client id and host."""

    client_id: str
    host: str

    def __str__(self) -> str:
        return f"{self.client_id} ({self.host})" if self.host else self.client_id


def other_members(admin: Any, group: str, me: str, timeout: float) -> tuple[GroupMember, ...]:
    """The members of ``group`` other than the member id ``me``, as the broker lists them."""
    futures = admin.describe_consumer_groups([group], request_timeout=timeout)
    try:
        description = futures[group].result(timeout=timeout)
    except Exception as exc:  # KafkaException, or a timeout of the future
        raise StreamError(f"cannot describe group {group}: {exc}") from exc
    return tuple(
        GroupMember(str(m.client_id or ""), str(m.host or "").lstrip("/"))
        for m in description.members
        if m.member_id != me
    )

