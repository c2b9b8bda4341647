"""What fink-tui writes to the terminal to get a person's attention: the bell, and a desktop
notification through the terminal itself (so it works over ssh, with no notification daemon
on the machine that runs fink-tui).

Terminals understand one of two sequences: OSC 9 (iTerm2, WezTerm, kitty, Ghostty, Windows
Terminal, ConEmu) and OSC 777 ``notify`` (VTE terminals such as GNOME Terminal and Tilix,
foot, urxvt). Under tmux the sequence is wrapped so tmux passes it to the outer terminal (it
does when ``allow-passthrough`` is on). Alert text is data: control characters are dropped, so
nothing in an alert can end the sequence early or send one of its own.
"""

from __future__ import annotations

import os
import re
import select
import sys
from collections.abc import Mapping

BELL = "\a"
MAX_TEXT = 200
"""Longest title or body sent (terminals cut or refuse long notifications)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` without control characters, on one line, at most ``limit`` characters."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def uses_osc777(env: Mapping[str, str]) -> bool:
    """Whether the terminal speaks OSC 777 rather than OSC 9 (VTE, foot, urxvt)."""
    term = env.get("TERM", "")
    return bool(env.get("VTE_VERSION")) or term.startswith(("foot", "rxvt"))


def desktop_notification(title: str, body: str, env: Mapping[str, str]) -> str:
    """The escape sequence that shows ``title`` and ``body`` as a desktop notification."""
    title, body = clean(title), clean(body)
    if uses_osc777(env):
        # Fields are separated by ';': one inside a field would split it.
        sequence = f"\x1b]777;notify;{title.replace(';', ',')};{body.replace(';', ',')}\a"
    else:
        sequence = f"\x1b]9;{title}: {body}\a"
    if env.get("TMUX"):
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def terminal_fd() -> int | None:
    """The standard input's descriptor when it is a terminal (watched by :func:`hung_up`)."""
    if not hasattr(select, "poll"):  # Windows: its consoles tell no hang-up this way
        return None
    try:
        fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
        return fd if fd >= 0 and os.isatty(fd) else None
    except (OSError, ValueError):
        return None


def hung_up(fd: int) -> bool:
    """Whether the terminal on ``fd`` (see :func:`terminal_fd`) is gone: its other end closed
    (a pseudo-terminal's master, an emulator killed) with no SIGHUP to end the process, because
    its controlling terminal was another, or none. Textual's input thread then reads
    end-of-file in a loop: a whole core, for nothing."""
    poller = select.poll()
    try:
        poller.register(fd, select.POLLIN)
        return any(mask & (select.POLLHUP | select.POLLERR) for _, mask in poller.poll(0))
    except (OSError, ValueError):
        return True
