"""Data Transfer topics in fink-client's layout: ``ftransfer_<survey>_<date>_<id>`` whose
messages carry no schema, and ``<topic>_schema`` whose first message's key is it — listed by
``topics`` with their lag, readable by ``poll`` and by the dashboard's worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fink_tui.cli import main
from fink_tui.core.decode import Alert
from fink_tui.core.events import AlertsReceived, CommandFailed, Event
from fink_tui.core.transfer import TopicKind, schema_topic, topic_kind
from fink_tui.core.worker import StreamWorker
from fink_tui.demo.broker import EmbeddedBroker
from tests.helpers import (
    FAST_GROUP,
    ZTF_ALERTS,
    produce,
    read_alerts,
    settings_for,
    unique,
    wait_until,
    wire_messages,
)

FAST = [arg for key, value in FAST_GROUP for arg in ("-X", f"{key}={value}")]


def test_topic_kinds() -> None:
    """Livestream, Data Transfer (and cross-match), their schema topics, the rest."""
    assert topic_kind("fink_sn_candidates_ztf") is TopicKind.LIVESTREAM
    assert topic_kind("ftransfer_ztf_2026-03-23_11487") is TopicKind.DATA_TRANSFER
    assert topic_kind("fxmatch_ztf_2026-03-23_1") is TopicKind.DATA_TRANSFER
    assert topic_kind("ftransfer_ztf_2026-03-23_11487_schema") is TopicKind.SCHEMA
    assert topic_kind("orders") is TopicKind.OTHER
    assert schema_topic("ftransfer_lsst_x") == "ftransfer_lsst_x_schema"


@pytest.fixture
def transfer(broker: EmbeddedBroker) -> dict[str, str]:
    """A Data Transfer job's topics as Fink writes them: 12 ZTF alerts over 2 partitions,
    values only (no key), and the schema topic whose first message's key is the schema."""
    topic = unique("ftransfer_ztf_2026-12-01")
    broker.create_topics({topic: 2, schema_topic(topic): 1})
    schema, _ = read_alerts(ZTF_ALERTS)
    values = [value for _, value in wire_messages(ZTF_ALERTS)[:12]]
    produce(broker.bootstrap, topic, [(None, v) for v in values[:7]], partition=0)
    produce(broker.bootstrap, topic, [(None, v) for v in values[7:]], partition=1)
    produce(broker.bootstrap, schema_topic(topic), [(json.dumps(schema).encode(), b"")])
    return {"servers": broker.bootstrap, "topic": topic, "group": unique("g")}


def test_topics_lists_data_transfer_with_lag(
    transfer: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`topics` names a Data Transfer topic as such, with its schema topic folded in, and the
    group's lag, time lag and status on it."""
    code = main(["topics", "--servers", transfer["servers"], "--group-id", transfer["group"]])
    out = capsys.readouterr().out
    assert code == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()}
    row = rows[transfer["topic"]]
    assert row[1:4] == ["2 partitions", "Data Transfer", "lag 12"]
    assert row[-2:] == ["OK", f"schema: {schema_topic(transfer['topic'])}"]
    assert schema_topic(transfer["topic"]) not in rows


def test_poll_decodes_with_the_schema_topic(
    transfer: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`poll` reads a Data Transfer topic's alerts with the schema of its schema topic."""
    args = ["--servers", transfer["servers"], "--group-id", transfer["group"]]
    code = main(
        ["poll", "--topics", transfer["topic"], "--limit", "12", "--idle", "10", *args, *FAST]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 12 and all(" ZTF" in line for line in lines)
    assert "cannot decode" not in err


@pytest.fixture
def worker() -> Iterator[list[StreamWorker]]:
    started: list[StreamWorker] = []
    yield started
    for w in started:
        w.stop()


def test_worker_reads_data_transfer_alerts(
    broker: EmbeddedBroker, transfer: dict[str, str], worker: list[StreamWorker]
) -> None:
    """The dashboard's worker decodes a Data Transfer topic (readable in the feed), and says
    so when a topic's schema topic is missing."""
    bare = unique("ftransfer_lsst_2026-12-01")
    events: list[Event] = []
    settings = settings_for(transfer["servers"], transfer["group"], [transfer["topic"]])
    w = StreamWorker(settings, events.append, lag_interval=0.5)
    worker.append(w)
    w.start()
    assert wait_until(
        lambda: sum(len(e.alerts) for e in events if isinstance(e, AlertsReceived)) >= 12, 30
    )
    received = [e for e in events if isinstance(e, AlertsReceived)]
    alerts: list[Alert] = [a for e in received for a in e.alerts]
    assert not any(e.failures for e in received)
    assert {a.ref.topic for a in alerts} == {transfer["topic"]}
    assert all(a.summary.survey == "ztf" and a.summary.object_id for a in alerts)
    assert not [e for e in events if isinstance(e, CommandFailed)]

    # A Data Transfer topic whose job wrote no schema topic: said, not a crash.
    events2: list[Event] = []
    broker.create_topics({bare: 1})
    w2 = StreamWorker(settings_for(transfer["servers"], unique("g"), [bare]), events2.append)
    worker.append(w2)
    w2.start()
    assert wait_until(lambda: any(isinstance(e, CommandFailed) for e in events2), 20)
    failed = next(e for e in events2 if isinstance(e, CommandFailed))
    assert f"no schema topic {bare}_schema" in failed.reason
