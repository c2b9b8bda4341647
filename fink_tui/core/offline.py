"""Saved alerts, offline: Avro files read as a stream source, with no broker.

Every way Fink alerts are saved is an Avro container file with its writer schema in the
header: fink-tui's own saves (one alert a file), fink-client's ``fink_consumer --save`` (one
alert a file) and Fink Data Transfer's Avro output (``finkctl transfer -outformat avro``, many
alerts a file). :class:`FileSource` reads files and folders of them on a thread and sends the
same events as the live stream, so the feed, objects and alert screens show them unchanged.

Each record keeps its own bytes (sliced out of the file's block, not re-encoded), so an alert
opened from a file is decoded in full exactly as one from the broker. The header's schema is
treated like a Kafka key: parsed once per distinct text and checked the same way.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro._read_py import schemaless_reader as python_schemaless_reader

from fink_tui.core.decode import Alert, DecodeFailure, MessageRef, SchemaError, SchemaInfo
from fink_tui.core.decode import schema_info as parse_schema_info
from fink_tui.core.errors import StreamError, UsageError
from fink_tui.core.events import (
    AlertsReceived,
    AlertsShown,
    ApplyReset,
    Command,
    CommandFailed,
    Connection,
    ConnectionChanged,
    ForceSchema,
    PauseChanged,
    PlanReset,
    RefreshLag,
    SetPaused,
)
from fink_tui.core.source import Sink
from fink_tui.core.survey import summarize

BATCH = 200
"""Alerts per event (a batch of the live stream is up to 500)."""
IN_FLIGHT = 4
"""Batches sent and not yet shown by the app: the reader waits beyond this (the UI sets the
pace, as with the broker)."""
MAX_FILES = 1_000_000
"""Files looked at in the folders given."""
AVRO_MAGIC = b"Obj\x01"
NO_BROKER = "saved alerts: there is no broker, so no offsets"
SAVED_TOPIC = re.compile(r"^[^_]+_[^_]*_(fink_[A-Za-z0-9._-]+)\.avro$")
"""fink-tui's save names: ``<objectId>_<sourceId>_<topic>.avro`` (core/files.py)."""


def alert_files(paths: Iterable[str | Path]) -> list[Path]:
    """The .avro files among ``paths`` and inside the folders among them, each once, in
    order (a folder's files sorted by name). A path that does not exist is a UsageError."""
    found: dict[Path, None] = {}
    for given in paths:
        try:
            path = Path(given).expanduser()
        except RuntimeError as exc:  # an unknown ~user
            raise UsageError(f"{given}: {exc}") from exc
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.avro") if p.is_file())
            if not inside:
                raise UsageError(f"{given}: no .avro file in this folder")
            found.update(dict.fromkeys(inside))
        elif path.is_file():
            _check_magic(path, given)
            found[path] = None
        else:
            raise UsageError(f"{given}: no such file or folder")
        if len(found) > MAX_FILES:
            raise UsageError(f"over {MAX_FILES:,} files: open fewer at once")
    return list(found)


def _check_magic(path: Path, given: str | Path) -> None:
    """Refuse a file named on the command line that is not an Avro container at all (in a
    folder, such a file is listed as a failure instead, and the others are read)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise UsageError(f"{given}: cannot read it ({exc.strerror or exc})") from exc
    if head != AVRO_MAGIC:
        raise UsageError(
            f"{given}: not an Avro container file (fink-tui opens saved .avro alerts)"
        )


def topic_of(path: Path) -> str:
    """What the feed shows as the topic of a file's alerts: the topic in a fink-tui save's
    name, else the name of the file's folder (so the rates are per folder, not per file)."""
    match = SAVED_TOPIC.match(path.name)
    if match:
        return match.group(1)
    return path.parent.name or "saved"


@dataclass
class FileResult:
    """What one file gave: alerts, and failures (the file itself, or records in it)."""

    alerts: list[Alert]
    failures: list[DecodeFailure]


class ContainerReader:
    """Reads Avro container files into alerts; header schemas are parsed once per text."""

    def __init__(self) -> None:
        self._schemas: dict[str, SchemaInfo | str] = {}

    def schema_for(self, text: str) -> SchemaInfo | str:
        """The parsed header schema, or why it is not one fink-tui reads (cached)."""
        cached = self._schemas.get(text)
        if cached is None:
            try:
                data = json.loads(text)
                if not isinstance(data, dict):
                    raise SchemaError("the schema is not a JSON object")
                cached = parse_schema_info(data)
            except (ValueError, RecursionError) as exc:  # SchemaError is a ValueError
                cached = f"header schema is not one fink-tui reads: {exc}"
            self._schemas[text] = cached
        return cached

    def read(self, path: Path, topic: str, number: int) -> FileResult:
        """Every alert of the file ``path``; ``number`` is its place among the files opened
        (the partition of its alerts, so each alert has its own position)."""
        result = FileResult([], [])
        where = MessageRef(topic, number, 0)
        try:
            with path.open("rb") as fh:
                blocks = fastavro.block_reader(fh)
                text = blocks.metadata.get("avro.schema", "")
                info = self.schema_for(text)
                if isinstance(info, str):
                    result.failures.append(DecodeFailure(where, f"{path}: {info}"))
                    return result
                key = text.encode()
                index = 0
                for block in blocks:
                    index = self._block(block, info, key, topic, number, index, path, result)
        except Exception as exc:  # not Avro, truncated, a codec missing: one clear failure
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            text = f"{path}: not a readable Avro container file ({why})"
            result.failures.append(DecodeFailure(where, text[:300]))
        return result

    def _block(
        self,
        block: Any,
        info: SchemaInfo,
        key: bytes,
        topic: str,
        number: int,
        index: int,
        path: Path,
        result: FileResult,
    ) -> int:
        data = block.bytes_.getvalue()
        stream = io.BytesIO(data)
        writer = info.parsed if info.read_parsed is None else info.read_parsed
        read = python_schemaless_reader if info.recursive else fastavro.schemaless_reader
        for n in range(block.num_records):
            ref = MessageRef(topic, number, index)
            start = stream.tell()
            try:
                record = read(stream, writer, info.summary_parsed)
                if not isinstance(record, dict):
                    raise ValueError("not an Avro record")
                summary = summarize(record, info.survey)
            except Exception as exc:  # the rest of the block cannot be told apart
                left = int(block.num_records) - n
                why = (
                    f"{path}: record {index} does not decode ({type(exc).__name__}: {exc}); "
                    f"{left} record(s) of its block skipped"
                )
                result.failures.append(DecodeFailure(ref, why[:300], info.fingerprint, key))
                return index + left
            result.alerts.append(Alert(ref, info, summary, data[start : stream.tell()]))
            index += 1
        return index


class FileSource:
    """Saved alerts as a stream source: files read on a thread, sent as :class:`AlertsReceived`
    batches; commands that need a broker answer why not."""

    def __init__(self, paths: Iterable[str | Path]) -> None:
        self.files = alert_files(paths)
        """Every file to read, in order (a bad path was refused here, before the screen)."""
        self.sink: Sink | None = None
        self.reader = ContainerReader()
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._slots = threading.Semaphore(IN_FLIGHT)
        self._quiet_until = 0.0

    def start(self, sink: Sink) -> None:
        self.sink = sink
        self._thread = threading.Thread(target=self._run, name="fink-tui-files", daemon=True)
        self._thread.start()

    def make_way(self, seconds: float) -> None:
        self._quiet_until = time.monotonic() + seconds

    def send(self, command: Command) -> None:
        match command:
            case AlertsShown():
                self._slots.release()
            case SetPaused(paused=paused):
                if paused:
                    self._resume.clear()
                else:
                    self._resume.set()
                self._emit(PauseChanged(paused))
            case RefreshLag():
                self._emit(CommandFailed("RefreshLag", f"{NO_BROKER} nor lag"))
            case PlanReset() | ApplyReset():
                self._emit(CommandFailed("Reset", f"{NO_BROKER} to reset"))
            case ForceSchema():
                self._emit(CommandFailed("ForceSchema", "saved alerts carry their own schema"))
            case _:
                pass

    def stop(self) -> None:
        self._halt.set()
        self._resume.set()
        self._slots.release()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sink = None

    def fetch_value(self, ref: MessageRef) -> bytes:
        """The alert's bytes read again from its file (its partition is the file's place in
        :attr:`files`, its offset the record's place in the file)."""
        where = f"record {ref.offset} of file {ref.partition}"
        if not 0 <= ref.partition < len(self.files):
            raise StreamError(f"{where}: no such file")
        path = self.files[ref.partition]
        for alert in self.reader.read(path, topic_of(path), ref.partition).alerts:
            if alert.ref.offset == ref.offset and alert.value is not None:
                return alert.value
        raise StreamError(f"{path}: record {ref.offset} is no longer there")

    def _emit(self, event: Any) -> bool:
        sink = self.sink
        return bool(sink(event)) if sink is not None else False

    def _batches(self) -> Iterator[tuple[list[Alert], list[DecodeFailure], int]]:
        """Batches of about :data:`BATCH` alerts, with how many files are read so far."""
        alerts: list[Alert] = []
        failures: list[DecodeFailure] = []
        for number, path in enumerate(self.files):
            result = self.reader.read(path, topic_of(path), number)
            alerts += result.alerts
            failures += result.failures
            if len(alerts) >= BATCH or len(failures) >= BATCH:
                yield alerts, failures, number + 1
                alerts, failures = [], []
        if alerts or failures:
            yield alerts, failures, len(self.files)

    def _run(self) -> None:
        files = len(self.files)
        self._emit(ConnectionChanged(Connection.OFFLINE, f"reading {files:,} file(s)…"))
        count = 0
        for alerts, failures, done in self._batches():
            while not self._resume.wait(0.2):
                if self._halt.is_set():
                    return
            if not self._slots.acquire(timeout=None) or self._halt.is_set():
                return
            while (rest := self._quiet_until - time.monotonic()) > 0:  # a key is being drawn
                if self._halt.wait(min(rest, 0.05)):
                    return
            last = alerts[-1].ref if alerts else failures[-1].ref
            offsets = ((last.topic, last.partition, last.offset + 1),)
            if not self._emit(AlertsReceived(tuple(alerts), tuple(failures), time.time(), offsets)):
                return  # the app is closing
            count += len(alerts)
            if done < files:
                detail = f"reading: {count:,} alerts from {done:,} of {files:,} file(s)…"
                self._emit(ConnectionChanged(Connection.OFFLINE, detail))
        self._emit(
            ConnectionChanged(Connection.OFFLINE, f"{count:,} alerts from {files:,} file(s)")
        )
