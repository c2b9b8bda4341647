"""The Schema screen: schemas seen on the stream, the forced one, their differences, and the
messages that did not decode."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from fink_tui.core.decode import DecodeFailure, SchemaInfo
from fink_tui.core.events import ForceSchema
from fink_tui.core.files import dump_failure, dump_schema
from fink_tui.core.schema_diff import schema_diff
from fink_tui.model import FAILURE_VALUES, SchemaSeen, Section, StreamState
from fink_tui.screens.base import TABLE_PACE, DashboardScreen
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.line_table import Cell, LineTable
from fink_tui.widgets.schema_tree import SchemaTree
from fink_tui.widgets.status_bar import StatusBar

FORCED = "forced"
SCHEMA_COLUMNS = (
    ("Fingerprint", "fingerprint", 16),
    ("Version", "versions", 10),
    ("Alerts", "alerts", 6),
    ("First seen", "first_seen", 11),
    ("Topics", "topics", None),
    ("Schema", "schema", None),
)
"""Label, key and width of the schemas table's columns; Topics and Schema share the rest."""
MIN_TOPICS, MIN_SCHEMA = 10, 6
"""Narrower than this, the table scrolls sideways rather than cut these columns to nothing."""
CELL_PADDING = 2
"""A table cell's padding, left and right."""


def first_seen_text(stamp: float, now: float) -> str:
    """When the app first saw a schema: the UTC time of day, with the date if not today."""
    when = datetime.fromtimestamp(stamp, tz=UTC)
    today = datetime.fromtimestamp(now, tz=UTC).date()
    return when.strftime("%H:%M:%S" if when.date() == today else "%m-%d %H:%M")


def fit_topics(topics: list[str], width: int) -> str:
    """The topics in ``width`` characters: as many whole ones as fit, then ``+N`` for the
    others; the first one cut with an ellipsis if even it does not fit."""
    text = ", ".join(topics)
    if len(text) <= width:
        return text
    for shown in range(len(topics) - 1, 0, -1):
        text = f"{', '.join(topics[:shown])} +{len(topics) - shown}"
        if len(text) <= width:
            return text
    more = f" +{len(topics) - 1}" if len(topics) > 1 else ""
    return topics[0][: max(width - len(more) - 1, 1)] + "…" + more


def column_widths(available: int) -> dict[str, int]:
    """Each column's width when the table is ``available`` cells wide: fixed ones as set,
    Topics two thirds of the rest and Schema one third, each at least its minimum."""
    widths = {key: width for _, key, width in SCHEMA_COLUMNS if width is not None}
    rest = available - sum(widths.values()) - CELL_PADDING * len(SCHEMA_COLUMNS)
    widths["topics"] = max(MIN_TOPICS, rest * 2 // 3)
    widths["schema"] = max(MIN_SCHEMA, rest - widths["topics"])
    return widths


SCHEMA_VERSION_FIELDS = ("schemavsn", "lsst_schema_version")

VERSION_LABELS = {
    "schemavsn": "v",
    "lsst_schema_version": "",
    "fink_broker_version": "broker ",
    "fink_science_version": "science ",
}


def versions_text(versions: tuple[tuple[str, str], ...], schema_only: bool = False) -> str:
    """``v4.02 broker 4.1 science 8.41.0`` from an alert's version fields (``v4.02`` only,
    the schema's own version, with ``schema_only``)."""
    return " ".join(
        f"{VERSION_LABELS.get(k, k + ' ')}{v}"
        for k, v in versions
        if k in SCHEMA_VERSION_FIELDS or not schema_only
    )


def saved_parts(failure: DecodeFailure) -> str:
    """What ``d`` writes of a failed message: its key, its value (while it is kept)."""
    parts = [name for name, kept in (("key", failure.key), ("value", failure.value)) if kept]
    gone = "" if failure.value is not None else "; its value is no longer kept"
    return f"  (d writes its {' and '.join(parts)}{gone})" if parts else f"  ({gone[2:]})"


class SchemaScreen(DashboardScreen):
    """Schemas per topic, a schema's fields, the forced-schema diff, decode failures."""

    DRAWS = (Section.SCHEMAS, Section.FAILURES)

    BINDINGS = [
        Binding(
            "f",
            "force_schema",
            "Force schema",
            tooltip="Decode with a schema file",
            id="schema.force",
        ),
        Binding(
            "u",
            "unforce_schema",
            "Unforce",
            tooltip="Back to the schemas in the keys",
            id="schema.unforce",
        ),
        Binding(
            "d",
            "dump_schema",
            "Dump schema",
            tooltip="Write the selected schema, or a failed message's key and value, to files",
            id="schema.dump",
        ),
    ]
    """Keys of the schema screen."""

    def __init__(self) -> None:
        super().__init__()
        self._tree_for: str | None = None
        self._diff_for: object = None
        self._schemas_at = 0.0
        self._failures_shown: list[DecodeFailure] = []
        self._schemas_signature: object = None
        self._widths: dict[str, int] = {}
        self._keep_selected: str | None = None
        self._detail_shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal():
            with Vertical(id="left"):
                schemas = LineTable(id="schemas")
                schemas.border_title = "Schemas seen"
                yield schemas
                yield Static("", id="schema-detail")
                failures = LineTable(id="failures")
                failures.set_columns(("Topic", "Part.", "Offset", "Schema", "Reason"))
                yield failures
                yield Static("", id="failure-detail")
            with Vertical():
                yield SchemaTree("schema", id="tree")
                yield Static("", id="diff")
        yield KeyBar()

    def _schemas(self) -> LineTable:
        return self.query_one("#schemas", LineTable)

    def _failures(self) -> LineTable:
        return self.query_one("#failures", LineTable)

    def update_view(self, state: StreamState) -> None:
        super().update_view(state)
        now = time.monotonic()
        if self._layout_columns():
            self._schemas_signature = None
            self._fill_schemas(state)
            self._show_selected()
        elif self.steady and now - self._schemas_at < TABLE_PACE:
            pass  # alerts pouring in: the counts are drawn twice a second
        elif self.stale(state, "schemas", Section.SCHEMAS):
            self._schemas_at = now
            self._fill_schemas(state)
            self._show_selected()
        if self.stale(state, "failures", Section.FAILURES):
            self._fill_failures(state)

    def _layout_columns(self) -> bool:
        """Size the schemas table's columns to its width; True if they changed (and the
        table was emptied, to be filled again)."""
        table = self._schemas()
        widths = column_widths(table.scrollable_content_region.width)
        if widths == self._widths:
            return False
        self._widths = widths
        self._keep_selected = self._selected_fingerprint()
        table.set_columns(
            [name for name, _, _ in SCHEMA_COLUMNS], [widths[key] for _, key, _ in SCHEMA_COLUMNS]
        )
        return True

    def _topics_cell(self, topics: set[str]) -> Text:
        return Text(fit_topics(sorted(topics), self._widths.get("topics", MIN_TOPICS)))

    def _fill_schemas(self, state: StreamState) -> None:
        table = self._schemas()
        signature = (
            tuple((f, s.alerts, len(s.topics)) for f, s in state.schemas.items()),
            state.forced.fingerprint if state.forced else None,
        )
        if signature == self._schemas_signature:
            return
        self._schemas_signature = signature
        seen_rows = sorted(state.schemas.values(), key=lambda s: s.first_seen)
        rows: list[tuple[str, list[Cell]]] = []
        if state.forced is not None:
            topics = state.forced_topics
            where = self._topics_cell(set(topics)) if topics else Text("all", style="italic")
            forced: list[Cell] = [
                Text(state.forced.fingerprint, style="bold magenta"),
                Text("(forced)", style="magenta"),
                "",
                "",
                where,
                Text(state.forced.name),
            ]
            rows.append((FORCED, forced))
        now = state.clock()
        for seen in seen_rows:
            cells: list[Cell] = [
                seen.info.fingerprint,
                versions_text(seen.versions, schema_only=True),
                Text(f"{seen.alerts:,}", justify="right"),
                first_seen_text(seen.first_seen, now),
                self._topics_cell(seen.topics),
                seen.info.name,
            ]
            rows.append((seen.info.fingerprint, cells))
        keep = self._keep_selected
        self._keep_selected = None
        table.set_rows(rows)
        if keep is not None and keep in table.row_keys:
            table.move_cursor(table.get_row_index(keep))

    def _fill_failures(self, state: StreamState) -> None:
        table = self._failures()
        table.border_title = f"Decode failures: {state.failure_count}"
        full = state.failures.maxlen or 0
        if table.row_count == len(state.failures) and table.row_count < full:
            return
        # Keyed by message (and how many times it failed before: a reset reads it again), so
        # the cursor stays on its message as new failures come in above it.
        rows: list[tuple[str, list[Cell]]] = []
        times: Counter[str] = Counter()
        for failure in state.failures:
            r = failure.ref
            times[r.place] += 1
            cells: list[Cell] = [
                r.topic,
                str(r.partition),
                str(r.offset),
                failure.fingerprint or "-",
                Text(failure.reason, style="red"),
            ]
            rows.append((f"{r.place}\x1f{times[r.place]}", cells))
        rows.reverse()
        shown = list(reversed(state.failures))
        self._failures_shown = shown
        table.set_rows(rows)
        self._show_failure(table.cursor_row)

    def _selected_fingerprint(self) -> str | None:
        return self._schemas().selected_key()

    def _selected_schema(self) -> SchemaInfo | None:
        fingerprint = self._selected_fingerprint()
        state = self.fink.state
        if fingerprint == FORCED:
            return state.forced
        seen: SchemaSeen | None = state.schemas.get(fingerprint or "")
        return seen.info if seen else None

    def on_line_table_row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        if event.table.id == "schemas":
            self._show_selected()
        elif event.table.id == "failures":
            self._show_failure(event.table.cursor_row)

    def _show_failure(self, row: int) -> None:
        """The whole reason of the failure under the cursor (the column cuts it)."""
        detail = self.query_one("#failure-detail", Static)
        if not 0 <= row < len(self._failures_shown):
            detail.update("")
            return
        failure = self._failures_shown[row]
        detail.update(
            Text.assemble(
                (f"{failure.ref.place}: ", "bold"),
                (failure.reason, "red"),
                (saved_parts(failure), "dim"),
            )
        )

    def _show_selected(self) -> None:
        info = self._selected_schema()
        tree = self.query_one(SchemaTree)
        key = None if info is None else f"{info.fingerprint}/{info.forced}"
        if key != self._tree_for:
            self._tree_for = key
            title = f"{info.name} ({info.fingerprint})" if info else "no schema seen yet"
            tree.show_schema(info.schema if info else None, title)
        self._show_schema_detail(info)
        forced = self.fink.state.forced
        diff_for = (key, forced.fingerprint if forced else None)
        if diff_for != self._diff_for:  # its height changes: a layout of the screen
            self._diff_for = diff_for
            self.query_one("#diff", Static).update(self._diff_text(info))

    def _show_schema_detail(self, info: SchemaInfo | None) -> None:
        """Every topic of the selected schema and its versions (the table's columns cut them)."""
        state = self.fink.state
        seen = state.schemas.get(info.fingerprint) if info is not None else None
        if info is not None and info.forced:
            topics = sorted(state.forced_topics) if state.forced_topics else ["every topic"]
            detail = Text.assemble((info.fingerprint, "bold magenta"), " forced on ")
            detail.append(", ".join(topics))
        elif seen is not None:
            detail = Text.assemble((seen.info.fingerprint, "bold"), " on ")
            detail.append(", ".join(sorted(seen.topics)))
            if seen.versions:
                detail.append(f"  {versions_text(seen.versions)}", style="dim")
        else:
            detail = Text()
        if detail != self._detail_shown:  # its height can change: a layout of the screen
            self._detail_shown = detail
            self.query_one("#schema-detail", Static).update(detail)

    def _diff_text(self, info: SchemaInfo | None) -> Text:
        forced = self.fink.state.forced
        if forced is None:
            return Text(
                "No forced schema: alerts decode with the schema in their key. "
                "Press f to force one from a file.",
                style="dim",
            )
        if info is None or info.forced:
            return Text(
                "Select a schema seen on the stream to compare it with the forced one.", style="dim"
            )
        changes = schema_diff(info.schema, forced.schema)
        text = Text(f"forced {forced.fingerprint} vs stream {info.fingerprint}: ", style="bold")
        if not changes:
            text.append("same fields and types", style="green")
            return text
        text.append(f"{len(changes)} difference(s)\n")
        style = {"added": "green", "removed": "red", "changed": "yellow"}
        for change in changes[:40]:
            sign = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
            detail = change.new if change.kind == "added" else change.old
            if change.kind == "changed":
                detail = f"{change.old} → {change.new}"
            text.append(f"{sign} {change.path}  {detail}\n", style=style[change.kind])
        if len(changes) > 40:
            text.append(f"… and {len(changes) - 40} more\n", style="dim")
        return text

    def action_force_schema(self) -> None:
        """Pick a schema file to decode with."""
        from fink_tui.screens.force_schema import ForceSchemaModal

        # The forced schema replaces the one of the selected schema's topics; with nothing
        # selected, every topic's.
        selected = self.fink.state.schemas.get(self._selected_fingerprint() or "")
        topics = frozenset(selected.topics) if selected else None

        def chosen(schema: SchemaInfo | None) -> None:
            if schema is not None:
                self.fink.send_command(ForceSchema(schema, topics))

        where = ", ".join(sorted(topics)) if topics else "every topic"
        self.app.push_screen(ForceSchemaModal(where), chosen)

    def action_unforce_schema(self) -> None:
        """Decode with the schemas in the message keys again."""
        self.fink.send_command(ForceSchema(None))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unforce_schema":
            return self.fink.state.forced is not None or None
        return True

    def action_dump_schema(self) -> None:
        """Write the selected failure's key and value, or the selected schema, to files."""
        folder = self.fink.directories.data / "schemas"
        failures = self._failures()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if failures.has_focus and failures.row_count:
                self._dump_failure(
                    folder, list(reversed(self.fink.state.failures))[failures.cursor_row]
                )
                return
            fingerprint = self._selected_fingerprint()
            seen = self.fink.state.schemas.get(fingerprint or "")
            info = self._selected_schema()
            if info is None:
                self.notify("no schema selected", severity="warning", markup=False)
                return
            if seen is not None:  # named after its topic and version
                path = dump_schema(info, folder, min(seen.topics), seen.versions)
            else:
                path = dump_schema(info, folder)
        except OSError as exc:
            self.fink.report_error(f"cannot write the schema: {exc}")
            return
        self.notify(str(Path(path)), title="Schema written", markup=False)

    def _dump_failure(self, folder: Path, failure: DecodeFailure) -> None:
        """The failed message's key and raw value as they arrived, for a bug report."""
        where = failure.ref.place
        if failure.key is None and failure.value is None:
            self.fink.report_error(
                f"{where}: no key, and its value is no longer kept "
                f"(only the newest {FAILURE_VALUES} failures keep theirs): nothing to write"
            )
            return
        paths = dump_failure(failure, folder)
        lines = [str(path) for path in paths]
        if failure.key is None:
            lines.append("(the message has no key)")
        if failure.value is None:
            lines.append(
                f"(value no longer kept: only the newest {FAILURE_VALUES} failures keep theirs)"
            )
        self.notify("\n".join(lines), title=f"{where} written", markup=False)
