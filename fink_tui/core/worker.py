"""The stream worker: the one thread that owns the Kafka consumer, and the Kafka source.

It consumes in batches, decodes, and hands each poll cycle's alerts and decode failures to a
sink callback in one event. Their offsets are stored for commit only once the owner has them:
when the sink took the event, or — for the dashboard (:class:`KafkaSource`) — when the app
answers :class:`AlertsShown` after putting them in the model the screens draw from. So
auto-commit never commits past an alert the user did not get (at least once).

Commands (reset, pause, force schema, refresh lag) arrive on a queue drained every loop; the
loop waits at most ``poll_timeout`` in ``consume`` so a stop is noticed well within a second.
The loop never ends by itself: any failure is reported and retried with a growing pause, and
librdkafka reconnects underneath; only a stop (or settings that can never work) ends it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, assert_never

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from fink_tui.config import Settings
from fink_tui.core.clients import (
    ErrorTracker,
    commit_stored,
    make_admin,
    make_consumer,
    make_peek_consumer,
    read_value_at,
    store_offsets,
)
from fink_tui.core.decode import AlertDecoder, MessageRef, SchemaInfo
from fink_tui.core.errors import ErrorKind, StreamError, describe_kafka_error
from fink_tui.core.events import (
    AlertsReceived,
    AlertsShown,
    ApplyReset,
    CarryPaths,
    Command,
    CommandFailed,
    Connection,
    ConnectionChanged,
    Event,
    ForceSchema,
    GroupShared,
    LagUpdated,
    OffsetsReset,
    PauseChanged,
    PlanReset,
    RefreshLag,
    ResetPlanned,
    SchemaForced,
    SetPaused,
)
from fink_tui.core.lag import LagSnapshot, fetch_lag
from fink_tui.core.lag_reader import LagReader, make_lag_reader
from fink_tui.core.pool import (
    BATCH_BYTES,
    FIRST_BATCH,
    Batch,
    DecodePipeline,
    batch_count,
    batch_errors,
    default_workers,
)
from fink_tui.core.readonly import READ_ONLY_RESET, other_members, start_offsets
from fink_tui.core.reset import ResetPlan, make_plan
from fink_tui.core.source import Sink
from fink_tui.core.transfer import attach_schema_keys, fetch_schema_keys, is_data_transfer

log = logging.getLogger(__name__)

LAG_TIMEOUT = 3.0
"""Seconds a lag request may take (short: a blocked request delays commands and a stop)."""
PROBE_INTERVAL = 1.5
"""While no alert arrives, ask the broker for metadata this often, so a silent broker is
noticed within a couple of seconds rather than at the next lag refresh."""
PROBE_TIMEOUT = 1.0
SILENT_AFTER = 2.0
"""A request unanswered this long means the broker is silent (said before it times out)."""
RETRY_FIRST = 0.5
RETRY_MAX = 15.0
"""Pauses between attempts after a failure grow from the first to the last, doubling."""
TOPIC_RETRY = 5.0
MAKE_WAY_MOST = 1.0
"""Seconds the worker may go without reading while it makes way for the screen (keys held
down ask again and again): the group's ``max.poll.interval.ms`` must never run out."""
MAKE_WAY_TICK = 0.01
"""How often a worker making way looks whether it may read again."""
COMMIT_INTERVAL = 1.0
"""How often the stored offsets are committed while alerts pour in, while the broker answers."""
CAUGHT_UP_COMMIT = 0.2
"""Once the partitions are read to their end, what the owner confirmed is committed at once, at
most this often: the lag table shows the group caught up, and a crash reads nothing again,
without waiting for the next round second. Ending a backlog of 20,000 ZTF alerts, the last
commit came 0-1 s after the last alert was shown (bench/README.md, twentieth session)."""
FRESH = SILENT_AFTER
"""A commit is sent only if the broker answered this recently: one left in flight to a
silent broker would hold ``close()`` (and quitting) until it times out."""
"""How often to look again for topics that do not exist (yet)."""


def next_offsets(messages: list[Message]) -> list[TopicPartition]:
    """Per partition, the offset after the last good message of a batch (what to commit)."""
    last: dict[tuple[str, int], int] = {}
    for msg in messages:
        if msg.error() is None:
            key = (str(msg.topic()), int(msg.partition() or 0))
            last[key] = max(last.get(key, -1), int(msg.offset() or 0))
    return [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]


class StreamWorker(threading.Thread):
    """Owns the consumer; talks to its owner through ``sink`` (events) and commands."""

    def __init__(
        self,
        settings: Settings,
        sink: Sink,
        *,
        batch_size: int = 500,
        poll_timeout: float = 0.25,
        lag_interval: float = 5.0,
        max_backlog: int = 6,
        forced: SchemaInfo | None = None,
        confirm: bool = False,
        workers: int = 0,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        super().__init__(name="fink-tui-stream", daemon=True)
        self.settings = settings
        self.sink = sink
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.lag_interval = lag_interval
        self.max_backlog = max_backlog
        self.confirm = confirm
        """Store offsets only when the owner answers AlertsShown (else: once the sink took
        the batch)."""
        self.pipeline = DecodePipeline(workers, forced)
        """Decodes consumed batches (in ``workers`` other processes) while the next are read."""
        self.batch_bytes = batch_bytes
        """What a consumed batch should weigh (:func:`~fink_tui.core.pool.batch_count`)."""
        self._next_count = min(batch_size, FIRST_BATCH)
        """How many messages the next consume asks for (batches are kept to ~batch_bytes)."""
        self.commands: queue.Queue[Command] = queue.Queue()
        self.stop_requested = threading.Event()
        self.tracker = ErrorTracker(settings)
        self.state: Connection | None = None
        self.paused = False
        self.delivered = 0
        """Alerts and failures handed to the sink so far."""
        self.epoch = 0
        """Bumped by every reset: an AlertsShown of an older epoch stores nothing."""
        self.unconfirmed = 0
        """Batches handed over and not confirmed yet (the owner's backlog)."""
        self._consumer: Consumer | None = None
        self._admin: AdminClient | None = None
        self._topics: list[str] | None = None
        self._missing: list[str] = []
        self._next_lag = 0.0
        self._next_probe = 0.0
        self._silent_since: float | None = None
        self._answered_at = 0.0
        self._stored = False
        """Offsets were stored since the last commit."""
        self._members_due = False
        """Who else is in the group is to be asked (after an assignment)."""
        self._next_commit = 0.0
        self._committed_at = 0.0
        self._at_end = False
        """The last read found nothing, and nothing was being decoded: the partitions are read
        to their end (or the broker is slow to answer)."""
        self._quiet_until = 0.0
        """Until then the worker reads nothing: see :meth:`make_way`."""
        self._polled_at = time.monotonic()
        self._requests: ThreadPoolExecutor | None = None
        self._schema_keys: dict[str, bytes] = {}
        """Data Transfer topics' schemas, given to their messages as keys."""
        self._lag_reader: LagReader | None = None
        """Full snapshots (time lag, members, statuses), on the helper thread."""
        self._pending: tuple[str, float, Future[object]] | None = None
        """The lag request or probe in flight (on a helper thread, so the consumer is
        polled meanwhile: a slow answer would otherwise cost the group membership)."""

    @property
    def decoder(self) -> AlertDecoder:
        """The decoder of this side (keys' schemas, and batches when there is no pool)."""
        return self.pipeline.decoder

    # --- owner side -----------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Queue a command for the worker (thread-safe)."""
        self.commands.put(command)

    def make_way(self, seconds: float) -> None:
        """Read nothing for ``seconds`` (thread-safe): a key was pressed, and the screen it
        changes is drawn by the interpreter this thread shares (one GIL). Handing over a
        batch and copying the next one out of librdkafka stretched a mode switch from ~30 ms to
        up to 180 ms while alerts poured in. Never longer than :data:`MAKE_WAY_MOST` since the
        last read."""
        self._quiet_until = time.monotonic() + seconds

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end, and wait for the consumer to be closed."""
        self.stop_requested.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    # --- worker side ----------------------------------------------------------------------

    def _emit(self, event: Event) -> bool:
        """Hand an event over; False when the owner did not take it (it may be gone)."""
        try:
            return self.sink(event) is not False
        except Exception:  # the sink is the owner's code: never let it kill the stream
            log.exception("event sink failed on %s", type(event).__name__)
            return False

    def _set_state(self, state: Connection, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self._emit(ConnectionChanged(state, self.settings.redact(detail)))

    def run(self) -> None:
        self._set_state(Connection.CONNECTING, self.settings.servers)
        try:
            self._consumer = make_consumer(self.settings, self.tracker, dashboard=True)
            self._admin = make_admin(self.settings, self.tracker)
        except StreamError as exc:  # settings that can never work: nothing to retry
            self._set_state(Connection.ERROR, str(exc))
            self._close()
            return
        failures = 0
        try:
            while not self.stop_requested.is_set():
                try:
                    self._step()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    self._recover(exc, failures)
        finally:
            self._close()

    def _step(self) -> None:
        """One turn of the loop: subscribe if not yet, commands, lag, one poll."""
        if self._topics is None and not self._subscribe():
            return
        self._drain_commands()
        self._background()
        if self._making_way():
            self.stop_requested.wait(MAKE_WAY_TICK)
            return
        self._poll_once()
        self._check_errors()
        self._wait_for_owner()

    def _making_way(self) -> bool:
        now = time.monotonic()
        return now < self._quiet_until and now - self._polled_at < MAKE_WAY_MOST

    def _background(self) -> None:
        """Requests that run beside the consumer: lag or probe, and the commit."""
        self._collect()
        now = time.monotonic()
        if now >= self._next_lag and self.state == Connection.CONNECTED:
            self._refresh_lag()
        elif now >= self._next_probe:
            self._probe()
        if now >= self._next_commit or (
            self._at_end and self._stored and now - self._committed_at >= CAUGHT_UP_COMMIT
        ):
            self._commit()
        if self._members_due and self._pending is None and self.state == Connection.CONNECTED:
            self._members_due = False
            self._check_members()

    def _recover(self, exc: Exception, failures: int) -> None:
        """Report a failure of the loop, wait (growing with each failure in a row), go on."""
        delay = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
        if isinstance(exc, KafkaException):
            error = exc.args[0] if exc.args else None
            text = describe_kafka_error(exc)
            if isinstance(error, KafkaError) and error.fatal():
                # The consumer cannot go on: a new one joins the group from the commits.
                self._replace_consumer()
        elif isinstance(exc, StreamError):
            text = str(exc)
        else:
            log.exception("stream worker loop failed")
            text = f"internal error: {type(exc).__name__}: {exc}"
        self._set_state(Connection.RECONNECTING, f"{text}; next try in {delay:.0f} s")
        self.stop_requested.wait(delay)

    def _replace_consumer(self) -> None:
        self._close_consumer()
        self._consumer = make_consumer(self.settings, self.tracker, dashboard=True)
        self._topics = None

    def _subscribe(self) -> bool:
        """Subscribe once the broker's metadata answers (connected from then on), leaving out
        the topics it does not have, saying so, rather than waiting on them in silence."""
        assert self._admin is not None and self._consumer is not None
        try:
            metadata = self._admin.list_topics(timeout=PROBE_TIMEOUT)
        except KafkaException:
            self._admin.poll(0)  # serves the error callback: auth or unreachable
            self._check_errors()
            return False
        self.tracker.clear()
        names = set(metadata.topics)
        missing = [t for t in self.settings.topics if t not in names]
        if missing and missing != self._missing:
            self._emit(
                CommandFailed(
                    "subscribe",
                    f"unknown topic: {', '.join(missing)} (not on this broker, or "
                    "not readable by you)",
                )
            )
        self._missing = missing
        topics = [t for t in self.settings.topics if t in names]
        if not topics:
            self._set_state(
                Connection.ERROR,
                f"none of the topics exists on this broker; looking again every {TOPIC_RETRY:g} s",
            )
            self.stop_requested.wait(TOPIC_RETRY)
            return False
        self._set_state(Connection.CONNECTED, self.settings.servers)
        self._schema_keys = self._data_transfer_schemas(metadata, topics)
        if self.settings.read_only:
            self._assign_read_only(topics)
        else:
            self._consumer.subscribe(topics, on_assign=self._on_assign)
            self._members_due = True
        self._topics = topics
        return True

    def _assign_read_only(self, topics: list[str]) -> None:
        """Read the partitions without joining the group: from its committed offsets (or
        ``--last N`` before the end), which this consumer never moves."""
        assert self._consumer is not None and self._admin is not None
        timeout = min(self.settings.maxtimeout, LAG_TIMEOUT)
        snapshot = fetch_lag(self._admin, self.settings.group_id, topics, timeout)
        starts = start_offsets(snapshot, self.settings.last)
        partitions = [TopicPartition(t, p, o) for t, p, o in starts]
        self._consumer.assign(partitions)
        if self.paused:
            self._consumer.pause(partitions)
        self._emit(LagUpdated(snapshot))
        self._answered()

    def _data_transfer_schemas(self, metadata: Any, topics: list[str]) -> dict[str, bytes]:
        """The schema (a key) of each Data Transfer topic, read from its schema topic; a topic
        without one is said, and its messages fail to decode with the reason."""
        if not any(is_data_transfer(t) for t in topics):
            return {}
        found = fetch_schema_keys(
            lambda: make_peek_consumer(self.settings, self.tracker),
            {name: list(meta.partitions) for name, meta in metadata.topics.items()},
            topics,
            min(self.settings.maxtimeout, LAG_TIMEOUT),
        )
        for topic, key in found.items():
            if isinstance(key, str):
                self._emit(CommandFailed("subscribe", f"{topic}: {key}"))
        return {topic: key for topic, key in found.items() if isinstance(key, bytes)}

    def _commit(self) -> None:
        """Commit the stored offsets (what the owner confirmed), without waiting, if the
        broker answered just now."""
        now = time.monotonic()
        self._next_commit = now + COMMIT_INTERVAL
        if not self._stored or self._consumer is None:
            return
        if self.state != Connection.CONNECTED or now - self._answered_at > FRESH:
            return
        self._stored = False
        self._committed_at = now
        commit_stored(self._consumer)

    def _close_consumer(self) -> None:
        if self._consumer is not None:
            try:
                # The last confirmed offsets, if the broker is there to take them (close()
                # itself commits nothing: see DASHBOARD_DEFAULTS).
                self._commit()
                self._consumer.close()
            except (KafkaException, RuntimeError) as exc:
                log.warning("closing the consumer: %s", exc)
            self._consumer = None

    def _close(self) -> None:
        self.pipeline.close()
        if self._requests is not None:
            # A request in flight ends by its own timeout; nobody waits for it.
            self._requests.shutdown(wait=False, cancel_futures=True)
            self._requests = None
            self._pending = None
        if self._lag_reader is not None:
            self._lag_reader.close()
        self._close_consumer()
        # An admin client cannot be closed: its threads end when it is freed. Dropped here (the
        # lag reader holds it too), not whenever this worker is: the app, which holds the
        # worker, may be kept from the collector (gc.freeze).
        self._lag_reader = None
        self._admin = None
        self._set_state(Connection.STOPPED, "the stream was stopped")

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._members_due = True
        if self.paused and partitions:
            # A pause before the assignment is lost: assign here (the client then does not),
            # and pause what was assigned.
            consumer.assign(partitions)
            consumer.pause(partitions)
        self._answered()

    def _answered(self) -> None:
        """The broker answered: connected."""
        self.tracker.clear()
        self._silent_since = None
        self._answered_at = time.monotonic()
        self._set_state(Connection.CONNECTED, self.settings.servers)

    def _silent(self, why: str) -> None:
        """The broker did not answer: say so, and since when."""
        if self._silent_since is None:
            self._silent_since = time.time()
        since = datetime.fromtimestamp(self._silent_since, tz=UTC).strftime("%H:%M:%S")
        self._set_state(Connection.UNREACHABLE, f"no answer since {since} UTC, retrying ({why})")

    def _probe(self) -> None:
        """A cheap metadata request while nothing arrives: is the broker still there?"""
        assert self._admin is not None
        self._next_probe = time.monotonic() + PROBE_INTERVAL
        self._request("probe", self._admin.list_topics, timeout=PROBE_TIMEOUT)

    def _request(self, kind: str, call: Callable[..., object], **kwargs: object) -> None:
        """Send a request on the helper thread, unless one is in flight already."""
        if self._pending is not None:
            return
        if self._requests is None:
            self._requests = ThreadPoolExecutor(1, thread_name_prefix="fink-tui-requests")
        self._pending = (kind, time.monotonic(), self._requests.submit(call, **kwargs))

    def _collect(self) -> None:
        """The answer of the request in flight, if it came: lag to the owner, and whether
        the broker answers."""
        if self._pending is None:
            return
        kind, sent, future = self._pending
        if not future.done():
            now = time.monotonic()
            if now - sent > SILENT_AFTER and now - self._answered_at > SILENT_AFTER:
                self._silent(f"no answer in {SILENT_AFTER:g} s")
            return
        self._pending = None
        try:
            result = future.result()
        except Exception as exc:
            if self._admin is not None:
                self._admin.poll(0)  # serves the error callback: auth or unreachable
            if self.tracker.kind is ErrorKind.AUTH:
                self._check_errors()
            elif isinstance(exc, KafkaException):
                self._silent(describe_kafka_error(exc))
            elif isinstance(exc, StreamError):
                self._silent(str(self.tracker.explain(str(exc))))
            else:
                self._silent(f"{type(exc).__name__}: {exc}")
            return
        self._answered_at = time.monotonic()
        if self.state in (Connection.UNREACHABLE, Connection.RECONNECTING):
            self._answered()
        if kind == "lag" and isinstance(result, LagSnapshot):
            self._emit(LagUpdated(result))
        elif kind == "members" and isinstance(result, tuple):
            others = tuple(str(member) for member in result)
            self._emit(GroupShared(self.settings.group_id, others))

    def _poll_once(self) -> None:
        """Hand over what is decoded, then read the next batch while others decode."""
        assert self._consumer is not None
        self._polled_at = time.monotonic()
        pipeline = self.pipeline
        self._deliver(pipeline.ready())
        if pipeline.full():  # enough in flight: wait for the oldest instead of reading
            self._deliver(pipeline.ready(wait=self.poll_timeout))
            return
        timeout = 0.01 if len(pipeline) else self.poll_timeout
        messages = self._consumer.consume(self._next_count, timeout=timeout)
        self._at_end = not messages and not len(pipeline)
        if messages:
            self._next_count = batch_count(
                messages, self._next_count, self.batch_size, self.batch_bytes
            )
            attach_schema_keys(messages, self._schema_keys)
            for error in batch_errors(messages):
                self._emit(CommandFailed("consume", self.settings.redact(error.str())))
            pipeline.put(messages, tag=self.epoch)
        elif len(pipeline):
            self._deliver(pipeline.ready(wait=self.poll_timeout))

    def _deliver(self, batches: list[Batch]) -> None:
        """Decoded batches to the owner, in order; offsets stored once the owner has them."""
        for batch in batches:
            alerts, failures = batch.alerts, batch.failures
            if not (alerts or failures):
                continue
            self._answered()
            self._next_probe = time.monotonic() + PROBE_INTERVAL
            offsets = tuple(
                (tp.topic, tp.partition, tp.offset) for tp in next_offsets(batch.messages)
            )
            epoch = batch.tag if isinstance(batch.tag, int) else self.epoch
            event = AlertsReceived(tuple(alerts), tuple(failures), offsets=offsets, epoch=epoch)
            if not self._emit(event):
                # The owner is gone (or failed): these were not seen, so not stored either.
                self.stop_requested.set()
                return
            self.delivered += len(alerts) + len(failures)
            if self.confirm:
                self.unconfirmed += 1
            elif epoch == self.epoch:
                # The sink has them, so a commit may move past them.
                self._store([TopicPartition(t, p, o) for t, p, o in offsets])

    def _store(self, offsets: list[TopicPartition]) -> None:
        """Store offsets for the next commit; partitions lost in a rebalance are skipped (their
        new owner reads from the last commit: at least once)."""
        assert self._consumer is not None
        if self.settings.read_only:
            return  # nothing is ever committed
        if store_offsets(self._consumer, offsets):
            self._stored = True

    def _check_errors(self) -> None:
        kind = self.tracker.kind
        if kind is ErrorKind.AUTH:
            self._set_state(
                Connection.AUTH_FAILED, str(self.tracker.explain("authentication failed"))
            )
        elif kind is ErrorKind.UNREACHABLE and (
            self.state != Connection.CONNECTED or self.tracker.all_down
        ):
            # Once connected, a single dropped connection is routine; all brokers down is not.
            self._silent(str(self.tracker.explain("broker unreachable")))

    def _wait_for_owner(self) -> None:
        """Slow down while the owner has not caught up with the batches already sent."""
        while self.unconfirmed > self.max_backlog and not self.stop_requested.is_set():
            self._drain_commands()
            self._background()
            time.sleep(0.02)

    def _drain_commands(self) -> None:
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            try:
                self._handle(command)
            except (StreamError, KafkaException, ValueError) as exc:
                text = describe_kafka_error(exc) if isinstance(exc, KafkaException) else str(exc)
                self._emit(CommandFailed(type(command).__name__, self.settings.redact(text)))

    def _handle(self, command: Command) -> None:
        assert self._consumer is not None and self._admin is not None
        match command:
            case AlertsShown(offsets=offsets, epoch=epoch):
                self.unconfirmed = max(self.unconfirmed - 1, 0)
                if epoch == self.epoch:
                    self._store([TopicPartition(t, p, o) for t, p, o in offsets])
            case RefreshLag():
                self._refresh_lag()
            case SetPaused(paused=paused):
                self.paused = paused
                assignment = self._consumer.assignment()
                if assignment:
                    if paused:
                        self._consumer.pause(assignment)
                    else:
                        self._consumer.resume(assignment)
                self._emit(PauseChanged(paused))
            case ForceSchema(schema=schema, topics=topics):
                self.pipeline.force(schema, topics)
                self._emit(SchemaForced(schema, topics))
            case PlanReset() | ApplyReset() if self.settings.read_only:
                raise ValueError(READ_ONLY_RESET)
            case PlanReset(target=target, topic=topic, partition=partition):
                plan = make_plan(
                    self._admin,
                    self._snapshot(),
                    target,
                    topic,
                    partition,
                    self.settings.maxtimeout,
                )
                self._emit(ResetPlanned(plan))
            case ApplyReset(plan=plan):
                self._apply(plan)
            case CarryPaths(paths=paths):
                self.pipeline.carry(paths)
            case _:
                assert_never(command)

    def _apply(self, plan: ResetPlan) -> None:
        """Commit the plan's offsets as a member of the group, and seek there at once."""
        assert self._consumer is not None
        moves = [TopicPartition(r.topic, r.partition, r.new) for r in plan.changes]
        if moves:
            # Batches read before the reset and confirmed after it must not store their
            # offsets over the new ones.
            self.epoch += 1
            assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
            mine = [tp for tp in moves if (tp.topic, tp.partition) in assigned]
            if mine:
                # Replace the offsets stored before the reset first, or an auto-commit could
                # write them back over it.
                self._store(mine)
            self._consumer.commit(offsets=moves, asynchronous=False)
            for tp in mine:
                try:
                    self._consumer.seek(tp)
                except KafkaException:
                    # Not fetching yet: it will start from the committed offset just written.
                    pass
        snapshot = self._snapshot(full=True)
        self._emit(OffsetsReset(plan, snapshot))
        self._emit(LagUpdated(snapshot))

    def _snapshot(self, full: bool = False) -> LagSnapshot:
        """The figures now (``full``: with time lag, members and statuses)."""
        assert self._admin is not None
        try:
            timeout = min(self.settings.maxtimeout, LAG_TIMEOUT)
            if full:
                return self._reader().read()
            return fetch_lag(self._admin, self.settings.group_id, self.settings.topics, timeout)
        except StreamError as exc:
            raise self.tracker.explain(str(exc)) from exc

    def _check_members(self) -> None:
        """Ask who else is in the group (after each assignment): they split the partitions
        with this app."""
        assert self._consumer is not None and self._admin is not None
        self._request(
            "members",
            other_members,
            admin=self._admin,
            group=self.settings.group_id,
            me=self._consumer.memberid() or "",
            timeout=min(self.settings.maxtimeout, LAG_TIMEOUT),
        )

    def _reader(self) -> LagReader:
        assert self._admin is not None
        if self._lag_reader is None:
            timeout = min(self.settings.maxtimeout, LAG_TIMEOUT)
            self._lag_reader = make_lag_reader(self.settings, self._admin, self.tracker, timeout)
        return self._lag_reader

    def _refresh_lag(self) -> None:
        self._next_lag = time.monotonic() + self.lag_interval
        self._next_probe = time.monotonic() + PROBE_INTERVAL  # a lag request is a probe too
        self._request("lag", self._reader().read)


class KafkaSource:
    """The live source: a :class:`StreamWorker` thread reading the settings' group and
    topics, storing offsets only for the alerts the owner confirms (:class:`AlertsShown`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        forced: SchemaInfo | None = None,
        workers: int | None = None,
        **options: float,
    ) -> None:
        self.settings = settings
        self.forced = forced
        self.workers = default_workers() if workers is None else workers
        """Decoding processes (default: one per core but one; 0: decode on the worker
        thread). A :class:`~fink_tui.core.remote.ProcessSource` counts its stream process as
        one of them."""
        self.options = options
        """Extra :class:`StreamWorker` options (lag_interval, batch_size, ...)."""
        self.worker: StreamWorker | None = None
        self._fetcher: Consumer | None = None
        """Reads alerts again (:meth:`fetch_value`): joins no group, commits nothing."""
        self._fetch_lock = threading.Lock()

    def start(self, sink: Sink) -> None:
        if self.forced is not None:
            sink(SchemaForced(self.forced))
        self._start_worker(sink)

    def _start_worker(self, sink: Sink) -> None:
        self.worker = StreamWorker(
            self.settings,
            sink,
            forced=self.forced,
            confirm=True,
            workers=self.workers,
            **self.options,  # type: ignore[arg-type]
        )
        self.worker.start()

    def send(self, command: Command) -> None:
        if self.worker is not None:
            self.worker.send(command)

    def make_way(self, seconds: float) -> None:
        if self.worker is not None:
            self.worker.make_way(seconds)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        with self._fetch_lock:
            fetcher, self._fetcher = self._fetcher, None
        if fetcher is not None:
            try:
                fetcher.close()  # it commits nothing: no wait on a silent broker
            except (KafkaException, RuntimeError):
                pass

    def fetch_value(self, ref: MessageRef) -> bytes:
        with self._fetch_lock:
            try:
                if self._fetcher is None:
                    self._fetcher = make_peek_consumer(self.settings, ErrorTracker(self.settings))
                return read_value_at(self._fetcher, ref)
            except StreamError as exc:
                raise StreamError(self.settings.redact(str(exc))) from None
            except KafkaException as exc:
                text = f"{ref.place}: {describe_kafka_error(exc)}"
                raise StreamError(self.settings.redact(text)) from None
