"""Read-only mode (no group joined, nothing committed, resets refused) and the warning when
other members share the group, against the real broker."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from fink_tui.app import FinkApp
from fink_tui.cli import main
from fink_tui.config import Settings
from fink_tui.core.events import CommandFailed, GroupShared, PlanReset
from fink_tui.core.lag import build_snapshot, fetch_lag
from fink_tui.core.readonly import READ_ONLY_RESET, other_members, start_offsets
from fink_tui.core.remote import ProcessSource
from fink_tui.core.reset import ResetTarget
from fink_tui.core.source import ReplaySource
from fink_tui.core.worker import KafkaSource
from fink_tui.demo.broker import EmbeddedBroker
from fink_tui.screens.lag import LagScreen
from fink_tui.screens.reset_offsets import ResetOffsetsModal
from tests.helpers import ZTF_ALERTS, events_of, produce, settings_for, unique, wire_messages

SIZE = (140, 40)


def test_start_offsets_committed_last_or_beginning() -> None:
    """--last N wins (never before the low watermark); else the committed offset; else the
    beginning, where the group itself would start."""
    snapshot = build_snapshot(
        "g",
        {"t": [0, 1, 2]},
        {("t", 0): 7, ("t", 1): None},
        {("t", 0): (0, 10), ("t", 1): (4, 6), ("t", 2): (0, 3)},
    )
    assert start_offsets(snapshot, None) == [
        ("t", 0, 7),
        ("t", 1, OFFSET_BEGINNING),
        ("t", 2, OFFSET_BEGINNING),
    ]
    assert start_offsets(snapshot, 5) == [("t", 0, 5), ("t", 1, 4), ("t", 2, 0)]


@pytest.fixture
def group_at_3(broker: EmbeddedBroker) -> dict[str, Any]:
    """A topic of 2 partitions (8 and 4 ZTF alerts) whose group committed offset 3 on
    partition 0 only: its pipeline has read that far."""
    topic = unique("fink_ro_ztf")
    broker.create_topics({topic: 2})
    z = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, topic, z[:8], partition=0)
    produce(broker.bootstrap, topic, z[8:12], partition=1)
    group = unique("ro_group")
    committer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    committer.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    committer.close()
    return {"servers": broker.bootstrap, "group": group, "topic": topic}


def committed(stream: dict[str, Any]) -> dict[tuple[str, int], int | None]:
    admin = AdminClient({"bootstrap.servers": stream["servers"]})
    snap = fetch_lag(admin, stream["group"], [stream["topic"]], 10)
    return {(p.topic, p.partition): p.committed for t in snap.topics for p in t.partitions}


async def until(pilot: Any, predicate: Callable[[], bool], seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never got there")


async def test_read_only_shows_alerts_and_leaves_the_group_untouched(
    group_at_3: dict[str, Any],
) -> None:
    """The app reads from the group's committed offset (5 alerts after offset 3, and all 4
    of the partition never committed), joins no group, commits nothing: the broker's
    committed offsets are the same after the app showed the alerts and quit. The lag screen
    still shows the group; resets are dimmed and refused with the reason."""
    stream = group_at_3
    before = committed(stream)
    assert before == {(stream["topic"], 0): 3, (stream["topic"], 1): None}
    settings = settings_ro(settings_for(stream["servers"], stream["group"], [stream["topic"]]))
    app = FinkApp(settings, KafkaSource(settings))
    failed: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.alert_count >= 9)
        await pilot.pause(1.5)  # time for a commit, were there one to make
        assert app.state.alert_count == 9
        # Not a member: the consumer has no member id (tansu lists no members in
        # DescribeGroups, so the broker's side cannot be asked here).
        # Asked on the worker's thread: confluent-kafka serializes the calls on a consumer,
        # and one from here waited behind the worker's back-to-back consume() calls for ever.
        assert isinstance(app.source, KafkaSource) and app.source.worker is not None
        worker = app.source.worker
        member_ids: list[str | None] = []
        poll_once = worker._poll_once

        def ask_then_poll() -> None:
            if not member_ids and worker._consumer is not None:
                member_ids.append(worker._consumer.memberid())
            poll_once()

        worker._poll_once = ask_then_poll  # type: ignore[method-assign]
        await until(pilot, lambda: bool(member_ids))
        assert not member_ids[0]
        assert "(read-only)" in str(app.screen.query_one("StatusBar").render())
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, LagScreen))
        app.refresh_views()
        await pilot.pause()
        assert app.state.lag is not None and app.state.lag.group == stream["group"]
        assert "resets disabled" in str(app.screen.query_one("#lag-summary").render())
        await pilot.press("p", "t")
        await pilot.pause()
        assert not isinstance(app.screen, ResetOffsetsModal)
        original = app.handle_event

        def spy(event: Any) -> None:
            if isinstance(event, CommandFailed):
                failed.append(event.reason)
            original(event)

        app.handle_event = spy  # type: ignore[method-assign]
        app.send_command(PlanReset(ResetTarget("earliest")))
        await until(pilot, lambda: bool(failed))
    assert failed == [READ_ONLY_RESET]
    assert committed(stream) == before


def settings_ro(settings: Any, last: int | None = None) -> Any:
    return replace(settings, read_only=True, last=last)


async def test_read_only_last_n_starts_n_before_the_end(group_at_3: dict[str, Any]) -> None:
    """--last 2: two alerts of each partition, whatever the group committed."""
    stream = group_at_3
    settings = settings_ro(settings_for(stream["servers"], stream["group"], [stream["topic"]]), 2)
    app = FinkApp(settings, ProcessSource(settings))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.alert_count >= 4)
        await pilot.pause(1.0)
        assert app.state.alert_count == 4
        assert sorted((a.ref.partition, a.ref.offset) for a in app.state.alerts) == [
            (0, 6),
            (0, 7),
            (1, 2),
            (1, 3),
        ]
    assert committed(stream) == {(stream["topic"], 0): 3, (stream["topic"], 1): None}


async def test_the_app_asks_who_else_is_in_the_group(group_at_3: dict[str, Any]) -> None:
    """Without --read-only, once the app has its partitions it asks the broker for the
    group's members. (tansu answers DescribeGroups with no members, so here the answer is
    "nobody else" even with a pipeline in the group: the naming of the others is tested below
    on the broker's answer as a Kafka broker gives it.)"""
    stream = group_at_3
    settings = settings_for(stream["servers"], stream["group"], [stream["topic"]])
    app = FinkApp(settings, ProcessSource(settings))
    shared = events_of(app, GroupShared)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(shared), seconds=60)  # a join, then a request
        assert shared[0].group == stream["group"] and shared[0].others == ()


def test_other_members_are_named_without_this_app() -> None:
    """The members the broker lists, but this app's own member id, by client id and host."""

    def member(member_id: str, client_id: str, host: str) -> Any:
        return SimpleNamespace(member_id=member_id, client_id=client_id, host=host)

    description = SimpleNamespace(
        members=[
            member("me-1", "fink-tui", "/127.0.0.1"),
            member("p-2", "fink_consumer-pipeline", "/10.0.0.7"),
        ]
    )
    future: Future[Any] = Future()
    future.set_result(description)
    admin = SimpleNamespace(describe_consumer_groups=lambda groups, **_: {"g": future})
    others = other_members(admin, "g", "me-1", 5)
    assert [str(m) for m in others] == ["fink_consumer-pipeline (10.0.0.7)"]


async def test_the_warning_says_how_many_and_who() -> None:
    """A shared group is a warning naming the others and pointing at --read-only."""
    app = FinkApp(Settings(group_id="g"), ReplaySource([]))
    said: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda text, **_: said.append(text)  # type: ignore[assignment,method-assign]
        app.handle_event(GroupShared("g", ("fink_consumer-pipeline (10.0.0.7)",)))
        app.handle_event(GroupShared("g", ()))
        await pilot.pause()
    assert len(said) == 1
    assert said[0].startswith("1 other member(s) in group g: fink_consumer-pipeline (10.0.0.7).")
    assert "--read-only" in said[0]
    assert app.state.group_others == ()


def test_last_needs_read_only(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--servers", "127.0.0.1:1", "--group-id", "g", "--topics", "t", "--last", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "--last N needs --read-only" in err
