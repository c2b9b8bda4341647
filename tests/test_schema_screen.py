"""The schema screen with replayed events (no broker): column widths, dumping a failed
message's key and value, schema file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_tui.app import FinkApp
from fink_tui.config import Settings
from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef
from fink_tui.core.events import AlertsReceived
from fink_tui.core.files import schema_file_name
from fink_tui.core.source import ReplaySource
from fink_tui.screens.schema import SCHEMA_COLUMNS, SchemaScreen, column_widths, fit_topics
from tests.helpers import LSST_ALERTS, ZTF_ALERTS, wire_messages

TOPICS = [f"fink_{name}_ztf" for name in ("early_sn_candidates", "kn_candidates", "sso")]
LSST_TOPIC = "fink_sn_like_lsst"


def test_fit_topics() -> None:
    """Whole topics while they fit, then the count of the others; a cut one ends in …."""
    assert fit_topics(TOPICS[:1], 40) == TOPICS[0]
    assert fit_topics(TOPICS, 40) == "fink_early_sn_candidates_ztf +2"
    assert fit_topics(TOPICS, 20) == "fink_early_sn_ca… +2"
    cut = fit_topics(TOPICS, 16)
    assert len(cut) <= 16 and cut.endswith("… +2")
    assert fit_topics(TOPICS[:1], 10) == "fink_earl…"


def test_column_widths() -> None:
    """Fixed columns keep their width; Topics and Schema share the rest, never below their
    minimum."""
    wide = column_widths(88)
    assert wide["fingerprint"] == 16 and wide["alerts"] == 6
    assert sum(wide.values()) + 2 * len(wide) == 88
    assert wide["topics"] >= 20 and wide["schema"] >= 10
    narrow = column_widths(40)
    assert narrow["topics"] == 10 and narrow["schema"] == 6
    assert sum(column_widths(71).values()) + 2 * len(wide) == 71  # the table at 130 columns


def test_schema_file_names() -> None:
    """Dumped schemas are named after their topic and schema version, then fingerprint."""
    decoder = AlertDecoder()
    ztf = decoder.decode(MessageRef(TOPICS[0], 0, 0), *wire_messages(ZTF_ALERTS)[0])
    lsst = decoder.decode(MessageRef(LSST_TOPIC, 0, 0), *wire_messages(LSST_ALERTS)[0])
    assert isinstance(ztf, Alert) and isinstance(lsst, Alert)
    name = schema_file_name(ztf.schema, ztf.ref.topic, ztf.summary.versions)
    assert name == f"{TOPICS[0]}_schemavsn-4.02_{ztf.schema.fingerprint}.avsc"
    name = schema_file_name(lsst.schema, "a/b", lsst.summary.versions)
    assert name == f"a_b_lsst.v10_0_{lsst.schema.fingerprint}.avsc"
    assert schema_file_name(ztf.schema) == f"{ztf.schema.name}_{ztf.schema.fingerprint}.avsc"


def schema_app(failures: tuple[DecodeFailure, ...]) -> FinkApp:
    decoder = AlertDecoder()
    alerts = []
    for n, topic in enumerate(TOPICS):
        alert = decoder.decode(MessageRef(topic, 0, n), *wire_messages(ZTF_ALERTS)[n])
        assert isinstance(alert, Alert)
        alerts.append(alert)
    source = ReplaySource([AlertsReceived(tuple(alerts), failures)])
    settings = Settings(servers="127.0.0.1:9", group_id="g", topics=tuple(TOPICS))
    return FinkApp(settings, source, mode="schema")


async def test_schemas_table_fits_160_columns() -> None:
    """At 160 columns (the table 88 wide) the Topics and Schema columns are readable, not cut
    to nothing: the first topic cut with an ellipsis and the others counted, the record name
    given a third of the room left, and no column past the table's edge; the line under the
    table names every topic of the selected schema, and its versions."""
    app = schema_app(())
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        table = app.screen.query_one("#schemas")
        row = [str(cell) for cell in table.get_row_at(0)]
        widths = dict(zip([key for _, key, _ in SCHEMA_COLUMNS], table.column_widths, strict=True))
        assert row[4].startswith("fink_early_sn_") and row[4].endswith("… +2")
        assert len(row[4]) <= widths["topics"] >= 20
        assert row[5] == "topLevelRecord.value" and widths["schema"] >= 10  # cut with …
        assert sum(w + 2 for w in widths.values()) <= table.size.width
        detail = str(app.screen.query_one("#schema-detail").render())
        assert ", ".join(TOPICS) in detail and "v4.02 broker 4.1 science 8.41.0" in detail


async def test_dump_writes_a_failures_key_and_value(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """d on a failed message writes its key and its raw value as they arrived, and says
    where; the selected schema is written under its topic and version."""
    said: list[tuple[str, str]] = []

    def notify(self: SchemaScreen, message: str, *, title: str = "", **_: object) -> None:
        said.append((title, message))

    monkeypatch.setattr(SchemaScreen, "notify", notify)
    key, value = wire_messages(ZTF_ALERTS)[5]
    failure = DecodeFailure(MessageRef(TOPICS[1], 2, 40), "truncated", None, key, value[:99])
    app = schema_app((failure,))
    folder = isolated_env / "data_dir" / "schemas"
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        detail = str(app.screen.query_one("#failure-detail").render())
        assert "d writes its key and value" in detail
        app.screen.query_one("#failures").focus()
        await pilot.press("d")
        await pilot.pause()
        stem = folder / f"{TOPICS[1]}_2_40"
        assert Path(f"{stem}_key.json").read_bytes() == key
        assert Path(f"{stem}_value.avro").read_bytes() == value[:99]
        title, message = said[-1]
        assert title == f"{TOPICS[1]} [2] offset 40 written"
        assert message.splitlines() == [f"{stem}_key.json", f"{stem}_value.avro"]
        app.screen.query_one("#schemas").focus()
        await pilot.press("d")
        await pilot.pause()
        [schema] = folder.glob("*.avsc")
        assert schema.name.startswith(f"{TOPICS[0]}_schemavsn-4.02_")
        assert said[-1] == ("Schema written", str(schema))


async def test_the_schema_tree_works_out_its_style_once_per_paint() -> None:
    """Textual's Tree asks for the widget's style on every line, and each time walks the
    widget's ancestors: the schema tree works it out once per paint, and anew at the next (a
    theme changed meanwhile shows)."""
    from textual.app import App, ComposeResult
    from textual.geometry import Region

    from fink_tui.widgets.schema_tree import SchemaTree
    from tests.helpers import LSST_ALERTS, read_alerts, style_walks

    schema, _ = read_alerts(LSST_ALERTS)

    class TreeApp(App[None]):
        def compose(self) -> ComposeResult:
            yield SchemaTree("schema")

    app = TreeApp()
    async with app.run_test(size=(80, 30)) as pilot:
        tree = app.query_one(SchemaTree)
        tree.show_schema(schema, "lsst")
        await pilot.pause()
        with style_walks(tree) as walks:
            tree.refresh()  # every line made again
            lines = tree.render_lines(Region(0, 0, 80, 30))
            assert walks[0] == 1 and len(lines) == 30
            assert "diaSource" in "".join(s.text for line in lines for s in line)
            before = tree.rich_style
            app.theme = "textual-light" if app.theme != "textual-light" else "nord"
            await pilot.pause()
            walks[0] = 0
            tree.refresh()
            tree.render_lines(Region(0, 0, 80, 30))
            assert walks[0] == 1 and tree.rich_style != before
