"""What a screen whose rows are alerts (an :class:`AlertTable`) does with the row under the
cursor: open it, copy its object's id, list its object's pages."""

from __future__ import annotations

from fink_tui.core.decode import Alert
from fink_tui.screens.base import DashboardScreen
from fink_tui.screens.links import LinksModal, copy_id
from fink_tui.textual_compat import SteadyBackground
from fink_tui.widgets.alert_table import AlertTable

ROW_ACTIONS = ("open_alert", "copy_id", "links")
"""The actions that need a row under the cursor."""


class AlertRows(SteadyBackground[None]):
    """A screen with an :class:`AlertTable`: Enter (or a click) opens the alert under the
    cursor; ``copy_id`` and ``links`` act on its object where bound."""

    def selected_alert(self) -> Alert | None:
        """The alert under the cursor, if any."""
        return self.query_one(AlertTable).selected_alert()

    def on_alert_table_row_selected(self, event: AlertTable.RowSelected) -> None:
        self._open(event.alert)  # the row chosen, even if a key typed after moved the cursor

    def action_open_alert(self) -> None:
        """Open the selected alert: fields, light curve, cutouts."""
        self._open(self.selected_alert())

    def _open(self, alert: Alert | None) -> None:
        if alert is not None:
            from fink_tui.screens.alert import open_alert

            open_alert(self.app, alert)

    def action_copy_id(self) -> None:
        """Copy the selected alert's object id (OSC 52)."""
        alert = self.selected_alert()
        if alert is not None:
            copy_id(self.app, alert.summary)

    def action_links(self) -> None:
        """The selected alert's pages: Fink portal, TNS, SIMBAD."""
        alert = self.selected_alert()
        if alert is not None:
            self.app.push_screen(LinksModal(alert.summary))


class AlertRowsScreen(DashboardScreen, AlertRows):
    """A dashboard screen with an :class:`AlertTable`: Enter opens the alert under the cursor,
    ``c`` copies its object's id, ``o`` lists its object's pages."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ROW_ACTIONS:
            return self.selected_alert() is not None or None
        return True
