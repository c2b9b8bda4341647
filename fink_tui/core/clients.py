"""Kafka clients built from :class:`~fink_tui.config.Settings`, with librdkafka's own log
lines kept off the terminal and its errors remembered, so a request that times out can say
why (authentication failed, broker unreachable) in one line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from fink_tui.config import Settings
from fink_tui.core.decode import MessageRef
from fink_tui.core.errors import ErrorKind, StreamError, classify, describe_kafka_error

KAFKA_LOG = logging.getLogger("fink_tui.kafka")
KAFKA_LOG.addHandler(logging.NullHandler())
KAFKA_LOG.propagate = False

CONSUMER_DEFAULTS: dict[str, Any] = {
    "auto.offset.reset": "earliest",  # as fink-client: a new group reads what is kept
    "enable.auto.commit": True,
    # Offsets are stored by hand once alerts are handed over, so auto-commit never commits
    # past an alert the user did not get.
    "enable.auto.offset.store": False,
    "auto.commit.interval.ms": 1000,
    # Fink alerts are ~50 kB: the 64 MB prefetch queue fills with ~1,200 of them, and by
    # default librdkafka then waits a whole second before fetching again (bench/README.md).
    "fetch.queue.backoff.ms": 10,
}


class ErrorTracker:
    """librdkafka's ``error_cb``: remembers the last error that explains a silence."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self.last: KafkaError | None = None
        self.kind: ErrorKind | None = None
        """The kind of the remembered error (None: nothing since the last success)."""
        self.all_down = False

    def __call__(self, error: KafkaError) -> None:
        kind = classify(error)
        with self._lock:
            if kind in (ErrorKind.AUTH, ErrorKind.UNREACHABLE) or self.last is None:
                self.last = error
                self.kind = kind
            if error.code() == KafkaError._ALL_BROKERS_DOWN:
                self.all_down = True

    def clear(self) -> None:
        """Forget errors seen so far (after a request succeeded)."""
        with self._lock:
            self.last = None
            self.kind = None
            self.all_down = False

    def explain(self, fallback: BaseException | str) -> StreamError:
        """A StreamError for a failed call: the remembered cause if there is one."""
        with self._lock:
            error = self.last
        text = (
            describe_kafka_error(error)
            if error is not None
            else (
                describe_kafka_error(fallback) if isinstance(fallback, BaseException) else fallback
            )
        )
        return StreamError(self._settings.redact(f"{self._settings.servers}: {text}"))


def _base(settings: Settings, tracker: ErrorTracker, **overrides: Any) -> dict[str, Any]:
    timeout_ms = int(settings.maxtimeout * 1000)
    conf = settings.kafka_config(
        **{"socket.connection.setup.timeout.ms": max(timeout_ms, 1000)}, **overrides
    )
    conf["error_cb"] = tracker
    conf["logger"] = KAFKA_LOG
    return conf


DASHBOARD_DEFAULTS: dict[str, Any] = {
    # The dashboard's worker commits the stored offsets itself, while the broker answers:
    # librdkafka's final auto-commit in close() waits on a silent broker for minutes, and
    # quitting must not.
    "enable.auto.commit": False,
    # A request the broker never answers (a black-holed link) fails after this, not after
    # librdkafka's 60 s: close() waits for requests in flight.
    "socket.timeout.ms": 10_000,
    # Come back within ~2 s of the broker's return (librdkafka's backoff grows to 10 s).
    "reconnect.backoff.max.ms": 2_000,
    # librdkafka prefetches up to 64 MB by default (60-70 MB more at the peak). 8 MB ahead
    # left the stream process's thread waiting in consume() a third of a backlog's ingest:
    # tansu answers a fetch with one partition's ~5 MB, and the next fetch left only once the
    # queue was under 8 MB, then 10 ms later. 16 MB, and 1 ms: ingest of 20,000 ZTF alerts
    # 0.88x -> 0.94x poll, +10 MB at the peak (bench/README.md, thirteenth session).
    "queued.max.messages.kbytes": 16_384,
    "fetch.queue.backoff.ms": 1,
}
"""Consumer settings of the dashboard's worker (``-X`` settings still win, but
auto-commit: the worker commits)."""


def consumer_config(
    settings: Settings, tracker: ErrorTracker, *, dashboard: bool = False, **overrides: Any
) -> dict[str, Any]:
    """The configuration of a consumer of the settings' group (at-least-once offsets);
    ``dashboard``: the worker's, which commits by itself."""
    if dashboard:
        overrides = {**DASHBOARD_DEFAULTS, **overrides}
    if not settings.group_id:
        raise StreamError(
            "no consumer group set: pass --group-id, or register with fink-client (groupid)"
        )
    conf = _base(settings, tracker, **{**CONSUMER_DEFAULTS, **overrides})
    # Whatever -X says, offsets are stored by fink-tui only once alerts are handed over.
    conf["enable.auto.offset.store"] = False
    if dashboard:
        conf["enable.auto.commit"] = False
    return conf


def make_consumer(
    settings: Settings, tracker: ErrorTracker, *, dashboard: bool = False, **overrides: Any
) -> Consumer:
    """A consumer of the settings' group, with at-least-once offset handling (``dashboard``:
    see :data:`DASHBOARD_DEFAULTS`)."""
    conf = consumer_config(settings, tracker, dashboard=dashboard, **overrides)
    try:
        return Consumer(conf)
    except KafkaException as exc:
        raise StreamError(
            settings.redact(f"bad Kafka setting: {describe_kafka_error(exc)}")
        ) from exc


PEEK_CONFIG: dict[str, Any] = {
    "enable.auto.commit": False,
    # One batch per partition is enough: the broker always returns the first one whole.
    "max.partition.fetch.bytes": 65_536,
    "queued.max.messages.kbytes": 4_096,
    "fetch.wait.max.ms": 100,
}
"""A consumer that reads a few messages at offsets it assigns itself: it joins no group and
commits nothing (the next alerts' timestamps, Data Transfer schemas)."""


def make_peek_consumer(settings: Settings, tracker: ErrorTracker) -> Consumer:
    """A consumer for :data:`PEEK_CONFIG` reads."""
    return make_consumer(settings, tracker, **PEEK_CONFIG)


FETCH_TIMEOUT = 10.0
"""Seconds to read one alert again (:func:`read_value_at`) before saying the broker is silent."""


def read_value_at(consumer: Consumer, ref: MessageRef, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The value of the message at ``ref``, read with a consumer that joins no group
    (:func:`make_peek_consumer`). Raises :class:`StreamError` in one line: gone from the broker
    (retention), or no answer within ``timeout``."""
    topic, partition, offset, where = ref.topic, ref.partition, ref.offset, ref.place
    deadline = time.monotonic() + timeout
    low, high = consumer.get_watermark_offsets(
        TopicPartition(topic, partition), timeout=timeout, cached=False
    )
    if not low <= offset < high:
        gone = "deleted by the broker's retention" if offset < low else "beyond its end"
        raise StreamError(f"{where}: no longer on the broker ({gone}: it holds {low}..{high - 1})")
    consumer.assign([TopicPartition(topic, partition, offset)])
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            for msg in consumer.consume(1, timeout=min(remaining, 0.5)):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        raise StreamError(f"{where}: no longer on the broker")
                    if error.fatal() or not error.retriable():
                        raise StreamError(f"{where}: {describe_kafka_error(error)}")
                    continue
                if msg.offset() != offset:
                    # Read from elsewhere: retention deleted it (auto.offset.reset moved on).
                    raise StreamError(f"{where}: no longer on the broker (retention)")
                value = msg.value()
                if value is None:
                    raise StreamError(f"{where}: the message has no value")
                return value
        raise StreamError(f"{where}: no answer from the broker in {timeout:.0f} s")
    finally:
        consumer.unassign()


def make_admin(settings: Settings, tracker: ErrorTracker) -> AdminClient:
    """An admin client for lag and offset requests."""
    try:
        return AdminClient(_base(settings, tracker))
    except KafkaException as exc:
        raise StreamError(
            settings.redact(f"bad Kafka setting: {describe_kafka_error(exc)}")
        ) from exc


def wait_for_metadata(admin: AdminClient, tracker: ErrorTracker, timeout: float) -> Any:
    """The cluster metadata, or a StreamError within ``timeout`` that says why not.

    An authentication failure is reported as soon as librdkafka sees it (its error callback
    runs only when the client is polled), not after the whole timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            return admin.list_topics(timeout=max(min(remaining, 0.5), 0.05))
        except KafkaException as exc:
            admin.poll(0)
            if tracker.kind is ErrorKind.AUTH or time.monotonic() >= deadline:
                raise tracker.explain(exc) from exc


def check_topics(
    admin: AdminClient, topics: Iterable[str], tracker: ErrorTracker, timeout: float
) -> list[str]:
    """All topic names the broker shows, raising a clear StreamError when it cannot answer."""
    names = sorted(wait_for_metadata(admin, tracker, timeout).topics)
    missing = [t for t in topics if t not in names]
    if missing:
        raise StreamError(f"unknown topic: {', '.join(missing)} (see `fink-tui topics`)")
    return names


def livestream_first(names: Iterable[str]) -> list[str]:
    """Topic names with Fink's Livestream topics (``fink_*``) first, internal ones dropped."""
    visible = [n for n in names if not n.startswith("__")]
    return sorted(visible, key=lambda n: (not n.startswith("fink_"), n))


def commit_stored(consumer: Consumer) -> None:
    """Commit the offsets stored so far, without waiting (none stored: nothing to do)."""
    try:
        consumer.commit(asynchronous=True)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if not (isinstance(error, KafkaError) and error.code() == KafkaError._NO_OFFSET):
            raise


def store_offsets(consumer: Consumer, offsets: list[TopicPartition]) -> bool:
    """Store offsets for the next commit; partitions lost in a rebalance are left out (their
    new owner reads from the last commit: at least once). True if any offset was stored."""
    try:
        consumer.store_offsets(offsets=offsets)
        return True
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        not_ours = (KafkaError._STATE, KafkaError._UNKNOWN_PARTITION)
        if not (isinstance(error, KafkaError) and error.code() in not_ours):
            raise
    # Some partitions are not ours (any more): store the others one by one.
    stored = False
    if len(offsets) > 1:
        for tp in offsets:
            stored = store_offsets(consumer, [tp]) or stored
    return stored
