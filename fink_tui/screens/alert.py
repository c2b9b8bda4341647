"""One alert in full: its fields, its light curve and its three cutouts."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from fink_tui.core.decode import Alert
from fink_tui.core.files import save_alert
from fink_tui.core.survey import CUTOUT_FIELDS, cutout_bytes, light_curve
from fink_tui.widgets.cutout import CutoutView
from fink_tui.widgets.fields_tree import FieldsTree
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
    ]
    """Keys of the alert view."""

    CSS_PATH = "alert.tcss"

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert
        self.record = alert.record()

    def compose(self) -> ComposeResult:
        s, r = self.alert.summary, self.alert.ref
        title = Text.assemble(
            (s.object_id or "?", "bold"),
            f"  source {s.source_id}  ",
            ("│", "dim"),
            f"  {r.topic} [{r.partition}] offset {r.offset}  ",
            ("│", "dim"),
            f"  {s.classification}  ",
            (f"│ schema {self.alert.schema.fingerprint}", "dim"),
        )
        yield Static(title, id="title")
        with Horizontal():
            yield FieldsTree(self.record, id="fields")
            with Vertical():
                points = light_curve(self.record, s.survey)
                yield Static(legend(points, s.survey), id="legend")
                yield LightCurvePlot(points, s.survey, id="curve")
                with Horizontal(id="cutouts"):
                    for name in CUTOUT_FIELDS:
                        label = name.removeprefix("cutout")
                        yield CutoutView(label, cutout_bytes(self.record, name))
        yield Footer()

    def on_unmount(self) -> None:
        # The feed keeps the raw bytes only: a decoded LSST alert weighs megabytes.
        self.alert.forget_record()

    def action_save_alert(self) -> None:
        """Save the alert as an Avro file carrying its schema, in the data folder."""
        app = cast("FinkApp", self.app)
        folder = app.directories.data / "alerts"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = save_alert(self.alert, folder)
        except OSError as exc:
            app.report_error(f"cannot save the alert: {exc}")
            return
        self.notify(str(path), title="Alert saved", markup=False)
