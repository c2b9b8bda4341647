"""Giving memory back to the system (glibc; elsewhere these do nothing).

Alerts weigh 50-300 kB and pass through several threads: glibc's allocator keeps what they
freed in per-thread arenas and at the top of its heap, so a process that read a burst of
alerts stayed tens of MB above what it holds. Fewer arenas, and a trim now and then, give it
back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Any

M_ARENA_MAX = -8
"""mallopt's parameter number for the most malloc arenas (glibc's malloc.h)."""
ARENAS = 2
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


def limit_arenas() -> None:
    """Keep glibc to a few malloc arenas (call before threads start)."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, ARENAS)


def give_back(force: bool = False) -> None:
    """Return freed memory to the system, at most every :data:`TRIM_EVERY` seconds."""
    global _last_trim
    now = time.monotonic()
    if _LIBC is None or (not force and now - _last_trim < TRIM_EVERY):
        return
    _last_trim = now
    _LIBC.malloc_trim(0)
