"""Decoding Fink Livestream messages.

Fink sends each alert as schemaless Avro in the Kafka message value, with the writer schema as
JSON text in the message key. :class:`AlertDecoder` parses each distinct key once (a bounded
cache keyed by the key bytes), or uses a forced schema instead, and turns every message into
either an :class:`Alert` or a :class:`DecodeFailure` — it never raises for bad input.

A table row needs a dozen fields of an alert that carries hundreds (a ZTF alert's 40-odd
previous candidates, an LSST alert's hundreds of previous sources), so the hot path reads the
value with a projected reader schema: fastavro skips what it does not need instead of building
it. The whole record is decoded only when someone asks for it (:meth:`Alert.record`).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException, to_parsing_canonical_form

from fink_tui.core.survey import AlertSummary, schema_survey, summarize, summary_schema

SCHEMA_CACHE_SIZE = 64


@dataclass(frozen=True)
class SchemaInfo:
    """One Avro schema as seen on the stream (or forced), parsed once."""

    fingerprint: str
    """First 16 hex digits of the SHA-256 of the schema's parsing canonical form."""
    schema: dict[str, Any] = field(repr=False, compare=False)
    """The schema as JSON data."""
    parsed: Any = field(repr=False, compare=False)
    """fastavro's parsed schema."""
    forced: bool = False
    """Whether this schema came from a file given by the user rather than the message key."""
    survey: str = "unknown"
    """``ztf``, ``lsst`` or ``unknown``, from the schema's fields."""
    summary_parsed: Any = field(default=None, repr=False, compare=False)
    """A reader schema with only the fields a summary needs (None: read everything)."""

    @property
    def name(self) -> str:
        """The record name, with its namespace when it has one."""
        name = str(self.schema.get("name", "?"))
        namespace = self.schema.get("namespace")
        return f"{namespace}.{name}" if namespace and "." not in name else name


class SchemaError(ValueError):
    """A schema could not be read or parsed."""


def schema_info(schema: dict[str, Any], *, forced: bool = False) -> SchemaInfo:
    """Parse ``schema`` and fingerprint it; raise :class:`SchemaError` if it is not Avro."""
    try:
        parsed = fastavro.parse_schema(schema)
        canonical = to_parsing_canonical_form(parsed)
        survey = schema_survey(schema)
        projected = summary_schema(schema, survey)
        summary_parsed = fastavro.parse_schema(projected) if projected is not None else None
    except (SchemaParseException, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SchemaError(f"not a valid Avro schema: {exc}") from exc
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return SchemaInfo(digest, schema, parsed, forced, survey, summary_parsed)


def load_schema_file(path: str | Path) -> SchemaInfo:
    """Read a schema from an .avsc or .json file, for ``--schema``."""
    try:
        path = Path(path).expanduser()
    except RuntimeError as exc:  # an unknown ~user
        raise SchemaError(f"{path}: {exc}") from exc
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(schema, dict):
        raise SchemaError(f"{path}: a schema must be a JSON object")
    try:
        return schema_info(schema, forced=True)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class MessageRef:
    """Where a message sits on the broker."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None


@dataclass(eq=False, slots=True)
class Alert:
    """A message that decoded: its place, its schema, its summary and its raw bytes."""

    ref: MessageRef
    schema: SchemaInfo
    summary: AlertSummary
    value: bytes = field(repr=False)
    _record: dict[str, Any] | None = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        """The whole alert, decoded on first use (the value is known to be valid)."""
        if self._record is None:
            record = fastavro.schemaless_reader(io.BytesIO(self.value), self.schema.parsed, None)
            assert isinstance(record, dict)  # checked when the alert was decoded
            self._record = record
        return self._record

    def forget_record(self) -> None:
        """Drop the decoded record (several times the raw size); it is decoded again if asked."""
        self._record = None


@dataclass(frozen=True)
class DecodeFailure:
    """A message that did not decode, with the raw bytes kept for inspection."""

    ref: MessageRef
    reason: str
    fingerprint: str | None = None
    """The fingerprint of the schema tried, when one was parsed."""
    key: bytes | None = field(default=None, repr=False)
    value: bytes | None = field(default=None, repr=False)
    seen_at: float = field(default_factory=time.time)


class AlertDecoder:
    """Turns Fink messages into alerts; each distinct key is parsed once."""

    def __init__(
        self,
        forced: SchemaInfo | None = None,
        cache_size: int = SCHEMA_CACHE_SIZE,
        forced_topics: frozenset[str] | None = None,
    ) -> None:
        self.forced = forced
        self.forced_topics = forced_topics
        """Topics the forced schema applies to (None: all)."""
        self.cache_size = cache_size
        self._cache: OrderedDict[bytes, SchemaInfo | str] = OrderedDict()
        self.parses = 0
        """How many keys were parsed (for tests and benchmarks)."""
        self._last_key = b""
        self._last: SchemaInfo | str | None = None

    def schema_for_key(self, key: bytes) -> SchemaInfo | str:
        """The schema carried by ``key``, or the reason it is not one (cached both ways)."""
        # Every message brings a fresh copy of a ~15 kB key: comparing it with the previous
        # one is cheaper than hashing it for the cache.
        if key == self._last_key and self._last is not None:
            return self._last
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self._last_key, self._last = key, cached
            return cached
        self.parses += 1
        result: SchemaInfo | str
        try:
            data = json.loads(key)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            result = f"key is not a JSON schema ({exc})"
        else:
            if not isinstance(data, dict):
                result = f"key is JSON but not a schema (a {type(data).__name__})"
            else:
                try:
                    result = schema_info(data)
                except SchemaError as exc:
                    result = f"key is {exc}"
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self._last_key, self._last = key, result
        return result

    def decode(
        self, ref: MessageRef, key: bytes | None, value: bytes | None
    ) -> Alert | DecodeFailure:
        """Decode one message; failures are returned, never raised."""
        if self.forced is not None and (
            self.forced_topics is None or ref.topic in self.forced_topics
        ):
            info: SchemaInfo | str = self.forced
        elif not key:
            return DecodeFailure(
                ref, "message has no key (Fink puts the alert's schema there)", None, key, value
            )
        else:
            info = self.schema_for_key(key)
        if isinstance(info, str):
            return DecodeFailure(ref, info, None, key, value)
        if not value:
            return DecodeFailure(ref, "message has an empty value", info.fingerprint, key, value)
        stream = io.BytesIO(value)
        try:
            if info.summary_parsed is None:
                record = fastavro.schemaless_reader(stream, info.parsed, None)
            else:
                record = fastavro.schemaless_reader(stream, info.parsed, info.summary_parsed)
        except Exception as exc:  # fastavro raises many kinds on garbage bytes
            why = _describe_read_error(exc)
            return DecodeFailure(ref, why, info.fingerprint, key, value)
        left = len(value) - stream.tell()
        if left:
            return DecodeFailure(
                ref,
                f"{left} bytes left over after the record: value written with another schema",
                info.fingerprint,
                key,
                value,
            )
        if not isinstance(record, dict):
            return DecodeFailure(ref, "value is not an Avro record", info.fingerprint, key, value)
        try:
            summary = summarize(record, info.survey)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            why = f"fields do not make sense for a {info.survey} alert ({exc})"
            return DecodeFailure(ref, why, info.fingerprint, key, value)
        # The whole record is decoded again when asked for, rather than kept in memory.
        return Alert(ref, info, summary, value)


def _describe_read_error(exc: Exception) -> str:
    if isinstance(exc, EOFError | StopIteration):
        return "value ends before the record does (truncated, or another schema)"
    if isinstance(exc, IndexError):
        return "value does not match the schema (a union or enum index is out of range)"
    text = str(exc) or type(exc).__name__
    return f"value does not match the schema ({type(exc).__name__}: {text[:120]})"
