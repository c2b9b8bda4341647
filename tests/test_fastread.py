"""The batch fast path gives exactly what AlertDecoder.decode gives: on every schema of
../shared/fink-data (real alerts, and random records for the schemas that come without
alerts), around malformed values, and where the Rust reader is not used."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fink_tui.core import fastread
from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef
from fink_tui.core.fastread import (
    VERIFY_COUNT,
    BatchDecoder,
    Verdict,
    decode_messages,
    summary_difference,
)
from fink_tui.core.wire import avro_long, encode
from tests.helpers import FINK_DATA, LSST_ALERTS, ZTF_ALERTS, wire_messages

AVRO_FILES = sorted(FINK_DATA.glob("*/*.avro"))
SCHEMA_FILES = sorted([*FINK_DATA.glob("schemas/*.avsc"), *FINK_DATA.glob("*/*.json")])

pytestmark = pytest.mark.skipif(not AVRO_FILES, reason="../shared/fink-data is not there")


def messages_of(pairs: Any, n: int, topic: str = "t") -> list[tuple[MessageRef, bytes, bytes]]:
    """``n`` messages cycling through ``pairs`` of (key, value), offsets 0..n-1."""
    pairs = list(pairs)
    return [(MessageRef(topic, 0, i), *pairs[i % len(pairs)]) for i in range(n)]


def assert_same(fast: list[Alert | DecodeFailure], slow: list[Alert | DecodeFailure]) -> None:
    """Message by message: the same kind, schema, summary (floats bit for bit) or reason."""
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert type(a) is type(b), (a, b)
        assert a.ref == b.ref and a.value == b.value
        if isinstance(a, Alert) and isinstance(b, Alert):
            assert a.schema == b.schema and a.schema.schema == b.schema.schema
            assert summary_difference(a.summary, b.summary) == "", a.ref
        else:
            assert isinstance(a, DecodeFailure) and isinstance(b, DecodeFailure)
            assert (a.reason, a.fingerprint, a.key) == (b.reason, b.fingerprint, b.key)


def both_ways(messages: list[tuple[MessageRef, bytes, bytes]]) -> BatchDecoder:
    """Decode ``messages`` twice with the fast path (verification, then fast) and compare with
    AlertDecoder.decode each time; return the batch decoder."""
    slow = [AlertDecoder().decode(*m) for m in messages]
    batch = BatchDecoder(AlertDecoder())
    assert_same(batch.decode(messages), slow)
    assert_same(batch.decode(messages), slow)
    return batch


@pytest.mark.parametrize("path", AVRO_FILES, ids=lambda p: p.name)
def test_real_alerts_take_the_fast_path_with_identical_summaries(path: Path) -> None:
    """Every writer schema inside the .avro files is verified and then read by the Rust reader."""
    messages = messages_of(wire_messages(path), 40)
    batch = both_ways(messages)
    info = batch.decoder.schema_for_key(messages[0][1])
    assert not isinstance(info, str)
    assert batch.verdict(info)[0] is Verdict.FAST, batch.verdict(info)
    assert batch.fast_reads == 2 * len(messages) - VERIFY_COUNT  # all but the verified ones


def test_only_the_first_messages_of_a_schema_are_read_both_ways() -> None:
    """A new schema's first VERIFY_COUNT messages go through fastavro as well; the rest of that
    same batch is read by the Rust reader alone, with the same summaries."""
    messages = messages_of(wire_messages(LSST_ALERTS), 3 * VERIFY_COUNT)
    slow = [AlertDecoder().decode(*m) for m in messages]
    decoder = AlertDecoder()
    through_fastavro: list[MessageRef] = []
    original = decoder.decode

    def counted(ref: MessageRef, key: bytes | None, value: bytes | None) -> Any:
        through_fastavro.append(ref)
        return original(ref, key, value)

    decoder.decode = counted  # type: ignore[method-assign]
    batch = BatchDecoder(decoder)
    assert_same(batch.decode(messages), slow)
    assert through_fastavro == [ref for ref, _, _ in messages[:VERIFY_COUNT]]
    assert batch.fast_reads == len(messages) - VERIFY_COUNT


# --- random records for the schemas that come without alerts -----------------------------------


class RecordMaker:
    """Random values of an Avro schema (JSON form), with the nulls, NaNs, extremes and odd
    strings a summary has to survive."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.named: dict[str, Any] = {}

    def make(self, schema: Any, namespace: str = "") -> Any:
        rng = self.rng
        if isinstance(schema, list):
            return self.make(rng.choice(schema), namespace)
        if isinstance(schema, str):
            if schema in self.named:
                return self.make(self.named[schema], namespace)
            if "." not in schema and f"{namespace}.{schema}" in self.named:
                return self.make(self.named[f"{namespace}.{schema}"], namespace)
            return self.primitive(schema)
        kind = schema["type"]
        if kind in ("record", "enum", "fixed"):
            space = schema.get("namespace", namespace)
            full = schema["name"] if "." in schema["name"] else f"{space}.{schema['name']}"
            self.named[full.lstrip(".")] = schema
            self.named.setdefault(schema["name"], schema)
            namespace = full.rpartition(".")[0]
        if kind == "record":
            return {f["name"]: self.make(f["type"], namespace) for f in schema["fields"]}
        if kind == "enum":
            return rng.choice(schema["symbols"])
        if kind == "fixed":
            return rng.randbytes(schema["size"])
        if kind == "array":
            return [self.make(schema["items"], namespace) for _ in range(rng.randrange(3))]
        if kind == "map":
            values = schema["values"]
            return {f"k{i}": self.make(values, namespace) for i in range(rng.randrange(2))}
        return self.primitive(kind)

    def primitive(self, kind: str) -> Any:
        rng = self.rng
        if kind == "null":
            return None
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "int":
            return rng.choice([0, 1, 2, 3, -1, 2**31 - 1, -(2**31), rng.randrange(-1000, 1000)])
        if kind == "long":
            return rng.choice([0, 1, -1, 2**63 - 1, -(2**63), rng.randrange(-(2**40), 2**40)])
        if kind in ("float", "double"):
            value = rng.choice(
                [0.0, -0.0, float("nan"), float("inf"), 1e-30, rng.uniform(-400, 400), 2451545.5]
            )
            return value
        if kind == "string":
            return rng.choice(["", "Unknown", "nan", "SN Ia", "ZTF21abcdefg", "é✓", "r", "g"])
        if kind == "bytes":
            return rng.randbytes(rng.randrange(4))
        raise AssertionError(kind)


def generated_messages(schema: dict[str, Any], n: int, seed: int) -> list[tuple[bytes, bytes]]:
    maker = RecordMaker(random.Random(seed))
    return [encode(maker.make(schema), schema) for _ in range(n)]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_files_with_random_records(path: Path) -> None:
    """The .avsc and .json schemas, with generated records: fast path == fastavro. jetliner
    refuses a container header over 64 KiB, which the LSST transfer schema (70 kB even compact)
    needs: that one is read by fastavro."""
    schema = json.loads(path.read_text())
    messages = messages_of(generated_messages(schema, 30, seed=len(path.name)), 30)
    batch = both_ways(messages)
    info = batch.decoder.schema_for_key(messages[0][1])
    assert not isinstance(info, str)
    verdict, why = batch.verdict(info)
    if len(json.dumps(schema, separators=(",", ":"))) < 60_000:
        assert verdict is Verdict.FAST, why
    else:
        assert verdict is Verdict.SLOW and "refuses the schema" in why, why


# --- malformed values -------------------------------------------------------------------------


def corrupt(value: bytes, how: str, rng: random.Random) -> bytes:
    if how == "truncated":
        return value[: rng.randrange(len(value))]
    if how == "padded":
        return value + b"\x00"
    data = bytearray(value)
    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


@pytest.mark.parametrize("path", [ZTF_ALERTS, LSST_ALERTS], ids=lambda p: p.name)
@pytest.mark.parametrize("how", ["truncated", "padded", "flipped"])
def test_a_bad_value_in_the_middle_fails_alone(path: Path, how: str) -> None:
    """One corrupt value in a batch: every good one delivered, the bad one a failure with its
    offset, exactly as message-by-message decoding says."""
    messages = messages_of(wire_messages(path), 24)
    batch = BatchDecoder(AlertDecoder())
    batch.decode(messages)  # verified on a clean batch
    rng = random.Random(7)
    for middle in (11, 12):
        bad = list(messages)
        ref, key, value = bad[middle]
        while True:
            broken = corrupt(value, how, rng)
            if not isinstance(AlertDecoder().decode(ref, key, broken), Alert):
                break
        bad[middle] = (ref, key, broken)
        results = batch.decode(bad)
        assert_same(results, [AlertDecoder().decode(*m) for m in bad])
        failures = [r for r in results if isinstance(r, DecodeFailure)]
        assert [f.ref.offset for f in failures] == [middle]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flips=st.lists(
        st.tuples(st.integers(0, 15), st.integers(0, 2**31), st.integers(0, 7)),
        min_size=1,
        max_size=3,
    ),
    cuts=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 2**31)), max_size=2),
)
def test_random_damage_gives_what_decode_gives(
    flips: list[tuple[int, int, int]], cuts: list[tuple[int, int]]
) -> None:
    """Bit flips and cuts anywhere in a verified ZTF batch: results identical to decode's."""
    pairs = list(wire_messages(ZTF_ALERTS))
    messages = messages_of(pairs, 16)
    batch = _verified_ztf()
    for which, where, bit in flips:
        ref, key, value = messages[which]
        data = bytearray(value)
        data[where % len(data)] ^= 1 << bit
        messages[which] = (ref, key, bytes(data))
    for which, where in cuts:
        ref, key, value = messages[which]
        messages[which] = (ref, key, value[: where % len(value)] if value else value)
    decoder = batch.decoder
    assert_same(batch.decode(messages), [decoder.decode(*m) for m in messages])


_VERIFIED: list[BatchDecoder] = []


def _verified_ztf() -> BatchDecoder:
    if not _VERIFIED:
        batch = BatchDecoder(AlertDecoder())
        batch.decode(messages_of(wire_messages(ZTF_ALERTS), 8))
        _VERIFIED.append(batch)
    return _VERIFIED[0]


# --- where the Rust reader is not used --------------------------------------------------------


def test_a_schema_the_rust_reader_refuses_is_read_by_fastavro(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the Rust reader refuses a schema, fastavro reads it, with the same results."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise fastread.ReadRefused("refused for the test")

    monkeypatch.setattr(fastread, "_read_block", refuse)
    messages = messages_of(wire_messages(ZTF_ALERTS), 10)
    batch = both_ways(messages)
    info = batch.decoder.schema_for_key(messages[0][1])
    assert not isinstance(info, str)
    assert batch.verdict(info)[0] is Verdict.SLOW
    assert batch.fast_reads == 0


def test_a_summary_field_with_a_logical_type_is_left_to_fastavro() -> None:
    """A summary field whose value the readers could give differently is never read fast."""
    schema = {
        "type": "record",
        "name": "alert",
        "fields": [
            {"name": "objectId", "type": "string"},
            {"name": "candid", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {
                "name": "candidate",
                "type": {
                    "type": "record",
                    "name": "candidate",
                    "fields": [{"name": "magpsf", "type": "float"}],
                },
            },
        ],
    }
    records = [
        {"objectId": f"ZTF{i}", "candid": 1_700_000_000_000 + i, "candidate": {"magpsf": 18.5}}
        for i in range(5)
    ]
    messages = messages_of([encode(r, schema) for r in records], 5)
    batch = both_ways(messages)
    info = batch.decoder.schema_for_key(messages[0][1])
    assert not isinstance(info, str)
    assert batch.verdict(info)[0] is Verdict.SLOW
    assert "candid" in batch.verdict(info)[1]


def test_decode_messages_mixes_schemas_keys_and_failures_in_order() -> None:
    """Two schemas interleaved, a message without key, a bad key, an empty value: input order
    kept, each result what decode gives; a forced schema is honoured."""
    ztf = list(wire_messages(ZTF_ALERTS))[:5]
    lsst = list(wire_messages(LSST_ALERTS))[:3]
    pairs: list[tuple[bytes | None, bytes | None]] = []
    for i in range(12):
        pairs.append(ztf[i % 5] if i % 3 else lsst[i % 3])
    pairs[4] = (None, ztf[0][1])
    pairs[7] = (b"{not json", ztf[1][1])
    pairs[9] = (ztf[2][0], b"")
    messages = [(MessageRef("t", 1, 100 + i), k, v) for i, (k, v) in enumerate(pairs)]
    for _ in range(2):
        decoder = AlertDecoder()
        assert_same(
            decode_messages(decoder, messages), [AlertDecoder().decode(*m) for m in messages]
        )
    forced_info = AlertDecoder().schema_for_key(ztf[0][0])
    assert not isinstance(forced_info, str)
    forced = AlertDecoder(forced=forced_info)
    results = decode_messages(forced, messages)
    assert_same(results, [forced.decode(*m) for m in messages])


def test_decode_messages_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever goes wrong inside, every message gets decode's answer."""

    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(BatchDecoder, "_decode_group", boom)
    messages = messages_of(wire_messages(ZTF_ALERTS), 6)
    decoder = AlertDecoder()
    assert_same(decode_messages(decoder, messages), [decoder.decode(*m) for m in messages])


def test_container_block_is_what_fastavro_reads() -> None:
    """The in-memory container block is a valid Avro file (fastavro reads it back)."""
    info = AlertDecoder().schema_for_key(wire_messages(ZTF_ALERTS)[0][0])
    assert not isinstance(info, str)
    plan = fastread._make_plan(info)
    values = [v for _, v in wire_messages(ZTF_ALERTS)[:3]]
    marker = b"M" * fastread.MARKER_BYTES
    data = marker.join(values) + marker
    block = avro_long(3) + avro_long(len(data)) + data + plan.sync
    records = list(fastavro.reader(io.BytesIO(plan.header + block)))
    assert [r["candid"] for r in records] == [
        fastavro.schemaless_reader(io.BytesIO(v), info.parsed)["candid"] for v in values
    ]
    assert all(r[fastread.END_FIELD] == marker for r in records)
