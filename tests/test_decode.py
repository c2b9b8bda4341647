"""Decoding Fink messages: every path, with the real alerts of ../shared/fink-data."""

from __future__ import annotations

import json

import pytest

from fink_tui.core.decode import (
    Alert,
    AlertDecoder,
    DecodeFailure,
    MessageRef,
    SchemaError,
    load_schema_file,
)
from tests.helpers import (
    LSST_ALERTS,
    OLD_ZTF_ALERT,
    SCHEMA_25,
    ZTF_ALERTS,
    ZTF_SCHEMA_JSON,
    read_alerts,
    wire_messages,
)

REF = MessageRef("fink_test_ztf", 3, 42)


def test_ztf_alerts_decode_with_the_schema_from_the_key() -> None:
    """Every real ZTF alert decodes; the summary fields match the full record."""
    decoder = AlertDecoder()
    _, records = read_alerts(ZTF_ALERTS)
    for (key, value), record in zip(wire_messages(ZTF_ALERTS), records, strict=True):
        alert = decoder.decode(REF, key, value)
        assert isinstance(alert, Alert)
        s = alert.summary
        assert s.survey == "ztf"
        assert s.object_id == record["objectId"]
        assert s.source_id == str(record["candid"])
        assert s.ra == record["candidate"]["ra"] and s.dec == record["candidate"]["dec"]
        assert s.mag == pytest.approx(record["candidate"]["magpsf"])
        assert s.band == {1: "g", 2: "r", 3: "i"}[record["candidate"]["fid"]]
        assert s.classification == record["finkclass"]
        assert alert.record()["prv_candidates"] == record["prv_candidates"]


def test_schema_parsed_once_per_distinct_key() -> None:
    """31 alerts with the same key cost one schema parse, not 31 (fink-client parses each)."""
    decoder = AlertDecoder()
    for key, value in wire_messages(ZTF_ALERTS):
        decoder.decode(REF, key, value)
    assert decoder.parses == 1
    for key, value in wire_messages(LSST_ALERTS):
        decoder.decode(REF, key, value)
    assert decoder.parses == 2


def test_schema_cache_is_bounded() -> None:
    """Many distinct keys do not grow the cache past its size."""
    decoder = AlertDecoder(cache_size=3)
    key, value = wire_messages(ZTF_ALERTS)[0]
    schema = json.loads(key)
    for n in range(10):
        variant = json.dumps({**schema, "doc": f"variant {n}"}).encode()
        assert isinstance(decoder.decode(REF, variant, value), Alert)
    assert len(decoder._cache) == 3


def test_lsst_alert_summary() -> None:
    """LSST alerts: diaObjectId, diaSourceId, MJD TAI -> UTC, flux in nJy, band letter."""
    decoder = AlertDecoder()
    _, records = read_alerts(LSST_ALERTS)
    key, value = wire_messages(LSST_ALERTS)[0]
    alert = decoder.decode(REF, key, value)
    assert isinstance(alert, Alert)
    src = records[0]["diaSource"]
    s = alert.summary
    assert s.survey == "lsst"
    assert s.object_id == str(src["diaObjectId"])
    assert s.source_id == str(records[0]["diaSourceId"])
    assert s.flux == pytest.approx(src["psfFlux"])
    assert s.band == src["band"]
    assert s.time is not None and s.time.year == 2026
    assert s.brightness.endswith("nJy")


def test_old_schema_alert_decodes() -> None:
    """An older, smaller Fink schema (2019) still decodes and summarises."""
    key, value = wire_messages(OLD_ZTF_ALERT)[0]
    alert = AlertDecoder().decode(REF, key, value)
    assert isinstance(alert, Alert)
    assert alert.summary.object_id == "ZTF18abvcdqu"
    assert alert.summary.classification == "RRLyr"  # no finkclass: from cdsxmatch


def _failure(result: Alert | DecodeFailure) -> DecodeFailure:
    assert isinstance(result, DecodeFailure), result
    assert result.ref == REF
    return result


def test_no_key() -> None:
    """A message with no key is a failure that says where the schema should be."""
    _, value = wire_messages(ZTF_ALERTS)[0]
    failure = _failure(AlertDecoder().decode(REF, None, value))
    assert "no key" in failure.reason and failure.value == value


def test_key_not_json() -> None:
    """A key that is not JSON is reported as such."""
    _, value = wire_messages(ZTF_ALERTS)[0]
    failure = _failure(AlertDecoder().decode(REF, b"\x00\xffnot json", value))
    assert "not a JSON schema" in failure.reason


def test_key_json_but_not_a_schema() -> None:
    """JSON that is not an Avro schema is reported as such."""
    _, value = wire_messages(ZTF_ALERTS)[0]
    failure = _failure(AlertDecoder().decode(REF, b'{"type": "record", "name": 3}', value))
    assert "not a valid Avro schema" in failure.reason
    failure = _failure(AlertDecoder().decode(REF, b"[1, 2]", value))
    assert "not a schema" in failure.reason


def test_truncated_value() -> None:
    """A value cut short fails with a reason and the schema fingerprint; no exception."""
    key, value = wire_messages(ZTF_ALERTS)[0]
    failure = _failure(AlertDecoder().decode(REF, key, value[: len(value) // 2]))
    assert "ends before the record" in failure.reason or "does not match" in failure.reason
    assert failure.fingerprint is not None and len(failure.fingerprint) == 16


def test_value_written_with_another_schema() -> None:
    """An LSST value under a ZTF key does not pass silently as a garbled alert."""
    key, _ = wire_messages(ZTF_ALERTS)[0]
    _, lsst_value = wire_messages(LSST_ALERTS)[0]
    failure = _failure(AlertDecoder().decode(REF, key, lsst_value))
    assert failure.reason


def test_empty_value() -> None:
    """An empty value is a failure, not an empty alert."""
    key, _ = wire_messages(ZTF_ALERTS)[0]
    assert "empty" in _failure(AlertDecoder().decode(REF, key, b"")).reason


def test_forced_schema_replaces_the_key() -> None:
    """With --schema, the key is ignored: even a message with no key decodes."""
    forced = load_schema_file(ZTF_SCHEMA_JSON)
    assert forced.forced
    _, records = read_alerts(ZTF_ALERTS)
    _, value = wire_messages(ZTF_ALERTS)[0]
    alert = AlertDecoder(forced).decode(REF, None, value)
    assert isinstance(alert, Alert)
    assert alert.schema is forced
    assert alert.summary.object_id == records[0]["objectId"]


def test_forced_schema_that_does_not_fit_fails_cleanly() -> None:
    """A forced schema that does not match the alerts yields failures, not a crash."""
    forced = load_schema_file(SCHEMA_25)
    key, value = wire_messages(LSST_ALERTS)[0]
    failure = _failure(AlertDecoder(forced).decode(REF, key, value))
    assert failure.fingerprint == forced.fingerprint


def test_bad_schema_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Missing, non-JSON and non-Avro schema files raise SchemaError with the path."""
    with pytest.raises(SchemaError, match="cannot read"):
        load_schema_file(tmp_path / "nope.avsc")
    bad = tmp_path / "bad.avsc"
    bad.write_text("{nope")
    with pytest.raises(SchemaError, match="not JSON"):
        load_schema_file(bad)
    bad.write_text('{"type": "record", "fields": "x"}')
    with pytest.raises(SchemaError, match="bad.avsc"):
        load_schema_file(bad)


def test_fingerprint_ignores_whitespace_and_docs() -> None:
    """The same schema sent with different formatting has one fingerprint."""
    key, value = wire_messages(ZTF_ALERTS)[0]
    pretty = json.dumps(json.loads(key), indent=4).encode()
    decoder = AlertDecoder()
    a = decoder.decode(REF, key, value)
    b = decoder.decode(REF, pretty, value)
    assert isinstance(a, Alert) and isinstance(b, Alert)
    assert a.schema.fingerprint == b.schema.fingerprint


def test_forced_schema_only_on_its_topics() -> None:
    """A schema forced for some topics leaves the others on their keys' schemas."""
    forced = load_schema_file(ZTF_SCHEMA_JSON)
    decoder = AlertDecoder(forced, forced_topics=frozenset({"fink_sn_ztf"}))
    ztf_key, ztf_value = wire_messages(ZTF_ALERTS)[0]
    lsst_key, lsst_value = wire_messages(LSST_ALERTS)[0]
    on_ztf = decoder.decode(MessageRef("fink_sn_ztf", 0, 0), None, ztf_value)
    on_lsst = decoder.decode(MessageRef("fink_sn_lsst", 0, 0), lsst_key, lsst_value)
    assert isinstance(on_ztf, Alert) and on_ztf.schema is forced
    assert isinstance(on_lsst, Alert) and on_lsst.summary.survey == "lsst"


def test_fields_out_of_range_are_a_failure_not_a_crash() -> None:
    """An alert whose time is absurd (1e300 days) is a decode failure; NaN is just missing."""
    import io

    import fastavro

    schema, records = read_alerts(ZTF_ALERTS)
    key = wire_messages(ZTF_ALERTS)[0][0]
    parsed = fastavro.parse_schema(schema)

    def wire(jd: float) -> bytes:
        record = {**records[0], "candidate": {**records[0]["candidate"], "jd": jd}}
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, record)
        return buf.getvalue()

    failure = AlertDecoder().decode(REF, key, wire(1e300))
    assert isinstance(failure, DecodeFailure) and "do not make sense" in failure.reason
    alert = AlertDecoder().decode(REF, key, wire(float("nan")))
    assert isinstance(alert, Alert) and alert.summary.time is None
