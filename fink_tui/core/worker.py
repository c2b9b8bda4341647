"""The stream worker: the one thread that owns the Kafka consumer.

It consumes in batches, decodes, and hands each poll cycle's alerts and decode failures to a
sink callback in one event; only then does it store their offsets, so auto-commit never
commits past an alert the sink did not get (at-least-once). Commands (reset, pause, force
schema, refresh lag) arrive on a queue drained every loop; the loop waits at most
``poll_timeout`` in ``consume`` so a stop is noticed well within a second.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from fink_tui.config import Settings
from fink_tui.core.clients import ErrorTracker, make_admin, make_consumer
from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef, SchemaInfo
from fink_tui.core.errors import StreamError
from fink_tui.core.events import (
    AUTH_FAILED,
    CONNECTED,
    CONNECTING,
    ERROR,
    STOPPED,
    UNREACHABLE,
    AlertsReceived,
    ApplyReset,
    Command,
    CommandFailed,
    ConnectionChanged,
    Event,
    ForceSchema,
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
from fink_tui.core.reset import ResetPlan, make_plan

log = logging.getLogger(__name__)

Sink = Callable[[Event], Any]
"""Receives every event; returning False means the event was not taken."""
LAG_TIMEOUT = 3.0


def message_ref(msg: Message) -> MessageRef:
    """Where a consumed message sits."""
    kind, stamp = msg.timestamp()
    return MessageRef(
        str(msg.topic()),
        int(msg.partition() or 0),
        int(msg.offset() or 0),
        stamp if kind else None,
    )


def decode_batch(
    decoder: AlertDecoder, messages: list[Message]
) -> tuple[list[Alert], list[DecodeFailure], list[KafkaError]]:
    """Decode a batch of consumed messages; Kafka-level errors are returned apart."""
    alerts: list[Alert] = []
    failures: list[DecodeFailure] = []
    errors: list[KafkaError] = []
    for msg in messages:
        error = msg.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                errors.append(error)
            continue
        result = decoder.decode(message_ref(msg), msg.key(), msg.value())
        (alerts if isinstance(result, Alert) else failures).append(result)  # type: ignore[arg-type]
    return alerts, failures, errors


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
        lag_interval: float = 3.0,
        backlog: Callable[[], int] | None = None,
        max_backlog: int = 20,
        forced: SchemaInfo | None = None,
    ) -> None:
        super().__init__(name="fink-tui-stream", daemon=True)
        self.settings = settings
        self.sink = sink
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.lag_interval = lag_interval
        self.backlog = backlog
        self.max_backlog = max_backlog
        self.decoder = AlertDecoder(forced)
        self.commands: queue.Queue[Command] = queue.Queue()
        self.stop_requested = threading.Event()
        self.tracker = ErrorTracker(settings)
        self.state = ""
        self.paused = False
        self.delivered = 0
        """Alerts and failures handed to the sink so far."""
        self._consumer: Consumer | None = None
        self._admin: AdminClient | None = None
        self._next_lag = 0.0

    # --- owner side -----------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Queue a command for the worker (thread-safe)."""
        self.commands.put(command)

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

    def _set_state(self, state: str, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self._emit(ConnectionChanged(state, self.settings.redact(detail)))

    def run(self) -> None:
        self._set_state(CONNECTING, self.settings.servers)
        try:
            self._consumer = make_consumer(self.settings, self.tracker)
            self._admin = make_admin(self.settings, self.tracker)
            topics = self._existing_topics()
            if not topics:
                return
            self._consumer.subscribe(topics, on_assign=self._on_assign)
            while not self.stop_requested.is_set():
                self._drain_commands()
                # Lag requests block; while the broker is away they would delay a stop.
                if time.monotonic() >= self._next_lag and self.state == CONNECTED:
                    self._refresh_lag()
                self._poll_once()
                self._check_errors()
                self._wait_for_owner()
        except (StreamError, KafkaException, ValueError) as exc:
            self._set_state(ERROR, str(exc))
        except Exception as exc:  # a bug of ours: say so on screen rather than die silently
            log.exception("stream worker failed")
            self._set_state(ERROR, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._close()

    def _existing_topics(self) -> list[str]:
        """Wait for the broker's metadata (connected from then on), and leave out the topics
        it does not have, saying so, rather than waiting on them in silence."""
        assert self._admin is not None
        while not self.stop_requested.is_set():
            try:
                names = set(self._admin.list_topics(timeout=0.5).topics)
                break
            except KafkaException:
                self._admin.poll(0)  # serves the error callback: auth or unreachable
                self._check_errors()
        else:
            return []
        self.tracker.clear()
        self._set_state(CONNECTED, self.settings.servers)
        missing = [t for t in self.settings.topics if t not in names]
        if missing:
            self._emit(
                CommandFailed(
                    "subscribe",
                    f"unknown topic: {', '.join(missing)} (not on this broker, or "
                    "not readable by you)",
                )
            )
        topics = [t for t in self.settings.topics if t in names]
        if not topics:
            self._set_state(ERROR, "none of the topics exists on this broker")
        return topics

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                # close() commits the stored offsets: everything handed to the sink.
                self._consumer.close()
            except (KafkaException, RuntimeError) as exc:
                log.warning("closing the consumer: %s", exc)
            self._consumer = None
        self._set_state(STOPPED)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.paused and partitions:
            # A pause before the assignment is lost: assign here (the client then does not),
            # and pause what was assigned.
            consumer.assign(partitions)
            consumer.pause(partitions)
        self.tracker.clear()
        self._set_state(CONNECTED, self.settings.servers)

    def _poll_once(self) -> None:
        assert self._consumer is not None
        messages = self._consumer.consume(self.batch_size, timeout=self.poll_timeout)
        if not messages:
            return
        alerts, failures, errors = decode_batch(self.decoder, messages)
        for error in errors:
            self._emit(CommandFailed("consume", self.settings.redact(error.str())))
        if alerts or failures:
            self.tracker.clear()
            self._set_state(CONNECTED, self.settings.servers)
            if not self._emit(AlertsReceived(tuple(alerts), tuple(failures))):
                # The owner is gone (or failed): these were not seen, so not stored either.
                self.stop_requested.set()
                return
            self.delivered += len(alerts) + len(failures)
            # Stored only now: the sink has them, so a commit may move past them.
            self._store(next_offsets(messages))

    def _store(self, offsets: list[TopicPartition]) -> None:
        """Store offsets for the next commit; partitions lost in a rebalance are skipped (their
        new owner reads from the last commit: at least once)."""
        assert self._consumer is not None
        try:
            self._consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if not (isinstance(error, KafkaError) and error.code() == KafkaError._STATE):
                raise

    def _check_errors(self) -> None:
        kind = self.tracker.kind
        if kind == "auth":
            self._set_state(AUTH_FAILED, str(self.tracker.explain("authentication failed")))
        elif kind == "unreachable" and (self.state != CONNECTED or self.tracker.all_down):
            # Once connected, a single dropped connection is routine; all brokers down is not.
            self._set_state(UNREACHABLE, str(self.tracker.explain("broker unreachable")))

    def _wait_for_owner(self) -> None:
        """Slow down while the owner has not caught up with the events already sent."""
        if self.backlog is None:
            return
        while self.backlog() > self.max_backlog and not self.stop_requested.is_set():
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
                text = str(exc.args[0].str() if isinstance(exc, KafkaException) else exc)
                self._emit(CommandFailed(type(command).__name__, self.settings.redact(text)))

    def _handle(self, command: Command) -> None:
        assert self._consumer is not None and self._admin is not None
        if isinstance(command, RefreshLag):
            self._refresh_lag()
        elif isinstance(command, SetPaused):
            self.paused = command.paused
            assignment = self._consumer.assignment()
            if assignment:
                if command.paused:
                    self._consumer.pause(assignment)
                else:
                    self._consumer.resume(assignment)
            self._emit(PauseChanged(command.paused))
        elif isinstance(command, ForceSchema):
            self.decoder = AlertDecoder(command.schema, forced_topics=command.topics)
            self._emit(SchemaForced(command.schema, command.topics))
        elif isinstance(command, PlanReset):
            snapshot = self._snapshot()
            plan = make_plan(
                self._admin,
                snapshot,
                command.target,
                command.topic,
                command.partition,
                self.settings.maxtimeout,
            )
            self._emit(ResetPlanned(plan))
        elif isinstance(command, ApplyReset):
            self._apply(command.plan)

    def _apply(self, plan: ResetPlan) -> None:
        """Commit the plan's offsets as a member of the group, and seek there at once."""
        assert self._consumer is not None
        moves = [TopicPartition(r.topic, r.partition, r.new) for r in plan.changes]
        if moves:
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
        snapshot = self._snapshot()
        self._emit(OffsetsReset(plan, snapshot))
        self._emit(LagUpdated(snapshot))

    def _snapshot(self) -> LagSnapshot:
        assert self._admin is not None
        try:
            # Short: a blocked request here delays commands and a stop.
            timeout = min(self.settings.maxtimeout, LAG_TIMEOUT)
            return fetch_lag(self._admin, self.settings.group_id, self.settings.topics, timeout)
        except StreamError as exc:
            raise self.tracker.explain(str(exc)) from exc

    def _refresh_lag(self) -> None:
        self._next_lag = time.monotonic() + self.lag_interval
        try:
            snapshot = self._snapshot()
        except StreamError as exc:
            self._check_errors()
            if self.state not in (AUTH_FAILED, UNREACHABLE):
                self._emit(CommandFailed("lag", str(exc)))
            return
        self._emit(LagUpdated(snapshot))
