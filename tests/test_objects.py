"""Objects, links and copy: the URLs (pure), the object book of the model (cheap, bounded),
and the objects screen driven with the Pilot on a replay of real alerts."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from fink_tui.app import FinkApp
from fink_tui.config import Settings
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
from fink_tui.core.events import AlertsReceived, Connection, ConnectionChanged
from fink_tui.core.links import links_for, packed_designation, portal_url, simbad_url, tns_url
from fink_tui.core.source import ReplaySource
from fink_tui.model import ObjectBook, StreamState
from fink_tui.screens.alert import AlertScreen
from fink_tui.screens.links import LinksModal
from fink_tui.screens.objects import ObjectAlertsScreen, ObjectsScreen
from fink_tui.widgets.alert_table import AlertTable
from fink_tui.widgets.object_table import ObjectTable
from tests.helpers import LSST_ALERTS, ZTF_ALERTS, wire_messages

FROZEN = 1795500000.0  # 2026-11-24 06:00 UTC
SIZE = (140, 36)


def real_alerts(path: Any, topic: str, n: int) -> list[Alert]:
    decoder = AlertDecoder()
    out = []
    for offset, (key, value) in enumerate(list(wire_messages(path))[:n]):
        alert = decoder.decode(MessageRef(topic, 0, offset), key, value)
        assert isinstance(alert, Alert)
        out.append(alert)
    return out


def again(alert: Alert, offset: int, hours: float, **summary: Any) -> Alert:
    """The same object seen again ``hours`` later, with other summary fields."""
    s = alert.summary
    assert s.time is not None
    moved = replace(s, time=s.time + timedelta(hours=hours), **summary)
    return Alert(replace(alert.ref, offset=offset), alert.schema, moved, alert.value)


# --- links (pure) --------------------------------------------------------------------------


def test_links_of_a_ztf_alert() -> None:
    """The ZTF portal by objectId; TNS and SIMBAD cone searches of 5" at the position."""
    alert = real_alerts(ZTF_ALERTS, "fink_x_ztf", 1)[0]
    s = alert.summary
    links = links_for(s)
    assert links.portal == f"https://ztf.fink-portal.org/{s.object_id}"
    assert links.tns == (
        f"https://www.wis-tns.org/search?ra={s.ra:.6f}&decl={s.dec:.6f}&radius=5&coords_unit=arcsec"
    )
    assert links.simbad == (
        "https://simbad.cds.unistra.fr/simbad/sim-coo?"
        f"Coord={s.ra:.6f}%20{s.dec:.6f}&Radius=5&Radius.unit=arcsec"
    )
    assert [name for name, _ in links.named()] == ["Fink portal", "TNS", "SIMBAD"]


def test_links_of_lsst_alerts_dia_and_solar_system() -> None:
    """A diaObjectId goes to its LSST portal page; an ssObjectId to the page of the packed
    designation it encodes (K04J12Q: the alert's ssSource.designation is 2004 JQ12)."""
    alerts = real_alerts(LSST_ALERTS, "fink_x_lsst", 5)
    dia, sso = alerts[0].summary, alerts[4].summary
    assert dia.object_kind == "diaObjectId"
    assert links_for(dia).portal == f"https://lsst.fink-portal.org/{dia.object_id}"
    assert sso.object_kind == "ssObjectId" and sso.object_id == "21163624394469969"
    assert links_for(sso).portal == "https://lsst.fink-portal.org/K04J12Q"


@pytest.mark.parametrize(
    ("survey", "object_id", "kind", "url"),
    [
        ("ztf", "", "objectId", None),
        ("ztf", "ZTF26a/../x", "objectId", None),  # not an id: no URL made of it
        ("lsst", "12x", "diaObjectId", None),
        ("lsst", "1", "ssObjectId", None),  # not a designation's bytes
        ("unknown", "42", "", None),
    ],
)
def test_no_portal_link_for_what_is_not_an_id(
    survey: str, object_id: str, kind: str, url: str | None
) -> None:
    assert portal_url(survey, object_id, kind) == url


def test_position_links_need_a_position_on_the_sky() -> None:
    assert tns_url(None, 3.0) is None and simbad_url(10.0, None) is None
    assert tns_url(400.0, 0.0) is None and simbad_url(10.0, -91.0) is None
    assert packed_designation(-5) is None and packed_designation(2**70) is None


# --- the object book -----------------------------------------------------------------------


def test_object_book_counts_changes_and_marks_new() -> None:
    """Alerts are grouped by object; the change is against the previous alert in the same
    band; an older alert arriving late changes the first seen but not the latest; an object
    first observed after the start is new."""
    ztf = real_alerts(ZTF_ALERTS, "fink_a_ztf", 2)
    first = ztf[0]
    s = first.summary
    assert s.time is not None and s.mag is not None
    book = ObjectBook(started=s.time.timestamp() + 60)
    book.add(first, FROZEN)
    book.add(again(first, 10, 2, mag=s.mag - 0.5), FROZEN)
    book.add(again(first, 11, 3, mag=s.mag + 1, band="other"), FROZEN)
    book.add(again(first, 12, -24, mag=s.mag + 2), FROZEN)  # read late: observed a day before
    book.add(ztf[1], FROZEN)
    obj = book.get("ztf", s.object_id)
    assert obj is not None
    assert obj.alerts == 4 and obj.topics == ("fink_a_ztf",)
    assert obj.latest.ref.offset == 11 and obj.change is None  # first alert in that band
    assert obj.in_band(s.band)[1] == pytest.approx(s.mag - 0.5)
    assert obj.in_band("other")[1] == pytest.approx(s.mag + 1) and obj.in_band("none") is None
    assert obj.first_seen == s.time - timedelta(hours=24)
    assert not obj.new
    assert [o.object_id for o in book.recent(10)] == [ztf[1].summary.object_id, s.object_id]
    book.add(again(first, 13, 4, mag=s.mag - 0.75), FROZEN)
    assert obj.change == pytest.approx(-0.25)
    late = ObjectBook(started=s.time.timestamp() - 60)
    late.add(first, FROZEN)
    assert late.recent(1)[0].new


def test_new_means_published_after_the_start_when_the_broker_says_when() -> None:
    """With a Kafka timestamp, an object is new if its first alert was published after the
    start (a backlog caught up at start is not new, whenever it was observed)."""
    alert = real_alerts(ZTF_ALERTS, "fink_d_ztf", 1)[0]
    book = ObjectBook(started=FROZEN)
    for offset, published in ((0, FROZEN - 5), (1, FROZEN + 5)):
        ref = replace(alert.ref, offset=offset, timestamp_ms=int(published * 1000))
        summary = replace(alert.summary, object_id=f"o{offset}")
        fresh = Alert(ref, alert.schema, summary, alert.value)
        book.add(fresh, FROZEN)
    assert [(o.object_id, o.new) for o in book.recent(2)] == [("o1", True), ("o0", False)]


def test_object_book_is_bounded() -> None:
    """Past the bound, the object seen least recently goes."""
    alerts = real_alerts(ZTF_ALERTS, "fink_b_ztf", 5)
    book = ObjectBook(started=0, max_objects=3)
    for alert in alerts:
        book.add(alert, FROZEN)
    assert len(book) == 3
    assert [o.object_id for o in book.recent(5)] == [
        a.summary.object_id for a in reversed(alerts[2:])
    ]


def test_the_model_follows_objects_alert_by_alert() -> None:
    state = StreamState(clock=lambda: FROZEN)
    alerts = real_alerts(ZTF_ALERTS, "fink_c_ztf", 3)
    state.apply(AlertsReceived(tuple(alerts), (), received_at=FROZEN))
    assert len(state.objects) == 3


# --- the screens ---------------------------------------------------------------------------


def replay_app(extra: list[Alert] | None = None) -> FinkApp:
    ztf = real_alerts(ZTF_ALERTS, "fink_sn_ztf", 6)
    lsst = real_alerts(LSST_ALERTS, "fink_sn_lsst", 3)
    s = ztf[0].summary
    assert s.mag is not None
    repeat = [again(ztf[0], 100, 1, mag=s.mag - 0.4), again(ztf[0], 101, 2, mag=s.mag - 0.6)]
    alerts = tuple(ztf + lsst + repeat + (extra or []))
    settings = Settings(servers="127.0.0.1:9092", group_id="g", topics=("fink_sn_ztf",))
    events = [
        ConnectionChanged(Connection.CONNECTED, settings.servers),
        AlertsReceived(alerts, (), received_at=FROZEN),
    ]
    return FinkApp(settings, ReplaySource(events), mode="objects", clock=lambda: FROZEN)


def clipboard_writes(app: FinkApp) -> list[str]:
    """The clipboard sequences (OSC 52) the app writes to the terminal from now on."""
    written: list[str] = []
    driver: Any = app._driver
    original = driver.write

    def write(data: str) -> None:
        if data.startswith("\x1b]52;"):
            written.append(data)
        original(data)

    driver.write = write
    return written


def osc52(text: str) -> str:
    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\a"


async def show(pilot: Any) -> None:
    await pilot.pause()
    pilot.app.refresh_views()
    await pilot.pause()


async def test_objects_screen_groups_alerts_and_enter_shows_an_objects_alerts() -> None:
    """Key 4's screen lists each object once, the one seen thrice with its count and the
    change of magnitude; Enter lists its three alerts; Enter on one opens it."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot)
        assert isinstance(app.screen, ObjectsScreen)
        table = app.screen.query_one(ObjectTable)
        assert table.row_count == 9
        top = table.selected_object()
        assert top is not None and top.alerts == 3
        assert top.change == pytest.approx(-0.2)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[0] == top.object_id and row[2] == "3" and row[6] == "-0.20"
        await pilot.press("enter")
        await show(pilot)
        assert isinstance(app.screen, ObjectAlertsScreen)
        alerts = app.screen.query_one(AlertTable)
        assert alerts.row_count == 3
        assert {a.summary.object_id for a in alerts.shown.values()} == {top.object_id}
        title = str(app.screen.query_one("#object-title").render())
        assert f"{top.object_id} — 3 alerts since the start" in title
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AlertScreen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ObjectsScreen)


async def test_copy_writes_the_id_as_osc52_on_objects_feed_and_alert() -> None:
    """c copies the object id through the terminal (OSC 52), on the objects table, on a feed
    row and in an alert."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot)
        written = clipboard_writes(app)
        top = app.screen.query_one(ObjectTable).selected_object()
        assert top is not None
        await pilot.press("c")
        await pilot.pause()
        assert osc52(top.object_id) in written
        await pilot.press("1")
        await show(pilot)
        newest = app.screen.query_one(AlertTable).selected_alert()
        assert newest is not None
        written.clear()
        await pilot.press("c")
        await pilot.pause()
        assert written == [osc52(newest.summary.object_id)]
        await pilot.press("enter")
        await pilot.pause()
        written.clear()
        await pilot.press("c")
        await pilot.pause()
        assert written == [osc52(newest.summary.object_id)]


async def test_links_open_in_a_browser_or_are_copied_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """o lists the portal, TNS and SIMBAD pages; Enter opens the portal page in the browser
    when there is one, and copies the URL when there is none (an ssh session)."""
    app = replay_app()
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, new_tab=True: opened.append(url))
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot)
        top = app.screen.query_one(ObjectTable).selected_object()
        assert top is not None
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, LinksModal)
        portal = f"https://ztf.fink-portal.org/{top.object_id}"
        assert app.screen.links[0] == ("Fink portal", portal)
        monkeypatch.setenv("BROWSER", "firefox")
        await pilot.press("enter")
        await pilot.pause()
        assert opened == [portal]
        monkeypatch.delenv("BROWSER")
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.setattr("sys.platform", "linux")
        written = clipboard_writes(app)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert opened == [portal]
        tns = links_for(top.latest.summary).tns
        assert tns is not None and written == [osc52(tns)]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ObjectsScreen)


def test_object_columns_fit_the_width() -> None:
    """The objects table shows whole columns that fit (id, count, brightness and class first),
    the topics cut to what is left: no header cut at the terminal's edge."""
    from fink_tui.widgets.object_table import COLUMNS, columns_for

    for width in (80, 100, 130, 160, 200):
        chosen = columns_for(width)
        assert sum(size + 2 for _, size in chosen) + 2 <= width
        names = [COLUMNS[i][0] for i, _ in chosen]
        assert {"Object", "Alerts", "Mag / Flux", "Class"} <= set(names)
    assert [COLUMNS[i][0] for i, _ in columns_for(80)] == [
        "Object",
        "",
        "Alerts",
        "Mag / Flux",
        "Class",
    ]
    assert dict(columns_for(130))[len(COLUMNS) - 1] == 17  # the topics, cut to fit
