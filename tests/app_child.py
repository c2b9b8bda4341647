"""The dashboard as a child process for the kill test, and an app that records what it held.

:class:`RecordingApp` is :class:`~fink_tui.app.FinkApp` noting the key (topic, partition,
offset) of every alert and failure right after ``handle_event`` put it in the model, and the
moment it did, in memory and, if given a file, appended to it and flushed at once (so a
``kill -9`` loses nothing the app held). Run as a script, it opens the app headless on a
Kafka source and runs until it is killed, or until a line on its stdin presses q::

    python -m tests.app_child SERVERS GROUP TOPIC OUT_FILE
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import IO

from fink_tui.app import FinkApp
from fink_tui.config import Settings
from fink_tui.core.events import AlertsReceived, Event
from fink_tui.core.remote import ProcessSource
from fink_tui.core.source import StreamSource

Key = tuple[str, int, int]


class RecordingApp(FinkApp):
    """FinkApp that records each alert it applied to its model."""

    def __init__(
        self, settings: Settings, source: StreamSource, out: IO[str] | None = None
    ) -> None:
        super().__init__(settings, source)
        self.out = out
        self.held: list[tuple[float, Key]] = []
        """(monotonic time, key) of every alert and failure applied, duplicates included."""

    def handle_event(self, event: Event) -> None:
        super().handle_event(event)
        if isinstance(event, AlertsReceived):
            now = time.monotonic()
            keys = [(m.ref.topic, m.ref.partition, m.ref.offset) for m in event.alerts]
            keys += [(m.ref.topic, m.ref.partition, m.ref.offset) for m in event.failures]
            self.held += [(now, key) for key in keys]
            if self.out is not None:
                self.out.write("".join(f"{t} {p} {o}\n" for t, p, o in keys))
                self.out.flush()  # the kernel has it: a kill -9 loses none of it


async def run_child(servers: str, group: str, topic: str, path: str) -> None:
    from tests.helpers import settings_for

    settings = settings_for(servers, group, [topic])
    with open(path, "a", encoding="utf-8") as out:
        app = RecordingApp(settings, ProcessSource(settings, lag_interval=0.5), out)
        quit_asked = threading.Event()
        threading.Thread(
            target=lambda: (sys.stdin.readline(), quit_asked.set()), daemon=True
        ).start()
        async with app.run_test(size=(120, 40)) as pilot:
            print("started", flush=True)
            while not quit_asked.is_set():
                await pilot.pause(0.1)
            await pilot.press("q")


if __name__ == "__main__":
    asyncio.run(run_child(*sys.argv[1:5]))
