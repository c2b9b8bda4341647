"""Fink's wire format, the writing side: :func:`encode` turns an alert record into the Kafka
``(key, value)`` pair Fink sends, the writer schema's JSON in the key and schemaless Avro in
the value.

The demo publishes its generated alerts with it; the tests and the benchmarks encode Fink's
real alerts with it. Reading is :mod:`fink_tui.core.decode`'s job.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import fastavro

Schema = dict[str, Any]
"""An Avro schema as parsed JSON."""
Record = dict[str, Any]
"""An alert (or any Avro record) as Python values."""

_PARSED: dict[int, tuple[Schema, bytes, Any]] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_MAX = 32


def prepare(schema: Schema) -> tuple[bytes, Any]:
    """The Kafka key of ``schema`` (its JSON) and fastavro's parsed form of it.

    Each distinct schema object is serialised and parsed once; treat schemas as immutable.
    """
    # Keyed by identity (the entry keeps the dict alive, so its id cannot be reused):
    # json.dumps of a big schema on every message would cost more than the encoding itself.
    entry = _PARSED.get(id(schema))
    if entry is None or entry[0] is not schema:
        key = json.dumps(schema).encode()
        entry = (schema, key, fastavro.parse_schema(schema))
        with _PARSED_LOCK:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[id(schema)] = entry
    return entry[1], entry[2]


def encode(record: Record, schema: Schema) -> tuple[bytes, bytes]:
    """``(key, value)`` as Fink sends an alert: the schema's JSON, and schemaless Avro.

    Each distinct schema object is parsed once; treat schemas as immutable.
    """
    key, parsed = prepare(schema)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, record)
    return key, buffer.getvalue()


def avro_long(n: int) -> bytes:
    """``n`` in Avro's encoding of ints and longs: zig-zag, then a base-128 varint."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
