"""Lag snapshots with what one request cannot give: how old the next alert to read is, the
group's members, and — over a window of refreshes — a status per partition and the drain of
each topic.

:class:`LagReader` is used from one thread at a time (the worker's helper thread, or the
headless ``lag`` command); it never runs on the UI thread nor in the consumer's poll loop.
The next alerts' timestamps come from one batched fetch of a private consumer that joins no
group and commits nothing (:class:`NextAlertTimes`), and only for partitions whose next
offset changed since the last refresh.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from fink_tui.config import Settings
from fink_tui.core.clients import ErrorTracker, make_peek_consumer
from fink_tui.core.lag import (
    GroupInfo,
    LagSnapshot,
    PartitionLag,
    TopicLag,
    fetch_lag,
    read_group,
    send_describe_group,
)
from fink_tui.core.lag_status import (
    DRAIN_WINDOW,
    WINDOW,
    Sample,
    partition_status,
    topic_drain,
)

PEEK_BUDGET = 1.0
"""Seconds the fetch of the next alerts may take: less than the worker's 'silent broker'
delay, so a slow answer costs the time lag of a refresh, not the connection state."""


Key = tuple[str, int]


class NextAlertTimes:
    """Timestamps (unix seconds) of the message at given offsets, fetched in one go and
    remembered while the offset stays the same."""

    def __init__(self, make_consumer: Callable[[], Consumer], budget: float = PEEK_BUDGET):
        self._make_consumer = make_consumer
        self.budget = budget
        self._consumer: Consumer | None = None
        self._cache: dict[tuple[Key, int], float | None] = {}
        self.fetches = 0
        """Fetches made so far (the tests count them)."""

    def lookup(self, wanted: dict[Key, int]) -> dict[Key, float | None]:
        """The timestamp of the message at each partition's offset (None if not found in
        time, or the broker keeps none)."""
        missing = {k: o for k, o in wanted.items() if (k, o) not in self._cache}
        fetched = self._fetch(missing) if missing else {}
        cache: dict[tuple[Key, int], float | None] = {}
        for key, offset in wanted.items():
            if (key, offset) in self._cache:
                cache[(key, offset)] = self._cache[(key, offset)]
            elif key in fetched:
                cache[(key, offset)] = fetched[key]
        self._cache = cache  # only the current offsets: bounded by the partitions
        return {k: cache.get((k, o)) for k, o in wanted.items()}

    def _fetch(self, missing: dict[Key, int]) -> dict[Key, float | None]:
        if self._consumer is None:
            self._consumer = self._make_consumer()
        consumer = self._consumer
        self.fetches += 1
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in missing.items()])
        got: dict[Key, float | None] = {}
        deadline = time.monotonic() + self.budget
        try:
            while len(got) < len(missing):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                for msg in consumer.consume(len(missing), timeout=min(remaining, 0.2)):
                    if msg.error() is not None:
                        continue
                    key = (str(msg.topic()), int(msg.partition() or 0))
                    if key in got or key not in missing or (msg.offset() or 0) < missing[key]:
                        continue
                    kind, millis = msg.timestamp()
                    got[key] = (
                        millis / 1000 if kind != TIMESTAMP_NOT_AVAILABLE and millis >= 0 else None
                    )
        finally:
            consumer.unassign()
        return got

    def close(self) -> None:
        """Close the consumer (it commits nothing)."""
        if self._consumer is not None:
            try:
                self._consumer.close()
            except (KafkaException, RuntimeError):
                pass
            self._consumer = None


DESCRIBE_TIMEOUT = 300.0
"""Seconds librdkafka may take over a DescribeGroups request before giving up on it. Long on
purpose: a describe request that times out in the admin layer while the broker still holds it
can abort the whole process (librdkafka issue #4605: ``rd_kafka_enq_once_del_source_return:
Assertion eonce->refcnt > 0``, seen here in the outage tests). So one request at a time, left
to end by the connection's own timeout, and nobody waits on it past a refresh."""


class GroupDescriber:
    """The group's state and members, asked with at most one request in flight."""

    def __init__(self, admin: AdminClient, group: str) -> None:
        self.admin = admin
        self.group = group
        self.latest: GroupInfo | None = None
        self._future: concurrent.futures.Future[Any] | None = None

    def poll(self, wait: float = 0.0) -> GroupInfo | None:
        """The latest answer, waiting up to ``wait`` seconds for the one in flight; a new
        request goes out when none is in flight."""
        if self._future is None:
            self._future = send_describe_group(self.admin, self.group, DESCRIBE_TIMEOUT)
            if self._future is None:  # the client refused to send it
                self.latest = read_group(None, 0)
                return self.latest
        if wait > 0:
            concurrent.futures.wait([self._future], timeout=wait)
        if self._future.done():
            self.latest = read_group(self._future, 0)
            self._future = None
        return self.latest


class LagWindow:
    """The last refreshes of every partition and topic: statuses and drain rates."""

    def __init__(self, size: int = WINDOW) -> None:
        self.size = size
        self._samples: dict[Key, deque[Sample]] = {}
        self._history: dict[str, deque[tuple[float, int, int]]] = {}

    def apply(self, snapshot: LagSnapshot) -> LagSnapshot:
        """``snapshot`` with a status per partition and a drain per topic, judged on it and
        the refreshes before it."""
        info = snapshot.group_info
        owners = info.owners() if info is not None else {}
        known = info is not None and info.reported
        nobody = info is not None and info.empty
        topics = []
        window = 0
        for topic in snapshot.topics:
            if topic.error:
                topics.append(topic)
                continue
            parts = []
            for p in topic.partitions:
                samples = self._samples.setdefault((p.topic, p.partition), deque(maxlen=self.size))
                samples.append(Sample(snapshot.taken_at, p.committed, p.lag))
                window = max(window, len(samples))
                owned = False if nobody else ((p.topic, p.partition) in owners if known else None)
                parts.append(replace(p, status=partition_status(list(samples), owned)))
            history = self._history.setdefault(topic.topic, deque(maxlen=400))
            history.append((snapshot.taken_at, topic.lag, topic.committed))
            while history and history[0][0] < snapshot.taken_at - DRAIN_WINDOW:
                history.popleft()
            topics.append(replace(topic, partitions=tuple(parts), drain=topic_drain(history)))
        return replace(snapshot, topics=tuple(topics), window=window)


def with_times(
    snapshot: LagSnapshot, times: dict[Key, float | None], info: GroupInfo | None
) -> LagSnapshot:
    """``snapshot`` with each partition's next-alert timestamp, time lag and owner."""
    owners = info.owners() if info is not None else {}

    def timed(p: PartitionLag) -> PartitionLag:
        key = (p.topic, p.partition)
        stamp = times.get(key)
        if p.lag == 0:
            time_lag: float | None = 0.0
        elif stamp is None:
            time_lag = None
        else:
            time_lag = max(snapshot.taken_at - stamp, 0.0)
        return replace(p, next_timestamp=stamp, time_lag=time_lag, owner=owners.get(key))

    topics: list[TopicLag] = [
        replace(t, partitions=tuple(timed(p) for p in t.partitions)) for t in snapshot.topics
    ]
    return replace(snapshot, topics=tuple(topics), group_info=info)


class LagReader:
    """Full lag snapshots of one group: figures, time lag, members, statuses, drains."""

    def __init__(
        self,
        admin: AdminClient,
        group: str,
        topics: tuple[str, ...] | list[str],
        timeout: float,
        times: NextAlertTimes | None = None,
    ) -> None:
        self.admin = admin
        self.group = group
        self.topics = list(topics)
        self.timeout = timeout
        self.times = times
        self.window = LagWindow()
        self.members = GroupDescriber(admin, group)
        self._lock = threading.Lock()
        self._closed = False

    def read(self) -> LagSnapshot:
        """A snapshot now (StreamError when the broker does not answer the lag requests)."""
        with self._lock:
            self.members.poll()  # goes out beside the lag requests
            snapshot = fetch_lag(self.admin, self.group, self.topics, self.timeout)
            # The first answer is awaited (the command line reads once); later ones are
            # taken when they come, the last one standing meanwhile.
            info = self.members.poll(wait=0.0 if self.members.latest else self.timeout)
            wanted = {
                (p.topic, p.partition): p.next_offset
                for t in snapshot.topics
                for p in t.partitions
                if p.lag > 0
            }
            times: dict[Key, float | None] = {}
            if self.times is not None and wanted and not self._closed:
                try:
                    times = self.times.lookup(wanted)
                except KafkaException:
                    times = {}  # the figures stand without the time lag
                finally:
                    if self._closed:  # closed while this read ran
                        self.times.close()
            return self.window.apply(with_times(snapshot, times, info))

    def close(self) -> None:
        """Close the timestamp consumer (at once if no read is running, else after it)."""
        if self._lock.acquire(timeout=0.2):
            try:
                self._closed = True
                if self.times is not None:
                    self.times.close()
            finally:
                self._lock.release()
        else:
            self._closed = True


def make_lag_reader(
    settings: Settings, admin: AdminClient, tracker: ErrorTracker, timeout: float
) -> LagReader:
    """The reader of the settings' group and topics, with the next alerts' timestamps read
    by a consumer of its own (made at the first need)."""
    times = NextAlertTimes(lambda: make_peek_consumer(settings, tracker))
    return LagReader(admin, settings.group_id, settings.topics, timeout, times)
