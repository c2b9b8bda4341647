"""The alert screen with a replayed alert (no broker): saving, and the light curve's error
bars."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from fink_tui.app import FinkApp
from fink_tui.config import Settings
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
from fink_tui.core.events import AlertsReceived
from fink_tui.core.source import ReplaySource
from fink_tui.screens.alert import AlertScreen
from fink_tui.widgets.alert_table import AlertTable
from tests.helpers import ZTF_ALERTS, decoded_ztf, wire_messages
from tests.test_remote import until

SIZE = (130, 36)
TOPIC = "fink_early_sn_candidates_ztf"


def ztf_alert() -> Alert:
    key, value = wire_messages(ZTF_ALERTS)[0]
    alert = AlertDecoder().decode(MessageRef(TOPIC, 0, 0), key, value)
    assert isinstance(alert, Alert)
    return alert


async def test_saving_twice_says_already_saved(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """s saves the alert and says where; s again writes nothing and says it is already saved
    there (a second file of the same alert would be a copy)."""
    said: list[tuple[str, str]] = []

    def notify(self: AlertScreen, message: str, *, title: str = "", **_: object) -> None:
        said.append((title, message))

    monkeypatch.setattr(AlertScreen, "notify", notify)
    alert = ztf_alert()
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(TOPIC,))
    app = FinkApp(settings, ReplaySource([AlertsReceived((alert,), ())]))
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(AlertScreen(alert))
        for _ in range(200):
            if getattr(app.screen, "record", None) is not None:
                break
            await pilot.pause(0.05)
        await pilot.press("s")
        await pilot.pause()
        saved = list((isolated_env / "data_dir" / "alerts").glob("*.avro"))
        assert len(saved) == 1 and said == [("Alert saved", str(saved[0]))]
        written = saved[0].stat().st_mtime_ns
        await pilot.press("s")
        await pilot.pause()
        assert said[-1] == ("Already saved", str(saved[0]))
        assert saved[0].stat().st_mtime_ns == written


def test_light_curve_draws_error_bars() -> None:
    """Each measured point is drawn with its ±1σ bar (ZTF sigmapsf, LSST psfFluxErr), in its
    band's colour; upper limits have none; the legend says what the bars are."""
    from datetime import UTC, datetime, timedelta

    from fink_tui.core.survey import LightCurvePoint
    from fink_tui.widgets.light_curve import ERROR_BAR, LightCurvePlot, legend

    start = datetime(2026, 3, 1, tzinfo=UTC)

    def drawn(points: list[LightCurvePoint], survey: str) -> list[str]:
        plot = LightCurvePlot(points, survey)
        plot.on_mount()
        plot.plt.plotsize(60, 20)
        plot.plt.theme("clear")
        plain = re.sub(r"\x1b\[[0-9;]*m", "", plot.plt.build())
        # The canvas, without the frame and the axis labels.
        return re.findall(r"^[^┤│]*[┤│](.*)│\s*$", plain, flags=re.MULTILINE)

    def bars(lines: list[str]) -> int:
        return sum(line.count(ERROR_BAR) for line in lines)

    mags = [18.0, 17.0, 17.5]
    with_errors = [
        LightCurvePoint(start + timedelta(days=i), "g", m, 0.6) for i, m in enumerate(mags)
    ]
    without = [LightCurvePoint(p.time, p.band, p.value) for p in with_errors]
    limits = [LightCurvePoint(p.time, p.band, p.value, 0.6, upper=True) for p in with_errors]
    assert bars(drawn(with_errors, "ztf")) >= 3 and bars(drawn(without, "ztf")) == 0
    assert bars(drawn(limits, "ztf")) == 0
    fluxes = [LightCurvePoint(p.time, "r", 1000.0 * (i + 1), 300.0) for i, p in enumerate(without)]
    assert bars(drawn(fluxes, "lsst")) >= 3
    assert "±1σ" in legend(with_errors, "ztf").plain and "±1σ" not in legend(without, "ztf").plain


def ztf_alerts(n: int) -> list[Alert]:
    decoder, messages = AlertDecoder(), wire_messages(ZTF_ALERTS)
    alerts = [decoder.decode(MessageRef(TOPIC, 0, i), *messages[i]) for i in range(n)]
    assert all(isinstance(a, Alert) for a in alerts)
    return alerts  # type: ignore[return-value]


async def test_the_alert_screen_is_kept_and_each_mode_keeps_its_alert() -> None:
    """Enter reuses one alert screen, filled again for each alert (nothing of the previous
    one left); while it is open in one mode, an alert opened in another gets a screen of its
    own, and going back shows the first mode's alert."""
    from fink_tui.screens.alert import open_alert

    first, second, third = ztf_alerts(3)
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(TOPIC,))
    app = FinkApp(settings, ReplaySource([AlertsReceived((first, second, third), ())]))

    async def filled(alert: Alert) -> AlertScreen:
        for _ in range(200):
            screen = app.screen
            if isinstance(screen, AlertScreen) and screen.record is not None:
                assert screen.alert.ref == alert.ref  # its own copy (see own())
                return screen
            await pilot.pause(0.05)
        raise AssertionError("the alert screen was never filled")

    async with app.run_test(size=SIZE) as pilot:
        open_alert(app, first)
        kept = await filled(first)
        assert first.summary.object_id in str(kept.query_one("#title").render())
        await pilot.press("escape")
        open_alert(app, second)
        assert await filled(second) is kept
        assert second.summary.object_id in str(kept.query_one("#title").render())
        await pilot.press("2")
        await pilot.pause()
        open_alert(app, third)
        other = await filled(third)
        assert other is not kept and kept.alert.ref == second.ref
        await pilot.press("escape")  # that screen of its own is let go
        await pilot.pause(0.2)
        assert not isinstance(app.screen, AlertScreen) and not other.is_attached
        await pilot.press("1")
        await pilot.pause()
        assert app.screen is kept and kept.alert.ref == second.ref


async def test_an_open_alert_saves_after_it_left_the_feed(isolated_env: Path) -> None:
    """While an alert is open, a backlog pours in and the model lets its bytes go (it left
    the feed): the screen keeps its own, and s still saves the alert."""
    from fink_tui.screens.alert import open_alert

    first, *rest = ztf_alerts(31)
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(TOPIC,))
    source = ReplaySource([AlertsReceived((first,), ())])
    app = FinkApp(settings, source)
    app.state.max_bytes = 1
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = app.state.alerts[-1]
        open_alert(app, shown)
        for _ in range(200):
            if getattr(app.screen, "record", None) is not None:
                break
            await pilot.pause(0.05)
        source.play([AlertsReceived(tuple(rest), ())])
        await pilot.pause()
        assert not shown.held  # the model let it go
        await pilot.press("s")
        await pilot.pause()
        (saved,) = (isolated_env / "data_dir" / "alerts").glob("*.avro")
        assert first.summary.object_id in saved.name


async def test_what_the_start_built_is_set_aside_from_the_collector() -> None:
    """Once every screen is built, what exists is frozen for the garbage collector (a full
    collection walked it all: 40-105 ms of a key now and then)."""
    import gc

    from fink_tui.textual_compat import prepare_mode

    gc.unfreeze()
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(TOPIC,))
    app = FinkApp(settings, ReplaySource([AlertsReceived((ztf_alert(),), ())]))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            if gc.get_freeze_count():
                break
            await pilot.pause(0.05)
        assert gc.get_freeze_count() > 10_000
        assert not any(prepare_mode(app, mode) for mode in app.MODES)  # all built already
    gc.unfreeze()


async def test_the_alert_fills_while_another_mode_is_shown(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Going to another screen (2) before the alert's thread is done does not leave the alert
    at "decoding…": it fills meanwhile, and shows filled on coming back (1)."""
    import time

    from fink_tui.screens import alert as alert_module
    from fink_tui.screens.alert import open_alert

    read = alert_module.light_curve

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.5)  # the dialog opens while the thread works
        return read(*args, **kwargs)

    monkeypatch.setattr(alert_module, "light_curve", slow)
    alert = ztf_alert()
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(TOPIC,))
    app = FinkApp(settings, ReplaySource([AlertsReceived((alert,), ())]))
    async with app.run_test(size=SIZE) as pilot:
        open_alert(app, alert)
        screen = app.screen
        assert isinstance(screen, AlertScreen)
        await pilot.press("2")
        assert app.screen is not screen
        for _ in range(200):
            if "points" in str(screen.query_one("#legend").render()):
                break
            await pilot.pause(0.05)
        await pilot.press("1")
        await pilot.pause(0.2)
        assert app.screen is screen
        assert "points" in str(screen.query_one("#legend").render())


async def test_the_fields_tree_opens_and_closes_containers() -> None:
    """A real ZTF alert's fields, one per line, containers closed; Enter, space or a click on
    a container's line opens or closes it (what was open inside closes with it), -> opens,
    <- closes or goes up to the container; a leaf does nothing."""
    from textual.app import App, ComposeResult

    from fink_tui.widgets.fields_tree import SEP, FieldsTree

    record = ztf_alerts(1)[0].record()
    top = [str(name) for name in record]

    class TreeApp(App[None]):
        def compose(self) -> ComposeResult:
            yield FieldsTree(record)

    app = TreeApp()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        tree = app.query_one(FieldsTree)
        assert tree.row_keys == top and tree.column_names == ("field and value",)
        assert tree.has_focus
        candidate = top.index("candidate")
        tree.move_cursor(candidate)
        await pilot.press("enter")
        inside = [f"candidate{SEP}{name}" for name in record["candidate"]]
        assert tree.row_keys == top[: candidate + 1] + inside + top[candidate + 1 :]
        assert tree.is_open("candidate")
        await pilot.press("down", "down", "right")  # a leaf: nothing opens
        assert tree.selected_key() == inside[1] and len(tree.row_keys) == len(top) + len(inside)
        await pilot.press("left")  # up to the container
        assert tree.selected_key() == "candidate"
        prv = top.index("prv_candidates") + len(inside)
        tree.move_cursor(prv)
        await pilot.press("space", "down", "right")  # prv_candidates, then its first item
        first = f"prv_candidates{SEP}0"
        assert tree.is_open("prv_candidates") and tree.is_open(first)
        assert f"{first}{SEP}jd" in tree.row_keys
        tree.move_cursor(prv)
        await pilot.press("left")  # closed, with what was open inside
        assert not tree.is_open("prv_candidates") and not tree.is_open(first)
        await pilot.press("right")
        assert f"{first}{SEP}jd" not in tree.row_keys
        tree.show(record)  # another alert: every container closed, the cursor on top
        await pilot.pause()
        assert tree.row_keys == top and tree.cursor_row == 0
        line = 1 + candidate  # below the header
        await pilot.click(FieldsTree, offset=(4, line))  # the cursor moves there
        assert not tree.is_open("candidate")
        await pilot.click(FieldsTree, offset=(4, line))  # a click on the cursor's line
        assert tree.is_open("candidate")
        tree.clear()
        assert tree.row_keys == [] and tree.record is None


def three_alerts() -> tuple[list[Alert], FinkApp]:
    """Three real ZTF alerts, and an app replaying them."""
    alerts = decoded_ztf(TOPIC, 0, 3)
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(TOPIC,))
    return alerts, FinkApp(settings, ReplaySource([AlertsReceived(tuple(alerts), ())]))


async def kept_screen(pilot: Pilot[Any]) -> AlertScreen:
    """The alert screen the app builds out of sight with its first alerts."""
    await until(pilot, lambda: pilot.app.is_screen_installed("alert"), 10)
    screen = pilot.app.get_screen("alert")
    assert isinstance(screen, AlertScreen)
    return screen


async def read_in_full(screen: AlertScreen, pilot: Pilot[Any]) -> None:
    """Until the screen's alert is read and shown (10 s at most)."""
    assert await until(pilot, lambda: screen.record is not None, 10), "never read"


async def under_the_cursor(pilot: Pilot[Any], alert: Alert) -> None:
    """Until the feed's table shows ``alert`` under its cursor, as a person sees it before
    pressing Enter: the table is drawn at most twice a second, and an Enter before that
    opened nothing (a fixed pause of 0.6 s was too short after a long run of tests)."""
    table = pilot.app.screen.query_one(AlertTable)

    def shown() -> bool:
        selected = table.selected_alert()
        return selected is not None and selected.ref == alert.ref

    assert await until(pilot, shown, 10), "the row never showed"


async def test_the_alert_screen_is_built_ahead_and_read_only_when_opened() -> None:
    """With the first alerts, the alert screen is built out of sight (the first Enter only
    fills it): nothing of an alert is read then. Enter shows the alert under the cursor,
    the newest, read in full."""
    alerts, app = three_alerts()
    async with app.run_test(size=SIZE) as pilot:
        built = await kept_screen(pilot)
        assert not built.is_current
        await pilot.pause(0.5)
        assert built.is_mounted and built.record is None and built.alert._record is None
        await under_the_cursor(pilot, alerts[-1])
        await pilot.press("enter")
        assert app.screen is built and built.alert.ref == alerts[-1].ref
        await read_in_full(built, pilot)
        assert built.record is not None
        assert built.record["objectId"] == alerts[-1].summary.object_id


async def test_a_left_alert_screen_is_blanked_and_drawn_ahead(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Left, the alert screen shows nothing of its alert any more (no fields, curve or
    cutouts; under a dialog it still shows all), and those blank parts are drawn out of
    sight: the next Enter paints the screen without drawing a line of them, and the alert
    is read only after that paint."""
    from fink_tui.widgets.cutout import CutoutView
    from fink_tui.widgets.fields_tree import FieldsTree
    from fink_tui.widgets.light_curve import LightCurvePlot

    alerts, app = three_alerts()
    async with app.run_test(size=SIZE) as pilot:
        screen = await kept_screen(pilot)
        await under_the_cursor(pilot, alerts[-1])
        await pilot.press("enter")
        await read_in_full(screen, pilot)
        curve = screen.query_one("#curve", LightCurvePlot)
        assert curve.points and screen.query_one(FieldsTree).row_count
        await pilot.press("o")  # a dialog over the alert: it still shows its alert
        await pilot.pause(0.2)
        assert app.screen is not screen
        assert curve.points and screen.query_one(FieldsTree).row_count
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("escape")
        assert app.screen is not screen
        assert not screen.query_one(FieldsTree).row_count and curve.points is None
        assert all(view.picture is None for view in screen.query(CutoutView))
        await pilot.pause(0.3)  # drawn out of sight meanwhile

        drawn: list[str] = []
        for cls in (FieldsTree, LightCurvePlot, CutoutView):
            draw = cls.render_line

            def noting(self, y, draw=draw):  # type: ignore[no-untyped-def]
                drawn.append(type(self).__name__)
                return draw(self, y)

            monkeypatch.setattr(cls, "render_line", noting)
        at_load: list[list[str]] = []
        start_load = AlertScreen._start_load

        def starting(self: AlertScreen) -> None:
            at_load.append(list(drawn))
            start_load(self)

        monkeypatch.setattr(AlertScreen, "_start_load", starting)
        await pilot.press("down", "enter")
        await read_in_full(screen, pilot)
        assert app.screen is screen and screen.alert.ref == alerts[-2].ref
        assert at_load == [[]]  # painted from the lines drawn ahead, then read
        assert screen.record is not None and drawn  # and filled
