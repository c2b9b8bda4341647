"""Decoding in other processes, so the GIL of the process that draws the screen stays free.

:class:`DecodePipeline` takes each consumed batch of messages (:meth:`DecodePipeline.put`) and
hands back, in the order they were put, the batches whose decoding is done
(:meth:`DecodePipeline.ready`): meanwhile the caller goes on consuming. With ``workers`` > 0
the values are decoded by that many processes of our own (:class:`DecodingProcess`: a fresh
interpreter fed through its standard input — forking a process that runs librdkafka's threads is
unsafe, and multiprocessing's pool would add its resource-tracker process, 13 MB, and re-run the
caller's main module); each process parses each distinct key once and sends back only the
summaries — the raw bytes and the parsed schema stay here. With ``workers`` = 0
the batch is decoded here, on the caller's thread, as before.

Told which Avro paths a query reads (:meth:`DecodePipeline.carry`), the decoding processes also
read those fields of each alert (a reader schema of just those paths, and nothing at all for a
schema that has none of them) and send them back with the summary (:attr:`Alert.fields`), so a
query on them costs the app no decoding.

Nothing is lost if a decoding process dies: the batch is decoded again here, and the processes
are started anew for the next ones. Any other failure of a process does the same.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef, SchemaInfo
from fink_tui.core.memory import give_back, keep_freed_pages, limit_arenas
from fink_tui.core.paths import PathBatches, path_values
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


BATCH_BYTES = 4 * 1024 * 1024
"""What a consumed batch should weigh: with the batches in flight, those waiting for the screen
and their copies on the way to a decoding process, 500 LSST alerts (226 kB each) would hold
hundreds of MB."""
MIN_BATCH = 16
FIRST_BATCH = 64
"""The first consume, before the size of the messages is known (an LSST alert weighs 4x a
ZTF one)."""


def batch_count(messages: Sequence[Any], current: int, most: int, weight: int = BATCH_BYTES) -> int:
    """How many messages to consume next so that a batch weighs about ``weight`` bytes, from
    the sizes of the last batch (``current`` messages asked for, ``most`` at most)."""
    size = sum(len(m.value() or b"") for m in messages)
    if not size:
        return current
    fit = int(weight * len(messages) / size)
    return max(MIN_BATCH, min(most, fit))


MAX_FAILED_STARTS = 5
"""Decoding processes failing in a row (none answering) before the pipeline decodes here."""


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

FRAME = struct.Struct("<Q")
"""Each answer of a decoding process: its length, then its pickle (read whole, so garbage is
told from a slow answer)."""
JOB_ENDS = (EOFError, pickle.UnpicklingError, BrokenPipeError)
"""What ends a decoding process's input: this side closed it, or died in the middle of a job."""


def send_down(stream: IO[bytes], obj: object) -> None:
    """A message down a child process's input (a job to a decoding process, a command to the
    stream process), pickled straight into the pipe: a batch's raw values (4 MB) are written
    from where they are, with no pickle of the whole batch built here, which cost the
    dashboard a 4 MB copy per batch, under the GIL."""
    pickle.dump(obj, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def start_child(entry: str, own_group: bool = False) -> subprocess.Popen[bytes]:
    """A fresh interpreter of this Python running ``entry`` (``module:function``), fed on its
    standard input and answering on its standard output; its standard error goes nowhere (it
    is the dashboard's terminal). fink_tui is importable there as it is here. With
    ``own_group``, where the kernel shares the cores between sessions first, it leads a session
    of its own: a scheduler group apart from the dashboard's (:func:`yield_to_the_screen`)."""
    module, function = entry.split(":")
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-c", f"from {module} import {function}; {function}()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": path},
        start_new_session=own_group and groups_by_session(),
    )


AUTOGROUP_ENABLED = Path("/proc/sys/kernel/sched_autogroup_enabled")
GROUP_NICE = 5
"""The nice of the stream process's scheduler group: a weight of 335 against the screen's
1,024."""


def groups_by_session() -> bool:
    """Whether the kernel shares the cores between sessions first, then between the threads
    of each (Linux's autogroups): a nice value weighs only inside one session's group."""
    try:
        return AUTOGROUP_ENABLED.read_text().strip() == "1"
    except OSError:
        return False


def yield_to_the_screen() -> None:
    """In the stream process, leading a session of its own (:func:`start_child`): its group
    (it and its decoding processes) at nice :data:`GROUP_NICE`, so the dashboard's UI thread
    finds a core when a key wakes it, while alerts pour in.

    In the dashboard's group, a stream process keeping a core busy took most of the group's
    weight on the cores: the UI thread, runnable, waited 170–210 ms for a core to draw a key
    that needed 9–22 ms of CPU (bench/README.md, "Scheduler groups"). Raising a nice needs no
    privilege; without autogroups, or refused, nothing changes."""
    if os.getsid(0) != os.getpid():
        return
    try:
        with open("/proc/self/autogroup", "w") as group:
            group.write(str(GROUP_NICE))
    except OSError:
        pass


STREAM_ENTRY = "fink_tui.core.remote:serve"
"""The dashboard's stream process (``core/remote.py``)."""


def start_stream_process() -> subprocess.Popen[bytes] | None:
    """The dashboard's stream process, started first thing: its interpreter and imports (~0.3
    s) then overlap the dashboard's own (Textual's, the checks of the settings), and it reads
    its settings once :meth:`~fink_tui.core.remote.ProcessSource.prepare` sends them. None if
    it cannot start (the source tries again, then streams in this process)."""
    try:
        return start_child(STREAM_ENTRY, own_group=True)
    except OSError:
        return None


def own_stdout(buffering: int = -1) -> IO[bytes]:
    """In a child process: its standard output, for its answers alone. Nothing else may write
    into them, nor onto the dashboard's terminal: the Rust reader prints a panic on a corrupt
    value (caught, and decoded again) to the standard error. Both now go to /dev/null."""
    answers = os.fdopen(os.dup(1), "wb", buffering=buffering)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    return answers


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message, or EOFError when the other side is gone."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        raise EOFError
    (size,) = FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve() -> None:
    """A decoding process: the first message says which schema is forced, each next one is a
    batch (:func:`_decode_groups`' arguments), answered in order. Ends when this side closes
    the pipe (or dies: the pipe closes with it)."""
    limit_arenas()
    keep_freed_pages()
    from fink_tui.core.decode import schema_info
    from fink_tui.core.fastread import BatchDecoder

    jobs = open(0, "rb", buffering=1 << 20, closefd=False)  # noqa: SIM115
    answers = own_stdout()
    global _DECODER
    try:
        forced, topics = pickle.load(jobs)
        _DECODER = BatchDecoder(
            AlertDecoder(
                schema_info(forced, forced=True) if forced is not None else None,
                forced_topics=topics,
            )
        )
        while True:
            groups, paths = pickle.load(jobs)
            try:
                answer: tuple[bool, Any] = (True, _decode_groups(groups, paths))
            except Exception as exc:  # never expected: that batch is decoded on the other side
                answer = (False, f"{type(exc).__name__}: {exc}")
            _send(answers, answer)
    except JOB_ENDS:
        return


class DecoderGone(RuntimeError):
    """The decoding process ended (killed, or failed to start) with batches in flight."""


class DecodingProcess:
    """One decoding process: batches go down its standard input, answers come back up its
    standard output in the same order. A thread writes (the caller never waits for the process
    to take a batch) and one reads, resolving each batch's future."""

    def __init__(self, forced: dict[str, Any] | None, topics: frozenset[str] | None) -> None:
        self.process = start_child("fink_tui.core.pool:serve")
        self._pending: deque[Future[Any]] = deque()
        self._lock = threading.Lock()
        self._gone = False
        self._jobs: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._jobs.put((forced, topics))
        name = f"fink-tui-decoder-{self.process.pid}"
        self._writer = threading.Thread(target=self._write, name=f"{name}-in", daemon=True)
        self._reader = threading.Thread(target=self._read, name=f"{name}-out", daemon=True)
        self._writer.start()
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def submit(self, groups: object, paths: tuple[str, ...]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._gone:
                raise DecoderGone(f"decoding process {self.pid} ended")
            self._pending.append(future)
            self._jobs.put((groups, paths))
        return future

    def stop(self, wait: bool = False) -> None:
        """Cancel what is in flight and end the process: at once, or (``wait``) once it has
        read the end of its input."""
        with self._lock:
            self._gone = True
            pending = list(self._pending)
        for future in pending:
            future.cancel()
        self._jobs.put(None)
        if not wait:
            self.process.kill()
        try:
            self.process.wait(5.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(5.0)
        self._writer.join(5.0)

    def _write(self) -> None:
        stream = self.process.stdin
        assert stream is not None
        try:
            while (job := self._jobs.get()) is not None:
                send_down(stream, job)
        except OSError:
            pass  # the process is gone: the reader tells the futures
        finally:
            try:
                stream.close()
            except OSError:
                pass

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            while True:
                ok, answer = _receive(stream)
                with self._lock:
                    future = self._pending.popleft()
                try:
                    if ok:
                        future.set_result(answer)
                    else:
                        future.set_exception(RuntimeError(answer))
                except InvalidStateError:
                    pass  # cancelled meanwhile
        except Exception:  # noqa: S110 - the end of its output, or garbage: it is done for
            pass
        finally:
            with self._lock:
                self._gone = True
                pending = list(self._pending)
                self._pending.clear()
            if self.process.poll() is None:  # garbage on a live process: not waited for
                self.process.kill()
            code = self.process.wait()
            for future in pending:
                try:
                    future.set_exception(DecoderGone(f"decoding process ended ({code})"))
                except InvalidStateError:
                    pass
            stream.close()


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
        values = _PATHS.read(alerts[0].schema, [a.value or b"" for a in alerts], paths)
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
        """How often the processes were started anew after a failure (for tests)."""
        self._forced = (forced.schema if forced else None, forced_topics)
        self._processes: list[DecodingProcess] = []
        self._turn = itertools.count()
        self._failed_in_a_row = 0
        """Batches whose decoding process failed since one last answered."""
        self._queue: deque[Batch] = deque()
        self.paths: tuple[str, ...] = ()
        """Avro paths read with each alert from the next batch on (:meth:`carry`)."""

    # --- setup --------------------------------------------------------------------------------

    def force(self, schema: SchemaInfo | None, topics: frozenset[str] | None) -> None:
        """Decode with ``schema`` (on ``topics``) from the next batch on."""
        self.decoder = AlertDecoder(schema, forced_topics=topics)
        self._forced = (schema.schema if schema else None, topics)
        self._stop_processes()

    def carry(self, paths: tuple[str, ...]) -> None:
        """Read these Avro paths of each alert along with its summary, from the next batch on
        (a query on them then decodes nothing more)."""
        self.paths = tuple(dict.fromkeys(paths))

    @property
    def pids(self) -> list[int]:
        """The decoding processes running now."""
        return [p.pid for p in self._processes]

    def _next_process(self) -> DecodingProcess:
        """The decoding process for the next batch, in turn (started at the first batch)."""
        if not self._processes:
            self._processes = [DecodingProcess(*self._forced) for _ in range(self.workers)]
        return self._processes[next(self._turn) % len(self._processes)]

    def _stop_processes(self, wait: bool = False) -> None:
        """Stop the decoding processes: batches in flight there are cancelled (and decoded
        here); ``wait``: let each read to the end of its input first."""
        processes, self._processes = self._processes, []
        for process in processes:
            process.stop(wait)

    def close(self) -> None:
        """Stop the decoding processes (batches in flight are dropped: nothing was stored),
        waiting for them to end so that nothing is left behind."""
        self._queue.clear()
        self._stop_processes(wait=True)

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
                batch.future = self._next_process().submit(payload, batch.paths)
            except Exception as exc:  # a process gone: decode here, start anew next time
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
                    pass  # the processes were stopped (a forced schema): decoded here below
            self._queue.popleft()
            self._finish(batch)
            done.append(batch)
        return done

    def _finish(self, batch: Batch) -> None:
        outcomes: list[list[Outcome]] | None = None
        if batch.future is not None:
            try:
                outcomes = batch.future.result()
                self._failed_in_a_row = 0
            except CancelledError:
                pass  # the processes were stopped on purpose: decoded here
            except Exception as exc:  # a process died: decode here
                self._restart(exc)
        assert batch.groups is not None and batch.refs is not None
        if outcomes is None:
            self._decode_here(batch)
            return
        for g, (key, idx) in enumerate(batch.groups):
            for n, i in enumerate(idx):
                msg, ref = batch.messages[i], batch.refs[i]
                summary, reason, fields = outcomes[g][n]
                result = self._build(ref, key, msg.value(), summary, reason)
                if isinstance(result, Alert):
                    result.fields = fields
                batch.results[i] = result

    def _decode_here(self, batch: Batch) -> None:
        """Decode a whole batch on this thread, with the batch reader (the Rust fast path
        where it is verified): a stream process decodes this way (``core/remote.py``)."""
        from fink_tui.core.fastread import decode_messages

        assert batch.groups is not None and batch.refs is not None
        places = [i for _key, idx in batch.groups for i in idx]
        flat = [
            (batch.refs[i], key, batch.messages[i].value())
            for key, idx in batch.groups
            for i in idx
        ]
        for i, result in zip(places, decode_messages(self.decoder, flat), strict=True):
            if batch.paths and isinstance(result, Alert):
                result.fields = path_values(result.schema, result.value or b"", batch.paths)
            batch.results[i] = result
        give_back()  # as a decoding process does (its pace: memory.trim_every)

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
        self.restarts += 1
        self._stop_processes()
        self._failed_in_a_row += 1
        if self._failed_in_a_row >= MAX_FAILED_STARTS:
            # One that cannot start (no interpreter at sys.executable, a broken install) would
            # cost a process start per batch: decode here from now on.
            log.warning("decoding process failed (%s): decoding here from now on", exc)
            self.workers = 0
        else:
            log.warning("decoding process failed (%s): decoding here, starting anew", exc)


def batch_errors(messages: Sequence[Any]) -> list[Any]:
    """The Kafka-level errors among consumed messages (end-of-partition notices left out)."""
    from confluent_kafka import KafkaError

    return [
        msg.error()
        for msg in messages
        if msg.error() is not None and msg.error().code() != KafkaError._PARTITION_EOF
    ]
