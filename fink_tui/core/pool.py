"""Decoding in other processes, so the GIL of the process that draws the screen stays free.

:class:`DecodePipeline` takes each consumed batch of messages (:meth:`DecodePipeline.put`) and
hands back, in the order they were put, the batches whose decoding is done
(:meth:`DecodePipeline.ready`): meanwhile the caller goes on consuming. With ``workers`` > 0
the values are decoded by a pool of processes (started with *spawn*: forking a process that
runs librdkafka's threads is unsafe); each process parses each distinct key once and sends
back only the summaries — the raw bytes and the parsed schema stay here. With ``workers`` = 0
the batch is decoded here, on the caller's thread, as before.

Told which Avro paths a query reads (:meth:`DecodePipeline.carry`), the decoding processes also
read those fields of each alert (a reader schema of just those paths, and nothing at all for a
schema that has none of them) and send them back with the summary (:attr:`Alert.fields`), so a
query on them costs the app no decoding.

Nothing is lost if a decoding process dies: the batch is decoded again here, and the pool is
started anew for the next ones. Any other failure of the pool does the same.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef, SchemaInfo
from fink_tui.core.memory import give_back, keep_freed_pages, limit_arenas
from fink_tui.core.query import PathBatches, path_values
from fink_tui.core.survey import AlertSummary

log = logging.getLogger(__name__)

Decoded = Alert | DecodeFailure
Outcome = tuple[AlertSummary, None, dict[str, Any] | None] | tuple[None, str, None]
"""What a decoding process answers for one message: the summary and the values of the paths
carried, or the failure's reason."""


class RawMessage(Protocol):
    """The parts of a consumed message the pipeline reads (confluent_kafka's Message has them)."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def error(self) -> Any: ...
    def timestamp(self) -> tuple[int, int]: ...


def start_helper_process() -> None:
    """Start multiprocessing's resource tracker while ``sys.stderr`` is the real one: it hands
    that descriptor to the tracker, and under a running Textual app sys.stderr is a capture
    object whose descriptor is no file ("bad value(s) in fds_to_keep"). Cheap once running."""
    from multiprocessing import resource_tracker

    saved = sys.stderr
    try:
        sys.stderr = sys.__stderr__ or saved
        resource_tracker.ensure_running()
    finally:
        sys.stderr = saved


BATCH_BYTES = 4 * 1024 * 1024
"""What a consumed batch should weigh: with the batches in flight, those waiting for the screen
and their copies on the way to a decoding process, 500 LSST alerts (226 kB each) would hold
hundreds of MB."""
MIN_BATCH = 16
FIRST_BATCH = 64
"""The first consume, before the size of the messages is known (an LSST alert weighs 4x a
ZTF one)."""


def batch_count(messages: Sequence[Any], current: int, most: int) -> int:
    """How many messages to consume next so that a batch weighs about :data:`BATCH_BYTES`,
    from the sizes of the last batch (``current`` messages asked for, ``most`` at most)."""
    size = sum(len(m.value() or b"") for m in messages)
    if not size:
        return current
    fit = int(BATCH_BYTES * len(messages) / size)
    return max(MIN_BATCH, min(most, fit))


def default_workers(screen: bool = True) -> int:
    """One decoding process per core, but one when a screen needs a core. Without a screen
    (``poll``) the consumer needs little: on 2 cores, 2 processes read real LSST alerts at 0.70x
    raw consumption, 1 at 0.45x (``bench/README.md``)."""
    cores = os.cpu_count() or 1
    return max(cores - 1, 1) if screen else cores


# --- the decoding process ---------------------------------------------------------------------

_DECODER: Any = None
"""In a decoding process: the batch decoder (Rust reader where verified, fastavro else)."""
_PATHS = PathBatches()
"""In a decoding process: the reader of the paths a query needs (Rust reader where verified)."""


def _start_process(
    parent: int, forced: dict[str, Any] | None, topics: frozenset[str] | None
) -> None:
    limit_arenas()
    keep_freed_pages()
    from fink_tui.core.decode import schema_info
    from fink_tui.core.fastread import BatchDecoder

    # The Rust reader prints a panic on a corrupt value (caught, and decoded again) to the
    # standard error, which is the dashboard's terminal: not here.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    # A parent killed outright (kill -9) leaves no one to stop this process: it goes too —
    # also when that happened before this process got here (``parent`` is passed down).
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    global _DECODER
    _DECODER = BatchDecoder(
        AlertDecoder(
            schema_info(forced, forced=True) if forced is not None else None, forced_topics=topics
        )
    )


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _decode_groups(
    groups: list[tuple[bytes | None, list[tuple[MessageRef, bytes | None]]]],
    paths: tuple[str, ...] = (),
) -> list[list[Outcome]]:
    """In a decoding process: each group's messages share a key."""
    from fink_tui.core.fastread import decode_messages

    assert _DECODER is not None
    flat = [(ref, key, value) for key, items in groups for ref, value in items]
    decoded = decode_messages(_DECODER.decoder, flat, batch=_DECODER)
    fields_of = _read_paths(decoded, paths) if paths else {}
    results = iter(decoded)
    out: list[list[Outcome]] = []
    for _key, items in groups:
        answers: list[Outcome] = []
        for _item in items:
            result = next(results)
            if isinstance(result, Alert):
                answers.append((result.summary, None, fields_of.get(id(result))))
            else:
                answers.append((None, result.reason, None))
        out.append(answers)
    give_back()
    return out


def _read_paths(decoded: list[Decoded], paths: tuple[str, ...]) -> dict[int, dict[str, Any]]:
    """The values of ``paths`` of each decoded alert (by id), read schema by schema."""
    by_schema: dict[int, list[Alert]] = {}
    for result in decoded:
        if isinstance(result, Alert):
            by_schema.setdefault(id(result.schema), []).append(result)
    found: dict[int, dict[str, Any]] = {}
    for alerts in by_schema.values():
        values = _PATHS.read(alerts[0].schema, [a.value for a in alerts], paths)
        found.update((id(a), v) for a, v in zip(alerts, values, strict=True))
    return found


# --- this side ----------------------------------------------------------------------------------


@dataclass
class Batch:
    """One consumed batch on its way through decoding."""

    messages: list[Any]
    """The consumed messages, in order (errors included)."""
    tag: object
    """Whatever the caller wants back with it (e.g. the reset epoch it was read in)."""
    results: list[Decoded | None]
    """One per message: the decoded alert or failure; None for Kafka-level errors."""
    future: Future[list[list[Outcome]]] | None = None
    groups: list[tuple[bytes | None, list[int]]] | None = None
    refs: dict[int, MessageRef] | None = None
    """Where each message that is no Kafka error sits, by its index (made once)."""
    paths: tuple[str, ...] = ()
    """The Avro paths read along with the summaries (:meth:`DecodePipeline.carry`)."""

    @property
    def alerts(self) -> list[Alert]:
        return [r for r in self.results if isinstance(r, Alert)]

    @property
    def failures(self) -> list[DecodeFailure]:
        return [r for r in self.results if isinstance(r, DecodeFailure)]


def message_ref(msg: RawMessage) -> MessageRef:
    """Where a consumed message sits."""
    kind, stamp = msg.timestamp()
    return MessageRef(
        str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0), stamp if kind else None
    )


class DecodePipeline:
    """Consumed batches in, decoded batches out, in order; decoding in other processes."""

    def __init__(
        self,
        workers: int = 0,
        forced: SchemaInfo | None = None,
        forced_topics: frozenset[str] | None = None,
        depth: int = 3,
    ) -> None:
        self.workers = workers
        self.depth = depth
        """Batches in flight at most: :meth:`full` says when to wait instead of consuming."""
        self.decoder = AlertDecoder(forced, forced_topics=forced_topics)
        """Decodes here: keys' schemas for the alerts, and whole batches without a pool."""
        self.restarts = 0
        """How often the pool was started anew after a failure (for tests)."""
        self._forced = (forced.schema if forced else None, forced_topics)
        self._pool: ProcessPoolExecutor | None = None
        self._queue: deque[Batch] = deque()
        self.paths: tuple[str, ...] = ()
        """Avro paths read with each alert from the next batch on (:meth:`carry`)."""

    # --- setup --------------------------------------------------------------------------------

    def force(self, schema: SchemaInfo | None, topics: frozenset[str] | None) -> None:
        """Decode with ``schema`` (on ``topics``) from the next batch on."""
        self.decoder = AlertDecoder(schema, forced_topics=topics)
        self._forced = (schema.schema if schema else None, topics)
        self._stop_pool()

    def carry(self, paths: tuple[str, ...]) -> None:
        """Read these Avro paths of each alert along with its summary, from the next batch on
        (a query on them then decodes nothing more)."""
        self.paths = tuple(dict.fromkeys(paths))

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            start_helper_process()
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_process,
                initargs=(os.getpid(), *self._forced),
            )
        return self._pool

    def _stop_pool(self, wait: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the decoding processes (batches in flight are dropped: nothing was stored),
        waiting for them to end so that nothing is left behind."""
        self._queue.clear()
        self._stop_pool(wait=True)

    # --- flow ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._queue)

    def full(self) -> bool:
        """Whether enough batches are in flight that the caller should wait for them."""
        return len(self._queue) >= self.depth

    def put(self, messages: Sequence[Any], tag: object = None) -> None:
        """Start decoding a consumed batch."""
        batch = Batch(list(messages), tag, [None] * len(messages), paths=self.paths)
        groups: dict[bytes | None, list[int]] = {}
        refs: dict[int, MessageRef] = {}
        for i, msg in enumerate(batch.messages):
            if msg.error() is None:
                groups.setdefault(msg.key(), []).append(i)
                refs[i] = message_ref(msg)
        batch.groups, batch.refs = list(groups.items()), refs
        if self.workers > 0 and groups:
            payload = [
                (key, [(refs[i], batch.messages[i].value()) for i in idx])
                for key, idx in batch.groups
            ]
            try:
                batch.future = self._executor().submit(_decode_groups, payload, batch.paths)
            except Exception as exc:  # a broken pool: decode here, start anew next time
                self._restart(exc)
        self._queue.append(batch)

    def ready(self, wait: float | None = 0.0) -> list[Batch]:
        """The decoded batches at the head of the line, in order. ``wait``: seconds to wait
        for the first one (None: as long as it takes)."""
        done: list[Batch] = []
        while self._queue:
            batch = self._queue[0]
            if batch.future is not None and not batch.future.done():
                if done or wait == 0.0:
                    break
                try:
                    batch.future.exception(timeout=wait)
                except TimeoutError:
                    break
                except CancelledError:
                    pass  # the pool was stopped (a forced schema): decoded here below
            self._queue.popleft()
            self._finish(batch)
            done.append(batch)
        return done

    def _finish(self, batch: Batch) -> None:
        outcomes: list[list[Outcome]] | None = None
        if batch.future is not None:
            try:
                outcomes = batch.future.result()
            except CancelledError:
                pass  # the pool was stopped on purpose: decoded here
            except Exception as exc:  # a process died (or the pool broke): decode here
                self._restart(exc)
        assert batch.groups is not None and batch.refs is not None
        for g, (key, idx) in enumerate(batch.groups):
            for n, i in enumerate(idx):
                msg, ref = batch.messages[i], batch.refs[i]
                if outcomes is None:
                    result = self.decoder.decode(ref, key, msg.value())
                    if batch.paths and isinstance(result, Alert):
                        result.fields = path_values(result.schema, result.value, batch.paths)
                    batch.results[i] = result
                    continue
                summary, reason, fields = outcomes[g][n]
                result = self._build(ref, key, msg.value(), summary, reason)
                if isinstance(result, Alert):
                    result.fields = fields
                batch.results[i] = result

    def _build(
        self,
        ref: MessageRef,
        key: bytes | None,
        value: bytes | None,
        summary: AlertSummary | None,
        reason: str | None,
    ) -> Decoded:
        info = self.decoder.schema_info_for(ref, key)
        fingerprint = info.fingerprint if isinstance(info, SchemaInfo) else None
        if summary is None or not isinstance(info, SchemaInfo) or not value:
            return DecodeFailure(ref, reason or str(info), fingerprint, key, value)
        return Alert(ref, info, summary, value)

    def _restart(self, exc: BaseException) -> None:
        log.warning("decoding process failed (%s): decoding here, starting anew", exc)
        self.restarts += 1
        self._stop_pool()


def batch_errors(messages: Sequence[Any]) -> list[Any]:
    """The Kafka-level errors among consumed messages (end-of-partition notices left out)."""
    from confluent_kafka import KafkaError

    return [
        msg.error()
        for msg in messages
        if msg.error() is not None and msg.error().code() != KafkaError._PARTITION_EOF
    ]
