"""A batch fast path for alert summaries: many raw values of one schema read by a Rust reader.

fastavro walks every byte of an alert even when a projected reader schema skips most of it (an
LSST alert's hundreds of previous sources cost 10-19 ms). :func:`decode_messages` instead wraps
the raw Kafka values that share one schema into one in-memory Avro object-container block and
reads only the summary's columns with jetliner (a Rust Avro reader for Polars), then builds from
them a record of the shape fastavro's projected read gives and hands it to the same
:func:`~fink_tui.core.survey.summarize`. The result per message is exactly what
:meth:`AlertDecoder.decode` returns, in input order.

Exact or not at all:

- A schema takes the fast path only if every summary field is a plain Avro type whose value the
  two readers turn into the same Python value (no logical types, no bytes, maps or arrays, no
  decimals, no recursion), if the Rust reader accepts it, and once its first messages
  (:data:`VERIFY_COUNT` of them), read both ways, gave field-for-field identical summaries
  (floats bit for bit). Otherwise fastavro reads that schema from then on.
- Per-record boundaries are checked: each value is followed in the block by a 16-byte marker
  read as an extra ``fixed`` field, fresh for every batch. A record is taken only if the marker
  is read back after it, so a value that is truncated, padded or bit-flipped in a length (which
  fastavro reports as "ends before the record does" or "bytes left over") cannot shift its
  neighbours into wrong but plausible values: the batch is read again in halves, and the
  messages that still fail are read one by one by fastavro, which names the failure.
- Anything the Rust reader refuses (invalid UTF-8, an out-of-range union index or boolean, an
  ``int`` that overflows 32 bits...) goes the same way, so fastavro's verdict is the one given.

polars-avro is faster still (about 1.7x jetliner here) but its reader (arrow-avro) spins forever
on a block whose records end before the block does, which one malformed value is enough to
cause; jetliner reports an error or reads on, and the markers catch the rest.

Nothing here imports Textual. :func:`decode_messages` never raises.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef, SchemaInfo
from fink_tui.core.survey import AlertSummary, projection, summarize, summary_schema
from fink_tui.core.wire import avro_long

Message = tuple[MessageRef, bytes | None, bytes | None]
"""A message as the consumer hands it over: where it sits, its key and its value."""

END_FIELD = "_fink_tui_fastread_end"
"""The marker field appended to the writer schema after each value."""
MARKER_BYTES = 16
MAX_BLOCK_BYTES = 32 << 20
"""Most value bytes put in one container block (a batch is read in several blocks above it)."""
SMALLEST_SPLIT = 4
"""A failing block of at most this many messages is read message by message by fastavro."""
VERIFY_COUNT = 16
"""Messages of a new schema read both ways before the Rust reader reads the rest alone. Its
whole first batch was read both ways before: 100 LSST alerts through fastavro held the first
alerts of a poll back 1.4 s, and each decoding process paid it again (bench/README.md)."""
VERDICT_CACHE_SIZE = 64
MAX_REFUSALS = 3
"""Verification batches the Rust reader may refuse before its schema is left to fastavro."""

_LEAF_TYPES = frozenset({"null", "boolean", "int", "long", "float", "double", "string"})


class ReadRefused(Exception):
    """The Rust reader did not read a block (it raised, or panicked)."""


class Verdict(Enum):
    """What is known about reading a schema's summaries with the Rust reader."""

    UNVERIFIED = "unverified"
    """Eligible; its next messages (up to :data:`VERIFY_COUNT`) are read both ways and compared."""
    FAST = "fast"
    """Its first messages gave identical summaries both ways: read with the Rust reader."""
    SLOW = "slow"
    """Read by fastavro: not eligible, refused by the Rust reader, or a summary differed."""


@dataclass
class _SchemaPlan:
    """How one schema's summary fields are read with the Rust reader."""

    verdict: Verdict
    why: str
    """Why the verdict (for tests and the benchmark's report)."""
    header: bytes = b""
    """The container header: magic, the writer schema with the marker field, a sync marker."""
    sync: bytes = b""
    columns: tuple[str, ...] = ()
    """Top-level columns to read (the marker last)."""
    shape: tuple[tuple[str, tuple[str, ...] | None], ...] = ()
    """Per summary field: its name and, for a record, the names of its projected fields."""
    refusals: int = 0
    """Verification batches the Rust reader refused although fastavro read them all."""


class BatchDecoder:
    """Decodes batches of messages through :class:`AlertDecoder`, with the Rust fast path where
    it is verified. One instance per decoder; thread-safe."""

    def __init__(self, decoder: AlertDecoder) -> None:
        self.decoder = decoder
        self._plans: OrderedDict[int, tuple[SchemaInfo, _SchemaPlan]] = OrderedDict()
        self._lock = threading.Lock()
        self.fast_reads = 0
        """How many messages the Rust reader summarised (for tests and benchmarks)."""

    def verdict(self, info: SchemaInfo) -> tuple[Verdict, str]:
        """What is known about ``info`` so far, and why."""
        plan = self._plan(info)
        return plan.verdict, plan.why

    def decode(self, messages: Sequence[Message]) -> list[Alert | DecodeFailure]:
        """Per message, exactly what ``AlertDecoder.decode`` returns, in input order."""
        try:
            return self._decode(messages)
        except Exception:  # a last resort: the fast path must never cost a message
            return [self.decoder.decode(ref, key, value) for ref, key, value in messages]

    def _decode(self, messages: Sequence[Message]) -> list[Alert | DecodeFailure]:
        results: list[Alert | DecodeFailure | None] = [None] * len(messages)
        groups: dict[int, tuple[SchemaInfo, list[int]]] = {}
        for index, (ref, key, value) in enumerate(messages):
            info = self._schema_of(ref, key)
            if info is None or not value or not self._eligible(info):
                results[index] = self.decoder.decode(ref, key, value)
                continue
            groups.setdefault(id(info), (info, []))[1].append(index)
        for info, indices in groups.values():
            self._decode_group(info, [messages[i] for i in indices], indices, results)
        return [
            r if r is not None else self.decoder.decode(*messages[i]) for i, r in enumerate(results)
        ]

    def _schema_of(self, ref: MessageRef, key: bytes | None) -> SchemaInfo | None:
        """The schema ``AlertDecoder.decode`` would read ``ref`` with (None: not one)."""
        decoder = self.decoder
        if decoder.forced is not None and (
            decoder.forced_topics is None or ref.topic in decoder.forced_topics
        ):
            return decoder.forced
        if not key:
            return None
        info = decoder.schema_for_key(key)
        return None if isinstance(info, str) else info

    def _eligible(self, info: SchemaInfo) -> bool:
        return self._plan(info).verdict is not Verdict.SLOW

    def _plan(self, info: SchemaInfo) -> _SchemaPlan:
        # Keyed by the SchemaInfo object (kept alive here, so its id is not reused): two keys
        # with one fingerprint may still differ in logical types, which the fingerprint drops.
        with self._lock:
            entry = self._plans.get(id(info))
            if entry is not None and entry[0] is info:
                self._plans.move_to_end(id(info))
                return entry[1]
        plan = _make_plan(info)
        with self._lock:
            self._plans[id(info)] = (info, plan)
            if len(self._plans) > VERDICT_CACHE_SIZE:
                self._plans.popitem(last=False)
        return plan

    def _settle(self, info: SchemaInfo, verdict: Verdict, why: str) -> None:
        plan = self._plan(info)
        with self._lock:
            if plan.verdict is Verdict.UNVERIFIED:
                plan.verdict, plan.why = verdict, why

    def _decode_group(
        self,
        info: SchemaInfo,
        group: list[Message],
        indices: list[int],
        results: list[Alert | DecodeFailure | None],
    ) -> None:
        plan = self._plan(info)
        if plan.verdict is Verdict.SLOW:
            return  # left None: fastavro reads them
        start = 0
        while start < len(group):
            end, size = start, 0
            while end < len(group) and (
                end == start or size + len(group[end][2] or b"") <= MAX_BLOCK_BYTES
            ):
                size += len(group[end][2] or b"")
                end += 1
            if plan.verdict is Verdict.UNVERIFIED:
                end = min(end, start + VERIFY_COUNT)  # then the rest, the fast way if settled
                self._verify(info, plan, group[start:end], indices[start:end], results)
            else:
                self._read_range(info, plan, group, indices, start, end, results)
            start = end

    def _verify(
        self,
        info: SchemaInfo,
        plan: _SchemaPlan,
        chunk: list[Message],
        indices: list[int],
        results: list[Alert | DecodeFailure | None],
    ) -> None:
        """Read ``chunk`` both ways; settle the schema's verdict if the Rust read succeeded."""
        slow = [self.decoder.decode(ref, key, value) for ref, key, value in chunk]
        for i, result in zip(indices, slow, strict=True):
            results[i] = result
        try:
            fast = _read_block(plan, info, [value or b"" for _, _, value in chunk])
        except Exception as exc:  # a value it refuses: verify with the next batch
            if all(isinstance(r, Alert) for r in slow):
                plan.refusals += 1
                if plan.refusals >= MAX_REFUSALS:
                    self._settle(info, Verdict.SLOW, f"Rust reader refused valid values: {exc}")
            return
        for result, record in zip(slow, fast, strict=True):
            try:
                summary = summarize(record, info.survey)
            except Exception:
                summary = None
            if not isinstance(result, Alert):
                if summary is not None:  # fastavro refused what the Rust reader took
                    why = f"Rust reader read a value fastavro refuses ({result.reason})"
                    self._settle(info, Verdict.SLOW, why)
                    return
                continue
            if summary is None:
                self._settle(info, Verdict.SLOW, "summary raised on the Rust reader's record")
                return
            difference = summary_difference(result.summary, summary)
            if difference:
                self._settle(info, Verdict.SLOW, f"summaries differ: {difference}")
                return
        if any(isinstance(r, Alert) for r in slow):
            self._settle(info, Verdict.FAST, f"first {len(chunk)} messages identical both ways")

    def _read_range(
        self,
        info: SchemaInfo,
        plan: _SchemaPlan,
        group: list[Message],
        indices: list[int],
        start: int,
        end: int,
        results: list[Alert | DecodeFailure | None],
    ) -> None:
        """Read ``group[start:end]`` with the Rust reader, in halves where a read fails; the
        messages of failing small ranges are left to fastavro."""
        pending = [(start, end)]
        while pending:
            lo, hi = pending.pop()
            try:
                records = _read_block(plan, info, [value or b"" for _, _, value in group[lo:hi]])
            except Exception:
                if hi - lo > SMALLEST_SPLIT:
                    mid = (lo + hi) // 2
                    pending.extend(((mid, hi), (lo, mid)))
                continue  # left None: fastavro reads them
            for offset, record in enumerate(records):
                ref, _, value = group[lo + offset]
                try:
                    summary = summarize(record, info.survey)
                except Exception:
                    continue  # fastavro names the failure
                results[indices[lo + offset]] = Alert(ref, info, summary, value or b"")
                self.fast_reads += 1


def warm_up() -> None:
    """Import the Rust reader now (it imports Polars: ~0.3 s of a core), rather than when the
    first batch waits for it: the stream process does this while its consumer joins the group
    (~1 s), which it spends waiting anyway."""
    import jetliner  # noqa: F401


def decode_messages(
    decoder: AlertDecoder, messages: Sequence[Message], batch: BatchDecoder | None = None
) -> list[Alert | DecodeFailure]:
    """Decode ``messages`` as ``decoder.decode`` would, one result per message in input order,
    with the Rust fast path for the schemas where it is verified. Never raises.

    Pass the same ``batch`` (a :class:`BatchDecoder` of ``decoder``) on every call to keep the
    per-schema verdicts; without it, one is kept per decoder.
    """
    try:
        if batch is None or batch.decoder is not decoder:
            batch = _batch_decoder_of(decoder)
        return batch.decode(messages)
    except Exception:
        return [decoder.decode(ref, key, value) for ref, key, value in messages]


_BATCH_DECODERS: dict[int, BatchDecoder] = {}
_BATCH_DECODERS_LOCK = threading.Lock()


def _batch_decoder_of(decoder: AlertDecoder) -> BatchDecoder:
    with _BATCH_DECODERS_LOCK:
        batch = _BATCH_DECODERS.get(id(decoder))
        if batch is None or batch.decoder is not decoder:
            if len(_BATCH_DECODERS) >= 16:
                _BATCH_DECODERS.clear()
            batch = _BATCH_DECODERS[id(decoder)] = BatchDecoder(decoder)
        return batch


def summary_difference(a: AlertSummary, b: AlertSummary) -> str:
    """The first field where two summaries differ ('' if none); floats compared bit for bit."""
    for name in AlertSummary.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if not _same(x, y):
            return f"{name}: {x!r} != {y!r}"
    return ""


def _same(x: Any, y: Any) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        return struct.pack("<d", x) == struct.pack("<d", y)
    if isinstance(x, datetime):
        return bool(x == y and x.tzinfo == y.tzinfo and x.fold == y.fold)
    if isinstance(x, tuple):
        return len(x) == len(y) and all(_same(p, q) for p, q in zip(x, y, strict=True))
    return bool(x == y)


# --- the schema: which summary fields, and whether they can be read exactly ---------------------


def _make_plan(info: SchemaInfo) -> _SchemaPlan:
    try:
        return _plan_for(info)
    except Exception as exc:  # an odd schema: fastavro knows what to do with it
        return _SchemaPlan(Verdict.SLOW, f"not planned: {type(exc).__name__}: {exc}")


def _plan_for(info: SchemaInfo, keep: dict[str, Any] | None = None) -> _SchemaPlan:
    """The plan for the summary's fields, or (``keep``) for those fields of ``projection``."""
    if keep is None and info.survey not in ("ztf", "lsst"):
        return _SchemaPlan(Verdict.SLOW, f"survey {info.survey}: the whole record is read")
    if info.recursive:
        return _SchemaPlan(Verdict.SLOW, "recursive schema")
    if info.read_parsed is not None and info.read_parsed is not info.parsed:
        return _SchemaPlan(Verdict.SLOW, "decimals are read through a length check")
    schema = info.schema
    if schema.get("type") != "record" or not isinstance(schema.get("fields"), list):
        return _SchemaPlan(Verdict.SLOW, "not a record schema")
    names = {f.get("name") for f in schema["fields"] if isinstance(f, dict)}
    if END_FIELD in names:
        return _SchemaPlan(Verdict.SLOW, f"the schema has a field named {END_FIELD}")
    if keep is not None:
        projected: dict[str, Any] | None = projection(schema, keep)
    else:
        projected = summary_schema(schema, info.survey)
    if projected is None:
        return _SchemaPlan(Verdict.SLOW, "no summary projection")
    shape: list[tuple[str, tuple[str, ...] | None]] = []
    for field in projected["fields"]:
        name, ftype = field["name"], field["type"]
        record = _nullable_record(ftype)
        if record is not None:
            subfields = []
            for sub in record["fields"]:
                if not _plain(sub["type"]):
                    return _SchemaPlan(Verdict.SLOW, f"{name}.{sub['name']} is not a plain type")
                subfields.append(str(sub["name"]))
            shape.append((str(name), tuple(subfields)))
        elif _plain(ftype):
            shape.append((str(name), None))
        else:
            return _SchemaPlan(Verdict.SLOW, f"{name} is not a plain type")
    marker = {"name": END_FIELD, "type": {"type": "fixed", "name": END_FIELD, "size": MARKER_BYTES}}
    extended = {**schema, "fields": [*schema["fields"], marker]}
    sync = os.urandom(16)
    header = (
        b"Obj\x01"
        + avro_long(2)
        + _bytes(b"avro.schema")
        + _bytes(json.dumps(extended, separators=(",", ":")).encode())
        + _bytes(b"avro.codec")
        + _bytes(b"null")
        + avro_long(0)
        + sync
    )
    columns = (*(name for name, _ in shape), END_FIELD)
    plan = _SchemaPlan(Verdict.UNVERIFIED, "eligible", header, sync, columns, tuple(shape))
    try:
        _read_block(plan, info, [])  # does the Rust reader take the schema at all?
    except Exception as exc:
        return _SchemaPlan(Verdict.SLOW, f"Rust reader refuses the schema: {exc}")
    return plan


def column_plan(info: SchemaInfo, keep: dict[str, Any]) -> _SchemaPlan | None:
    """A plan to read the ``keep`` fields (a :func:`~fink_tui.core.survey.projection`
    selection, records at most one level down) of ``info``'s values with the Rust reader
    (:func:`read_columns`); None if they cannot be read exactly that way. Never raises."""
    try:
        plan = _plan_for(info, keep)
    except Exception:
        return None
    return plan if plan.verdict is not Verdict.SLOW else None


def read_columns(plan: _SchemaPlan, info: SchemaInfo, values: list[bytes]) -> list[dict[str, Any]]:
    """The records of ``values`` with the plan's fields, read by the Rust reader in one block;
    raises if it fails or if a record does not end where its value does."""
    return _read_block(plan, info, values)


def same_values(a: Any, b: Any) -> bool:
    """Whether two decoded values are the same, floats bit for bit (dicts field by field)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k]) for k in a)
    return _same(a, b)


def _plain(avro_type: Any) -> bool:
    """Whether both readers give the same Python value for ``avro_type`` (a leaf, maybe
    nullable): no logical types, no bytes, no containers."""
    if isinstance(avro_type, list):
        branches = [b for b in avro_type if b != "null"]
        return (
            len(branches) <= 1
            and len(avro_type) - len(branches) <= 1
            and all(_plain(b) for b in branches)
        )
    if isinstance(avro_type, str):
        return avro_type in _LEAF_TYPES
    if isinstance(avro_type, dict):
        if "logicalType" in avro_type:
            return False
        kind = avro_type.get("type")
        if kind == "enum":
            symbols = avro_type.get("symbols")
            return isinstance(symbols, list) and all(isinstance(s, str) for s in symbols)
        return isinstance(kind, str) and kind in _LEAF_TYPES
    return False


def _nullable_record(avro_type: Any) -> dict[str, Any] | None:
    """The inline record of a record type or of a union of null and one record, else None."""
    if isinstance(avro_type, list):
        branches = [b for b in avro_type if b != "null"]
        if len(branches) == 1 and len(avro_type) <= 2:
            return _nullable_record(branches[0])
        return None
    if isinstance(avro_type, dict) and avro_type.get("type") in ("record", "error"):
        return avro_type
    return None


# --- the container block ------------------------------------------------------------------------


def _bytes(data: bytes) -> bytes:
    return avro_long(len(data)) + data


def _read_block(plan: _SchemaPlan, info: SchemaInfo, values: list[bytes]) -> list[dict[str, Any]]:
    """The projected records of ``values``, read by the Rust reader from one container block;
    raises if it fails or if any record's boundaries are not where they should be."""
    import jetliner  # here, not at the top: it imports Polars, which a start need not wait for

    marker = os.urandom(MARKER_BYTES)
    # The block is written piece by piece into a file kept for the thread: joining the values
    # first (two copies of ~4 MB in fresh memory) cost 10x the write on this machine.
    pieces: list[bytes] = [plan.header]
    if values:
        size = sum(map(len, values)) + MARKER_BYTES * len(values)
        pieces += [avro_long(len(values)), avro_long(size)]
        for value in values:
            pieces += (value, marker)
        pieces.append(plan.sync)
    with _block_file(pieces) as (path, length):
        try:
            # One chunk for the whole file: jetliner wants the header within its first chunk
            # (64 KiB by default, and Fink's LSST schemas can take more).
            chunk = max(1 << 16, length)
            frame = jetliner.read_avro(
                path, columns=list(plan.columns), glob=False, read_chunk_size=chunk
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException
            raise ReadRefused(f"{type(exc).__name__}: {exc}") from exc
    if frame.height != len(values) or frame.columns != list(plan.columns):
        raise ValueError(f"read {frame.height} rows of {len(values)}")
    ends = frame.get_column(END_FIELD).to_list()
    if any(end != marker for end in ends):
        raise ValueError("a record does not end where its value does")
    rows: list[dict[str, Any]] = [{} for _ in values]
    for name, subfields in plan.shape:
        column = frame.get_column(name)
        if subfields is None:
            for row, item in zip(rows, column.to_list(), strict=True):
                row[name] = item
            continue
        nulls = column.is_null().to_list()
        parts = [column.struct.field(sub).to_list() for sub in subfields]
        for i, (row, null) in enumerate(zip(rows, nulls, strict=True)):
            row[name] = (
                None if null else {sub: part[i] for sub, part in zip(subfields, parts, strict=True)}
            )
    return rows


IOV_MAX = 1024
"""Most pieces one ``pwritev`` takes (Linux's UIO_MAXIOV)."""
_FILES = threading.local()


@contextmanager
def _block_file(pieces: Sequence[bytes]) -> Iterator[tuple[str, int]]:
    """A path to an in-memory file holding ``pieces`` one after the other, and its length
    (jetliner reads paths only). Each thread keeps its file and writes over it, so the pages
    are not taken from the system again for every block."""
    length = sum(map(len, pieces))
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is None:
        with tempfile.NamedTemporaryFile(prefix="fink-tui-block-", suffix=".avro") as tmp:
            for piece in pieces:
                tmp.write(piece)
            tmp.flush()
            yield tmp.name, length
        return
    kept = getattr(_FILES, "file", None)
    if kept is None:
        kept = _FILES.file = _KeptFile(memfd_create("fink-tui-block", os.MFD_CLOEXEC))
    fd = kept.fd
    _write_at_start(fd, pieces)
    os.ftruncate(fd, length)
    yield f"/proc/self/fd/{fd}", length


class _KeptFile:
    """A thread's in-memory file, closed with the thread."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __del__(self) -> None:
        os.close(self.fd)


def _write_at_start(fd: int, pieces: Sequence[bytes]) -> None:
    offset = 0
    views = [memoryview(p) for p in pieces if p]
    while views:
        written = os.pwritev(fd, views[:IOV_MAX], offset)
        offset += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if written:
            views[0] = views[0][written:]
