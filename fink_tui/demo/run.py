"""``fink-tui demo``: a real broker on a loopback port, Fink-like topics, and a producer thread
that publishes generated alerts in Fink's wire format in bursts, as a survey night does.

Nothing is written outside memory: the broker keeps its data in memory and stops (with the
producer) when the app quits, or on Ctrl-C with ``--broker-only`` (which then exits 130, as a
program interrupted by its user does; 143 on SIGTERM).
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from fink_tui.config import Settings
from fink_tui.core.clients import KAFKA_LOG
from fink_tui.core.wire import encode
from fink_tui.demo.broker import FAST_JOIN, BrokerUnavailable, EmbeddedBroker, producer_config
from fink_tui.demo.factory import AlertFactory
from fink_tui.demo.malformed import malformed_messages
from fink_tui.demo.schemas import LSST_SCHEMA, ZTF_SCHEMA_V1, ZTF_SCHEMA_V2

DEMO_GROUP = "fink_tui_demo"
EXPOSURE_SECONDS = 30.0
"""A new exposure (a burst of alerts) every this many seconds, as on a survey night."""
SCHEMA_SWITCH_BURST = 3
"""The burst from which the early-SN topic publishes with the newer ZTF schema."""


@dataclass(frozen=True)
class DemoTopic:
    """A Fink-like topic of the demo: survey, partitions, and the kinds of object it carries."""

    name: str
    survey: str
    partitions: int
    kinds: tuple[str, ...]
    used: int
    """Partitions that receive alerts; the others stay empty, as on a real broker."""
    share: float
    """Share of each burst."""


TOPICS = (
    DemoTopic("fink_early_sn_candidates_ztf", "ztf", 4, ("sn",), 3, 0.30),
    DemoTopic("fink_sso_ztf_candidates_ztf", "ztf", 3, ("asteroid",), 2, 0.25),
    DemoTopic("fink_kn_candidates_ztf", "ztf", 2, ("kilonova",), 1, 0.05),
    DemoTopic("fink_sn_like_lsst", "lsst", 3, ("sn", "kilonova"), 3, 0.25),
    DemoTopic("fink_variable_stars_lsst", "lsst", 2, ("variable",), 1, 0.15),
)
SWITCHING_TOPIC = TOPICS[0].name


def demo_settings(bootstrap: str) -> Settings:
    """Settings for the demo group on the embedded broker."""
    return Settings(
        servers=bootstrap,
        group_id=DEMO_GROUP,
        topics=tuple(t.name for t in TOPICS),
        maxtimeout=5.0,
        kafka=FAST_JOIN,
    )


class DemoStream(threading.Thread):
    """The producer thread: a backlog at start, then a burst every exposure."""

    def __init__(
        self,
        bootstrap: str,
        rate: float = 1.0,
        duration: float = 0.0,
        seed: int | None = None,
        exposure_seconds: float = EXPOSURE_SECONDS,
    ) -> None:
        super().__init__(name="fink-tui-demo-producer", daemon=True)
        self.bootstrap = bootstrap
        self.rate = rate
        self.duration = duration
        self.seed = seed
        self.exposure_seconds = exposure_seconds
        self.bursts = 0
        self.produced = 0
        self.malformed = 0
        self.stop_requested = threading.Event()
        self.random = random.Random(self.seed)
        self.factory = AlertFactory(self.seed)
        self.producer = Producer({**producer_config(self.bootstrap), "logger": KAFKA_LOG})

    def setup(self, backlog_bursts: int = 2) -> None:
        """Produce a backlog and commit part of it for the demo group, so the lag screen has
        something to show and reset from the first second."""
        for _ in range(backlog_bursts):
            self.burst()
        self.producer.flush(30)
        committer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": DEMO_GROUP, "logger": KAFKA_LOG}
        )
        try:
            offsets = []
            for topic in TOPICS:
                for partition in range(topic.used):
                    low, high = committer.get_watermark_offsets(
                        TopicPartition(topic.name, partition), timeout=5
                    )
                    if high > 0 and partition % 2 == 0:
                        offsets.append(TopicPartition(topic.name, partition, high // 2))
            if offsets:
                committer.commit(offsets=offsets, asynchronous=False)
        finally:
            committer.close()

    def burst(self) -> int:
        """One exposure: a few to a few hundred alerts over the topics."""
        size = max(1, int(self.random.triangular(5, 300, 40) * self.rate))
        version = ZTF_SCHEMA_V2 if self.bursts >= SCHEMA_SWITCH_BURST else ZTF_SCHEMA_V1
        for topic in TOPICS:
            count = max(1, round(size * topic.share * self.random.uniform(0.6, 1.4)))
            for _ in range(count):
                kind = self.random.choice(topic.kinds)
                if topic.survey == "ztf":
                    schema = version if topic.name == SWITCHING_TOPIC else ZTF_SCHEMA_V1
                    record = self.factory.ztf_alert(kind, schema)
                else:
                    schema = LSST_SCHEMA
                    record = self.factory.lsst_alert(kind)
                key, value = encode(record, schema)
                self._send(topic, key, value)
        if self.bursts % 2 == 1:  # now and then, a message that will not decode
            bad_key, bad_value, _ = self.random.choice(malformed_messages(self.factory))
            self._send(self.random.choice(TOPICS), bad_key, bad_value)
            self.malformed += 1
        self.bursts += 1
        self.producer.poll(0)
        return size

    def _send(self, topic: DemoTopic, key: bytes | None, value: bytes) -> None:
        partition = self.random.randrange(topic.used)
        while True:
            try:
                self.producer.produce(topic.name, key=key, value=value, partition=partition)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.produced += 1

    def run(self) -> None:
        started = time.monotonic()
        next_burst = started + min(5.0, self.exposure_seconds)
        while not self.stop_requested.is_set():
            if self.duration and time.monotonic() - started >= self.duration:
                break
            if time.monotonic() >= next_burst:
                self.burst()
                # Exposures are ~30 s apart, give or take the slew.
                next_burst = time.monotonic() + self.exposure_seconds * self.random.uniform(
                    0.8, 1.2
                )
            self.producer.poll(0.2)
        self.producer.flush(10)

    def stop(self) -> None:
        """Stop producing and wait for the thread."""
        self.stop_requested.set()
        if self.is_alive():
            self.join(15)


def _catch_stop_signals() -> Callable[[], int]:
    """Catch Ctrl-C and SIGTERM from now on (so none is lost while the addresses are being
    printed); the function returned blocks until one came, and answers the exit status a shell
    gives a program that signal stopped (128 + its number: 130 for Ctrl-C, 143 for SIGTERM)."""
    done = threading.Event()
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        done.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)

    def wait() -> int:
        done.wait()
        return 128 + received[0]

    return wait


def run_demo(args: argparse.Namespace) -> int:
    """Start the broker and the stream, then the app (or just wait with --broker-only)."""
    rate = float(getattr(args, "rate", 1.0))
    if rate <= 0:
        print("fink-tui: --rate must be more than 0", file=sys.stderr)
        return 2
    notify_when = None
    if getattr(args, "notify", None):
        from fink_tui.core.query import QueryError, compile_query

        try:
            notify_when = compile_query(args.notify)
        except QueryError as exc:
            print(f"fink-tui: --notify {args.notify!r}: {exc}", file=sys.stderr)
            return 2
    try:
        broker = EmbeddedBroker().start()
    except BrokerUnavailable as exc:
        print(f"fink-tui: cannot start the demo broker: {exc}", file=sys.stderr)
        return 1
    stream: DemoStream | None = None
    try:
        broker.create_topics({t.name: t.partitions for t in TOPICS})
        stream = DemoStream(broker.bootstrap, rate=rate, duration=args.duration, seed=args.seed)
        stream.setup()
        stream.start()
        settings = demo_settings(broker.bootstrap)
        if args.broker_only:
            wait = _catch_stop_signals()
            _print_broker_info(settings)
            return wait()
        from fink_tui.app import FinkApp, finish
        from fink_tui.core.remote import ProcessSource

        app = FinkApp(settings, ProcessSource(settings), notify_when=notify_when)
        app.run()
        return finish(app)
    finally:
        if stream is not None:
            stream.stop()
        broker.stop()


def _print_broker_info(settings: Settings) -> None:
    extra = " ".join(f"-X {k}={v}" for k, v in settings.kafka)
    # The commands as they run from here: the venv's fink-tui may not be on PATH.
    prog = "fink-tui" if shutil.which("fink-tui") else f"{sys.executable} -m fink_tui"
    common = (
        f"--servers {settings.servers} --group-id {settings.group_id} "
        f"--topics {','.join(settings.topics)} {extra}"
    )
    lines: list[Any] = [
        f"bootstrap: {settings.servers}",
        f"group:     {settings.group_id}",
        f"topics:    {', '.join(settings.topics)}",
        "try:",
        f"  {prog} lag {common}",
        f"  {prog} poll --limit 10 {common}",
        f"  {prog} {common}",
        "Ctrl-C stops the producer and the broker.",
    ]
    print("\n".join(str(line) for line in lines), flush=True)
