"""Giving memory back to the system (glibc; elsewhere these do nothing), and the garbage
collector's full passes timed by the dashboard (:class:`FullCollections`).

Alerts weigh 50-300 kB and pass through several threads: glibc's allocator keeps what they
freed in per-thread arenas and at the top of its heap, so a process that read a burst of
alerts stayed tens of MB above what it holds. Fewer arenas, and a trim now and then, give it
back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable
from typing import Any

M_ARENA_MAX = -8
"""mallopt's parameter number for the most malloc arenas (glibc's malloc.h)."""
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
ARENAS = 2
KEEP_BYTES = 32 << 20
"""Freed memory at the top of the heap kept between two trims, and the size from which an
allocation gets its own pages. glibc's defaults (128 kB, growing) gave a batch's buffers of a
few MB fresh pages each time, and taking pages from the system costs more here than copying
into them: joining 4 MB of values took 9 ms, 2 ms on kept pages; ``fink-tui poll`` read real
ZTF alerts 30 % faster (2,880 vs 2,200 alerts/s, 3 runs each; 8 or 16 MB gained nothing)."""
TRIM_EVERY = 2.0
"""Seconds between two trims at most (a trim walks the heap: about a millisecond)."""


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (absent from other C libraries)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()
_last_trim = 0.0


def limit_arenas(arenas: int = ARENAS) -> None:
    """Keep glibc to ``arenas`` malloc arenas (call before threads start).

    :func:`give_back` reaches every arena's free chunks, but the free space at the top of a
    heap, where a thread's freed batches gather, only in the main arena: another arena's top
    shrinks only when a free leaves more than the trim threshold there. One arena where that
    matters (the stream process, ``core/remote.py``)."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, arenas)


def keep_freed_pages() -> None:
    """Keep up to :data:`KEEP_BYTES` of freed pages until the next trim: for the processes
    whose pace is the decoding or the consumer (the decoding processes, ``poll``, the
    dashboard's stream process), not the dashboard's, which waits for them and would only hold
    the memory longer."""
    if _LIBC is not None:
        _LIBC.mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)
        _LIBC.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)


STEADY_MMAP = 1 << 20
STEADY_TRIM = 8 << 20


def steady_heap() -> None:
    """For the dashboard, which waits for its decoding processes: allocations from 1 MB up get
    their own pages, given back when freed, and at most 8 MB of freed memory stays at the top
    of the heap. glibc's defaults move both up to the largest block freed so far: once one of
    librdkafka's fetch buffers (~5 MB each here) was freed, the next ones came from the heap and
    stayed there. Soak peak 247-260 -> 239-242 MB. Its cost, measured later: each fetch answer
    then landed in fresh pages (53,000 page faults/s while ingesting), ~10 points more of a core
    and a 15 % slower ingest than a heap that keeps them, which peaked over 250 MB
    (bench/README.md, sixth session): the consumer now runs in the stream process
    (``core/remote.py``), whose heap keeps its pages, and the dashboard keeps this one for the
    alerts' bytes that come up the pipe."""
    if _LIBC is not None:
        _LIBC.mallopt(M_MMAP_THRESHOLD, STEADY_MMAP)
        _LIBC.mallopt(M_TRIM_THRESHOLD, STEADY_TRIM)


def trim_every(seconds: float) -> None:
    """Let :func:`give_back` trim as often as every ``seconds`` in this process."""
    global TRIM_EVERY
    TRIM_EVERY = seconds


def give_back(force: bool = False) -> None:
    """Return freed memory to the system, at most every :data:`TRIM_EVERY` seconds."""
    global _last_trim
    now = time.monotonic()
    if _LIBC is None or (not force and now - _last_trim < TRIM_EVERY):
        return
    _last_trim = now
    _LIBC.malloc_trim(0)


QUIET_FOR = 1.0
"""Seconds without a key or a click before the dashboard runs a full collection."""
FULL_AT_MOST = 60.0
"""Seconds between two full collections at most, keys or not."""
NEVER = 1 << 30


class FullCollections:
    """The garbage collector's full passes, run when the person is not pressing keys.

    A full pass walks every object the collector tracks and not frozen: in the dashboard, after
    a few keys, the screens' rendered lines and the alerts of the model, 110,000-130,000
    objects, 70-80 ms of a core each time (one every few seconds while alerts pour in). Python
    runs it wherever an allocation tips the count, in the middle of a key's repaint as anywhere
    else: 60-300 ms added to a key. Taken over, the pass waits for :data:`QUIET_FOR` seconds
    without a key (or runs after :data:`FULL_AT_MOST` seconds all the same); the young
    generations are still collected by Python as before. An idle app collects nothing: a full
    pass is due only after as many collections of the middle generation as Python's own third
    threshold, the one taken over (bench/README.md, ninth session)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        passes: Callable[[], int] = lambda: gc.get_count()[2],
        collect: Callable[[], object] = gc.collect,
    ) -> None:
        self.clock = clock
        self._passes = passes
        self._collect = collect
        self.last_key = -QUIET_FOR
        self.last_full = clock()
        self.full_passes = 0
        """Full collections run so far."""
        self._thresholds: tuple[int, int, int] | None = None

    def take_over(self) -> None:
        """Stop Python's own full collections (the younger ones go on)."""
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, NEVER)

    def hand_back(self) -> None:
        """Give Python its full collections back (the dashboard is closing)."""
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    @property
    def due_after(self) -> int:
        """Collections of the middle generation after which a full one is due: Python's third
        threshold (as it was before :meth:`take_over`)."""
        return (self._thresholds or gc.get_threshold())[2]

    def interaction(self) -> None:
        """A key or a click now: no full collection for the next :data:`QUIET_FOR` seconds."""
        self.last_key = self.clock()

    def tick(self) -> bool:
        """Run a full collection if one is due and the person is not pressing keys (or not
        been collected for :data:`FULL_AT_MOST` seconds); True if it ran."""
        if self._passes() < self.due_after:
            return False
        now = self.clock()
        if now - self.last_key < QUIET_FOR and now - self.last_full < FULL_AT_MOST:
            return False
        self._collect()
        self.last_full = now
        self.full_passes += 1
        return True
