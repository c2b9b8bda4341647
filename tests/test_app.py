"""The dashboard driven with the Pilot against the real broker: what the screen shows and
what the broker holds after each key path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import fastavro
import pytest
from confluent_kafka.admin import AdminClient
from textual.widgets import Static

from fink_tui.app import FinkApp
from fink_tui.cli import main
from fink_tui.core.lag import fetch_lag
from fink_tui.core.remote import ProcessSource
from fink_tui.core.source import ReplaySource
from fink_tui.demo.broker import EmbeddedBroker
from fink_tui.screens.alert import AlertScreen
from fink_tui.screens.confirm_reset import ConfirmResetModal
from fink_tui.screens.reset_offsets import ResetOffsetsModal
from fink_tui.widgets.alert_table import AlertTable
from fink_tui.widgets.lag_table import LagTable, row_key
from tests.helpers import (
    FAST_GROUP,
    LSST_ALERTS,
    ZTF_ALERTS,
    ZTF_SCHEMA_JSON,
    produce,
    settings_for,
    unique,
    wire_messages,
)

SIZE = (140, 40)


@pytest.fixture
def stream(broker: EmbeddedBroker) -> dict[str, str]:
    """8 ZTF alerts with a malformed one among them, 3 LSST alerts, a fresh group."""
    ztf, lsst = unique("fink_app_sn_ztf"), unique("fink_app_x_lsst")
    broker.create_topics({ztf: 2, lsst: 1})
    z = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, ztf, z[:4] + [(z[4][0], z[4][1][:64])] + z[5:9], partition=0)
    produce(broker.bootstrap, lsst, list(wire_messages(LSST_ALERTS))[:3], partition=0)
    return {"servers": broker.bootstrap, "group": unique("g"), "ztf": ztf, "lsst": lsst}


def connection(stream: dict[str, str]) -> list[str]:
    """The command-line options that reach the stream's broker, group and topics."""
    return [
        "--servers",
        stream["servers"],
        "--group-id",
        stream["group"],
        "--topics",
        f"{stream['ztf']},{stream['lsst']}",
    ]


def make_app(stream: dict[str, str]) -> FinkApp:
    settings = settings_for(stream["servers"], stream["group"], [stream["ztf"], stream["lsst"]])
    return FinkApp(settings, ProcessSource(settings, lag_interval=0.5))


async def until(pilot, predicate: Callable[[], bool], seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until ``predicate`` holds (fails the test after ``seconds``)."""
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never got there")


async def consumed(pilot, app: FinkApp, n: int = 11) -> None:  # type: ignore[no-untyped-def]
    await until(
        pilot,
        lambda: app.state.alert_count >= n and app.state.lag is not None and app.state.lag.lag == 0,
    )
    app.refresh_views()
    await pilot.pause()


def committed(stream: dict[str, str]) -> dict[tuple[str, int], int | None]:
    admin = AdminClient({"bootstrap.servers": stream["servers"]})
    snap = fetch_lag(admin, stream["group"], [stream["ztf"], stream["lsst"]], 10)
    return {(p.topic, p.partition): p.committed for t in snap.topics for p in t.partitions}


async def test_feed_lists_alerts_and_the_schema_screen_the_failure(stream) -> None:  # type: ignore[no-untyped-def]
    """The feed shows both surveys; the malformed message is on the schema screen with its
    topic/partition/offset, and the alerts after it still arrived. They were read and decoded
    in the stream process, not on the app's side (none ended, none failed to start)."""
    app = make_app(stream)
    async with app.run_test(size=SIZE) as pilot:
        await consumed(pilot, app)
        assert isinstance(app.source, ProcessSource) and app.source.worker is None
        assert app.source.pid is not None and app.source.restarts == 0
        table = app.screen.query_one(AlertTable)
        assert table.row_count == 11
        objects = {a.summary.object_id for a in table.shown.values()}
        assert any(o.startswith("ZTF") for o in objects) and any(o.isdigit() for o in objects)
        assert "1 decode failure" in str(app.screen.query_one("StatusBar").render())
        await pilot.press("3")
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        failures = app.screen.query_one("#failures")
        assert failures.row_count == 1
        row = failures.get_row_at(0)
        assert [str(cell) for cell in row[:3]] == [stream["ztf"], "0", "4"]
        schemas = app.screen.query_one("#schemas")
        assert schemas.row_count == 2


async def test_reset_partition_to_offset_moves_the_broker(stream) -> None:  # type: ignore[no-untyped-def]
    """p on a partition, choose Offset 3, confirm with y: the broker holds 3 and the table
    shows it at once; the feed re-reads from there."""
    app = make_app(stream)
    async with app.run_test(size=SIZE) as pilot:
        await consumed(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one(LagTable)
        table.move_cursor(row=table.get_row_index(row_key(stream["ztf"], 0)))
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ResetOffsetsModal))
        await pilot.press("down", "down", "enter")  # Offset
        await pilot.press("3", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetModal))
        plan = app.screen.plan  # type: ignore[attr-defined]
        assert [(r.topic, r.partition, r.current, r.new) for r in plan.rows] == [
            (stream["ztf"], 0, 9, 3)
        ]
        await pilot.press("y")
        await until(
            pilot,
            lambda: (
                app.state.lag is not None
                and app.state.lag.partition(stream["ztf"], 0).committed == 3
            ),
        )  # type: ignore[union-attr]
        app.refresh_views()
        await pilot.pause()
        row = app.screen.query_one(LagTable).get_row(row_key(stream["ztf"], 0))
        assert str(row[1]) == "3"
        assert committed(stream)[(stream["ztf"], 0)] in range(3, 10)
        await until(pilot, lambda: app.state.alert_count >= 16)  # offsets 3..8 re-read
        await pilot.press("1")
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        table = app.screen.query_one(AlertTable)
        assert table.row_count == 11  # a re-read alert is one row, not two


async def test_cancel_moves_nothing(stream) -> None:  # type: ignore[no-untyped-def]
    """A (reset all) to earliest, then n: nothing changes on the broker."""
    app = make_app(stream)
    async with app.run_test(size=SIZE) as pilot:
        await consumed(pilot, app)
        before = committed(stream)
        await pilot.press("2", "A")
        await until(pilot, lambda: isinstance(app.screen, ResetOffsetsModal))
        await pilot.press("enter")  # Earliest
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetModal))
        assert len(app.screen.plan.changes) == 3  # type: ignore[attr-defined]
        await pilot.press("n")
        await pilot.pause(1.0)
        assert committed(stream) == before
        assert app.state.alert_count == 11


async def test_export_matches_lag_json(stream, isolated_env: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """x writes SVG, CSV and JSON named by group and time; the figures are those of
    `fink-tui lag --json`."""
    app = make_app(stream)
    async with app.run_test(size=SIZE) as pilot:
        await consumed(pilot, app)
        await pilot.press("2", "x")
        await pilot.pause()
    folder = isolated_env / "export_dir"
    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".csv", ".json", ".svg"]
    assert all(f.name.startswith(f"lag_{stream['group']}_") for f in files)
    assert "Total&#160;for" in files[2].read_text()
    exported = json.loads(files[1].read_text())
    code = main(["lag", "--json", *connection(stream)])
    assert code == 0
    cli = json.loads(capsys.readouterr().out)
    assert exported["topics"] == cli["topics"]
    rows = files[0].read_text().splitlines()
    assert rows[0] == "topic,partition,committed,low,high,lag,time_lag_s,lost,status"
    assert f"{stream['ztf']},0,9,0,9,0,0.0,0,OK" in rows


async def test_pause_filter_open_and_save(stream, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    """space pauses (nothing new arrives), / filters rows, enter opens an alert, s saves it."""
    app = make_app(stream)
    async with app.run_test(size=SIZE) as pilot:
        await consumed(pilot, app)
        await pilot.press("space")
        await until(pilot, lambda: app.state.paused)
        await pilot.pause()
        footer = {b.action for _, b, enabled, _ in app.screen.active_bindings.values() if enabled}
        assert "resume" in footer and "pause" not in footer  # the footer offers Resume now
        produce(
            stream["servers"], stream["ztf"], list(wire_messages(ZTF_ALERTS))[20:23], partition=1
        )
        await pilot.pause(1.5)
        assert app.state.alert_count == 11
        await pilot.press("space")
        await until(pilot, lambda: app.state.alert_count == 14)
        app.refresh_views()
        await pilot.press("slash", *"lsst", "enter")
        table = app.screen.query_one(AlertTable)
        assert table.row_count == 3
        assert all(a.ref.topic == stream["lsst"] for a in table.shown.values())
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AlertScreen))
        await until(pilot, lambda: getattr(app.screen, "record", None) is not None)  # by a thread
        await pilot.press("s")
        await pilot.pause()
    saved = list((isolated_env / "data_dir" / "alerts").glob("*.avro"))
    assert len(saved) == 1
    with saved[0].open("rb") as fh:
        record = next(iter(fastavro.reader(fh)))
    assert "diaSource" in record and record["prvDiaSources"]


async def test_force_schema_from_file_shows_the_diff(stream) -> None:  # type: ignore[no-untyped-def]
    """f, a path, Enter: the forced schema is listed and compared with the stream's."""
    app = make_app(stream)
    async with app.run_test(size=SIZE) as pilot:
        await consumed(pilot, app)
        await pilot.press("3", "f")
        await pilot.pause()
        await pilot.press(*str(ZTF_SCHEMA_JSON), "enter")
        await until(pilot, lambda: app.state.forced is not None)
        app.refresh_views()
        await pilot.pause()
        schemas = app.screen.query_one("#schemas")
        assert str(schemas.get_row_at(0)[1]) == "(forced)"
        lsst = next(f for f, seen in app.state.schemas.items() if seen.info.survey == "lsst")
        schemas.move_cursor(row=schemas.get_row_index(lsst))  # the LSST schema of the stream
        await pilot.pause()
        diff = str(app.screen.query_one("#diff").render())
        assert "difference(s)" in diff and "- diaSource" in diff


def test_headless_lag_export(stream, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`fink-tui lag --export FILE.svg` renders the lag screen with no terminal."""
    out = tmp_path / "reports" / "lag.svg"
    out.parent.mkdir()
    fast = [a for k, v in FAST_GROUP for a in ("-X", f"{k}={v}")]
    code = main(["lag", "--export", str(out), *connection(stream), *fast])
    assert code == 0
    svg = out.read_text()
    assert svg.startswith("<svg") and "Total&#160;for&#160;" in svg
    assert stream["ztf"].replace("_", "_") in svg.replace("&#160;", " ")
    # A snapshot, not a live screen: no alert rate nor "received" count in the picture.
    assert "alerts/s" not in svg and "received" not in svg.replace("&#160;", " ")


async def test_alert_text_is_never_read_as_markup() -> None:
    """A classification such as 'SN [/] odd' is shown as it is, not parsed as markup."""
    from dataclasses import replace

    from fink_tui.config import Settings
    from fink_tui.core.decode import AlertDecoder, MessageRef
    from fink_tui.core.events import AlertsReceived

    key, value = wire_messages(ZTF_ALERTS)[0]
    alert = AlertDecoder().decode(MessageRef("fink_[b]odd[/b]_ztf", 0, 0), key, value)
    alert.summary = replace(alert.summary, classification="SN [/] odd [ia]")  # type: ignore[union-attr]
    source = ReplaySource([AlertsReceived((alert,), ())])  # type: ignore[arg-type]
    app = FinkApp(Settings(servers="127.0.0.1:9", group_id="g[/]", topics=("t",)), source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        table = app.screen.query_one(AlertTable)
        assert "SN [/] odd [ia]" in [str(cell) for cell in table.get_row_at(0)]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AlertScreen))
        await pilot.press("escape", "2", "3")
        await pilot.pause()
    assert app.return_code in (0, None)


async def test_a_key_makes_the_source_hold_off_while_its_screen_is_drawn() -> None:
    """Each key (once, not again as it bubbles back to the app) asks the source to make way."""
    from fink_tui.app import MAKE_WAY
    from fink_tui.config import Settings

    class Recording(ReplaySource):
        def __init__(self) -> None:
            super().__init__()
            self.ways: list[float] = []

        def make_way(self, seconds: float) -> None:
            self.ways.append(seconds)

    source = Recording()
    app = FinkApp(Settings(servers="127.0.0.1:9", group_id="g", topics=("t",)), source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert source.ways == []
        await pilot.press("2", "1")
        await pilot.pause()
        assert source.ways == [MAKE_WAY, MAKE_WAY]


async def test_feed_follows_new_alerts_until_the_user_moves() -> None:
    """On the newest row the feed follows new alerts (tail -f); moved down, the cursor stays
    on its alert and the title counts the alerts that arrived above it."""
    from fink_tui.config import Settings
    from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
    from fink_tui.core.events import AlertsReceived

    decoder = AlertDecoder()
    messages = wire_messages(ZTF_ALERTS)

    def batch(start: int, n: int) -> AlertsReceived:
        found = [
            decoder.decode(MessageRef("fink_x_ztf", 0, i), *messages[i % 31])
            for i in range(start, start + n)
        ]
        return AlertsReceived(tuple(a for a in found if isinstance(a, Alert)), ())

    source = ReplaySource([batch(0, 10)])
    app = FinkApp(Settings(servers="127.0.0.1:9", group_id="g", topics=("fink_x_ztf",)), source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        table = app.screen.query_one(AlertTable)
        assert table.selected_key() == "fink_x_ztf/0/9"
        source.play([batch(10, 5)])
        app.refresh_views()
        await pilot.pause()
        assert table.selected_key() == "fink_x_ztf/0/14" and table.cursor_row == 0
        await pilot.press("down", "down")
        assert table.selected_key() == "fink_x_ztf/0/12"
        source.play([batch(15, 4)])
        app.refresh_views()
        await pilot.pause()
        assert table.selected_key() == "fink_x_ztf/0/12" and table.new_above == 4
        title = app.screen.query_one("#feed-title", Static)
        assert "4 new above" in str(title.render())
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and table.new_above == 0


async def test_failure_cursor_stays_on_its_message() -> None:
    """On the schema screen the cursor stays on the failed message the user chose when a new
    failure arrives above it (so `d` dumps that one)."""
    from fink_tui.config import Settings
    from fink_tui.core.decode import AlertDecoder, DecodeFailure, MessageRef
    from fink_tui.core.events import AlertsReceived

    decoder = AlertDecoder()

    def failure(offset: int) -> DecodeFailure:
        result = decoder.decode(MessageRef("fink_x_ztf", 0, offset), None, b"x")
        assert isinstance(result, DecodeFailure)
        return result

    source = ReplaySource([AlertsReceived((), tuple(failure(n) for n in range(3)))])
    app = FinkApp(
        Settings(servers="127.0.0.1:9", group_id="g", topics=("fink_x_ztf",)),
        source,
        mode="schema",
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        table = app.screen.query_one("#failures")
        table.focus()
        await pilot.press("down")  # newest first: offsets 2, 1, 0 -> on offset 1
        assert str(table.get_row_at(table.cursor_row)[2]) == "1"
        source.play([AlertsReceived((), (failure(3),))])
        app.refresh_views()
        await pilot.pause()
        assert table.row_count == 4
        assert str(table.get_row_at(table.cursor_row)[2]) == "1"


async def test_pause_shows_at_once_and_holds_what_arrives_until_resumed() -> None:
    """Space says PAUSED at once, before the source has stopped; a batch the source still
    sends is neither shown nor committed until the person resumes."""
    from fink_tui.config import Settings
    from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
    from fink_tui.core.events import AlertsReceived, AlertsShown, Command, SetPaused
    from fink_tui.widgets.status_bar import StatusBar

    class SlowToPause(ReplaySource):
        """A source that answers a pause later (a worker in the middle of a batch)."""

        def send(self, command: Command) -> None:
            if isinstance(command, SetPaused):
                self.sent.append(command)
                return
            super().send(command)

    decoder = AlertDecoder()
    topic = "fink_x_ztf"
    alerts = []
    for offset, (key, value) in enumerate(list(wire_messages(ZTF_ALERTS))[:6]):
        alert = decoder.decode(MessageRef(topic, 0, offset), key, value)
        assert isinstance(alert, Alert)
        alerts.append(alert)
    first = AlertsReceived(tuple(alerts[:3]), (), offsets=((topic, 0, 3),))
    later = AlertsReceived(tuple(alerts[3:]), (), offsets=((topic, 0, 6),))
    source = SlowToPause([first])
    app = FinkApp(Settings(servers="127.0.0.1:9", group_id="g", topics=(topic,)), source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(AlertTable)
        await pilot.press("space")
        assert "PAUSED" in str(app.screen.query_one(StatusBar).render())
        source.play([later])
        await pilot.pause()
        assert table.row_count == 3
        assert AlertsShown(((topic, 0, 6),), 0) not in source.sent
        await pilot.press("space")
        await pilot.pause()
        assert table.row_count == 6
        assert AlertsShown(((topic, 0, 6),), 0) in source.sent
        assert "PAUSED" not in str(app.screen.query_one(StatusBar).render())


async def test_reset_dialog_opens_fresh_each_time() -> None:
    """The dialog is kept between uses (building it was most of the time to open it): each
    opening starts again on Earliest, with no value and no error from the last time."""
    from textual.widgets import Input, Label, RadioSet

    from fink_tui.textual_compat import highlighted_index
    from tests.test_snapshots import snapshot_app

    app = snapshot_app("lag")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("A")
        dialog = app.screen
        assert isinstance(dialog, ResetOffsetsModal)
        await pilot.press("down", "down", "down", "down", "enter", *"ten", "enter")
        await pilot.pause()
        assert "whole number" in str(dialog.query_one("#error", Label).render())
        await pilot.press("escape")
        await pilot.press("A")
        await pilot.pause()
        assert app.screen is dialog
        radios = dialog.query_one(RadioSet)
        assert radios.pressed_index == 0 and highlighted_index(radios) == 0
        assert dialog.query_one("#value", Input).value == ""
        assert dialog.query_one("#value", Input).disabled
        assert str(dialog.query_one("#error", Label).render()) == ""
        await pilot.press("enter")  # Earliest: on to the plan
        await pilot.pause()
        assert isinstance(app.screen, ConfirmResetModal)


async def test_key_bar_keeps_help_and_quit_when_narrow() -> None:
    """At 80 columns the keys that do not fit go, "…" says so, and "? Keys" (which lists
    them all), "q Quit" and the palette's key stay; a click on a key presses it."""
    from fink_tui.screens.lag import LagScreen
    from fink_tui.widgets.key_bar import KeyBar
    from tests.test_snapshots import snapshot_app

    app = snapshot_app("lag")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        text = str(bar.render())
        assert text.endswith("…  ? Keys  q Quit  ^p palette ")
        assert "r Refresh" in text
        await pilot.click(KeyBar, offset=(text.index("? Keys") + 1, 0))
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("1")
        await pilot.click(
            KeyBar, offset=(str(app.screen.query_one(KeyBar).render()).index("2 Lag") + 1, 0)
        )
        await pilot.pause()
        assert isinstance(app.screen, LagScreen)


def test_feed_time_shows_the_age_today_and_the_date_otherwise() -> None:
    """Today's alerts: the time and how long ago; older ones: the date in full."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
    from fink_tui.widgets.alert_table import age_text, alert_cells

    key, value = wire_messages(ZTF_ALERTS)[0]
    alert = AlertDecoder().decode(MessageRef("fink_x_ztf", 0, 0), key, value)
    assert isinstance(alert, Alert)
    now = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    at = now - timedelta(minutes=7, seconds=20)
    today = replace(alert, summary=replace(alert.summary, time=at))
    assert alert_cells(today, now.date(), now)[0] == "03:22:40  7 min"
    assert alert_cells(today, now.date())[0] == "03:22:40"  # no clock: no age
    assert alert_cells(alert, now.date(), now)[0].startswith(f"{alert.summary.time:%Y-%m-%d}")
    assert [age_text(s) for s in (5, 60, 3599, 3600, 7300)] == [
        "now",
        "1 min",
        "59 min",
        "1 h",
        "2 h",
    ]


async def test_an_alert_let_go_is_read_again_from_the_broker(stream, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    """With a budget of one alert's bytes, every other alert lets its bytes go (its row stays
    in the feed); an object's latest alert is still listed and opens: its bytes are read again
    from the broker, and the fields, curve and cutouts fill as for any alert; s saves it."""
    from fink_tui.screens.objects import ObjectAlertsScreen, ObjectsScreen
    from fink_tui.widgets.object_table import ObjectTable

    app = make_app(stream)
    app.state.max_bytes = 1
    async with app.run_test(size=SIZE) as pilot:
        await consumed(pilot, app)
        assert sum(a.held for a in app.state.alerts) == 1
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen))
        app.refresh_views()
        await pilot.pause()
        table = app.screen.query_one(ObjectTable)
        for _ in range(table.row_count):  # to a ZTF object whose latest alert let go
            obj = table.selected_object()  # (the topics' alerts interleave as consumed)
            assert obj is not None
            if not obj.latest.held and obj.latest.summary.survey == "ztf":
                break
            await pilot.press("down")
        assert not obj.latest.held and obj.latest.summary.survey == "ztf"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ObjectAlertsScreen))
        app.refresh_views()
        await pilot.pause()
        title = str(app.screen.query_one("#object-title", Static).render())
        assert "read again to open" in title
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AlertScreen))
        screen = app.screen
        assert isinstance(screen, AlertScreen)
        await until(pilot, lambda: screen.record is not None)
        assert screen.record is not None
        assert screen.record["objectId"] == obj.object_id
        assert screen.alert.held and screen.alert.ref == obj.latest.ref
        assert not obj.latest.held  # the model's copy stays within its budget
        wire = {value for _key, value in wire_messages(ZTF_ALERTS)}
        assert screen.alert.value in wire
        await pilot.press("s")
        await pilot.pause()
        (saved,) = (isolated_env / "data_dir" / "alerts").glob("*.avro")
        with saved.open("rb") as fh:
            assert [r["objectId"] for r in fastavro.reader(fh)] == [obj.object_id]


async def test_no_screen_is_built_while_the_app_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer that builds the other modes' screens may fire while Textual closes every
    mode's screens (between two of them): it builds nothing then, and the app closes
    cleanly, handing Python's full garbage collections back (once, a mode built there
    stopped the closing with a RuntimeError and left them off for the rest of the process)."""
    import gc

    from fink_tui.config import Settings

    before = gc.get_threshold()
    app = FinkApp(Settings(servers="127.0.0.1:9", group_id="g", topics=("t",)), ReplaySource([]))
    prune = FinkApp._prune
    fired: list[int] = []

    async def pruning(self: FinkApp, *args: object, **kwargs: object) -> None:
        if not fired:  # as the timer would, in the middle of the closing
            fired.append(len(self._screen_stacks))
            self._prepare_modes()
            self._prepare_alert_screen()
        await prune(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(FinkApp, "_prune", pruning)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "lag" not in app._screen_stacks  # the other modes not built yet
        shown = len(app._screen_stacks)
    assert fired == [shown] and app.return_code in (0, None)
    assert gc.get_threshold() == before
