"""SVG snapshots of every screen, from a deterministic source of real alerts (no worker
thread racing the screenshot), at one terminal size, with a frozen clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from fink_tui.app import FinkApp
from fink_tui.config import Settings
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef, load_schema_file
from fink_tui.core.events import (
    AlertsReceived,
    Connection,
    ConnectionChanged,
    Event,
    LagUpdated,
    SchemaForced,
)
from fink_tui.core.lag import GroupInfo, Member, build_snapshot
from fink_tui.core.lag_status import Drain, Status, Trend, topic_drain
from fink_tui.core.reset import ResetTarget, plan_reset
from fink_tui.core.source import ReplaySource
from fink_tui.screens.confirm_reset import ConfirmResetModal
from tests.helpers import LSST_ALERTS, SCHEMA_25, ZTF_ALERTS, wire_messages

SIZE = (130, 36)
FROZEN = 1795500000.0  # 2026-11-24 06:00 UTC
ZTF_TOPIC = "fink_early_sn_candidates_ztf"
LSST_TOPIC = "fink_sn_like_lsst"


def snapshot_app(mode: str = "feed", forced: bool = False) -> FinkApp:
    """An app given a replay of the same events every time."""
    settings = Settings(
        servers="127.0.0.1:9092", group_id="snapshot_group", topics=(ZTF_TOPIC, LSST_TOPIC)
    )
    decoder = AlertDecoder()
    results = []
    for offset, (key, value) in enumerate(list(wire_messages(ZTF_ALERTS))[:12]):
        if offset == 7:
            value = value[:100]  # a truncated message, as the schema screen shows it
        results.append(decoder.decode(MessageRef(ZTF_TOPIC, offset % 2, offset // 2), key, value))
    for offset, (key, value) in enumerate(list(wire_messages(LSST_ALERTS))[:4]):
        results.append(decoder.decode(MessageRef(LSST_TOPIC, 0, offset), key, value))
    alerts = tuple(r for r in results if isinstance(r, Alert))
    failures = tuple(r for r in results if not isinstance(r, Alert))
    lag = build_snapshot(
        "snapshot_group",
        {ZTF_TOPIC: [0, 1, 2], LSST_TOPIC: [0, 1]},
        {(ZTF_TOPIC, 0): 6, (ZTF_TOPIC, 1): 4, (LSST_TOPIC, 0): 4},
        {
            (ZTF_TOPIC, 0): (0, 40),
            (ZTF_TOPIC, 1): (0, 31),
            (ZTF_TOPIC, 2): (0, 0),
            (LSST_TOPIC, 0): (0, 9),
            (LSST_TOPIC, 1): (2, 5),
        },
        taken_at=FROZEN,
    )
    events: list[Event] = [
        ConnectionChanged(Connection.CONNECTED, settings.servers),
        AlertsReceived(alerts, failures, received_at=FROZEN),
    ]
    for history in (60, 52, 47):
        events.append(
            LagUpdated(
                build_snapshot(
                    "snapshot_group",
                    {ZTF_TOPIC: [0]},
                    {(ZTF_TOPIC, 0): 0},
                    {(ZTF_TOPIC, 0): (0, history)},
                    taken_at=FROZEN - history,
                )
            )
        )
    events.append(LagUpdated(lag))
    if forced:
        events.append(SchemaForced(load_schema_file(SCHEMA_25)))
    return FinkApp(settings, ReplaySource(events), mode=mode, clock=lambda: FROZEN + 1.5)


def lag_status_app() -> FinkApp:
    """The lag screen with every status, time lags, alerts lost to retention, an ETA, and a
    group of two consumers (a replay: nothing races the screenshot)."""
    settings = Settings(
        servers="127.0.0.1:9092",
        group_id="snapshot_group",
        topics=(ZTF_TOPIC, LSST_TOPIC, "fink_gone_lsst"),
    )
    statuses = [Status.OK, Status.WARN, Status.REWIND, Status.STALL, Status.STOP]
    owners = {0: "alpha", 1: "alpha", 2: "beta", 3: "beta"}
    events: list[Event] = [ConnectionChanged(Connection.CONNECTED, settings.servers)]
    for i, lsst_lag in enumerate((900, 700, 520, 400)):
        taken_at = FROZEN - 30 * (3 - i)
        base = build_snapshot(
            "snapshot_group",
            {ZTF_TOPIC: [0, 1, 2, 3, 4], LSST_TOPIC: [0], "fink_gone_lsst": "unknown topic"},
            {
                (ZTF_TOPIC, 0): 120,
                (ZTF_TOPIC, 1): 80,
                (ZTF_TOPIC, 2): 15,
                (ZTF_TOPIC, 3): 64,
                (ZTF_TOPIC, 4): 3,
                (LSST_TOPIC, 0): 1000 - lsst_lag,
            },
            {
                (ZTF_TOPIC, 0): (0, 120),
                (ZTF_TOPIC, 1): (0, 95 + i),
                (ZTF_TOPIC, 2): (0, 60),
                (ZTF_TOPIC, 3): (0, 80 + 3 * i),
                (ZTF_TOPIC, 4): (40, 210),
                (LSST_TOPIC, 0): (0, 1000),
            },
            taken_at=taken_at,
        )
        ztf, lsst, gone = base.topics
        ztf = replace(
            ztf,
            partitions=tuple(
                replace(
                    p,
                    status=statuses[p.partition],
                    owner=owners.get(p.partition),
                    time_lag=0.0 if not p.lag else 600.0 * (p.partition + 1),
                )
                for p in ztf.partitions
            ),
            drain=Drain(Trend.GROWING, -0.1),
        )
        lsst = replace(
            lsst,
            partitions=tuple(replace(p, time_lag=5400.0, owner="alpha") for p in lsst.partitions),
            drain=topic_drain([(FROZEN - 90, 900, 100), (taken_at, lsst_lag, 1000 - lsst_lag)]),
        )
        group = GroupInfo(
            "Stable",
            (
                Member(
                    "alpha",
                    "10.0.0.7",
                    "alpha-1",
                    ((ZTF_TOPIC, 0), (ZTF_TOPIC, 1), (LSST_TOPIC, 0)),
                ),
                Member("beta", "10.0.0.9", "beta-1", ((ZTF_TOPIC, 2), (ZTF_TOPIC, 3))),
            ),
        )
        events.append(
            LagUpdated(replace(base, topics=(ztf, lsst, gone), group_info=group, window=i + 1))
        )
    return FinkApp(settings, ReplaySource(events), mode="lag", clock=lambda: FROZEN + 1.5)


async def settle(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, FinkApp)
    await pilot.pause()
    app.refresh_views()
    await pilot.pause()


class TestFeedScreen:
    def test_feed(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """Both surveys' alerts newest first, rates per topic, the status line."""
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=settle)

    def test_feed_80x24(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """At 80 columns the feed keeps time, object, class and brightness, whole columns."""
        assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=settle)

    def test_feed_filtered(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """The / filter keeps the rows that mention the typed text."""

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("slash", *"lsst", "enter")
            await settle(pilot)

        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=run_before)

    def test_feed_query_sorted(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """A query keeps the rows where it holds (the title counts them), sorted on the
        Mag / Flux column (s until it is): magnitudes brightest first, then fluxes."""

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("slash", *"mag < 18.9 OR flux > 3000", "enter")
            table = pilot.app.screen.query_one("AlertTable")
            while getattr(table, "sort_column", None) != 4:
                await pilot.press("s")
            await settle(pilot)

        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=run_before)

    def test_alert_detail(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """Enter opens the newest ZTF alert: position, brightness and time in the title; fields,
        light curve with limits, cutouts (filled by a thread once decoded)."""

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("slash", *"ztf", "enter", "enter")
            for _ in range(200):
                if getattr(pilot.app.screen, "record", None) is not None:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.3)

        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=run_before)


class TestLagScreen:
    def test_lag(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """Committed and lag per partition with totals; empty partitions hidden."""
        assert snap_compare(snapshot_app("lag"), terminal_size=SIZE, run_before=settle)

    def test_lag_all_partitions(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """e shows the empty partitions too."""
        assert snap_compare(snapshot_app("lag"), terminal_size=SIZE, press=["e"], run_before=settle)

    def test_lag_statuses(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """Every status coloured, with the legend; time lag; alerts lost to retention in red
        with the recovery offered; the two members and what they own; ETA and trend beside
        the sparklines over a time axis."""
        assert snap_compare(lag_status_app(), terminal_size=(160, 45), run_before=settle)

    def test_lag_statuses_80x24(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """At 80x24 the watermarks make way: status, time lag and lost stay readable."""
        assert snap_compare(lag_status_app(), terminal_size=(80, 24), run_before=settle)

    def test_reset_choice(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """t opens the choice of target for the selected topic."""
        assert snap_compare(snapshot_app("lag"), terminal_size=SIZE, press=["t"], run_before=settle)

    def test_reset_confirmation(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """The confirmation lists every partition, current -> new, before anything moves."""
        app = snapshot_app("lag")

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            assert app.state.lag is not None
            plan = plan_reset(app.state.lag, ResetTarget("latest", 0, -5), ZTF_TOPIC)
            app.push_screen(ConfirmResetModal(plan))
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_reset_confirmation_fits_80x24(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """At 80x24 the plan of a reset of everything fits, totals and y/n included."""
        app = snapshot_app("lag")

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            assert app.state.lag is not None
            plan = plan_reset(app.state.lag, ResetTarget("latest", 0, -5))
            app.push_screen(ConfirmResetModal(plan))
            await pilot.pause()

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


class TestSchemaScreen:
    def test_schema(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """Schemas seen with versions, the decode failure, the selected schema's tree."""
        assert snap_compare(snapshot_app("schema"), terminal_size=SIZE, run_before=settle)

    def test_schema_forced_diff(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """With a forced schema, the fields it adds, drops or retypes against the stream's."""

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("down")
            await settle(pilot)

        assert snap_compare(
            snapshot_app("schema", forced=True), terminal_size=SIZE, run_before=run_before
        )


class TestObjectsScreen:
    def test_objects(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        """Alerts grouped by object: the ZTF object seen again twice, brightening (count 3,
        change -0.30 in green), an LSST object first observed after the start marked new."""
        app = snapshot_app("objects")
        assert isinstance(app.source, ReplaySource)
        received = app.source.events[1]
        assert isinstance(received, AlertsReceived)
        ztf, lsst = received.alerts[0], received.alerts[-1]
        later = [
            _seen_again(ztf, 100, hours=1, mag=(ztf.summary.mag or 0) - 0.2),
            _seen_again(ztf, 101, hours=2, mag=(ztf.summary.mag or 0) - 0.5),
            _seen_again(lsst, 102, hours=0, object_id="170099999999999999", at=FROZEN + 60),
        ]
        app.source.events.append(AlertsReceived(tuple(later), (), received_at=FROZEN + 1))
        assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def _seen_again(
    alert: Alert, offset: int, hours: float, at: float | None = None, **more: Any
) -> Alert:
    """A copy of ``alert`` observed ``hours`` later (or at ``at``), other fields changed."""
    s = alert.summary
    assert s.time is not None
    when = datetime.fromtimestamp(at, tz=UTC) if at is not None else s.time + timedelta(hours=hours)
    return Alert(
        replace(alert.ref, offset=offset), alert.schema, replace(s, time=when, **more), alert.value
    )


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor would make the screenshots differ run to run."""
    from textual.widgets import Input

    monkeypatch.setattr(Input, "cursor_blink", False)


def test_snapshots_live_in_top_level_folder() -> None:
    """The SVGs are kept in snapshots/, beside tests/."""
    assert (Path(__file__).parents[1] / "snapshots").is_dir()
