"""Decoding Fink messages: every path, with the real alerts of ../shared/fink-data."""

from __future__ import annotations

import json

import pytest

from fink_tui.core.decode import (
    Alert,
    AlertDecoder,
    DecodeFailure,
    MessageRef,
    RecordError,
    SchemaError,
    load_schema_file,
)
from fink_tui.core.wire import avro_long
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


# Poison messages (issue 13): each reproduction found by the fuzzing, kept as a regression test.

NODE_SCHEMA = (
    b'{"type":"record","name":"node","fields":[{"name":"v","type":"int"},'
    b'{"name":"next","type":["null","node"]}]}'
)
NULL_ARRAY_SCHEMA = (
    b'{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"array","items":"null"}}]}'
)


def test_key_with_a_number_over_python_s_digit_limit() -> None:
    """``b"1" * 5000``: json.loads raises a bare ValueError (4,300 digits); a failure instead."""
    failure = _failure(AlertDecoder().decode(REF, b"1" * 5000, b"\x00"))
    assert failure.reason == "key is not a JSON schema (a number in it has over 4,300 digits)"


def test_key_nested_deeper_than_the_json_parser_goes() -> None:
    """``[`` * 5000: json.loads raises RecursionError; a failure instead."""
    failure = _failure(AlertDecoder().decode(REF, b"[" * 5000 + b"]" * 5000, b"\x00"))
    assert failure.reason == "key is not a JSON schema (it nests too deep)"


def test_key_nested_deeper_than_any_schema() -> None:
    """JSON that parses but nests 200 deep is refused before fastavro walks it."""
    key = b'{"type":"record","name":"r","fields":[],"doc":' + b"[" * 200 + b"]" * 200 + b"}"
    failure = _failure(AlertDecoder().decode(REF, key, b"\x00"))
    assert "nested over 64 levels deep" in failure.reason


def test_recursive_schema_deep_value_is_a_failure_not_a_segfault() -> None:
    """5,000 nested nodes overflowed the C stack of fastavro's reader (segfault): a recursive
    schema is read by the pure-Python reader, which Python's recursion limit stops."""
    decoder = AlertDecoder()
    failure = _failure(decoder.decode(REF, NODE_SCHEMA, b"\x02\x02" * 5000 + b"\x02\x00"))
    assert failure.reason == "value nests deeper than fink-tui reads (the schema is recursive)"
    info = decoder.schema_for_key(NODE_SCHEMA)
    assert not isinstance(info, str) and info.recursive


def test_recursive_schema_shallow_value_decodes() -> None:
    """A recursive schema is valid Avro: a list of three nodes decodes, in full too."""
    alert = AlertDecoder().decode(REF, NODE_SCHEMA, b"\x02\x02\x04\x02\x06\x00")
    assert isinstance(alert, Alert) and alert.summary.survey == "unknown"
    assert alert.record() == {"v": 1, "next": {"v": 2, "next": {"v": 3, "next": None}}}


def test_array_of_items_that_take_no_bytes_is_refused() -> None:
    """A count of 2**62 nulls in 11 bytes made fastavro build a list until 3 GB: the schema is
    refused when the key is parsed, once."""
    decoder = AlertDecoder()
    value = avro_long(2**62) + b"\x00"
    assert len(value) == 11
    for _ in range(3):
        failure = _failure(decoder.decode(REF, NULL_ARRAY_SCHEMA, value))
        assert "array of items that take no bytes" in failure.reason
    assert decoder.parses == 1
    for items in (
        b'{"type":"record","name":"e","fields":[]}',
        b'{"type":"fixed","name":"f","size":0}',
    ):
        key = b'{"type":"array","items":%s}' % items
        assert "take no bytes" in _failure(decoder.decode(REF, key, value)).reason


def test_huge_counts_and_lengths_end_at_the_bytes() -> None:
    """Counts and lengths that claim more than the value holds end as truncated values."""
    decoder = AlertDecoder()
    cases = {
        '{"type":"map","values":"null"}': avro_long(2**62) + b"\x00",
        '{"type":"array","items":"boolean"}': avro_long(2**62) + b"\x01",
        '{"type":"array","items":"int"}': avro_long(-(2**62)) + avro_long(2**62) + b"\x02",
        '{"type":"record","name":"s","fields":[{"name":"s","type":"string"}]}': avro_long(2**62),
        '{"type":"record","name":"b","fields":[{"name":"b","type":"bytes"}]}': avro_long(-5) + b"x",
        '{"type":"fixed","name":"f","size":1000000000000}': b"x",
    }
    for key, value in cases.items():
        assert _failure(decoder.decode(REF, key.encode(), value)).reason, key


def test_long_decimal_is_a_failure_not_a_hang() -> None:
    """Converting a decimal costs the square of its length (100 kB took a second, 1 MB over a
    minute): a decimal over 1 kB is a failure; a normal one still decodes to a Decimal."""
    from decimal import Decimal

    key = (
        b'{"type":"record","name":"d","fields":[{"name":"x","type":'
        b'{"type":"bytes","logicalType":"decimal","precision":1000000000,"scale":2}}]}'
    )
    long_value = b"\x7f" + b"\xff" * 99_999
    failure = _failure(AlertDecoder().decode(REF, key, avro_long(len(long_value)) + long_value))
    assert "decimal of 100,000 bytes" in failure.reason
    alert = AlertDecoder().decode(REF, key, avro_long(2) + b"\x30\x39")
    assert isinstance(alert, Alert) and alert.record() == {"x": Decimal("123.45")}


def test_key_too_long_is_not_parsed_nor_cached() -> None:
    """A key over 1 MiB is refused before json.loads, and the cache does not keep it."""
    decoder = AlertDecoder()
    key = b" " * (2 << 20) + b"{}"
    assert "too long for a schema" in _failure(decoder.decode(REF, key, b"\x00")).reason
    assert decoder.parses == 0 and not decoder._cache


def test_no_key_and_no_value_never_raise() -> None:
    """None and empty keys and values are failures, from decode and schema_for_key alike."""
    decoder = AlertDecoder()
    for key in (None, b""):
        for value in (None, b""):
            assert _failure(decoder.decode(REF, key, value)).reason
        assert "no key" in str(decoder.schema_for_key(key))


def test_any_summary_error_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the survey mapping raises on a hostile record is a failure, not an exception."""
    import fink_tui.core.decode as decode

    def explode(record: object, survey: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(decode, "summarize", explode)
    key, value = wire_messages(ZTF_ALERTS)[0]
    failure = _failure(AlertDecoder().decode(REF, key, value))
    assert failure.reason == "fields do not make sense for a ztf alert (boom)"


def test_whole_record_fails_with_record_error_only() -> None:
    """A bit flip in a string the summary skips (a cutout's file name) decodes for the table but
    not in full: record() raises RecordError, one line, naming topic, partition and offset."""
    _, records = read_alerts(ZTF_ALERTS)
    key, value = wire_messages(ZTF_ALERTS)[0]
    at = value.index(records[0]["cutoutScience"]["fileName"].encode())
    flipped = value[:at] + b"\xff" + value[at + 1 :]
    alert = AlertDecoder().decode(REF, key, flipped)
    assert isinstance(alert, Alert) and alert.summary.object_id == records[0]["objectId"]
    with pytest.raises(RecordError) as caught:
        alert.record()
    text = str(caught.value)
    assert text.startswith("fink_test_ztf [3] offset 42: the whole alert does not decode")
    assert "not UTF-8" in text and "\n" not in text
    with pytest.raises(RecordError):  # and again: nothing was kept
        alert.record()


def test_schema_file_that_is_not_text_or_too_deep(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Binary, over-deep and over-long-number schema files are SchemaErrors naming the file."""
    bad = tmp_path / "bad.avsc"
    for content, words in (
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nests too deep"),
        (b"1" * 5000, "over 4,300 digits"),
    ):
        bad.write_bytes(content)
        with pytest.raises(SchemaError, match=words):
            load_schema_file(bad)
