"""Fink-like messages that must fail to decode, for the failure paths of the app and tests."""

from __future__ import annotations

import io
import json

import fastavro

from fink_tui.core.wire import Schema, encode, prepare
from fink_tui.demo.factory import AlertFactory
from fink_tui.demo.schemas import LSST_SCHEMA, ZTF_SCHEMA_V1, ZTF_SCHEMA_V2

# Parses as JSON, but "str" is no Avro type (a hand-written schema with a Python-ism).
_NOT_A_SCHEMA = json.dumps(
    {"type": "record", "name": "alert", "fields": [{"name": "objectId", "type": "str"}]}
).encode()


def _raises(schema: Schema, value: bytes) -> bool:
    _, parsed = prepare(schema)
    try:
        fastavro.schemaless_reader(io.BytesIO(value), parsed, None)
    except Exception:  # fastavro raises many kinds on bytes that don't fit
        return True
    return False


def malformed_messages(factory: AlertFactory) -> list[tuple[bytes | None, bytes, str]]:
    """Fink-like messages that must fail to decode, as ``(key, value, description)``.

    A truncated value, a key that is not JSON, a key that is JSON but not an Avro schema, no
    key at all, and a value written with another schema than the key carries. Each fails in
    fastavro (or before it, in ``json.loads`` / ``parse_schema``), which the helper checks.
    """
    record = factory.ztf_alert()
    key, value = encode(record, ZTF_SCHEMA_V1)
    messages: list[tuple[bytes | None, bytes, str]] = [
        (key, value[: len(value) // 2], "value truncated to half its length"),
        (str(record["objectId"]).encode(), value, "key is the objectId, not a JSON schema"),
        (_NOT_A_SCHEMA, value, "key is JSON but not an Avro schema (unknown type)"),
        (None, value, "no key (Fink puts the schema there)"),
    ]
    # Bytes written with one schema sometimes read as garbage under another without an error;
    # keep only a pairing that really fails.
    for _ in range(20):
        _, lsst_value = encode(factory.lsst_alert(), LSST_SCHEMA)
        if _raises(ZTF_SCHEMA_V1, lsst_value):
            messages.append((key, lsst_value, "LSST alert under a ZTF schema key"))
            break
    for _ in range(20):
        _, v2_value = encode(factory.ztf_alert(schema=ZTF_SCHEMA_V2), ZTF_SCHEMA_V2)
        if _raises(ZTF_SCHEMA_V1, v2_value):
            messages.append((key, v2_value, "ZTF schema 4.02 alert under a 4.01 key"))
            break
    return messages
