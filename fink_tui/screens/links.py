"""Copying an object's id and opening its pages: the Fink portal, TNS and SIMBAD.

The id goes to the clipboard through the terminal (OSC 52), so it works over ssh too. A page
opens in the browser when this machine has one to show; otherwise (a remote session) its URL
is copied instead, and the links are drawn as terminal hyperlinks, which a click opens in
most terminals.
"""

from __future__ import annotations

import os
import sys

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from fink_tui.core.links import links_for
from fink_tui.core.survey import AlertSummary
from fink_tui.widgets.key_bar import KeyBar


def object_label(summary: AlertSummary) -> str:
    """The id to copy: the object's, or the source's when the alert names no object."""
    return summary.object_id or summary.source_id


COPY = Binding("c", "copy_id", "Copy id", tooltip="Copy the object's id (OSC 52)", id="copy_id")
LINKS = Binding(
    "o", "links", "Links", tooltip="Fink portal, TNS and SIMBAD pages", id="open_links"
)
"""The keys of a screen that shows an alert or an object: its id, its pages."""


def copy_id(app: App[object], summary: AlertSummary) -> None:
    """Put the alert's object id on the clipboard (OSC 52) and say so."""
    ident = object_label(summary)
    if not ident:
        app.notify("this alert carries no id", title="Nothing copied", severity="warning")
        return
    app.copy_to_clipboard(ident)
    kind = summary.object_kind or "source id"
    app.notify(f"{ident} ({kind})", title="Copied", markup=False)


def browser_here() -> bool:
    """Whether a browser can show a page on this machine's screen: not over ssh to a Linux
    box without a display (Python's webbrowser would start a text browser in our terminal)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith("linux") or sys.platform.startswith("freebsd"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def open_link(app: App[object], name: str, url: str) -> None:
    """Open ``url`` in the browser, or copy it when there is no browser here."""
    if browser_here():
        app.open_url(url)
        app.notify(url, title=f"Opening {name}", markup=False)
    else:
        app.copy_to_clipboard(url)
        app.notify(
            f"{url}\n(no browser on this machine: the URL is copied)",
            title=f"{name} link copied",
            markup=False,
        )


def _where(url: str) -> str:
    """A URL's host and path, without the query (the list stays one line a page)."""
    return url.split("://", 1)[-1].split("?", 1)[0]


class LinksModal(ModalScreen[None]):
    """The pages about an alert's object: Enter opens one, c copies its URL."""

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="links.close"),
        Binding("o", "open_link", "Open", tooltip="Open the page in the browser", id="links.open"),
        Binding("c", "copy_link", "Copy URL", tooltip="Copy the page's URL", id="links.copy"),
    ]
    """Keys of the links dialog."""

    DEFAULT_CSS = """
    LinksModal { align: center middle; }
    LinksModal > Vertical {
        width: 90%; max-width: 130; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    LinksModal #links-title { margin-bottom: 1; }
    LinksModal OptionList { height: auto; max-height: 8; }
    LinksModal #link-url { margin-top: 1; }
    """

    def __init__(self, summary: AlertSummary) -> None:
        super().__init__()
        self.summary = summary
        self.links = links_for(summary).named()

    def compose(self) -> ComposeResult:
        s = self.summary
        title = Text.assemble(("Links for ", "dim"), (object_label(s) or "?", "bold"))
        if s.ra is not None and s.dec is not None:
            title.append(f"  at {s.ra:.5f} {s.dec:+.5f}", "dim")
        with Vertical():
            yield Static(title, id="links-title")
            if self.links:
                yield OptionList(
                    *(
                        Option(
                            Text.assemble((f"{name:<12}", "bold"), (_where(url), "dim")), id=name
                        )
                        for name, url in self.links
                    )
                )
                # The whole URL of the highlighted page, folded to the width (a terminal
                # hyperlink: a click opens it in most terminals).
                yield Static(id="link-url")
            else:
                yield Static("This alert has neither an object id nor a position.")
        yield KeyBar()

    def _selected(self) -> tuple[str, str] | None:
        if not self.links:
            return None
        index = self.query_one(OptionList).highlighted
        return self.links[index if index is not None else 0]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        chosen = self._selected()
        if chosen is not None:
            url = chosen[1]
            self.query_one("#link-url", Static).update(
                Text(url, style=f"link {url}", overflow="fold")
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_open_link()

    def action_open_link(self) -> None:
        """Open the highlighted page."""
        chosen = self._selected()
        if chosen is not None:
            open_link(self.app, *chosen)

    def action_copy_link(self) -> None:
        """Copy the highlighted page's URL."""
        chosen = self._selected()
        if chosen is not None:
            self.app.copy_to_clipboard(chosen[1])
            self.notify(chosen[1], title=f"{chosen[0]} URL copied", markup=False)
