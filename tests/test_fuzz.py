"""Fuzzing the decoder and the survey summaries (issue 13): no message stops, crashes, hangs or
bloats the stream.

Over 10,000 cases a run, reproducible (``derandomize=True``, no example database): random
bytes, truncated and bit-flipped real ZTF and LSST alerts, keys that are not JSON or not a
schema, generated schemas (recursive ones, arrays and maps of anything, decimals, fields named
like Fink's so the survey summaries see odd types), huge declared counts and lengths, invalid
UTF-8. Every case checks that no exception escapes ``decode``, that ``record()`` raises only
``RecordError`` (one line, naming the offset), that a failure's reason is one line, that a
decoded record holds no more objects than its bytes can pay for, and that the traced memory of
a case stays under a cap. A crash would end the run. Wall-clock times are never asserted: cases
over 100 ms are counted and printed (``pytest -s``), and a warning names them.
"""

from __future__ import annotations

import json
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef, RecordError
from tests.helpers import LSST_ALERTS, OLD_ZTF_ALERT, ZTF_ALERTS, wire_messages

REF = MessageRef("fink_fuzz_ztf", 1, 123456)
SLOW_S = 0.1
"""A case slower than this is reported (never asserted: tests do not time the machine)."""
MEMORY_CAP = 64 << 20
"""Most memory (traced by tracemalloc) one case may take at its peak."""

ZTF = wire_messages(ZTF_ALERTS)
LSST = wire_messages(LSST_ALERTS)
OLD_ZTF = wire_messages(OLD_ZTF_ALERT)


def fuzz(cases: int) -> Callable[[Any], Any]:
    """Hypothesis settings for a fuzz test of ``cases`` cases, the same each run."""
    return settings(
        max_examples=cases,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def zigzag(n: int) -> bytes:
    """``n`` as an Avro long: zigzag, then a base-128 varint (any size, for overlong ones)."""
    n = (n << 1) ^ (n >> 63) if -(2**63) <= n < 2**63 else abs(n) * 2
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def count_objects(record: Any) -> int:
    """How many values a decoded record holds, containers and leaves alike."""
    count, stack = 0, [record]
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return count


class Fuzz:
    """Runs cases through one decoder and keeps the figures."""

    def __init__(self, name: str, trace_every: int) -> None:
        self.name = name
        self.trace_every = trace_every
        """Trace the memory of every n-th case."""
        self.decoder = AlertDecoder()
        self.cases = self.alerts = self.failures = self.record_errors = 0
        self.slow: list[tuple[float, str, bytes | None, bytes | None]] = []
        self.peak = 0
        self.started = time.perf_counter()

    def check(self, key: bytes | None, value: bytes | None, what: str = "") -> None:
        """One case: decode (and decode in full if it decoded); assert nothing escapes."""
        start = time.perf_counter()
        result, record = self.decode(self.decoder, key, value)
        elapsed = time.perf_counter() - start
        if isinstance(result, DecodeFailure):
            self.failures += 1
            assert result.reason and "\n" not in result.reason, result.reason
        else:
            assert isinstance(result, Alert)
            self.alerts += 1
            if record is not None:
                # The structural guard against bloat: every array item and map entry costs at
                # least one byte, and each byte buys at most one schema node's worth of values.
                budget = (len(value or b"") + 1) * max(len(key or b""), 64)
                assert count_objects(record) <= budget
            result.forget_record()
        if self.cases % self.trace_every == 0:
            # Again with a fresh decoder, under tracemalloc (which slows what it traces, so the
            # timed run above is not traced, and Hypothesis never is).
            tracemalloc.start()
            try:
                self.decode(AlertDecoder(), key, value)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            self.peak = max(self.peak, peak)
            assert peak < MEMORY_CAP, (peak, what, key, value)
        self.cases += 1
        if elapsed > SLOW_S:
            self.slow.append((elapsed, f"{what} key={key!r:.80} value={value!r:.80}", key, value))

    def time(self, key: bytes | None, value: bytes | None) -> float:
        """Seconds to decode a case again (the key already parsed, as on a stream)."""
        start = time.perf_counter()
        self.decode(self.decoder, key, value)
        return time.perf_counter() - start

    def decode(
        self, decoder: AlertDecoder, key: bytes | None, value: bytes | None
    ) -> tuple[Alert | DecodeFailure, Any]:
        """Decode, and decode in full if it decoded: the result and the record (or None)."""
        result = decoder.decode(REF, key, value)  # any exception fails the test
        if not isinstance(result, Alert):
            return result, None
        try:
            return result, result.record()
        except RecordError as exc:  # the only exception record() may raise
            self.record_errors += decoder is self.decoder
            text = str(exc)
            assert "offset 123456" in text and "\n" not in text, text
            return result, None

    def report(self, at_least: int) -> None:
        """Print the figures, warn about slow cases, and check the run was as big as meant."""
        seconds = time.perf_counter() - self.started
        print(
            f"\n{self.name}: {self.cases} cases in {seconds:.1f} s ({self.alerts} decoded, "
            f"{self.failures} failures, {self.record_errors} RecordErrors), "
            f"{len(self.slow)} over {SLOW_S * 1000:.0f} ms, memory peak {self.peak / 1e6:.1f} MB "
            f"(every {self.trace_every} case{'s' if self.trace_every > 1 else ''})"
        )
        # A busy machine makes some cases slow once: time each again, best of three.
        again = [
            (min(self.time(key, value) for _ in range(3)), *rest) for *rest, key, value in self.slow
        ]
        confirmed = [(elapsed, what) for elapsed, _, what in again if elapsed > SLOW_S]
        print(f"  {len(self.slow)} slow once, {len(confirmed)} slow when timed again")
        for elapsed, what in sorted(confirmed, reverse=True)[:5]:
            print(f"  slow: {elapsed * 1000:.0f} ms {what}")
        if confirmed:
            warnings.warn(
                f"{self.name}: {len(confirmed)} cases over {SLOW_S * 1000:.0f} ms "
                f"(worst {max(confirmed)[0] * 1000:.0f} ms; run with -s for the list)",
                stacklevel=2,
            )
        assert self.cases >= at_least


def run(name: str, cases: int, strategy: st.SearchStrategy[Any], trace_every: int = 5) -> None:
    """Run ``cases`` examples of ``strategy`` (tuples of key, value[, what])."""
    fuzzer = Fuzz(name, trace_every)

    @fuzz(cases)
    @given(strategy)
    def case(example: tuple[Any, ...]) -> None:
        fuzzer.check(*example)

    case()
    fuzzer.report(at_least=cases * 9 // 10)


# --- random bytes -------------------------------------------------------------------------

SMALL_SCHEMAS = [
    b'{"type":"record","name":"r","fields":[{"name":"s","type":"string"}]}',
    b'{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"array","items":"int"}}]}',
    b'{"type":"record","name":"r","fields":[{"name":"m","type":{"type":"map","values":"bytes"}}]}',
    b'{"type":"record","name":"r","fields":[{"name":"u","type":["null","string","double"]}]}',
    b'{"type":"record","name":"r","fields":[{"name":"e","type":'
    b'{"type":"enum","name":"E","symbols":["A","B"]}},{"name":"f","type":'
    b'{"type":"fixed","name":"F","size":3}}]}',
    b'{"type":"record","name":"node","fields":[{"name":"v","type":"int"},'
    b'{"name":"next","type":["null","node"]}]}',
    b'{"type":"record","name":"t","fields":[{"name":"t","type":'
    b'{"type":"long","logicalType":"timestamp-millis"}},{"name":"d","type":'
    b'{"type":"int","logicalType":"date"}},{"name":"u","type":'
    b'{"type":"string","logicalType":"uuid"}}]}',
]
REAL_KEYS = [ZTF[0][0], LSST[0][0], OLD_ZTF[0][0]]


def test_random_bytes() -> None:
    """Random keys and values, and random values under real and small schemas."""
    keys = st.one_of(st.none(), st.binary(max_size=64), st.sampled_from(SMALL_SCHEMAS + REAL_KEYS))
    values = st.one_of(st.none(), st.binary(max_size=300))
    run("random bytes", 3000, st.tuples(keys, values))


# --- truncated and bit-flipped real alerts ------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, messages: tuple[tuple[bytes, bytes], ...]) -> tuple[Any, ...]:
    """A real alert truncated, bit-flipped, overwritten, cut or padded, or its key damaged."""
    key, value = draw(st.sampled_from(messages))
    kind = draw(st.sampled_from(["truncate", "flip", "flip", "overwrite", "splice", "key"]))
    # Half the positions fall in the first 4 kB, where the fields that steer the reading are.
    position = st.one_of(st.integers(0, min(len(value), 4096) - 1), st.integers(0, len(value) - 1))
    if kind == "truncate":
        value = value[: draw(position)]
    elif kind == "flip":
        data = bytearray(value)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(position)] ^= 1 << draw(st.integers(0, 7))
        value = bytes(data)
    elif kind == "overwrite":
        at, chunk = draw(position), draw(st.binary(min_size=1, max_size=16))
        value = value[:at] + chunk + value[at + len(chunk) :]
    elif kind == "splice":
        at, cut = draw(position), draw(st.integers(0, 16))
        value = value[:at] + draw(st.binary(max_size=16)) + value[at + cut :]
    else:
        data = bytearray(key)
        data[draw(st.integers(0, len(key) - 1))] = draw(st.sampled_from(b'"{}[],:\xff\x00 a1'))
        key = bytes(data)
    return key, value, kind


def test_mutated_ztf_alerts() -> None:
    """Real ZTF alerts (current and 2019 schemas), truncated, bit-flipped and spliced."""
    run("mutated ZTF alerts", 3000, mutated(ZTF + OLD_ZTF), trace_every=10)


def test_mutated_lsst_alerts() -> None:
    """Real LSST alerts (226 kB each, ~30 ms a full decode: fewer cases)."""
    run("mutated LSST alerts", 300, mutated(LSST), trace_every=10)


# --- generated schemas, huge declared lengths, invalid UTF-8 ------------------------------

NAMES = ["node"]
"""The name referred to: the top record's, so a reference to it is recursion."""
DEFINED = [f"t{n}" for n in range(60)]
"""Names defined: many, so fewer schemas define one twice."""
FIELD_NAMES = [
    "objectId", "candidate", "candid", "jd", "ra", "dec", "magpsf", "fid", "finkclass",
    "diaSource", "diaSourceId", "diaObjectId", "midpointMjdTai", "psfFlux", "band", "xm",
    "clf", "cats_class", "cats_score", "schemavsn", "x", "y",
]  # fmt: skip
PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
LOGICAL = [
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "long", "logicalType": "timestamp-micros"},
    {"type": "int", "logicalType": "date"},
    {"type": "int", "logicalType": "time-millis"},
    {"type": "string", "logicalType": "uuid"},
    {"type": "bytes", "logicalType": "decimal", "precision": 10**9, "scale": 3},
    {"type": "fixed", "name": "dec", "size": 3000, "logicalType": "decimal", "precision": 7000},
]


def _record(name: str, types: list[Any], names: list[str]) -> dict[str, Any]:
    fields = [{"name": n, "type": t} for n, t in zip(names, types, strict=False)]
    return {"type": "record", "name": name, "fields": fields}


leaf_types = st.one_of(
    st.sampled_from(PRIMITIVES), st.sampled_from(NAMES), st.sampled_from(LOGICAL)
)
avro_types = st.recursive(
    leaf_types,
    lambda inner: st.one_of(
        st.builds(lambda t: {"type": "array", "items": t}, inner),
        st.builds(lambda t: {"type": "map", "values": t}, inner),
        st.lists(inner, min_size=1, max_size=3),
        st.builds(
            _record,
            st.sampled_from(DEFINED),
            st.lists(inner, max_size=4),
            st.lists(st.sampled_from(FIELD_NAMES), min_size=4, max_size=4, unique=True),
        ),
        st.builds(
            lambda n, s: {"type": "fixed", "name": n, "size": s},
            st.sampled_from(DEFINED),
            st.integers(0, 20),
        ),
        st.builds(
            lambda n, s: {"type": "enum", "name": n, "symbols": s},
            st.sampled_from(DEFINED),
            st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, unique=True),
        ),
    ),
    max_leaves=10,
)
schemas = st.builds(
    _record,
    st.just("node"),
    st.lists(avro_types, min_size=1, max_size=5),
    st.lists(st.sampled_from(FIELD_NAMES), min_size=5, max_size=5, unique=True),
)
chunks = st.one_of(
    st.binary(max_size=8),
    st.integers(-(2**63), 2**63 - 1).map(zigzag),
    st.sampled_from([2**62, -(2**62), 2**63 - 1, -(2**63), 2**31, 10**6, -1, 1, 0]).map(zigzag),
    st.sampled_from([b"\x80" * 11 + b"\x01", b"\xff" * 10, b"\xc3\x28", b"\xed\xa0\x80"]),
    st.sampled_from([b"\x02", b"\x04", b"\x00", b"\x01"]),
)
values = st.one_of(
    st.builds(b"".join, st.lists(chunks, min_size=1, max_size=12)),
    # Zeros read as a value of most schemas (0, "", empty arrays, the first branch), so the
    # survey summaries meet Fink's field names holding odd types.
    st.integers(1, 80).map(lambda n: b"\x00" * n),
    st.builds(lambda n, tail: b"\x00" * n + tail, st.integers(0, 40), st.binary(max_size=8)),
)


def test_generated_schemas_and_hostile_values() -> None:
    """Generated schemas (recursive ones, arrays of anything, decimals, Fink field names) with
    values made of huge counts and lengths, overlong varints and invalid UTF-8."""
    keys = schemas.map(lambda s: json.dumps(s).encode())
    run("generated schemas", 3000, st.tuples(keys, values))


NOT_SCHEMAS = [
    b"1" * 5000,
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"type":"record","name":"r","fields":[{"name":"s","type":"string"}],"doc":"\xff\xfe"}',
    b'{"type":"record","name":"\xed\xa0\x80","fields":[]}',
    b'"\\ud800"',
    b"\xef\xbb\xbf{}",
    b'{"type":"fixed","name":"f","size":' + b"9" * 4000 + b"}",
    b'{"type":"fixed","name":"f","size":1e400}',
    b"NaN",
    b'{"type":"array","items":{"type":"array","items":"null"}}',
    b'{"type":"record","name":"r","fields":[{"name":"x","type":"r"}]}',
]
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=16,
)
schema_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["record", "array", "map", "fixed", "enum", "int", "nope"])},
    optional={
        "name": json_values,
        "fields": json_values,
        "items": json_values,
        "values": json_values,
        "size": json_values,
        "symbols": json_values,
    },
)


def test_keys_that_are_not_json_or_not_a_schema() -> None:
    """JSON of every shape, schema-like objects with wrong members, and the known bad keys."""
    keys = st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        schema_like.map(lambda v: json.dumps(v).encode()),
        st.sampled_from(NOT_SCHEMAS),
        st.text(max_size=40).map(lambda t: ("{" + t).encode("utf-8", "surrogatepass")),
    )
    run("keys not a schema", 1200, st.tuples(keys, values))
