"""Keypress -> first paint of its effect, inside the app: wall time and UI-thread CPU.

``.venv/bin/python bench/key_paint.py`` (``--rounds 6``; ~30 s; no broker). The dashboard runs
headless at 160x45 (Textual's Pilot), fed by a replay of 600 real ZTF alerts of
``../shared/fink-data/`` and a lag snapshot; each key of a person's round (the same as
``app_bench.py``'s) is pressed, and the time is taken when Textual has composed the screen that
shows its effect (the first update of the expected screen handed to the terminal,
``App._display``: a compositor refresh with nothing to draw, as the first one after a mode
switch, does not count). The first round is
reported apart ("cold": the first time each screen or dialog is shown). The UI-thread CPU is
what the key cost the interpreter, whatever else the machine runs: it moves with the code,
not with the load, so this bench compares commits where the pty bench's wall times cannot.

Target (issue "Keeps up with the stream"): every key < 100 ms at the 99th percentile.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.screen import Screen  # noqa: E402

from fink_tui.app import FinkApp  # noqa: E402
from fink_tui.config import Settings  # noqa: E402
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef  # noqa: E402
from fink_tui.core.events import (  # noqa: E402
    AlertsReceived,
    Connection,
    ConnectionChanged,
    Event,
    LagUpdated,
)
from fink_tui.core.lag import build_snapshot  # noqa: E402
from fink_tui.core.source import ReplaySource  # noqa: E402
from tests.helpers import ZTF_ALERTS, wire_messages  # noqa: E402

TOPIC = "fink_early_sn_candidates_ztf"
SIZE = (160, 45)
TARGET_MS = 100.0
KEYS = (
    ("2", "LagScreen", "2 (feed -> lag)"),
    ("p", "ResetOffsetsModal", "p (reset dialog)"),
    ("escape", "LagScreen", "escape (dialog -> lag)"),
    ("3", "SchemaScreen", "3 (lag -> schema)"),
    ("1", "FeedScreen", "1 (-> feed)"),
    ("space", "FeedScreen", "space (pause)"),
    ("space", "FeedScreen", "space (resume)"),
    ("slash", "FeedScreen", "/ (filter box)"),
    ("escape", "FeedScreen", "escape (filter closed)"),
    ("enter", "AlertScreen", "enter (open alert)"),
    ("escape", "FeedScreen", "escape (alert -> feed)"),
)
"""(key, the screen that shows its effect, name)."""

paints: list[tuple[float, float, str]] = []
_display = FinkApp._display


def _noting(self: FinkApp, screen: Screen[object], renderable: object) -> None:
    _display(self, screen, renderable)  # type: ignore[arg-type]
    if renderable is not None:  # (None: the compositor had nothing to draw)
        paints.append((time.perf_counter(), time.thread_time(), type(screen).__name__))


def recorded(n: int) -> list[Event]:
    decoder = AlertDecoder()
    messages = list(wire_messages(ZTF_ALERTS))
    alerts = []
    for i in range(n):
        alert = decoder.decode(MessageRef(TOPIC, i % 4, i // 4), *messages[i % len(messages)])
        assert isinstance(alert, Alert)
        alerts.append(alert)
    now = time.time()
    lag = build_snapshot(
        "bench",
        {TOPIC: [0, 1, 2, 3]},
        {(TOPIC, p): n // 4 for p in range(4)},
        {(TOPIC, p): (0, n // 4 + 10) for p in range(4)},
        taken_at=now,
    )
    return [
        ConnectionChanged(Connection.CONNECTED, "127.0.0.1:9092"),
        AlertsReceived(tuple(alerts), (), received_at=now),
        LagUpdated(lag),
    ]


async def measure(rounds: int) -> dict[str, list[tuple[float, float]]]:
    settings = Settings(servers="127.0.0.1:9092", group_id="bench", topics=(TOPIC,))
    app = FinkApp(settings, ReplaySource(recorded(600)))
    results: dict[str, list[tuple[float, float]]] = {}
    FinkApp._display = _noting  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(1.5)  # started, and the other screens built out of sight
            for r in range(rounds):
                for key, screen, name in KEYS:
                    await pilot.pause(0.3)  # a person's pause between keys
                    paints.clear()
                    wall, cpu = time.perf_counter(), time.thread_time()
                    await pilot.press(key)
                    for _ in range(1000):
                        hit = [p for p in paints if p[2] == screen]
                        if hit:
                            break
                        await asyncio.sleep(0.002)
                    else:
                        raise TimeoutError(f"{name}: {screen} never drawn")
                    label = f"{'cold' if r == 0 else 'warm'}: {name}"
                    ms = ((hit[0][0] - wall) * 1000, (hit[0][1] - cpu) * 1000)
                    results.setdefault(label, []).append(ms)
    finally:
        FinkApp._display = _display  # type: ignore[method-assign]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of keys (the first: cold)")
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.rounds))
    print(f"Keypress -> first paint, in process, headless {SIZE[0]}x{SIZE[1]}, 600 real alerts")
    print(f"  {'key':<38} {'wall median':>11} {'p99':>8} {'UI CPU median':>14} {'p99':>8}")
    worst = 0.0
    for label, samples in results.items():
        walls = sorted(w for w, _ in samples)
        cpus = sorted(c for _, c in samples)
        worst = max(worst, walls[-1]) if label.startswith("warm") else worst
        print(
            f"  {label:<38} {statistics.median(walls):8.1f} ms {walls[-1]:6.1f} ms"
            f" {statistics.median(cpus):11.1f} ms {cpus[-1]:6.1f} ms"
        )
    met = "met" if worst < TARGET_MS else "NOT met"
    print(f"  warm keys, p99 (largest of n): {worst:.1f} ms (target < {TARGET_MS:.0f}: {met})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
