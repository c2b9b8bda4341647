"""The dashboard's full garbage collections: run when no key was pressed for a while, never
in an app that does nothing, and Python's own thresholds given back at the end."""

from __future__ import annotations

import gc

from fink_tui.core.memory import FULL_AT_MOST, QUIET_FOR, FullCollections

DUE = gc.get_threshold()[2]
"""Python's third threshold: younger passes after which a full one is due."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def collections(passes: list[int], runs: list[float], clock: Clock) -> FullCollections:
    return FullCollections(
        clock, passes=lambda: passes[0], collect=lambda: runs.append(clock.now)
    )


def test_a_due_collection_waits_for_the_keys_to_stop() -> None:
    """Due (enough younger passes) but a key was just pressed: not now; once the person has
    not pressed a key for QUIET_FOR seconds, it runs."""
    clock, passes, runs = Clock(), [DUE], []
    full = collections(passes, runs, clock)
    full.interaction()
    clock.now += QUIET_FOR / 2
    assert not full.tick() and runs == []
    clock.now += QUIET_FOR
    assert full.tick() and runs == [clock.now]
    assert full.full_passes == 1


def test_nothing_runs_when_nothing_is_due() -> None:
    """An idle app (few younger passes) never pays a full collection, keys or not."""
    clock, passes, runs = Clock(), [DUE - 1], []
    full = collections(passes, runs, clock)
    for _ in range(10):
        clock.now += FULL_AT_MOST
        assert not full.tick()
    assert runs == []


def test_keys_held_down_do_not_put_it_off_for_ever() -> None:
    """A key every half second for minutes: the collection runs after FULL_AT_MOST all the
    same, once, then waits again."""
    clock, passes, runs = Clock(), [DUE], []
    full = collections(passes, runs, clock)
    start = clock.now
    while clock.now - start < 2.5 * FULL_AT_MOST:
        full.interaction()
        full.tick()
        clock.now += 0.5
    assert len(runs) == 2
    assert runs[0] - start >= FULL_AT_MOST and runs[1] - runs[0] >= FULL_AT_MOST


def test_python_full_collections_are_taken_over_and_given_back() -> None:
    """take_over stops Python's own full passes (young ones unchanged); hand_back restores
    the thresholds exactly, and twice either way changes nothing more."""
    before = gc.get_threshold()
    full = FullCollections()
    try:
        full.take_over()
        full.take_over()
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == before[:2] and oldest > 1_000_000
    finally:
        full.hand_back()
        full.hand_back()
    assert gc.get_threshold() == before


def test_the_real_collector_runs_when_due() -> None:
    """With gc's own counts: after enough younger passes, a quiet tick runs gc.collect."""
    full = FullCollections()
    full.take_over()
    try:
        for _ in range(full.due_after + 1):
            gc.collect(1)
        assert full.due_after == DUE and gc.get_count()[2] >= DUE
        assert full.tick()
        assert gc.get_count()[2] == 0
    finally:
        full.hand_back()
