"""``fink-tui open``: saved alerts (fink-tui's saves, fink_consumer --save files, Fink Data
Transfer Avro containers) read by a FileSource into the same screens, with no broker."""

from __future__ import annotations

import fcntl
import io
import os
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import fastavro
import pytest

from fink_tui.app import FinkApp
from fink_tui.cli import main
from fink_tui.config import Settings
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
from fink_tui.core.events import AlertsReceived, Connection, ConnectionChanged
from fink_tui.core.files import save_alert
from fink_tui.core.offline import ContainerReader, FileSource, alert_files, topic_of
from fink_tui.core.terminal import hung_up
from fink_tui.screens.alert import AlertScreen
from fink_tui.widgets.alert_table import AlertTable
from fink_tui.widgets.object_table import ObjectTable
from tests.helpers import (
    LSST_ALERTS,
    OLD_ZTF_ALERT,
    ZTF_ALERTS,
    ZTF_SCHEMA_JSON,
    read_alerts,
    wait_until,
    wire_messages,
)

SIZE = (140, 36)


def ztf_alert(n: int, topic: str = "fink_early_sn_candidates_ztf") -> Alert:
    key, value = wire_messages(ZTF_ALERTS)[n]
    alert = AlertDecoder().decode(MessageRef(topic, 0, n), key, value)
    assert isinstance(alert, Alert)
    return alert


@pytest.fixture
def saved(tmp_path: Path) -> dict[str, Any]:
    """A folder as a night leaves it: two fink-tui saves, one fink_consumer --save file (one
    alert, named objectId_candid), one file that is not Avro; and Fink's Data Transfer
    containers of both surveys beside it (read where they are)."""
    folder = tmp_path / "night"
    folder.mkdir()
    ours = [save_alert(ztf_alert(n), folder) for n in (0, 1)]
    schema, records = read_alerts(ZTF_ALERTS)
    record = records[2]
    client = folder / f"{record['objectId']}_{record['candid']}.avro"
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), [record])
    client.write_bytes(buffer.getvalue())
    (folder / "broken.avro").write_bytes(b"Obj\x01 not really")
    return {"folder": folder, "ours": ours, "client": client, "broken": folder / "broken.avro"}


def test_files_are_found_once_in_order_and_bad_paths_refused(saved: dict[str, Any]) -> None:
    files = alert_files([saved["folder"], saved["client"]])
    assert files == sorted(saved["folder"].glob("*.avro"))
    assert topic_of(saved["ours"][0]) == "fink_early_sn_candidates_ztf"
    assert topic_of(saved["client"]) == "night"
    with pytest.raises(Exception, match="no such file or folder"):
        alert_files([saved["folder"] / "nope.avro"])
    with pytest.raises(Exception, match="not an Avro container file"):
        alert_files([ZTF_ALERTS.parent / ZTF_SCHEMA_JSON])
    empty = saved["folder"] / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match="no .avro file in this folder"):
        alert_files([empty])


@pytest.mark.parametrize("path", [ZTF_ALERTS, LSST_ALERTS, OLD_ZTF_ALERT])
def test_containers_read_as_the_broker_would_give_them(path: Path) -> None:
    """Every record of a container becomes an alert whose summary is the one the live path
    makes of the same record, and whose bytes decode to the very record fastavro reads."""
    schema, records = read_alerts(path)
    result = ContainerReader().read(path, "t", 3)
    assert not result.failures and len(result.alerts) == len(records)
    decoder = AlertDecoder()
    for offset, (alert, (key, value)) in enumerate(
        zip(result.alerts, wire_messages(path), strict=True)
    ):
        live = decoder.decode(MessageRef("t", 3, offset), key, value)
        assert isinstance(live, Alert)
        assert alert.ref == live.ref and alert.summary == live.summary
        assert alert.value == value
    whole = result.alerts[0].record()  # (NaN fields make == on records useless)
    assert set(whole) == set(records[0]) and repr(whole) == repr(records[0])


def test_an_alert_let_go_is_read_again_from_its_file() -> None:
    """The model lets older alerts' bytes go; the file source reads them again from their
    file (the alert's partition is the file, its offset the record), exactly as first read."""
    from fink_tui.core.errors import StreamError

    source = FileSource([LSST_ALERTS, ZTF_ALERTS])
    first = {
        a.ref: a.value
        for n, path in enumerate(source.files)
        for a in ContainerReader().read(path, topic_of(path), n).alerts
    }
    for ref in [r for r in first if r.partition == 1][5:8] + [next(iter(first))]:
        assert source.fetch_value(ref) == first[ref]
    with pytest.raises(StreamError, match="no such file"):
        source.fetch_value(MessageRef("t", 7, 0))
    with pytest.raises(StreamError, match="no longer there"):
        source.fetch_value(MessageRef("t", 1, 10_000))


def test_reading_files_makes_way_for_a_key() -> None:
    """While the person's key is drawn the files wait; then they are read on."""
    events: list[object] = []
    source = FileSource([ZTF_ALERTS])
    source.make_way(3600)
    source.start(events.append)
    try:
        assert wait_until(lambda: any(isinstance(e, ConnectionChanged) for e in events))
        assert not wait_until(lambda: any(isinstance(e, AlertsReceived) for e in events), 0.5)
        source.make_way(0)
        assert wait_until(lambda: any(isinstance(e, AlertsReceived) for e in events))
    finally:
        source.stop()


def test_a_file_that_is_not_avro_is_one_failure(saved: dict[str, Any]) -> None:
    result = ContainerReader().read(saved["broken"], "night", 0)
    assert result.alerts == [] and len(result.failures) == 1
    assert "not a readable Avro container file" in result.failures[0].reason


async def test_open_shows_saved_alerts_in_the_feed_objects_and_alert_screens(
    saved: dict[str, Any],
) -> None:
    """Everything opened is in the feed (41 alerts: 3 saved, 31 ZTF and 7 LSST from the
    Data Transfer files), the objects screen groups them, an alert opens with its fields, the
    broken file is a decode failure, and what needs a broker says why not."""
    source = FileSource([saved["folder"], ZTF_ALERTS, LSST_ALERTS])
    app = FinkApp(Settings(), source)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(400):
            if "alerts from" in app.state.connection.detail and "reading" not in (
                app.state.connection.detail
            ):
                break
            await pilot.pause(0.05)
        assert app.state.connection.state is Connection.OFFLINE
        assert app.state.connection.detail == "41 alerts from 6 file(s)"
        assert app.state.alert_count == 41 and app.state.failure_count == 1
        app.refresh_views()
        await pilot.pause()
        table = app.screen.query_one(AlertTable)
        assert table.row_count == 41
        assert "offline" in str(app.screen.query_one("StatusBar").render())
        objects = {a.summary.object_id for a in table.shown.values()}
        await pilot.press("4")
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        # the saved copies of three ZTF alerts are the same objects as in the container
        assert app.screen.query_one(ObjectTable).row_count == len(objects) == 38
        await pilot.press("1", "enter")
        for _ in range(200):
            if isinstance(app.screen, AlertScreen) and app.screen.record is not None:
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, AlertScreen) and app.screen.record is not None
        await pilot.press("escape", "2", "r")
        await pilot.pause()
        assert any("no broker" in e for e in app.errors)


def test_open_refuses_a_missing_path_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["open", str(tmp_path / "nothing-here")])
    err = capsys.readouterr().err
    missing = tmp_path / "nothing-here"
    assert code == 2 and err.strip() == f"fink-tui: {missing}: no such file or folder"


def test_a_terminal_that_hangs_up_is_seen_as_gone() -> None:
    master, slave = os.openpty()
    try:
        assert not hung_up(slave)
        os.close(master)
        assert hung_up(slave)
    finally:
        os.close(slave)


def test_the_app_ends_when_its_terminal_hangs_up() -> None:
    """The terminal's other end closes with no SIGHUP (an emulator killed, a dropped
    pseudo-terminal, the app not its session's leader): the app ends instead of staying on,
    with Textual's input thread reading end-of-file in a loop at a whole core."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 140, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "fink_tui", "open", str(ZTF_ALERTS)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,  # its own session, with no controlling terminal: no SIGHUP
        env={**os.environ, "TERM": "xterm-256color"},
    )
    os.close(slave)
    try:
        shown = b""
        while b"ZTF" not in shown and process.poll() is None:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, "the app drew nothing in 30 s"
            shown += os.read(master, 65536)
        os.close(master)
        assert process.wait(timeout=30) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
