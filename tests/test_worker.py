"""The stream worker against the real broker: delivery, failures, at-least-once, reset, pause."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient

from fink_tui.core import worker as worker_module
from fink_tui.core.decode import Alert
from fink_tui.core.events import (
    AlertsReceived,
    ApplyReset,
    Connection,
    ConnectionChanged,
    Event,
    LagUpdated,
    OffsetsReset,
    PauseChanged,
    PlanReset,
    ResetPlanned,
    SetPaused,
)
from fink_tui.core.lag import fetch_lag
from fink_tui.core.reset import ResetTarget
from fink_tui.core.worker import MAKE_WAY_MOST, StreamWorker
from fink_tui.demo.broker import EmbeddedBroker, free_port
from tests.helpers import (
    LSST_ALERTS,
    ZTF_ALERTS,
    produce,
    settings_for,
    unique,
    wait_until,
    wire_messages,
)


class Recorder:
    """A sink that keeps every event, thread-safely."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]

    def alerts(self) -> list[Alert]:
        return [a for e in self.of(AlertsReceived) for a in e.alerts]

    def offsets(self) -> list[tuple[str, int, int]]:
        out = []
        for e in self.of(AlertsReceived):
            out += [(x.ref.topic, x.ref.partition, x.ref.offset) for x in (*e.alerts, *e.failures)]
        return out


@pytest.fixture
def run_worker() -> Iterator:  # type: ignore[type-arg]
    started: list[StreamWorker] = []

    def start(settings, **kwargs) -> tuple[StreamWorker, Recorder]:  # type: ignore[no-untyped-def]
        rec = Recorder()
        worker = StreamWorker(settings, rec, lag_interval=kwargs.pop("lag_interval", 0.5), **kwargs)
        worker.start()
        started.append(worker)
        return worker, rec

    yield start
    for worker in started:
        worker.stop()


def test_delivers_both_surveys_and_lists_failures(broker: EmbeddedBroker, run_worker) -> None:  # type: ignore[no-untyped-def]
    """Real ZTF and LSST alerts arrive decoded; a malformed one is a failure and the stream
    goes on past it."""
    ztf, lsst, group = unique("fink_w_ztf"), unique("fink_w_lsst"), unique("g")
    broker.create_topics({ztf: 2, lsst: 1})
    z = list(wire_messages(ZTF_ALERTS))[:6]
    bad = [(z[0][0], z[0][1][:100]), (None, z[1][1]), (b"not json", z[2][1])]
    produce(broker.bootstrap, ztf, z[:3] + bad + z[3:], partition=0)
    produce(broker.bootstrap, lsst, list(wire_messages(LSST_ALERTS))[:3], partition=0)
    worker, rec = run_worker(settings_for(broker.bootstrap, group, [ztf, lsst]))
    assert wait_until(lambda: len(rec.offsets()) == 12)
    alerts = rec.alerts()
    assert {a.summary.survey for a in alerts} == {"ztf", "lsst"}
    failures = [f for e in rec.of(AlertsReceived) for f in e.failures]
    assert [(f.ref.topic, f.ref.partition, f.ref.offset) for f in failures] == [
        (ztf, 0, 3),
        (ztf, 0, 4),
        (ztf, 0, 5),
    ]
    assert "no key" in failures[1].reason and "JSON" in failures[2].reason
    assert max(a.ref.offset for a in alerts if a.ref.topic == ztf) == 8
    assert any(e.state == Connection.CONNECTED for e in rec.of(ConnectionChanged))
    assert wait_until(lambda: any(e.snapshot.lag == 0 for e in rec.of(LagUpdated)))


def test_at_least_once_across_stop_and_restart(broker: EmbeddedBroker, run_worker) -> None:  # type: ignore[no-untyped-def]
    """Stop, produce more, restart: every offset is delivered, none skipped, and the
    committed offsets end at the high watermarks."""
    topic, group = unique("fink_alo_ztf"), unique("g")
    broker.create_topics({topic: 2})
    msgs = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, topic, msgs[:10], partition=0)
    produce(broker.bootstrap, topic, msgs[10:15], partition=1)
    settings = settings_for(broker.bootstrap, group, [topic])
    first, rec1 = run_worker(settings)
    assert wait_until(lambda: len(rec1.offsets()) == 15)
    first.stop()
    assert not first.is_alive()
    assert rec1.of(ConnectionChanged)[-1].state == Connection.STOPPED
    produce(broker.bootstrap, topic, msgs[15:25], partition=0)
    second, rec2 = run_worker(settings)
    assert wait_until(lambda: len(rec2.offsets()) >= 10)
    seen = set(rec1.offsets()) | set(rec2.offsets())
    expected = {(topic, 0, o) for o in range(20)} | {(topic, 1, o) for o in range(5)}
    assert seen == expected
    assert not set(rec1.offsets()) & set(rec2.offsets())  # a clean stop redelivers nothing
    second.stop()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    snap = fetch_lag(admin, group, [topic], 10)
    assert [(p.committed, p.lag) for p in snap.topics[0].partitions] == [(20, 0), (5, 0)]


def test_read_to_the_end_it_commits_at_once(  # type: ignore[no-untyped-def]
    broker: EmbeddedBroker, run_worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the periodic commit an hour away, a running worker that has delivered the whole
    topic has committed it: read to the end, it commits what it delivered at once."""
    monkeypatch.setattr(worker_module, "COMMIT_INTERVAL", 3600.0)
    topic, group = unique("fink_caught_up_ztf"), unique("g")
    broker.create_topics({topic: 2})
    msgs = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, topic, msgs[:10], partition=0)
    produce(broker.bootstrap, topic, msgs[10:15], partition=1)
    worker, rec = run_worker(settings_for(broker.bootstrap, group, [topic]))
    assert wait_until(lambda: len(rec.offsets()) == 15)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    def committed() -> list[int | None]:
        return [p.committed for p in fetch_lag(admin, group, [topic], 10).topics[0].partitions]

    assert wait_until(lambda: committed() == [10, 5])
    assert worker.is_alive()  # not the commit of its stop


def test_reset_while_running_takes_effect_at_once(broker: EmbeddedBroker, run_worker) -> None:  # type: ignore[no-untyped-def]
    """A confirmed plan is committed before the worker reports it, and the running consumer
    reads again from the new offsets."""
    topic, group = unique("fink_rst_ztf"), unique("g")
    broker.create_topics({topic: 1})
    produce(broker.bootstrap, topic, list(wire_messages(ZTF_ALERTS))[:8], partition=0)
    worker, rec = run_worker(settings_for(broker.bootstrap, group, [topic]))
    assert wait_until(lambda: len(rec.offsets()) == 8)
    worker.send(PlanReset(ResetTarget("offset", 3), topic, 0))
    assert wait_until(lambda: rec.of(ResetPlanned))
    plan = rec.of(ResetPlanned)[0].plan
    assert [(r.current, r.new) for r in plan.rows] in ([(8, 3)], [(None, 3)])
    worker.send(ApplyReset(plan))
    assert wait_until(lambda: rec.of(OffsetsReset))
    after = rec.of(OffsetsReset)[0].snapshot
    assert after.partition(topic, 0).committed == 3  # type: ignore[union-attr]
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert fetch_lag(admin, group, [topic], 10).partition(topic, 0).committed in (3, 4, 5, 6, 7, 8)  # type: ignore[union-attr]
    assert wait_until(lambda: len(rec.offsets()) == 13)
    assert rec.offsets()[8:] == [(topic, 0, o) for o in range(3, 8)]


def two_delivered(broker: EmbeddedBroker, run_worker, prefix: str):  # type: ignore[no-untyped-def]
    """A worker on a fresh topic that has delivered its first 2 alerts; the topic, and the
    messages still to produce."""
    topic, group = unique(prefix), unique("g")
    broker.create_topics({topic: 1})
    msgs = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, topic, msgs[:2], partition=0)
    worker, rec = run_worker(settings_for(broker.bootstrap, group, [topic]))
    assert wait_until(lambda: len(rec.offsets()) == 2)
    return worker, rec, topic, msgs[2:]


def test_pause_and_resume(broker: EmbeddedBroker, run_worker) -> None:  # type: ignore[no-untyped-def]
    """While paused nothing is delivered; on resume the waiting alerts arrive."""
    worker, rec, topic, more = two_delivered(broker, run_worker, "fink_pause_ztf")
    worker.send(SetPaused(True))
    assert wait_until(lambda: rec.of(PauseChanged))
    produce(broker.bootstrap, topic, more[:3], partition=0)
    assert not wait_until(lambda: len(rec.offsets()) > 2, timeout=2)
    worker.send(SetPaused(False))
    assert wait_until(lambda: len(rec.offsets()) == 5)


def test_making_way_never_starves_the_group(broker: EmbeddedBroker, run_worker) -> None:  # type: ignore[no-untyped-def]
    """A key asks the worker to read nothing for a while (the screen it changes needs the
    interpreter); keys held down ask again and again, and still the worker reads again within
    MAKE_WAY_MOST of its last read, so the group never times it out."""
    worker, rec, topic, more = two_delivered(broker, run_worker, "fink_way_ztf")
    worker.make_way(3600)
    produce(broker.bootstrap, topic, more[:3], partition=0)
    assert wait_until(lambda: len(rec.offsets()) == 5)


def test_making_way_lasts_its_seconds_and_at_most_since_the_last_read() -> None:
    worker = StreamWorker(settings_for("127.0.0.1:9", "g", ["t"]), Recorder())
    assert not worker._making_way()
    worker.make_way(3600)
    assert worker._making_way()
    worker._polled_at -= MAKE_WAY_MOST
    assert not worker._making_way()
    worker._polled_at += MAKE_WAY_MOST
    worker.make_way(0)
    assert not worker._making_way()


def test_unreachable_broker_is_reported_and_stop_is_prompt(run_worker) -> None:  # type: ignore[no-untyped-def]
    """Nothing listening: the state says unreachable; stopping still ends the thread."""
    settings = settings_for(f"127.0.0.1:{free_port()}", "g", ["fink_x_ztf"])
    worker, rec = run_worker(settings)
    assert wait_until(
        lambda: any(e.state == Connection.UNREACHABLE for e in rec.of(ConnectionChanged))
    )
    worker.stop(timeout=5)
    assert not worker.is_alive()


def test_core_imports_no_textual() -> None:
    """The stream core and the headless commands work without Textual."""
    code = (
        "import sys; import fink_tui.core.worker, fink_tui.core.reset, fink_tui.config, "
        "fink_tui.commands, fink_tui.demo.broker; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual',)]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_alerts_the_owner_did_not_take_are_not_committed(broker: EmbeddedBroker) -> None:
    """If the sink refuses a batch (the app is closing), its offsets are not committed: the
    next run gets those alerts again."""
    topic, group = unique("fink_refused_ztf"), unique("g")
    broker.create_topics({topic: 1})
    produce(broker.bootstrap, topic, list(wire_messages(ZTF_ALERTS))[:5], partition=0)
    refused: list[Event] = []

    def sink(event: Event) -> bool:
        if isinstance(event, AlertsReceived):
            refused.append(event)
            return False
        return True

    worker = StreamWorker(settings_for(broker.bootstrap, group, [topic]), sink)
    worker.start()
    assert wait_until(lambda: bool(refused))
    worker.join(10)
    assert not worker.is_alive()  # it stops by itself
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert fetch_lag(admin, group, [topic], 10).partition(topic, 0).committed is None  # type: ignore[union-attr]


def test_storing_offsets_of_partitions_lost_in_a_rebalance_is_not_an_error() -> None:
    """After a rebalance took partitions away, storing their offsets is skipped (the new owner
    reads them from the last commit), not raised: it used to end `poll` with "StoreOffsets
    failed: Local: Erroneous state" when decoding outlasted max.poll.interval.ms."""
    from confluent_kafka import Consumer, TopicPartition

    from fink_tui.core.clients import store_offsets

    consumer = Consumer(
        {
            "bootstrap.servers": f"127.0.0.1:{free_port()}",
            "group.id": "g",
            "enable.auto.offset.store": False,
        }
    )
    try:
        assert (
            store_offsets(consumer, [TopicPartition("t", 0, 5), TopicPartition("t", 1, 7)]) is False
        )
    finally:
        consumer.close()


def test_an_alert_is_read_again_at_its_offset_or_said_to_be_gone(broker: EmbeddedBroker) -> None:
    """The live source reads an alert again by its place (the model let its bytes go): the
    same bytes; an offset the broker does not hold is named at once, with what it holds."""
    from fink_tui.core.decode import MessageRef
    from fink_tui.core.errors import StreamError
    from fink_tui.core.worker import KafkaSource

    topic = unique("fink_refetch_ztf")
    broker.create_topics({topic: 1})
    messages = list(wire_messages(ZTF_ALERTS))[:5]
    produce(broker.bootstrap, topic, messages, partition=0)
    source = KafkaSource(settings_for(broker.bootstrap, unique("g"), [topic]))
    try:
        for offset in (3, 0, 4):
            assert source.fetch_value(MessageRef(topic, 0, offset)) == messages[offset][1]
        with pytest.raises(StreamError, match=r"beyond its end: it holds 0\.\.4"):
            source.fetch_value(MessageRef(topic, 0, 9))
    finally:
        source.stop()
