"""The lag screen's new parts, with the Pilot on a replay: statuses, time lag, retention loss
and its recovery, members, ETA, and the columns at 80 and 160 columns."""

from __future__ import annotations

from textual.widgets import Static

from fink_tui.screens.confirm_reset import ConfirmResetModal
from fink_tui.widgets.lag_table import LagTable
from fink_tui.widgets.topic_sparklines import AxisLine, TopicSparkline
from tests.test_snapshots import ZTF_TOPIC, lag_status_app, settle, snapshot_app


def cells(table: LagTable, row: int) -> list[str]:
    return [str(getattr(c, "plain", c)) for c in table.get_row_at(row)]


async def test_statuses_time_lag_loss_and_members() -> None:
    """Each partition's status and time lag; the loss in red with E offered; the members."""
    app = lag_status_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(LagTable)
        assert list(table.column_names)[-3:] == [
            "Time lag",
            "Lost",
            "Status",
        ]
        rows = [cells(table, i) for i in range(table.row_count)]
        assert [r[-1] for r in rows[:5]] == ["OK", "WARN", "REWIND", "STALL", "STOP"]
        assert rows[0][5] == "caught up" and rows[1][5] == "20m 00s"
        assert rows[4][6] == "37" and rows[5][6] == "37"  # partition and total
        assert rows[-1][0].startswith("fink_gone_lsst") and rows[-1][-1] == "ERR"
        summary = str(app.screen.query_one("#lag-summary", Static).render())
        assert "37 alerts expired unread" in summary and "behind 1h 30m" in summary
        members = str(app.screen.query_one("#lag-members", Static).render())
        assert "2 consumers" in members and "beta@10.0.0.9" in members
        legend = str(app.screen.query_one("#lag-legend", Static).render())
        assert "over 4/10 refreshes" in legend and "STALL commits stuck" in legend
        figures = {row.topic: row.figure for row in app.screen.query(TopicSparkline)}
        assert figures["fink_sn_like_lsst"].endswith("ETA 1m 12s")
        assert figures[ZTF_TOPIC].endswith("growing")
        assert app.screen.query_one(AxisLine).span == 90


async def test_recover_expired_plans_earliest_for_the_lost_partition() -> None:
    """E plans the reset of the partition whose alerts expired to the earliest kept one."""
    app = lag_status_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        for _ in range(50):
            if isinstance(app.screen, ConfirmResetModal):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, ConfirmResetModal)
        plan = app.screen.plan
        assert [(r.topic, r.partition, r.current, r.new) for r in plan.changes] == [
            (ZTF_TOPIC, 4, 3, 40)
        ]


async def test_no_loss_no_recover_and_narrow_columns() -> None:
    """Without expired alerts E is not offered; at 80 columns the watermarks give way, and
    come back when the terminal is wide again."""
    app = snapshot_app("lag")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.check_action("recover", ()) is None
        table = app.screen.query_one(LagTable)
        assert "Low" not in list(table.column_names)
        assert cells(table, table.row_count - 1)[0].endswith(" total")
        await pilot.resize_terminal(160, 45)
        await settle(pilot)
        assert "Low" in list(table.column_names)
        assert cells(table, table.row_count - 1)[0].startswith("Total for ")


async def test_refresh_says_it_asks_until_the_snapshot_comes() -> None:
    """`r` says "asking the broker…" in the summary line until the next snapshot arrives
    (a toast lingered 2 s after the answer), the line redrawn meanwhile or not (the broker
    stopping and starting to answer: it once lost the words on a busy machine)."""
    from dataclasses import replace

    from textual.widgets import Static

    from fink_tui.core.events import Connection, ConnectionChanged, LagUpdated
    from fink_tui.core.source import ReplaySource
    from tests.test_remote import until
    from tests.test_snapshots import snapshot_app

    app = snapshot_app("lag")
    source = app.source
    assert isinstance(source, ReplaySource)
    source.send = lambda command: source.sent.append(command)  # type: ignore[method-assign]
    async with app.run_test(size=(130, 36)) as pilot:
        summary = app.screen.query_one("#lag-summary", Static)
        assert await until(pilot, lambda: "lag" in str(summary.render()))  # the snapshot shown
        await pilot.press("r")
        assert "asking the broker" in str(summary.render())
        for state in (Connection.UNREACHABLE, Connection.CONNECTED):
            source.play([ConnectionChanged(state, "127.0.0.1:9")])
            app.refresh_views()
            await pilot.pause()
            assert "asking the broker" in str(summary.render())
        assert app.state.lag is not None
        source.play([LagUpdated(replace(app.state.lag, taken_at=app.state.lag.taken_at + 5))])
        app.refresh_views()
        await pilot.pause()
        assert "asking the broker" not in str(summary.render())
