"""One alert in full: its fields, its light curve and its three cutouts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from fink_tui.core.decode import Alert, RecordError
from fink_tui.core.files import alert_file_name, save_alert
from fink_tui.core.survey import CUTOUT_FIELDS, LightCurvePoint, cutout_bytes, light_curve
from fink_tui.widgets.cutout import CutoutPicture, CutoutView, prepare_cutout
from fink_tui.widgets.fields_tree import FieldsTree
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.light_curve import LightCurvePlot, legend

if TYPE_CHECKING:
    from fink_tui.app import FinkApp


class AlertScreen(Screen[None]):
    """The detail of an alert opened from the feed."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", tooltip="Back to the feed", id="alert.back"),
        Binding(
            "s",
            "save_alert",
            "Save .avro",
            tooltip="Save the alert with its schema",
            id="alert.save",
        ),
        Binding("c", "copy_id", "Copy id", tooltip="Copy the object's id (OSC 52)", id="copy_id"),
        Binding("o", "links", "Links", tooltip="Fink portal, TNS and SIMBAD pages", id="links"),
    ]
    """Keys of the alert view."""

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert
        self.record: dict[str, Any] | None = None
        """The whole alert, once decoded (off the UI thread)."""

    def compose(self) -> ComposeResult:
        s, r = self.alert.summary, self.alert.ref
        where = f"{s.ra:.5f} {s.dec:+.5f}" if s.ra is not None and s.dec is not None else ""
        when = s.time.strftime("%Y-%m-%d %H:%M:%S UTC") if s.time else ""
        title = Text.assemble(
            (s.object_id or "?", "bold"),
            f"  {where}  {s.brightness} {s.band}  {when}  ",
            ("│", "dim"),
            f"  {s.classification}  ",
            ("│", "dim"),
            (f"  {r.topic} [{r.partition}] offset {r.offset}  source {s.source_id}", "dim"),
        )
        yield Static(title, id="title")
        yield Horizontal(Static("decoding the whole alert…", id="loading"), id="body")
        yield KeyBar()

    def on_mount(self) -> None:
        # Decoding an LSST alert in full and reading its FITS cutouts takes tens of ms: the
        # screen shows at once, and fills when a thread has done the work (started once the
        # screen is drawn, so that it does not compete with the drawing for the GIL).
        self.call_after_refresh(self._load)

    @work(thread=True, exclusive=True)
    def _load(self) -> None:
        survey = self.alert.summary.survey
        try:
            record = self.alert.record()
        except RecordError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        points = light_curve(record, survey)
        pictures = [
            prepare_cutout(name.removeprefix("cutout"), cutout_bytes(record, name))
            for name in CUTOUT_FIELDS
        ]
        self.app.call_from_thread(self._fill, record, points, pictures)

    def _fill(
        self, record: dict[str, Any], points: list[LightCurvePoint], pictures: list[CutoutPicture]
    ) -> None:
        if not self.is_attached:  # closed while the thread worked
            self.alert.forget_record()
            return
        self.record = record
        survey = self.alert.summary.survey
        body = self.query_one("#body", Horizontal)
        body.remove_children()
        body.mount_all(
            [
                FieldsTree(record, id="fields"),
                Vertical(
                    Static(legend(points, survey), id="legend"),
                    LightCurvePlot(points, survey, id="curve"),
                    Horizontal(*(CutoutView(p) for p in pictures), id="cutouts"),
                ),
            ]
        )

    def _failed(self, reason: str) -> None:
        if not self.is_attached:
            return
        self.query_one("#loading", Static).update(Text(reason, style="bold red"))
        cast("FinkApp", self.app).report_error(reason)

    def on_unmount(self) -> None:
        # The feed keeps the raw bytes only: a decoded LSST alert weighs megabytes.
        self.alert.forget_record()

    def action_copy_id(self) -> None:
        """Copy the alert's object id (OSC 52)."""
        from fink_tui.screens.links import copy_id

        copy_id(self.app, self.alert.summary)

    def action_links(self) -> None:
        """The alert's pages: Fink portal, TNS, SIMBAD."""
        from fink_tui.screens.links import LinksModal

        self.app.push_screen(LinksModal(self.alert.summary))

    def action_save_alert(self) -> None:
        """Save the alert as an Avro file carrying its schema, in the data folder (once: the
        file of an alert is named after it, and a second save would write the same bytes)."""
        app = cast("FinkApp", self.app)
        folder = app.directories.data / "alerts"
        existing = folder / alert_file_name(self.alert)
        if existing.is_file():
            self.notify(str(existing), title="Already saved", markup=False)
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = save_alert(self.alert, folder)
        except (OSError, RecordError) as exc:
            app.report_error(f"cannot save the alert: {exc}")
            return
        self.notify(str(path), title="Alert saved", markup=False)
