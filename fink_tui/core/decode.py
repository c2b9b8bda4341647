"""Decoding Fink Livestream messages.

Fink sends each alert as schemaless Avro in the Kafka message value, with the writer schema as
JSON text in the message key. :class:`AlertDecoder` parses each distinct key once (a bounded
cache keyed by the key bytes), or uses a forced schema instead, and turns every message into
either an :class:`Alert` or a :class:`DecodeFailure` — it never raises for bad input.

A table row needs a dozen fields of an alert that carries hundreds (a ZTF alert's 40-odd
previous candidates, an LSST alert's hundreds of previous sources), so the hot path reads the
value with a projected reader schema: fastavro skips what it does not need instead of building
it. The whole record is decoded only when someone asks for it (:meth:`Alert.record`), which
raises only :class:`RecordError`.

No message can crash, hang or bloat the stream. A key is checked once, when it is parsed: its
size and nesting are capped, and a schema whose values fastavro's C reader cannot read safely is
refused or read another way: an array of items that take no bytes (its declared length is all
the value says, so ``2**62`` nulls would be read one by one) is refused; a recursive schema is
read by fastavro's pure-Python reader, which Python's recursion limit stops (the C reader would
overflow the C stack); a decimal is checked against its length before it is converted (the
conversion costs the square of the length). Anything else a hostile value can raise while it is
read or summarised becomes a :class:`DecodeFailure`.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from fastavro._read_py import schemaless_reader as python_schemaless_reader
from fastavro.read import LOGICAL_READERS
from fastavro.schema import SchemaParseException, UnknownType, to_parsing_canonical_form

from fink_tui.core.survey import AlertSummary, schema_survey, summarize, summary_schema

SCHEMA_CACHE_SIZE = 64
MAX_KEY_BYTES = 1 << 20
"""Longest key read as a schema (Fink's keys take 9-26 kB; Kafka's default message limit 1 MB)."""
MAX_SCHEMA_FILE_BYTES = 16 << 20
"""Longest schema file read for ``--schema`` (Fink's pretty-printed LSST schema takes 352 kB)."""
MAX_SCHEMA_DEPTH = 64
"""Deepest JSON nesting of a schema (Fink's nest 9 to 12 levels)."""
MAX_DECIMAL_BYTES = 1024
"""Longest decimal read (2,466 digits); converting one costs the square of its length."""


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
    read_parsed: Any = field(default=None, repr=False, compare=False)
    """The parsed schema values are read with: ``parsed``, or a copy whose decimals are read
    through a length check (None: ``parsed``)."""
    recursive: bool = False
    """Whether a named type contains itself: its values are read by fastavro's pure-Python
    reader, which Python's recursion limit stops where the C reader would crash."""

    @property
    def name(self) -> str:
        """The record name, with its namespace when it has one."""
        name = str(self.schema.get("name", "?"))
        namespace = self.schema.get("namespace")
        return f"{namespace}.{name}" if namespace and "." not in name else name


class SchemaError(ValueError):
    """A schema could not be read or parsed."""


class RecordError(ValueError):
    """A whole alert could not be decoded (:meth:`Alert.record`); the text is one line."""


def schema_info(schema: dict[str, Any], *, forced: bool = False) -> SchemaInfo:
    """Parse ``schema`` and fingerprint it; raise :class:`SchemaError` if it is not Avro, or
    not one whose values can be read safely."""
    try:
        _check_nesting(schema)
        parsed = fastavro.parse_schema(schema)
        canonical = to_parsing_canonical_form(parsed)
        shape = _SchemaShape(parsed)
        readable = _with_checked_decimals(schema) if shape.decimals else schema
        read_parsed = parsed if readable is schema else fastavro.parse_schema(readable)
        survey = schema_survey(schema)
        projected = summary_schema(readable, survey)
        summary_parsed = fastavro.parse_schema(projected) if projected is not None else None
    except SchemaError:
        raise
    except RecursionError as exc:
        raise SchemaError(f"not a schema fink-tui reads: it nests too deep ({exc})") from exc
    except Exception as exc:  # fastavro and the survey mapping raise many kinds on odd JSON
        text = _one_line(exc)
        if isinstance(exc, UnknownType):
            text = f"it names a type it does not define: {text}"
        elif not isinstance(exc, SchemaParseException):
            text = f"{type(exc).__name__}: {text}"
        raise SchemaError(f"not a valid Avro schema: {text}") from exc
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return SchemaInfo(
        digest, schema, parsed, forced, survey, summary_parsed, read_parsed, shape.recursive
    )


def load_schema_file(path: str | Path) -> SchemaInfo:
    """Read a schema from an .avsc or .json file, for ``--schema``."""
    try:
        path = Path(path).expanduser()
    except RuntimeError as exc:  # an unknown ~user
        raise SchemaError(f"{path}: {exc}") from exc
    try:
        with path.open("rb") as fh:
            text = fh.read(MAX_SCHEMA_FILE_BYTES + 1)
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if len(text) > MAX_SCHEMA_FILE_BYTES:
        raise SchemaError(f"{path}: over {MAX_SCHEMA_FILE_BYTES >> 20} MiB, not a schema")
    try:
        schema = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (ValueError, RecursionError) as exc:
        raise SchemaError(f"{path}: not JSON ({_json_problem(exc)})") from exc
    if not isinstance(schema, dict):
        raise SchemaError(f"{path}: a schema must be a JSON object")
    try:
        return schema_info(schema, forced=True)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a message sits on the broker (slots: every alert kept has one)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None

    @property
    def place(self) -> str:
        """``topic [partition] offset N``: how messages are named to the person."""
        return f"{self.topic} [{self.partition}] offset {self.offset}"


@dataclass(eq=False, slots=True)
class Alert:
    """A message that decoded: its place, its schema, its summary and its raw bytes."""

    ref: MessageRef
    schema: SchemaInfo
    summary: AlertSummary
    value: bytes | None = field(repr=False)
    """The raw bytes; None once released (:meth:`release`): the model holds the bytes of the
    newest alerts only, within a budget, and the source fetches the others again to open or
    save them (:meth:`with_value`)."""
    _record: dict[str, Any] | None = field(default=None, repr=False)
    fields: dict[str, Any] | None = field(default=None, repr=False)
    """Values of Avro paths a query reads, by path, once read (see ``core/query.py``)."""

    def record(self) -> dict[str, Any]:
        """The whole alert, decoded on first use.

        Raises :class:`RecordError` (one line, naming the message) if it does not decode: a
        value whose summary decoded can still hold bad bytes in the fields the summary skipped.
        """
        if self._record is None:
            where = self.ref.place
            if self.value is None:
                raise RecordError(f"{where}: its bytes are no longer held")
            try:
                record, left = _read(self.schema, self.value, projected=False)
            except Exception as exc:  # fastavro raises many kinds on garbage bytes
                why = _describe_read_error(exc)
                text = f"{where}: the whole alert does not decode: {why}"
                raise RecordError(_one_line(text, 300)) from exc
            if left or not isinstance(record, dict):
                why = "bytes left over" if left else "not an Avro record"
                text = f"{where}: the whole alert does not decode: {why}"
                raise RecordError(_one_line(text, 300))
            self._record = record
        return self._record

    def forget_record(self) -> None:
        """Drop the decoded record (several times the raw size); it is decoded again if asked."""
        self._record = None

    @property
    def held(self) -> bool:
        """Whether the raw bytes are here (not released)."""
        return self.value is not None

    def release(self) -> None:
        """Let the raw bytes (and the decoded record) go; the summary, place and the query
        fields read so far stay."""
        self.value = None
        self._record = None

    def with_value(self, value: bytes | None) -> Alert:
        """A copy of the alert holding ``value`` (its bytes, or None): one whose bytes are
        fetched again, or kept by a screen, leaves the model's own within its budget."""
        return Alert(self.ref, self.schema, self.summary, value, fields=self.fields)


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


NO_KEY = "message has no key (Fink puts the alert's schema there)"


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

    def schema_for_key(self, key: bytes | None) -> SchemaInfo | str:
        """The schema carried by ``key``, or the reason it is not one (cached both ways).

        Never raises.
        """
        # Every message brings a fresh copy of a ~15 kB key: comparing it with the previous
        # one is cheaper than hashing it for the cache.
        if key == self._last_key and self._last is not None:
            return self._last
        try:
            return self._parse_key(key)
        except Exception as exc:  # a last resort: the known cases are reasons already
            return f"key is not a schema fink-tui can read ({_one_line(exc)})"

    def _parse_key(self, key: bytes | None) -> SchemaInfo | str:
        if not key:
            return NO_KEY
        if len(key) > MAX_KEY_BYTES:  # not cached: the cache would hold it
            return f"key is {len(key):,} bytes, too long for a schema (at most {MAX_KEY_BYTES:,})"
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self._last_key, self._last = key, cached
            return cached
        self.parses += 1
        result: SchemaInfo | str
        try:
            data = json.loads(key)
        except Exception as exc:  # the json module raises several kinds, not all its own
            result = f"key is not a JSON schema ({_json_problem(exc)})"
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
        try:
            return self._decode(ref, key, value)
        except Exception as exc:  # a last resort: the known cases are failures already
            why = f"message does not decode ({_one_line(exc)})"
            return DecodeFailure(ref, why, None, key, value)

    def schema_info_for(self, ref: MessageRef, key: bytes | None) -> SchemaInfo | str:
        """The schema a message is decoded with (forced, or its key's), or why there is none."""
        if self.forced is not None and (
            self.forced_topics is None or ref.topic in self.forced_topics
        ):
            return self.forced
        if not key:
            return NO_KEY
        try:
            return self.schema_for_key(key)
        except Exception as exc:  # a last resort, as in decode
            return f"key does not parse ({_one_line(exc)})"

    def _decode(
        self, ref: MessageRef, key: bytes | None, value: bytes | None
    ) -> Alert | DecodeFailure:
        info = self.schema_info_for(ref, key)
        if isinstance(info, str):
            return DecodeFailure(ref, info, None, key, value)
        if not value:
            return DecodeFailure(ref, "message has an empty value", info.fingerprint, key, value)
        try:
            record, left = _read(info, value, projected=True)
        except Exception as exc:  # fastavro raises many kinds on garbage bytes
            why = _describe_read_error(exc)
            return DecodeFailure(ref, why, info.fingerprint, key, value)
        if left < 0:  # a skip seeked past the end
            why = _describe_read_error(EOFError())
            return DecodeFailure(ref, why, info.fingerprint, key, value)
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
        except Exception as exc:  # a hostile value can hold anything the schema allows
            why = f"fields do not make sense for a {info.survey} alert ({_one_line(exc)})"
            return DecodeFailure(ref, why, info.fingerprint, key, value)
        # The whole record is decoded again when asked for, rather than kept in memory.
        return Alert(ref, info, summary, value)


def _read(info: SchemaInfo, value: bytes, *, projected: bool) -> tuple[Any, int]:
    """Read ``value`` (only the summary's fields if ``projected``): the record, bytes left."""
    stream = io.BytesIO(value)
    writer = info.parsed if info.read_parsed is None else info.read_parsed
    reader = info.summary_parsed if projected else None
    read = python_schemaless_reader if info.recursive else fastavro.schemaless_reader
    record = read(stream, writer, reader)
    return record, len(value) - stream.tell()


def _describe_read_error(exc: BaseException) -> str:
    if isinstance(exc, EOFError | StopIteration):
        return "value ends before the record does (truncated, or another schema)"
    if isinstance(exc, IndexError):
        return "value does not match the schema (a union or enum index is out of range)"
    if isinstance(exc, RecursionError):
        return "value nests deeper than fink-tui reads (the schema is recursive)"
    if isinstance(exc, UnicodeDecodeError):
        return f"value has a string that is not UTF-8 ({exc.reason})"
    if isinstance(exc, MemoryError):
        return "value claims more memory than fink-tui reads"
    if isinstance(exc, DecimalTooLong):
        return str(exc)
    return f"value does not match the schema ({type(exc).__name__}: {_one_line(exc, 120)})"


def _json_problem(exc: BaseException) -> str:
    """What is wrong with a key or file that ``json.loads`` refused, for a user."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: {exc.reason} at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "it nests too deep"
    if isinstance(exc, json.JSONDecodeError):
        return _one_line(exc)
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return f"a number in it has over {sys.get_int_max_str_digits():,} digits"
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _one_line(exc: BaseException | str, limit: int = 200) -> str:
    """An exception's text (or a text) on one line, cut at ``limit`` characters."""
    try:
        text = exc if isinstance(exc, str) else str(exc)
    except Exception:  # a hostile __str__
        text = ""
    text = " ".join(text[: limit * 2].split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_nesting(schema: Any) -> None:
    """Refuse JSON nested over ``MAX_SCHEMA_DEPTH`` deep: fastavro walks schemas recursively."""
    stack = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaError(
                f"not a schema fink-tui reads: nested over {MAX_SCHEMA_DEPTH} levels deep"
            )
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


_MIN_BYTES = {
    "null": 0,
    "boolean": 1,
    "int": 1,
    "long": 1,
    "float": 4,
    "double": 8,
    "bytes": 1,
    "string": 1,
}
"""The fewest bytes a value of each primitive type takes."""


class _SchemaShape:
    """What a parsed schema means for reading its values safely, found in one walk.

    Refuses (:class:`SchemaError`) arrays whose items can take no bytes: their length is only
    what the value claims, and fastavro builds (or skips) every item it claims, so 11 bytes can
    ask for 2**62 of them. Notes recursion and decimals, which are read another way.
    """

    def __init__(self, parsed: Any) -> None:
        self.recursive = False
        """Whether a named type contains itself (or a name could not be followed)."""
        self.decimals = False
        """Whether a decimal logical type appears."""
        self._sizes: dict[str, int | None] = {}
        """Named type -> the fewest bytes a value takes (None while it is being walked)."""
        self._min_bytes(parsed)

    def _min_bytes(self, schema: Any) -> int:
        if isinstance(schema, str):
            if schema in _MIN_BYTES:
                return _MIN_BYTES[schema]
            size = self._sizes.get(schema)
            if size is None:  # a reference to a type being walked: recursion
                self.recursive = True
                return 1  # only a union, array or map can hold it (else no value exists)
            return size
        if isinstance(schema, list):
            for branch in schema:
                self._min_bytes(branch)
            return 1  # the branch index
        if not isinstance(schema, dict):
            raise SchemaError(f"not a valid Avro schema: unexpected {type(schema).__name__}")
        kind = schema.get("type")
        if schema.get("logicalType") == "decimal":
            self.decimals = True
        if kind in ("record", "error"):
            name = str(schema["name"])
            self._sizes[name] = None
            total = sum(self._min_bytes(f["type"]) for f in schema["fields"])
            self._sizes[name] = total
            return total
        if kind == "enum":
            self._sizes[str(schema["name"])] = 1
            return 1
        if kind == "fixed":
            size = schema["size"]
            if not isinstance(size, int) or size < 0:
                raise SchemaError(f"not a valid Avro schema: fixed size {size!r}")
            self._sizes[str(schema["name"])] = size
            return size
        if kind == "array":
            if self._min_bytes(schema["items"]) == 0:
                raise SchemaError(
                    "not a schema fink-tui reads: an array of items that take no bytes (null, "
                    "an empty record, fixed of size 0) can claim any length"
                )
            return 1  # the item count
        if kind == "map":
            self._min_bytes(schema["values"])
            return 1
        return self._min_bytes(kind)  # a primitive with a logical type, or a nested type


CHECKED_DECIMAL = "fink-tui-checked-decimal"
"""The logical type decimals are read as: fastavro's decimal, after a length check."""


class DecimalTooLong(ValueError):
    """A decimal in a value is longer than :data:`MAX_DECIMAL_BYTES`."""


def _with_checked_decimals(node: Any) -> Any:
    """A copy of a JSON schema whose decimals are read as :data:`CHECKED_DECIMAL`."""
    if isinstance(node, list):
        return [_with_checked_decimals(child) for child in node]
    if not isinstance(node, dict):
        return node
    copy = {name: _with_checked_decimals(child) for name, child in node.items()}
    if copy.get("logicalType") == "decimal" and copy.get("type") in ("bytes", "fixed"):
        copy["logicalType"] = CHECKED_DECIMAL
    return copy


def _checked_decimal_reader(kind: str) -> Callable[..., Any]:
    convert = LOGICAL_READERS[f"{kind}-decimal"]

    def read(data: bytes, writer_schema: Any = None, reader_schema: Any = None) -> Any:
        if len(data) > MAX_DECIMAL_BYTES:
            raise DecimalTooLong(
                f"value has a decimal of {len(data):,} bytes (fink-tui reads up to "
                f"{MAX_DECIMAL_BYTES:,}, {MAX_DECIMAL_BYTES * 8 * 0.30103:,.0f} digits)"
            )
        return convert(data, writer_schema, reader_schema)

    return read


# A logical type of fink-tui's own name: nothing else fastavro reads changes.
for _kind in ("bytes", "fixed"):
    LOGICAL_READERS[f"{_kind}-{CHECKED_DECIMAL}"] = _checked_decimal_reader(_kind)
