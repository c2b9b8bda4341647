"""Memory of the dashboard over a long ingest: is it flat?

``.venv/bin/python bench/soak.py`` (``--alerts 200000`` by default, 6–13 min: the producer
sets the pace; the broker keeps every alert in memory: ~11 GB for 200,000 real ZTF alerts).
One embedded broker; a producer thread keeps a topic of 4 partitions filled with the real ZTF
alerts of ``../shared/fink-data/`` (repeated), up to 30,000 ahead of the app; the dashboard reads
it in a 160x45 pseudo-terminal. Every second: the RSS of the app and its decoding processes,
and how many alerts the group has committed. Printed: the RSS at each tenth of the run, the
peak of each half (flat: the second half's peak no higher than the first's, give or take a few
MB), the rate, and the CPU of the whole tree.

Each alert is of its own object, as in a night's real stream (``--same-objects``: the 31
objects of the file, repeated): the app follows up to 20,000 objects and keeps each one's
latest alert, so repeated objects hid that those alerts kept their bytes (750 MB for 3,000
LSST objects, before fink-tui let the bytes of alerts out of the feed go). The new id has the
length of the old one, so the Avro encoding stays valid.

Target (issue "Keeps up with the stream"): peak RSS < 250 MB, flat over >= 200,000 alerts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import fastavro
from confluent_kafka.admin import AdminClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_bench import (  # noqa: E402
    FINK_TUI,
    RSS_TARGET_MB,
    PtyApp,
    connection,
    fast_flags,
    rss_mb,
    tree_cpu,
    tree_rss,
    tree_total,
    verdict,
)

from bench import ZTF_ALERTS, producer, wire_messages  # noqa: E402
from fink_tui.core.lag import fetch_lag  # noqa: E402
from fink_tui.demo.broker import EmbeddedBroker  # noqa: E402

TOPIC = "fink_soak_ztf"
CHUNK = 5_000
AHEAD = 30_000
"""Alerts produced ahead of the app at most (the broker keeps all of them in memory)."""


def object_id(n: int) -> bytes:
    """A ZTF-like object id of 12 characters (``ZTF26`` and 7 letters), one per ``n``."""
    letters = []
    for _ in range(7):
        n, r = divmod(n, 26)
        letters.append(chr(ord("a") + r))
    return b"ZTF26" + "".join(reversed(letters)).encode()


def of_object(value: bytes, old: bytes, n: int) -> bytes:
    """The alert's bytes with its object id replaced by the ``n``-th new one."""
    return value.replace(old, object_id(n))


def produce_all(
    bootstrap: str, total: int, done: list[int], read: list[int], same_objects: bool = False
) -> None:
    """Produce ``total`` real ZTF alerts over 4 partitions, keeping at most AHEAD unread."""
    alerts = wire_messages(ZTF_ALERTS)
    with ZTF_ALERTS.open("rb") as fh:
        ids = [record["objectId"].encode() for record in fastavro.reader(fh)]
    p = producer(bootstrap)
    while done[0] < total:
        if done[0] - read[0] > AHEAD:
            time.sleep(0.5)
            continue
        for i in range(done[0], min(done[0] + CHUNK, total)):
            key, value = alerts[i % len(alerts)]
            if not same_objects:
                value = of_object(value, ids[i % len(alerts)], i)
            while True:
                try:
                    p.produce(TOPIC, value, key, partition=i % 4)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        while p.flush(10):
            pass  # a loaded broker is slow, not gone: wait for every alert
        done[0] = min(done[0] + CHUNK, total)


def pss_mb(pid: int) -> float:
    """The proportional set size: each page shared with other processes counted in shares."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def split_memory(pid: int) -> tuple[float, float]:
    """RSS of the dashboard alone, and the PSS of it and the processes it started (the
    libraries' pages they share, libpython's 14 MB among them, counted once)."""
    return rss_mb(pid), tree_total(pid, pss_mb)


def committed(admin: AdminClient, group: str) -> int:
    """Alerts the group has committed (the app commits only what its model holds)."""
    snapshot = fetch_lag(admin, group, [TOPIC], 10)
    return sum(p.committed or 0 for t in snapshot.topics for p in t.partitions)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument(
        "--same-objects", action="store_true", help="the file's 31 objects, repeated"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the broker on the way out
    env = dict(os.environ)
    env.pop("TEXTUAL_THEME", None)
    with EmbeddedBroker() as broker:
        broker.create_topics({TOPIC: 4})
        produced, read = [0], [0]
        feeder = threading.Thread(
            target=produce_all,
            args=(broker.bootstrap, args.alerts, produced, read, args.same_objects),
            daemon=True,
        )
        feeder.start()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        app = PtyApp.start(
            [*FINK_TUI, *connection(broker.bootstrap, "soak", [TOPIC])] + fast_flags(), env
        )
        samples: list[tuple[float, int, float]] = []
        split: list[tuple[float, float]] = []  # each sample's dashboard RSS, and the tree's PSS
        began = time.perf_counter()
        cpu0 = 0.0
        try:
            cpu0 = tree_cpu(app.process.pid)
            done = 0
            while done < args.alerts:
                time.sleep(1.0)
                if app.process.poll() is not None:
                    raise RuntimeError(f"the app ended with code {app.process.returncode}")
                if not feeder.is_alive() and produced[0] < args.alerts:
                    raise RuntimeError("the producer stopped")
                done = read[0] = committed(admin, "soak")
                samples.append((time.perf_counter() - began, done, tree_rss(app.process.pid)))
                split.append(split_memory(app.process.pid))
            cpu = tree_cpu(app.process.pid) - cpu0
        finally:
            app.stop()
    seconds = samples[-1][0]
    peak = max(r for _, _, r in samples)
    objects = "31 objects, repeated" if args.same_objects else "each of its own object"
    print(f"soak: {args.alerts:,} real ZTF alerts ({objects}) through the dashboard (160x45 pty)")
    print(
        f"  {seconds:.0f} s, {args.alerts / seconds:,.0f} alerts/s, CPU of the tree "
        f"{100 * cpu / seconds:.0f} % of a core"
    )
    print("  RSS of the app and its decoding processes, MB, at each tenth of the alerts:")
    marks = []
    for tenth in range(1, 11):
        want = args.alerts * tenth // 10
        at = next((s for s in samples if s[1] >= want), samples[-1])
        marks.append(f"{tenth * 10}%: {at[2]:.0f}")
    print("   ", "  ".join(marks))
    half = [s for s in samples if s[1] < args.alerts // 2]
    rest = [s for s in samples if s[1] >= args.alerts // 2]
    first = max((r for _, _, r in half), default=0.0)
    second = max((r for _, _, r in rest), default=0.0)
    print(
        f"  peak first half {first:.0f} MB, second half {second:.0f} MB "
        f"(flat: {verdict(second <= first + 10)})"
    )
    print(f"  peak {peak:.0f} MB (target < {RSS_TARGET_MB:.0f}: {verdict(peak < RSS_TARGET_MB)})")
    at = max(range(len(samples)), key=lambda i: samples[i][2])
    alone = split[at][0]
    print(
        f"  at the peak: the dashboard {alone:.0f} MB, the processes it started "
        f"{samples[at][2] - alone:.0f} MB; PSS of them all (shared pages counted once): "
        f"{split[at][1]:.0f} MB there, {max(p for _, p in split):.0f} MB at its own peak"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
