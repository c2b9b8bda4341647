"""The feed's ``/`` with queries, and sorting, through the Pilot on real alerts (a replay)."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from fink_tui.app import FinkApp
from fink_tui.config import Settings
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
from fink_tui.core.events import AlertsReceived, CarryPaths
from fink_tui.core.source import ReplaySource
from fink_tui.screens.alert import AlertScreen
from fink_tui.screens.feed import FeedScreen
from fink_tui.widgets.alert_table import AlertTable
from tests.helpers import LSST_ALERTS, ZTF_ALERTS, read_alerts, wire_messages

SIZE = (160, 40)
ZTF_TOPIC, LSST_TOPIC = "fink_sn_ztf", "fink_sn_lsst"


def alerts() -> list[Alert]:
    """31 ZTF then 7 LSST alerts, each on its own offset."""
    decoder = AlertDecoder()
    out = []
    for topic, path in ((ZTF_TOPIC, ZTF_ALERTS), (LSST_TOPIC, LSST_ALERTS)):
        for i, (key, value) in enumerate(wire_messages(path)):
            alert = decoder.decode(MessageRef(topic, 0, i), key, value)
            assert isinstance(alert, Alert)
            out.append(alert)
    return out


def make_app() -> tuple[FinkApp, ReplaySource, list[Alert]]:
    kept = alerts()
    source = ReplaySource([AlertsReceived(tuple(kept), ())])
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(ZTF_TOPIC, LSST_TOPIC))
    return FinkApp(settings, source, clock=lambda: 1795500000.0), source, kept


async def redraw(pilot: Pilot[int]) -> None:
    await pilot.pause()
    assert isinstance(pilot.app, FinkApp)
    pilot.app.refresh_views()
    await pilot.pause()


async def until(pilot: Pilot[int], predicate: Callable[[], bool], seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await redraw(pilot)
        await pilot.pause(0.05)
    assert predicate()


def title(app: FinkApp) -> str:
    rendered = app.screen.query_one("#feed-title", Static).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


def shown(app: FinkApp) -> list[Alert]:
    return list(app.screen.query_one(AlertTable).shown.values())


def places(alerts: list[Alert]) -> list[MessageRef]:
    """Where each alert sits (the source hands the app its own copies of the alerts)."""
    return [a.ref for a in alerts]


async def type_filter(pilot: Pilot[int], text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await redraw(pilot)


async def test_query_keeps_the_matching_rows_and_counts_them() -> None:
    """A query keeps the rows where it holds; the title says how many of the kept match."""
    app, _, kept = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        await type_filter(pilot, "mag < 18 OR flux > 5000")
        expected = [
            a
            for a in reversed(kept)
            if (a.summary.mag is not None and a.summary.mag < 18)
            or (a.summary.flux is not None and a.summary.flux > 5000)
        ]
        assert places(shown(app)) == places(expected) and 10 < len(expected) < 38
        assert title(app).startswith(f"{len(expected)} match of 38 kept — query: mag < 18")
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"SN candidate", "enter")
        await redraw(pilot)  # words are still a search of the shown columns
        assert len(shown(app)) == 31
        assert "31 match of 38 kept — filter: SN candidate" in title(app)


async def test_keys_typed_at_once_after_slash_are_the_filter() -> None:
    """"/ztf" and Enter in one read of the terminal filter on "ztf" (the box has the focus
    before the next key is handed on) and open no alert; Enter hides the box (the title says
    the filter), / shows it again to edit, a / in the box is typed. The box lies over the
    rates: the rows keep their place."""
    app, _, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        table = app.screen.query_one(AlertTable)
        box = app.screen.query_one("#filter", Input)
        rows_at = table.region
        for key, char in (("slash", "/"), ("z", "z"), ("t", "t"), ("f", "f"), ("enter", "\r")):
            app.post_message(events.Key(key, char))  # as the driver hands over one read
        await until(pilot, lambda: "filter: ztf (Esc clears)" in title(app))
        await pilot.pause(0.2)
        assert isinstance(app.screen, FeedScreen) and len(shown(app)) == 31  # no alert opened
        assert not box.display and app.screen.focused is table
        await pilot.press("slash")
        assert box.display and app.screen.focused is box and table.region == rows_at
        await pilot.press("end", "slash", "x")
        assert box.value == "ztf/x"
        await pilot.press("escape")
        await redraw(pilot)
        assert not box.display and box.value == "" and len(shown(app)) == 38


async def test_enter_then_a_key_at_once_opens_the_alert_under_the_cursor() -> None:
    """Enter and Down in one read of the terminal open the alert that was under the cursor
    (Enter is handled as it comes; before, Down moved the rows' cursor first and the alert
    below opened), and Down does not move the feed's cursor."""
    app, _, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        table = app.screen.query_one(AlertTable)
        chosen = table.selected_alert()
        assert chosen is not None
        for key, char in (("enter", "\r"), ("down", None)):
            app.post_message(events.Key(key, char))  # as the driver hands over one read
        await until(pilot, lambda: isinstance(app.screen, AlertScreen))
        await pilot.pause(0.2)
        assert isinstance(app.screen, AlertScreen) and app.screen.alert.ref == chosen.ref
        assert table.cursor_row == 0


async def test_a_path_no_schema_has_is_pointed_out() -> None:
    """A path in no schema seen (a typo, likely) is named in the title: it matches nothing."""
    app, _, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        await type_filter(pilot, "candidate.magpfs < 18 OR diaSource.psfFlux > 0")
        await until(pilot, lambda: "reading" not in title(app))
        assert "no schema seen has candidate.magpfs" in title(app)
        assert "diaSource.psfFlux" not in title(app).split("no schema")[1]


async def test_a_mistake_says_where_and_keeps_the_rows() -> None:
    """A query with a mistake leaves the rows as they were and shows where the mistake is."""
    app, _, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        await type_filter(pilot, "band = 'g'")
        before = shown(app)
        assert len(before) == 17
        box = app.screen.query_one("#filter", Input)
        box.value = "band = 'g' AND mag < 1x"  # as pasted
        await redraw(pilot)
        assert shown(app) == before
        assert "column 22: expected a number, got '1x'" in title(app)
        await pilot.press("slash", "end", "backspace", "9", "enter")
        await redraw(pilot)
        assert "column" not in title(app)
        assert shown(app) and all(a.summary.band == "g" and a.summary.mag < 19 for a in shown(app))  # type: ignore[operator]


async def test_path_query_reads_the_kept_alerts_off_the_ui_thread() -> None:
    """A query on Avro paths asks the source to read them with new alerts, reads the kept
    alerts' in a thread, and keeps exactly the alerts fastavro's records say match."""
    app, source, _ = make_app()
    ztf = read_alerts(ZTF_ALERTS)[1]
    lsst = read_alerts(LSST_ALERTS)[1]
    want = sum(r["candidate"]["ndethist"] > 5 for r in ztf) + sum(
        r["diaSource"]["snr"] > 20 for r in lsst
    )
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        await type_filter(pilot, "candidate.ndethist > 5 OR diaSource.snr > 20")
        assert CarryPaths(("candidate.ndethist", "diaSource.snr")) in source.sent
        await until(pilot, lambda: "reading" not in title(app) and len(shown(app)) == want)
        assert title(app).startswith(f"{want} match of 38 kept")
        await pilot.press("escape")
        await redraw(pilot)
        assert source.sent[-1] == CarryPaths(())
        assert len(shown(app)) == 38


async def test_sort_on_a_column_reverse_and_back_to_newest_first() -> None:
    """s sorts on the next column, S reverses, n goes back to newest first; a click on a
    column's name sorts on it. Empty cells stay last."""
    app, _, kept = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        table = app.screen.query_one(AlertTable)
        await pilot.press("s")
        await redraw(pilot)
        assert "sorted by Time (UTC) ▲" in title(app)
        times = [a.summary.time for a in shown(app)]
        assert times == sorted(times)  # type: ignore[type-var]
        while table.sort_column != 4:
            await pilot.press("s")
        await redraw(pilot)
        mags = [a.summary.mag for a in shown(app)][:31]
        assert mags == sorted(mags)  # type: ignore[type-var]
        fluxes = [a.summary.flux for a in shown(app)][31:]
        assert fluxes == sorted(fluxes)  # type: ignore[type-var]
        await pilot.press("S")
        await redraw(pilot)
        assert "Mag / Flux ▼" in title(app)
        # The exact reverse: fluxes (LSST) first, largest first, then magnitudes.
        assert [a.summary.flux for a in shown(app)][:7] == sorted(fluxes, reverse=True)  # type: ignore[type-var]
        assert [a.summary.mag for a in shown(app)][7:] == sorted(mags, reverse=True)  # type: ignore[type-var]
        await pilot.press("n")
        await redraw(pilot)
        assert places(shown(app)) == places(list(reversed(kept))) and "sorted" not in title(app)
        x = sum(w + 2 for w in (19, 24, 18)) + 3  # the Class column's name
        await pilot.click(AlertTable, offset=(x, 0))
        await redraw(pilot)
        assert table.sort_column == 3 and not table.descending
        await pilot.click(AlertTable, offset=(x, 0))
        await redraw(pilot)
        assert table.descending
        classes = [a.summary.classification for a in shown(app)]
        assert classes == sorted(classes, reverse=True)


async def test_rows_let_go_stay_and_a_new_path_query_says_it_cannot_check_them() -> None:
    """The feed keeps its rows when the oldest alerts let their bytes go (the budget holds
    the newest few): they are still shown and filtered on their columns; a query on an Avro
    path they did not carry leaves them out and says how many it could not check."""
    app, _, kept = make_app()
    app.state.max_bytes = 1  # only the newest alert holds its bytes
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        assert len(shown(app)) == 38 and title(app).startswith("38 shown of 38 kept")
        assert [a.held for a in app.state.alerts].count(True) == 1
        await type_filter(pilot, "band = 'g'")  # a column: every row is checked
        assert len(shown(app)) == 17
        await type_filter(pilot, "diaSource.snr > 0")
        await until(pilot, lambda: "reading" not in title(app))
        newest = kept[-1]  # an LSST alert: its snr is read from the bytes it holds
        assert places(shown(app)) == [newest.ref]
        assert "1 match of 38 kept" in title(app)
        assert "37 older not checked (bytes let go)" in title(app)
