"""Notifications (--notify, "Notify me when…"): bell and OSC 9 / OSC 777 written, rows marked,
the matches screen; saved filters of config.toml picked from the command palette."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from fink_tui import textual_compat
from fink_tui.app import FinkApp
from fink_tui.cli import main
from fink_tui.config import ConfigError, Settings, load_settings, search_directories
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
from fink_tui.core.events import AlertsReceived, CarryPaths
from fink_tui.core.query import compile_query
from fink_tui.core.source import ReplaySource
from fink_tui.core.terminal import BELL, clean, desktop_notification
from fink_tui.model import StreamState
from fink_tui.screens.alert import AlertScreen
from fink_tui.screens.matches import MatchesScreen, NotifyModal
from fink_tui.widgets.alert_table import AlertTable
from tests.helpers import ZTF_ALERTS, wire_messages

SIZE = (160, 40)
TOPIC = "fink_sn_ztf"


def ztf_alerts(start: int = 0, count: int = 31) -> list[Alert]:
    decoder = AlertDecoder()
    messages = wire_messages(ZTF_ALERTS)
    out = []
    for i in range(start, start + count):
        alert = decoder.decode(MessageRef(TOPIC, 0, i), *messages[i % 31])
        assert isinstance(alert, Alert)
        out.append(alert)
    return out


# --- the escape sequences --------------------------------------------------------------------


def test_osc9_by_default_osc777_for_vte_and_foot_wrapped_for_tmux() -> None:
    """OSC 9 for most terminals, OSC 777 notify for VTE/foot/urxvt, passed through tmux."""
    assert desktop_notification("fink-tui", "ZTF26 SN", {}) == "\x1b]9;fink-tui: ZTF26 SN\a"
    vte = desktop_notification("fink-tui", "a;b", {"VTE_VERSION": "7600"})
    assert vte == "\x1b]777;notify;fink-tui;a,b\a"
    assert desktop_notification("t", "b", {"TERM": "foot"}).startswith("\x1b]777;notify;")
    wrapped = desktop_notification("t", "b", {"TMUX": "/tmp/tmux-0/default,1,0"})
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;t: b\a\x1b\\"


def test_alert_text_cannot_inject_sequences() -> None:
    """Control characters in an alert's text are dropped: nothing ends the sequence early."""
    hostile = "SN\x1b]52;c;ZXZpbA==\a\x07 evil\x9b31m\nnext"
    text = desktop_notification("fink-tui", hostile, {})
    assert text.count("\x1b") == 1 and text.count("\a") == 1
    assert clean(hostile) == "SN ]52;c;ZXZpbA== evil 31m next"
    assert len(clean("x" * 1000)) == 200


# --- the model ---------------------------------------------------------------------------------


def test_model_keeps_the_matches() -> None:
    """Alerts where the query holds are kept as matches, their places noted, announced once."""
    state = StreamState()
    state.set_notify(compile_query("mag < 17"))
    alerts = ztf_alerts()
    state.apply(AlertsReceived(tuple(alerts), ()))
    bright = [a for a in alerts if a.summary.mag is not None and a.summary.mag < 17]
    assert list(state.matches) == bright and state.match_count == len(bright) >= 3
    assert state.matched == {a.ref for a in bright}
    assert state.new_matches == bright
    state.set_notify(None)
    state.apply(AlertsReceived(tuple(ztf_alerts(31, 31)), ()))
    assert state.match_count == len(bright)


# --- the app -----------------------------------------------------------------------------------


def app_with(notify: str | None, *, filters: tuple[tuple[str, str], ...] = ()) -> FinkApp:
    source = ReplaySource([AlertsReceived(tuple(ztf_alerts(0, 20)), ())])
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=(TOPIC,), filters=filters)
    query = compile_query(notify) if notify else None
    return FinkApp(settings, source, notify_when=query)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the app writes to the terminal (a headless test has none)."""
    out: list[str] = []

    def capture(_app: object, text: str) -> bool:
        out.append(text)
        return True

    monkeypatch.setattr(textual_compat, "write_to_terminal", capture)
    return out


async def redraw(pilot: Pilot[int]) -> None:
    await pilot.pause()
    assert isinstance(pilot.app, FinkApp)
    pilot.app.refresh_views()
    await pilot.pause()


async def test_notify_rings_marks_and_lists(written: list[str]) -> None:
    """--notify: the bell and an OSC 9 notification are written, matching rows are marked
    (★), the matches screen lists them and opens one; the query's paths are carried."""
    app = app_with("candidate.magpsf < 17")
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        assert isinstance(app.source, ReplaySource)
        assert CarryPaths(("candidate.magpsf",)) in app.source.sent
        bright = [a for a in ztf_alerts(0, 20) if a.summary.mag < 17]  # type: ignore[operator]
        assert len(bright) == 2
        assert len(written) == 1
        assert written[0].startswith(BELL + "\x1b]9;fink-tui: 2 alerts matched; newest: ")
        assert bright[-1].summary.object_id in written[0] and written[0].endswith("\a")
        table = app.screen.query_one(AlertTable)
        lines = [table.render_line(y).text for y in range(1, 21)]
        assert sum("★ SN candidate" in line for line in lines) == 2
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MatchesScreen)
        matches = app.screen.query_one(AlertTable)
        assert [a.ref for a in matches.shown.values()] == [a.ref for a in reversed(bright)]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AlertScreen) and app.screen.alert.ref == bright[-1].ref


async def test_notify_from_the_palette(written: list[str]) -> None:
    """ "Notify me when…" asks for a query (a mistake is shown, the dialog stays), then the
    next alerts that match ring."""
    app = app_with(None)
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        assert not written
        app.ask_notification()
        await pilot.pause()
        assert isinstance(app.screen, NotifyModal)
        await pilot.press(*"mag < 1x", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NotifyModal)
        error = app.screen.query_one("#error")
        assert "column 7: expected a number" in str(error.render())
        await pilot.press("backspace", "7", "enter")
        await pilot.pause()
        assert app.state.notify is not None and app.state.notify.text == "mag < 17"
        assert isinstance(app.source, ReplaySource)
        app.source.play([AlertsReceived(tuple(ztf_alerts(20, 11)), ())])
        await redraw(pilot)
        assert len(written) == 1 and "\x1b]9;fink-tui: " in written[0]
        later = [a for a in ztf_alerts(20, 11) if a.summary.mag < 17]  # type: ignore[operator]
        assert app.state.match_count == len(later) == 3


async def test_saved_filter_from_the_palette() -> None:
    """A saved filter of config.toml is a palette command that filters the feed."""
    app = app_with(None, filters=(("bright", "mag < 17.5"),))
    async with app.run_test(size=SIZE) as pilot:
        await redraw(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Filter: bright")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        await redraw(pilot)
        table = app.screen.query_one(AlertTable)
        assert table.filter_text == "mag < 17.5"
        assert table.shown and all(a.summary.mag < 17.5 for a in table.shown.values())  # type: ignore[operator]


def test_saved_filters_in_config_toml(capsys: pytest.CaptureFixture[str]) -> None:
    """[filters] names queries; a malformed table or query is one clear line."""
    config = search_directories().config / "config.toml"
    config.write_text(
        '[filters]\nbright = "mag < 17"\n"near M31" = "DISTANCE(ra, dec, 10.7, 41.3) < 1"\n'
    )
    assert load_settings().filters == (
        ("bright", "mag < 17"),
        ("near M31", "DISTANCE(ra, dec, 10.7, 41.3) < 1"),
    )
    config.write_text("filters = 3\n")
    with pytest.raises(ConfigError, match="expected a table of name"):
        load_settings()
    config.write_text("[filters]\nbright = 17\n")
    with pytest.raises(ConfigError, match=r"filters.bright: expected a query as text"):
        load_settings()
    config.write_text('[filters]\nbright = "mag < 1x"\n')
    code = main(["--servers", "127.0.0.1:9", "--group-id", "g", "--topics", "t"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "config.toml [filters] bright = 'mag < 1x': column 7: expected a number" in err


def test_notify_is_checked_before_the_screen(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A --notify mistake is one line before anything starts; it is for the dashboard only."""
    base = ["--servers", "127.0.0.1:9", "--group-id", "g", "--topics", "t"]
    assert main(["--notify", "class = ", *base]) == 2
    assert "--notify 'class = ': column 8: the query ends early" in capsys.readouterr().err
    assert main(["--notify", "mag < 1", "lag", *base]) == 2
    assert "--notify is for the dashboard, not lag" in capsys.readouterr().err
