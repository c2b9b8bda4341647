"""The dashboard's stream in a process of its own: consumer and decoding out of its interpreter.

:class:`ProcessSource` runs the :class:`~fink_tui.core.worker.StreamWorker` in a child process
(a fresh interpreter fed through its standard input, as the decoding processes are), which
consumes, decodes each batch with the batch reader and sends every event up its standard
output (the alerts' raw bytes after them, the newest only: see :class:`_Up`); the dashboard's
commands go down its standard input. The dashboard then holds no Kafka
consumer at all: librdkafka's fetch answers (~5 MB each from tansu) land in the stream
process, whose heap keeps its freed pages, instead of in fresh pages of the dashboard's lean heap
(53,000 page faults a second, 15 % slower than ``fink-tui poll``: bench/README.md); and the
interpreter that draws the screen no longer shares its GIL with the consumer and the pipes to a
decoding process.

At least once across the boundary: the worker stores offsets only when the dashboard answers
:class:`~fink_tui.core.events.AlertsShown`, which goes down the pipe like any command. A stream
process that dies loses nothing: what it had not stored is read again by the next one, which
this side starts (the status line says so meanwhile), telling it again how to read (pause,
forced schema, carried paths). One that cannot start at all (no interpreter at
``sys.executable``) leaves the stream to a worker thread here, as before.

Each schema crosses once: an alert's :class:`~fink_tui.core.decode.SchemaInfo` is sent the
first time it is seen, then named by a number.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import queue
import signal
import subprocess
import threading
import time
from collections import OrderedDict
from typing import IO, Any

from fink_tui.core.decode import Alert, MessageRef, SchemaInfo
from fink_tui.core.events import (
    AlertBytes,
    AlertsReceived,
    CarryPaths,
    Command,
    Connection,
    ConnectionChanged,
    Event,
    ForceSchema,
    SchemaForced,
    SetPaused,
)
from fink_tui.core.memory import keep_freed_pages, limit_arenas, trim_every
from fink_tui.core.pool import (
    JOB_ENDS,
    STREAM_ENTRY,
    own_stdout,
    send_down,
    start_child,
    yield_to_the_screen,
)
from fink_tui.core.source import Sink
from fink_tui.core.worker import RETRY_FIRST, RETRY_MAX, KafkaSource, StreamWorker

log = logging.getLogger(__name__)

STICKY = (SetPaused, ForceSchema, CarryPaths)
"""Commands that set how the stream is read: the last of each kind is sent again to a stream
process started anew."""
TRIM_SECONDS = 0.25
"""The stream process gives its freed memory back four times a second: one thread there holds
librdkafka's fetch answers, the batch and its decoding at once, and glibc kept ~34 MB of it free
inside the heap (mallinfo2 at the peak). With batches of 2 MB besides, the 40,000-alert soak's
peak, 3 runs each: 256-259 MB -> 236-245 MB (bench/README.md, seventh session). Its batches weigh
a decoding process's again (``pool.BATCH_BYTES``, 4 MB): each read of the Rust reader costs
~4 ms whatever its size (the schema parsed anew), 40 ZTF alerts 13.9 ms and 80 18.7 ms; ingest
0.95x -> 1.01x poll (medians of 3), the 200,000-alert soak's peak 243 -> 244 MB (thirteenth
session)."""
STREAM_ARENAS = 1
"""The stream process's threads share one malloc arena. With two, its worker thread, which
holds the batches, had the second to itself, and :func:`~fink_tui.core.memory.give_back`
does not reach the free space at the top of a second arena's heap, where the freed batches
gathered: 41-61 MB resident there while 28 MB was in use in the whole process (mallinfo2, the
40,000-alert soak), whenever the worker got that arena (the order in which threads first
allocate decides). One arena: that soak's peak 242-268 -> 239-243 MB (the stream process's
141-168 -> 137-143), ingest no slower (bench/README.md, nineteenth session)."""
UP_BACKLOG = 4
"""Messages pickled and waiting for the pipe at most: the worker goes on while the dashboard,
which reads between two paints, takes the last ones. Ingest of 20,000 ZTF alerts against
``fink-tui poll``, 3 interleaved runs: 0.76x written on the worker's thread, 0.88x with this
(bench/README.md, eighth session)."""
QUEUE_WAIT = 0.5
"""Seconds between two looks at whether the dashboard is gone, while the queue is full."""
VALUE_BYTES = 2 << 20
"""The newest alerts' bytes sent after them at most, each time: a sixth of what the dashboard
keeps (``fink_tui.model.MAX_ALERT_BYTES``, 12 MB), filled by the next sendings; a live stream's
alerts all get theirs. The dashboard's whole budget here held 12 MB more in each process (tree
peak 238-244 MB against 207-213) for no faster ingest (bench/README.md, eighth session); 4 MB
here, the 40,000-alert soak's peak was 249-259 MB in 4 runs, 2 MB 234-247 in 4 (the stream
process's peak 143-151 -> 131-143 MB; bench/README.md, eleventh session)."""
VALUES_IDLE = 0.2
"""Seconds without an event after which the bytes kept aside are sent."""
VALUES_EVERY = 1.0
"""Seconds between two sendings of the bytes at most, while a backlog pours in."""
FAILED_STARTS = 3
"""Stream processes ending in a row before saying anything: then the stream runs here."""
STOP_WAIT = 10.0
"""Seconds a stopping stream process may take (its worker's stop, the last commit) before it
is killed."""


# --- the stream process -----------------------------------------------------------------------


def _schema(token: int) -> SchemaInfo:  # pragma: no cover - replaced by the reading side
    raise pickle.UnpicklingError(f"schema {token} read outside a stream")


class _EventPickler(pickle.Pickler):
    """Pickles one message; a schema already sent is named by its number."""

    def __init__(self, stream: IO[bytes], tokens: dict[int, tuple[int, SchemaInfo]]) -> None:
        super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
        self.tokens = tokens

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is SchemaInfo and (known := self.tokens.get(id(obj))) is not None:
            return _schema, (known[0],)
        return NotImplemented


class _Up:
    """The stream process's side of its standard output: events, schemas, the alerts' bytes and
    log records, each pickled whole on the thread that sends it, then written by a thread of
    its own, so the worker goes on consuming and decoding while the dashboard, which reads
    between two paints, takes the last ones.

    The alerts go up without their raw bytes: those follow, the newest :data:`VALUE_BYTES` of
    them at most, once the stream pauses for :data:`VALUES_IDLE` or every :data:`VALUES_EVERY`
    while a backlog pours in (:class:`~fink_tui.core.events.AlertBytes`). The dashboard keeps
    only the newest alerts' bytes: while a backlog poured in, the others crossed the pipe (a GB
    for 20,000 ZTF alerts) only to be let go on arrival. An alert opened before its bytes came
    has them read again from the broker, as an older one always had."""

    def __init__(self, stream: IO[bytes], *, value_bytes: int = 0) -> None:
        self.stream = stream
        self.value_bytes = value_bytes
        """The newest alerts' bytes sent after them at most (0: the alerts carry their own)."""
        self.lock = threading.Lock()
        """Held while a message is numbered and queued: the schemas' numbers go up in order."""
        self.tokens: dict[int, tuple[int, SchemaInfo]] = {}
        """id of a schema sent -> its number, and the schema (kept, so the id stays its own)."""
        self.gone = threading.Event()
        """Set when the dashboard no longer reads (a write failed)."""
        self._queue: queue.Queue[tuple[int, memoryview] | None] = queue.Queue(UP_BACKLOG)
        self._values_lock = threading.Lock()
        self._values: OrderedDict[MessageRef, tuple[int, bytes]] = OrderedDict()
        """Bytes of alerts sent without them, oldest first, with the number of their event."""
        self._held = 0
        self._queued = 0
        """Events queued so far (the number of the last one)."""
        self._written = 0
        """Events written so far: bytes go up only after their alerts."""
        self._thread = threading.Thread(target=self._send, name="fink-tui-up", daemon=True)
        self._thread.start()

    def _put(self, message: tuple[Any, ...]) -> bool:
        """Pickle ``message`` and queue it for the pipe; False once the dashboard is gone."""
        buffer = io.BytesIO()
        with self.lock:
            if self.gone.is_set():
                return False
            if isinstance(message[1], AlertsReceived):
                self._queued += 1
                self._numbered(message[1].alerts, buffer)
            _EventPickler(buffer, self.tokens).dump(message)
            self._enqueue((self._queued, buffer.getbuffer()))
        return not self.gone.is_set()

    def _enqueue(self, item: tuple[int, memoryview] | None) -> None:
        """Queue ``item`` for the writer (the lock held), unless the dashboard is gone."""
        while not self.gone.is_set():
            try:
                self._queue.put(item, timeout=QUEUE_WAIT)
                return
            except queue.Full:
                continue

    def _numbered(self, alerts: tuple[Alert, ...], buffer: IO[bytes]) -> None:
        """Each schema not sent yet, before the event that names it by its number; the alerts'
        bytes kept aside to follow them (the lock held)."""
        for alert in alerts:
            if id(alert.schema) not in self.tokens:
                token = len(self.tokens)
                self.tokens[id(alert.schema)] = (token, alert.schema)
                pickle.dump(("schema", token, alert.schema), buffer, pickle.HIGHEST_PROTOCOL)
        if not self.value_bytes:
            return
        with self._values_lock:
            for alert in alerts:
                if alert.value is not None:
                    if (again := self._values.pop(alert.ref, None)) is not None:
                        self._held -= len(again[1])  # read again (a reset): the newest now
                    self._values[alert.ref] = (self._queued, alert.value)
                    self._held += len(alert.value)
                    alert.value = None  # sent by the writer, if still among the newest then
            while self._held > self.value_bytes and len(self._values) > 1:
                self._held -= len(self._values.popitem(last=False)[1][1])

    def _send(self) -> None:
        """The writer: each queued message, in order; the alerts' bytes when the stream pauses
        and at most every :data:`VALUES_EVERY` seconds; ends at the None :meth:`close` queues."""
        sent_values = time.monotonic()
        try:
            while True:
                try:
                    # Without bytes kept aside it sleeps until the next message: no wake-ups
                    # while the stream is idle (its bytes come with a message, which wakes it).
                    item = self._queue.get(timeout=VALUES_IDLE if self._values else None)
                except queue.Empty:  # a pause: the bytes now
                    self._write_values()
                    self.stream.flush()
                    sent_values = time.monotonic()
                    continue
                if item is None:
                    self._write_values()
                    self.stream.flush()
                    return
                self.stream.write(item[1])
                self._written = item[0]
                if time.monotonic() - sent_values >= VALUES_EVERY:
                    self._write_values()
                    sent_values = time.monotonic()
                if self._queue.empty():
                    self.stream.flush()
        except (OSError, ValueError):  # the dashboard is gone: the worker stops
            self.gone.set()

    def _write_values(self) -> None:
        """The bytes kept aside of alerts already written, oldest first."""
        pairs = []
        with self._values_lock:
            while self._values:
                ref, (number, value) = next(iter(self._values.items()))
                if number > self._written:
                    break
                del self._values[ref]
                self._held -= len(value)
                pairs.append((ref, value))
        if pairs:
            pickle.dump(("values", tuple(pairs)), self.stream, pickle.HIGHEST_PROTOCOL)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, the last bytes, and end the writer."""
        with self.lock:
            self._enqueue(None)
        self._thread.join(timeout)

    def event(self, event: Event) -> bool:
        return self._put(("event", event))

    def record(self, record: logging.LogRecord) -> None:
        self._put(("log", record.levelno, record.name, record.getMessage()))


class _LogUp(logging.Handler):
    def __init__(self, up: _Up) -> None:
        super().__init__(logging.WARNING)
        self.up = up

    def emit(self, record: logging.LogRecord) -> None:
        self.up.record(record)


def serve() -> None:
    """A stream process: the first message down its input is the worker's settings, each next
    one a command, a request to make way, or the stop (the worker's last commit, and the
    process ends)."""
    limit_arenas(STREAM_ARENAS)
    keep_freed_pages()
    yield_to_the_screen()
    trim_every(TRIM_SECONDS)
    down = open(0, "rb", closefd=False)  # noqa: SIM115
    up = _Up(own_stdout(buffering=1 << 20), value_bytes=VALUE_BYTES)
    logging.getLogger().addHandler(_LogUp(up))
    try:
        settings, forced, workers, options = pickle.load(down)
    except JOB_ENDS:
        return
    worker = StreamWorker(
        settings, up.event, forced=forced, confirm=True, workers=workers, **options
    )
    worker.start()
    from fink_tui.core.fastread import warm_up

    warm_up()  # while the worker joins the group
    try:
        while (message := pickle.load(down))[0] != "stop":
            if message[0] == "command":
                worker.send(message[1])
            elif message[0] == "make_way":
                worker.make_way(message[1])
    except JOB_ENDS:
        # The dashboard died (its input ended unasked): end as it did, without leaving the
        # group. A consumer leaving while it joins stalls the group on tansu (the next member
        # was still waiting 30 s later), and a stop does the leaving properly anyway. What was
        # confirmed and not yet committed is read again: at least once.
        os._exit(0)
    worker.stop(STOP_WAIT / 2)
    up.close(STOP_WAIT / 2)


# --- the dashboard's side -----------------------------------------------------------------------


def ended(code: int) -> str:
    """How a process ended, from its return code, as the status line says it."""
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


class _EventUnpickler(pickle.Unpickler):
    def __init__(self, stream: IO[bytes], schemas: dict[int, SchemaInfo]) -> None:
        super().__init__(stream)
        self.schemas = schemas

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_schema":
            return self.schemas.__getitem__
        return super().find_class(module, name)


class ProcessSource(KafkaSource):
    """The live source, its worker in a stream process (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        """Stream processes started anew after one ended (for tests)."""
        self._sink: Sink | None = None
        self._lock = threading.Lock()
        self._sticky: dict[type, Command] = {}
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        self._silent_ends = 0
        """Stream processes that ended in a row before sending an event."""

    @property
    def pid(self) -> int | None:
        """The stream process running now (None: none, or the stream runs here)."""
        return self.process.pid if self.process is not None else None

    def prepare(self, process: subprocess.Popen[bytes] | None = None) -> None:
        """Start the stream process before the screen is up (``process``: one started earlier
        still, :func:`~fink_tui.core.pool.start_stream_process`), and send it how to read:
        it joins the group while the dashboard starts, and its first events wait in the pipe
        until :meth:`start` reads them (nothing is stored before the dashboard confirms)."""
        self._spawn(process)

    def start(self, sink: Sink) -> None:
        if self.forced is not None:
            sink(SchemaForced(self.forced))
        self._sink = sink
        if self.process is None:
            self._spawn()
        else:
            self._read_from(self.process)

    def _spawn(self, process: subprocess.Popen[bytes] | None = None) -> None:
        try:
            if process is None:
                process = start_child(STREAM_ENTRY, own_group=True)
        except OSError as exc:
            if self._sink is None:
                return  # prepared: start() tries again, then runs the stream here
            log.warning("the stream process did not start (%s): the stream runs here", exc)
            self._run_here()
            return
        workers = max(self.workers - 1, 0)  # this process is one of the decoders
        with self._lock:
            if self._stopping.is_set():  # stopped meanwhile: it never reads
                process.kill()
                process.wait()
                return
            self.process = process
            self._write((self.settings, self.forced, workers, self.options))
            for command in self._sticky.values():
                self._write(("command", command))
        if self._sink is not None:
            self._read_from(process)

    def _read_from(self, process: subprocess.Popen[bytes]) -> None:
        self._reader = threading.Thread(
            target=self._read, args=(process,), name="fink-tui-stream-events", daemon=True
        )
        self._reader.start()

    def _write(self, message: tuple[Any, ...]) -> None:
        """One message down the stream process's input (the lock held)."""
        process = self.process
        if process is None or process.stdin is None:
            return
        try:
            send_down(process.stdin, message)
        except (OSError, ValueError):
            pass  # it is gone: its reader starts the next one

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        """Hand each event of the stream process to the sink; when it ends unasked, start the
        next one."""
        stream = process.stdout
        assert stream is not None and self._sink is not None
        schemas: dict[int, SchemaInfo] = {}
        said = False
        try:
            while True:
                message = _EventUnpickler(stream, schemas).load()
                if message[0] == "event":
                    said = True
                    self._sink(message[1])
                elif message[0] == "schema":
                    schemas[message[1]] = message[2]
                elif message[0] == "values":
                    self._sink(AlertBytes(message[1]))
                elif message[0] == "log":
                    logging.getLogger(message[2]).log(message[1], "%s", message[3])
        except Exception:  # noqa: S110 - the end of its output, or garbage: it is done for
            pass
        if process.poll() is None:
            process.kill()
        code = process.wait()
        stream.close()
        if self._stopping.is_set():
            return
        self._silent_ends = 0 if said else self._silent_ends + 1
        if self._silent_ends >= FAILED_STARTS:
            log.warning("the stream process ends at start (%s): the stream runs here", code)
            self._run_here()
            return
        delay = min(RETRY_FIRST * 2**self._silent_ends, RETRY_MAX)
        how = ended(code)
        self._sink(
            ConnectionChanged(
                Connection.RECONNECTING,
                f"the stream process ended ({how}); starting it again in {delay:g} s",
            )
        )
        self.restarts += 1
        if not self._stopping.wait(delay):
            self._spawn()

    def _run_here(self) -> None:
        """The stream on a worker thread of this process (no stream process could start)."""
        assert self._sink is not None
        with self._lock:
            self.process = None
            if self._stopping.is_set():
                return
            self._start_worker(self._sink)
            for command in self._sticky.values():
                KafkaSource.send(self, command)

    def send(self, command: Command) -> None:
        with self._lock:  # a stream process started now gets the sticky ones once
            if isinstance(command, STICKY):
                self._sticky[type(command)] = command
            if self.worker is None:
                self._write(("command", command))
                return
        super().send(command)

    def make_way(self, seconds: float) -> None:
        if self.worker is not None:
            super().make_way(seconds)
            return
        with self._lock:
            self._write(("make_way", seconds))

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            process = self.process
            self._write(("stop", None))  # it stops its worker: the last commit, leaving
            if process is not None and process.stdin is not None:
                try:
                    process.stdin.close()
                except OSError:
                    pass
        if process is not None:
            try:
                process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(STOP_WAIT)
        super().stop()
