"""The stream process (core/remote.py): events cross the pipe as they were, a killed stream
process loses nothing and is replaced, and without one the stream runs in the app."""

from __future__ import annotations

import copy
import io
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from fink_tui.core.decode import Alert
from fink_tui.core.events import (
    AlertBytes,
    AlertsReceived,
    CommandFailed,
    Connection,
    ConnectionChanged,
    Event,
    GroupShared,
    PauseChanged,
)
from fink_tui.core.fastread import same_values
from fink_tui.core.lag import fetch_lag
from fink_tui.core.pool import groups_by_session
from fink_tui.core.remote import VALUE_BYTES, ProcessSource, _EventUnpickler, _Up, ended
from fink_tui.demo.broker import EmbeddedBroker
from fink_tui.model import MAX_ALERT_BYTES, StreamState
from fink_tui.screens.alert import AlertScreen
from fink_tui.widgets.alert_table import AlertTable
from tests.app_child import RecordingApp
from tests.helpers import (
    ZTF_ALERTS,
    descendants,
    events_of,
    produce,
    settings_for,
    unique,
    wire_messages,
)
from tests.test_snapshots import snapshot_app

SIZE = (120, 40)


def crossed(events: list[Event], value_bytes: int = 0) -> tuple[list[Any], int]:
    """``events`` written by a stream process's side and read back by the app's: what came out
    (the alerts' bytes as :class:`AlertBytes`), and how many schemas were sent."""
    pipe = io.BytesIO()
    up = _Up(pipe, value_bytes=value_bytes)
    for event in events:
        assert up.event(event)
    up.close()
    pipe.seek(0)
    out: list[Any] = []
    schemas: dict[int, Any] = {}
    sent = 0
    while pipe.tell() < len(pipe.getvalue()):
        message = _EventUnpickler(pipe, schemas).load()
        if message[0] == "schema":
            schemas[message[1]] = message[2]
            sent += 1
        elif message[0] == "values":
            out.append(AlertBytes(message[1]))
        else:
            out.append(message[1])
    return out, sent


def test_every_event_crosses_the_pipe_as_it_was() -> None:
    """The replay of the snapshot tests (real ZTF and LSST alerts, a failure, lag snapshots, a
    forced schema) and the other events, twice: each arrives equal; each schema is sent once
    and its alerts share one copy of it on the app's side."""
    events = list(snapshot_app(forced=True).source.events)  # type: ignore[attr-defined]
    events += [
        PauseChanged(True),
        CommandFailed("consume", "broker: boom"),
        GroupShared("g", ("other-member",)),
        ConnectionChanged(Connection.RECONNECTING, "why"),
    ]
    out, sent = crossed(events + events)
    assert len(out) == 2 * len(events)
    alerts = [a for e in events if isinstance(e, AlertsReceived) for a in e.alerts]
    assert sent == len({id(a.schema) for a in alerts}) == 2  # ZTF and LSST
    for before, after in zip(events + events, out, strict=True):
        assert type(after) is type(before)
        if not isinstance(before, AlertsReceived):
            assert after == before
            continue
        assert after.failures == before.failures and after.offsets == before.offsets
        for a, b in zip(before.alerts, after.alerts, strict=True):
            assert isinstance(b, Alert)
            assert (b.ref, b.summary, b.value, b.fields) == (a.ref, a.summary, a.value, a.fields)
            assert b.schema.fingerprint == a.schema.fingerprint
            assert same_values(b.record(), a.record())  # NaN fields: not ==
    crossed_alerts = [a for e in out if isinstance(e, AlertsReceived) for a in e.alerts]
    assert len({id(a.schema) for a in crossed_alerts}) == 2


def test_the_newest_bytes_follow_their_alerts() -> None:
    """A stream process sends the alerts without their bytes, then the newest within the budget
    the dashboard keeps (the older ones it would let go on arrival), after their alerts; the
    model takes them in."""
    events = [
        e
        for e in snapshot_app(forced=True).source.events  # type: ignore[attr-defined]
        if isinstance(e, AlertsReceived)
    ]
    alerts = [a for e in events for a in e.alerts]
    sizes = [len(a.value or b"") for a in alerts]
    budget = sum(sizes[-3:])  # the last three alerts' bytes
    values = {a.ref: a.value for a in alerts}
    out, _ = crossed(copy.deepcopy(events), value_bytes=budget)
    assert [type(e) for e in out] == [AlertsReceived] * len(events) + [AlertBytes]
    assert all(a.value is None for e in out[:-1] for a in e.alerts)
    assert [ref for ref, _ in out[-1].values] == [a.ref for a in alerts[-3:]]
    assert all(value == values[ref] for ref, value in out[-1].values)

    state = StreamState(max_bytes=budget)
    for event in out:
        state.apply(event)
    held = [a for a in state.alerts if a.held]
    assert [a.ref for a in held] == [a.ref for a in alerts[-3:]]
    assert state.kept_bytes == budget
    assert same_values(held[-1].record(), alerts[-1].record())

    # Bytes of alerts gone from the feed meanwhile are not taken; within a smaller budget the
    # newest stay.
    state = StreamState(max_alerts=2, max_bytes=sizes[-1])
    for event in crossed(copy.deepcopy(events), value_bytes=budget)[0]:
        state.apply(event)
    assert [a.held for a in state.alerts] == [False, True] and state.kept_bytes == sizes[-1]
    assert VALUE_BYTES <= MAX_ALERT_BYTES  # no more than the dashboard keeps


def committed(bootstrap: str, group: str, topic: str) -> int:
    snapshot = fetch_lag(AdminClient({"bootstrap.servers": bootstrap}), group, [topic], 10)
    return sum(p.committed or 0 for t in snapshot.topics for p in t.partitions)


def recording_app(bootstrap: str, group: str, topic: str) -> RecordingApp:
    settings = settings_for(bootstrap, group, [topic])
    return RecordingApp(settings, ProcessSource(settings, lag_interval=0.5))


async def until(pilot: Any, predicate: Any, seconds: float = 40.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        await pilot.pause(0.05)
    return bool(predicate())


async def test_a_killed_stream_process_loses_nothing(broker: EmbeddedBroker) -> None:
    """kill -9 of the stream process while 4,000 alerts pour in: the status says so, a new
    one takes over, every alert is shown (some twice: the killed one's were not committed),
    and at the end the group is committed at the end of the topic."""
    topic, group = unique("fink_remote_kill_ztf"), unique("g")
    broker.create_topics({topic: 2})
    ztf = wire_messages(ZTF_ALERTS)
    total = 4000
    produce(broker.bootstrap, topic, [ztf[n % len(ztf)] for n in range(total)])
    app = recording_app(broker.bootstrap, group, topic)
    states = events_of(app, ConnectionChanged)
    async with app.run_test(size=SIZE) as pilot:
        source = app.source
        assert isinstance(source, ProcessSource)
        assert await until(pilot, lambda: len(app.held) >= 300)
        first = source.pid
        assert first is not None
        at_kill, killed_at = len(app.held), time.monotonic()
        os.kill(first, signal.SIGKILL)
        keys = lambda: {key for _, key in app.held}  # noqa: E731
        assert await until(pilot, lambda: len(keys()) == total and app.state.lag is not None)
        assert source.restarts == 1 and source.pid not in (None, first)
        assert any(
            s.state is Connection.RECONNECTING
            and "the stream process ended (killed by SIGKILL)" in s.detail
            for s in states
        )
        assert await until(pilot, lambda: committed(broker.bootstrap, group, topic) == total)
        print(
            f"\n[stream process kill -9 after {at_kill} held of {total}] lost "
            f"{total - len(keys())}, shown twice {len(app.held) - len(keys())}, first alert "
            f"after it in {min(t for t, _ in app.held if t > killed_at) - killed_at:.2f} s"
        )
        await pilot.press("q")


async def test_the_stream_process_leaves_the_cores_to_the_screen(broker: EmbeddedBroker) -> None:
    """Where Linux shares the cores between sessions first (autogroups), the stream process
    leads a session of its own, with its decoding processes, and that scheduler group weighs
    as nice 5 (the screen's key waited for a core behind it: bench/README.md); the dashboard's
    own group is untouched. Elsewhere it stays in the dashboard's session."""
    topic, group = unique("fink_remote_group_ztf"), unique("g")
    broker.create_topics({topic: 2})
    ztf = wire_messages(ZTF_ALERTS)
    produce(broker.bootstrap, topic, [ztf[n % len(ztf)] for n in range(2000)])
    settings = settings_for(broker.bootstrap, group, [topic])
    app = RecordingApp(settings, ProcessSource(settings, lag_interval=0.5, workers=2))
    own = Path("/proc/self/autogroup")
    before = own.read_text() if own.exists() else ""
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.held) >= 300)
        pid = app.source.pid  # type: ignore[attr-defined]
        decoders = descendants(pid)
        assert decoders  # workers=2: the stream process and one decoding process
        if groups_by_session():
            assert os.getsid(pid) == pid != os.getsid(0)
            assert all(os.getsid(d) == pid for d in decoders)
            assert Path(f"/proc/{pid}/autogroup").read_text().split()[-2:] == ["nice", "5"]
            assert own.read_text() == before  # the dashboard's group: as it was
        else:
            assert os.getsid(pid) == os.getsid(0)
        await pilot.press("q")


async def test_the_newest_alerts_get_their_bytes_after_a_burst(broker: EmbeddedBroker) -> None:
    """600 real ZTF alerts (32 MB) read flat out: once the stream pauses, the newest alerts
    hold their bytes (within the dashboard's budget), the same bytes the broker holds, and the
    alert under the cursor opens on the alert screen."""
    topic, group = unique("fink_remote_bytes_ztf"), unique("g")
    broker.create_topics({topic: 1})
    ztf = wire_messages(ZTF_ALERTS)
    total = 600
    sent = [ztf[n % len(ztf)] for n in range(total)]
    produce(broker.bootstrap, topic, sent)
    app = recording_app(broker.bootstrap, group, topic)
    async with app.run_test(size=SIZE) as pilot:
        state = app.state
        assert await until(pilot, lambda: state.alert_count == total)
        newest = state.alerts[-1]
        assert await until(pilot, lambda: newest.held)
        held = [a for a in state.alerts if a.held]
        assert 0 < state.kept_bytes <= MAX_ALERT_BYTES
        assert state.kept_bytes == sum(len(a.value or b"") for a in held)
        assert all(a.value == sent[a.ref.offset][1] for a in held)
        print(f"\n[{total} alerts flat out] {len(held)} newest hold their bytes")
        # Enter opens the row under the cursor: pressed once the table shows the newest
        # alert there (the table is drawn twice a second; a fast burst may still be unseen).
        table = app.screen.query_one(AlertTable)
        assert await until(pilot, lambda: table.selected_alert() is newest)
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, AlertScreen))
        screen = app.screen
        assert isinstance(screen, AlertScreen)
        assert await until(pilot, lambda: screen.record is not None)
        assert screen.alert.value == sent[screen.alert.ref.offset][1]
        await pilot.press("escape", "q")


async def test_a_new_stream_process_reads_as_the_old_one_was_told(broker: EmbeddedBroker) -> None:
    """Paused, then the stream process killed: the next one starts paused (what arrives is
    not shown), and space resumes it."""
    topic, group = unique("fink_remote_pause_ztf"), unique("g")
    broker.create_topics({topic: 1})
    ztf = wire_messages(ZTF_ALERTS)
    produce(broker.bootstrap, topic, list(ztf[:5]))
    app = recording_app(broker.bootstrap, group, topic)
    async with app.run_test(size=SIZE) as pilot:
        source = app.source
        assert isinstance(source, ProcessSource)
        assert await until(pilot, lambda: app.state.alert_count == 5)
        await pilot.press("space")
        assert await until(pilot, lambda: source._sticky != {})
        await pilot.pause(0.5)
        os.kill(source.pid or 0, signal.SIGKILL)
        assert await until(pilot, lambda: source.restarts == 1 and app.state.lag is not None)
        produce(broker.bootstrap, topic, list(ztf[5:10]))
        await pilot.pause(3.0)
        keys = lambda: {key for _, key in app.held}  # noqa: E731
        assert len(keys()) == 5 and app.state.paused
        await pilot.press("space")
        assert await until(pilot, lambda: len(keys()) == 10), (len(keys()), app.state.alert_count)
        await pilot.press("q")


async def test_a_stream_process_started_before_the_screen_is_read_by_it(
    broker: EmbeddedBroker,
) -> None:
    """The command line starts the stream process first thing and tells it how to read before
    the screen is up: it joins the group meanwhile, but commits nothing until the app has
    shown the alerts, and the app reads that process, not a new one."""
    from fink_tui.core.pool import start_stream_process

    topic, group = unique("fink_remote_early_ztf"), unique("g")
    broker.create_topics({topic: 1})
    ztf = wire_messages(ZTF_ALERTS)
    produce(broker.bootstrap, topic, list(ztf[:20]))
    settings = settings_for(broker.bootstrap, group, [topic])
    early = start_stream_process()
    assert early is not None
    source = ProcessSource(settings, lag_interval=0.5)
    source.prepare(early)
    time.sleep(4.0)  # joined and read, waiting for the app
    assert early.poll() is None and committed(broker.bootstrap, group, topic) == 0
    app = RecordingApp(settings, source)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: app.state.alert_count == 20)
        assert source.pid == early.pid and source.restarts == 0
        assert await until(pilot, lambda: committed(broker.bootstrap, group, topic) == 20)
        await pilot.press("q")
    assert early.poll() is not None


@pytest.mark.parametrize("prepared", [False, True], ids=["at-start", "prepared"])
@pytest.mark.parametrize("interpreter", ["/nonexistent/python3", "/bin/false"])
async def test_without_a_stream_process_the_stream_runs_here(
    broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch, interpreter: str, prepared: bool
) -> None:
    """No interpreter to start one with, or one that ends at once (started with the app, or
    before it): the stream runs on a worker thread of the app, and the alerts arrive all the
    same."""
    topic, group = unique("fink_remote_here_ztf"), unique("g")
    broker.create_topics({topic: 1})
    produce(broker.bootstrap, topic, list(wire_messages(ZTF_ALERTS)[:5]))
    monkeypatch.setattr(sys, "executable", interpreter)
    app = recording_app(broker.bootstrap, group, topic)
    if prepared:
        assert isinstance(app.source, ProcessSource)
        app.source.prepare()
    async with app.run_test(size=SIZE) as pilot:
        source = app.source
        assert isinstance(source, ProcessSource)
        assert await until(pilot, lambda: app.state.alert_count == 5)
        assert source.worker is not None and source.pid is None
        await pilot.press("q")
    assert source.worker is not None and not source.worker.is_alive()


def test_how_a_stream_process_ended_is_said_in_words() -> None:
    assert ended(1) == "exit status 1"
    assert ended(-9) == "killed by SIGKILL"
    assert ended(-200) == "killed by signal 200"
