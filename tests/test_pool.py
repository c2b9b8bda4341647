"""Decoding in other processes: the same results as decoding here, in order, and nothing lost
when a decoding process is killed mid-batch."""

from __future__ import annotations

import os
import platform
import signal
from dataclasses import dataclass

import pytest

from fink_tui.core.decode import Alert, AlertDecoder, DecodeFailure, MessageRef, load_schema_file
from fink_tui.core.pool import Decoded, DecodePipeline
from tests.helpers import (
    LSST_ALERTS,
    SCHEMA_25,
    ZTF_ALERTS,
    running,
    wait_until,
    wire_messages,
)


@dataclass
class FakeMessage:
    """What the pipeline reads of a consumed message (confluent_kafka's Message has the same)."""

    topic_: str
    partition_: int
    offset_: int
    key_: bytes | None
    value_: bytes | None
    error_: object = None

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes | None:
        return self.key_

    def value(self) -> bytes | None:
        return self.value_

    def error(self) -> object:
        return self.error_

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000 + self.offset_)


def messages(start: int = 0) -> list[FakeMessage]:
    """Real ZTF and LSST alerts interleaved, one truncated, one without a key."""
    ztf, lsst = list(wire_messages(ZTF_ALERTS)), list(wire_messages(LSST_ALERTS))
    out: list[FakeMessage] = []
    for i in range(40):
        key, value = ztf[i % len(ztf)] if i % 4 else lsst[i % len(lsst)]
        if i == 7:
            value = value[:200]
        if i == 9:
            key = None
        out.append(FakeMessage("fink_t", i % 3, start + i, key, value))
    return out


def same(a: Decoded | None, b: Decoded) -> None:
    assert a is not None and type(a) is type(b) and a.ref == b.ref
    if isinstance(b, Alert):
        assert isinstance(a, Alert)
        assert a.summary == b.summary and a.schema.fingerprint == b.schema.fingerprint
        assert a.value == b.value
    else:
        assert isinstance(a, DecodeFailure)
        assert (a.reason, a.fingerprint, a.key, a.value) == (
            b.reason,
            b.fingerprint,
            b.key,
            b.value,
        )


def reference(batch: list[FakeMessage], decoder: AlertDecoder | None = None) -> list[Decoded]:
    decoder = decoder or AlertDecoder()
    return [
        decoder.decode(
            MessageRef(m.topic_, m.partition_, m.offset_, 1_700_000_000_000 + m.offset_),
            m.key_,
            m.value_,
        )
        for m in batch
    ]


def test_processes_give_the_same_results_in_order() -> None:
    """Three batches through one decoding process: each message decodes as it does here, and
    the batches come back in the order they were put."""
    pipeline = DecodePipeline(workers=1)
    try:
        batches = [messages(n * 100) for n in range(3)]
        for n, batch in enumerate(batches):
            pipeline.put(batch, tag=n)
        done = []
        while len(done) < 3:
            done.extend(pipeline.ready(wait=None))
        assert [b.tag for b in done] == [0, 1, 2]
        for batch, got in zip(batches, done, strict=True):
            for a, b in zip(got.results, reference(batch), strict=True):
                same(a, b)
        assert len(done[0].alerts) == 38 and len(done[0].failures) == 2
    finally:
        pipeline.close()


def test_without_workers_it_decodes_here() -> None:
    """workers=0: the batch is decoded on the caller's thread, same results."""
    pipeline = DecodePipeline(workers=0)
    batch = messages()
    pipeline.put(batch)
    (got,) = pipeline.ready()
    for a, b in zip(got.results, reference(batch), strict=True):
        same(a, b)


def test_a_killed_decoding_process_loses_nothing() -> None:
    """The decoding process is SIGKILLed with a batch in flight: the batch is decoded here
    instead, every message accounted for, and the next batch goes through a new pool."""
    pipeline = DecodePipeline(workers=1)
    try:
        pipeline.put(messages(0))
        pipeline.ready(wait=None)  # the process is up
        pids = pipeline.pids
        assert pids
        big = messages(100) * 5
        pipeline.put(big)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        (got,) = pipeline.ready(wait=None)
        assert pipeline.restarts == 1
        for a, b in zip(got.results, reference(big), strict=True):
            same(a, b)
        pipeline.put(messages(1000))
        (after,) = pipeline.ready(wait=None)
        assert len(after.alerts) == 38 and pipeline.pids and pipeline.pids != pids
    finally:
        pipeline.close()


def test_forced_schema_reaches_the_processes() -> None:
    """A forced schema decodes in the processes exactly as here (the old ZTF schema forced on
    the current alerts fails them the same way)."""
    forced = load_schema_file(SCHEMA_25)
    pipeline = DecodePipeline(workers=1)
    try:
        pipeline.force(forced, None)
        batch = messages()
        pipeline.put(batch)
        (got,) = pipeline.ready(wait=None)
        for a, b in zip(got.results, reference(batch, AlertDecoder(forced)), strict=True):
            same(a, b)
    finally:
        pipeline.close()


def test_forcing_a_schema_with_batches_in_flight_loses_none() -> None:
    """A schema forced while batches are being decoded stops the pool; those batches are
    decoded here instead, none lost, and that is not counted as a failure."""
    pipeline = DecodePipeline(workers=1)
    try:
        pipeline.put(messages(0))
        pipeline.ready(wait=None)  # the process is up
        batches = [messages(100 * n) * 3 for n in range(1, 4)]
        for batch in batches:
            pipeline.put(batch)
        pipeline.force(None, None)
        done = []
        while len(done) < 3:
            done.extend(pipeline.ready(wait=None))
        for batch, got in zip(batches, done, strict=True):
            assert all(r is not None for r in got.results) and len(got.results) == len(batch)
        assert pipeline.restarts == 0
    finally:
        pipeline.close()


def test_batches_weigh_about_the_same_whatever_the_alerts() -> None:
    """The next consume asks for as many messages as fit BATCH_BYTES, from the last batch's
    sizes: ~80 ZTF alerts (53 kB), ~18 LSST ones (226 kB), never fewer than MIN_BATCH nor more
    than asked at most."""
    from fink_tui.core.pool import BATCH_BYTES, MIN_BATCH, batch_count

    class Sized:
        def __init__(self, size: int) -> None:
            self._value = b"x" * size

        def value(self) -> bytes:
            return self._value

    ztf = [Sized(53_500)] * 64
    assert batch_count(ztf, 64, 500) == BATCH_BYTES // 53_500
    assert batch_count([Sized(226_000)] * 40, 78, 500) == MIN_BATCH + 2
    assert batch_count([Sized(300)] * 64, 64, 500) == 500
    assert batch_count([Sized(10_000_000)], 64, 500) == MIN_BATCH
    assert batch_count([Sized(0)], 64, 500) == 64  # nothing to go by: as before
    assert batch_count(ztf, 64, 500, weight=BATCH_BYTES // 2) == BATCH_BYTES // 2 // 53_500


def test_memory_is_given_back_without_error() -> None:
    from fink_tui.core.memory import give_back, limit_arenas

    limit_arenas()
    give_back(force=True)
    give_back()  # within TRIM_EVERY: nothing done


STEADY_PROBE = """
import ctypes, sys
from fink_tui.core.memory import steady_heap
if sys.argv[1] == "steady":
    steady_heap()
names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in names.split()]
libc = ctypes.CDLL("libc.so.6")
if not hasattr(libc, "mallinfo2"):  # glibc before 2.33
    sys.exit(print("skip"))
libc.mallinfo2.restype = Info
fetched = bytearray(5 << 20)  # one of librdkafka's fetch buffers
del fetched
block = bytearray(2 << 20)
print(libc.mallinfo2().hblkhd >= 2 << 20)
"""


def malloc_probe(script: str, argument: str) -> str:
    """What ``script`` prints, run by a fresh interpreter with glibc's malloc as it comes (no
    ``MALLOC_*`` or tunables from this environment); skips the test elsewhere than glibc."""
    import subprocess
    import sys

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's malloc only")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    run = [sys.executable, "-c", script, argument]
    return subprocess.run(run, capture_output=True, text=True, check=True, env=env).stdout.strip()


def test_the_dashboard_heap_gives_big_blocks_back() -> None:
    """With glibc's defaults a freed 5 MB block moves the mmap threshold up to 5 MB, so the
    next 2 MB block comes from the heap (and stays there once freed); with steady_heap, big
    blocks keep their own pages, returned when freed."""
    answers = [malloc_probe(STEADY_PROBE, mode) for mode in ("default", "steady")]
    if "skip" in answers:
        pytest.skip("mallinfo2 needs glibc 2.33")
    assert answers == ["False", "True"]


ARENA_PROBE = """
import os, sys, threading
from fink_tui.core.memory import give_back, keep_freed_pages, limit_arenas
limit_arenas(int(sys.argv[1]))
keep_freed_pages()
def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
def batches():  # a worker thread's batches: 24 MB of buffers, then let go
    held = [bytearray(256 << 10) for _ in range(96)]
    del held
before = resident()
worker = threading.Thread(target=batches)
worker.start()
worker.join()
give_back(force=True)
print((resident() - before) >> 20)
"""


def test_the_stream_process_gives_back_what_its_worker_thread_freed() -> None:
    """A thread's freed batches gather at the top of its arena's heap: with a second arena
    (the worker thread's own) the trim leaves them resident; with the stream process's one
    arena they are given back."""
    from fink_tui.core.remote import STREAM_ARENAS

    kept_mb = {arenas: int(malloc_probe(ARENA_PROBE, str(arenas))) for arenas in (2, STREAM_ARENAS)}
    assert kept_mb[2] >= 16, kept_mb  # the second arena's top stayed
    assert kept_mb[STREAM_ARENAS] <= 4, kept_mb


def test_decoding_processes_end_with_their_owner() -> None:
    """The process that owns the pipeline is killed outright (kill -9) with a batch in flight:
    its decoding process sees its input close and ends too, leaving nothing behind."""
    import subprocess
    import sys

    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tests.test_pool import DecodePipeline, messages\n"
            "p = DecodePipeline(workers=1)\n"
            "p.put(messages(0)); p.ready(wait=None)\n"
            "print(p.pids[0], flush=True)\n"
            "p.put(messages(100) * 20)\n"
            "import time; time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        owner.kill()
        owner.wait(10)
        assert wait_until(lambda: not running(child), 10)
    finally:
        owner.kill()


def test_a_decoding_process_that_cannot_start_gives_way_to_decoding_here(
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """No interpreter where one is expected (the process ends at once, every time): after a few
    tries the pipeline decodes here for good, rather than start a process per batch; every
    message is decoded all the same."""
    import sys

    from fink_tui.core.pool import MAX_FAILED_STARTS

    monkeypatch.setattr(sys, "executable", "/bin/false")
    pipeline = DecodePipeline(workers=1)
    try:
        for n in range(MAX_FAILED_STARTS + 3):
            batch = messages(100 * n)
            pipeline.put(batch)
            (got,) = pipeline.ready(wait=None)
            for a, b in zip(got.results, reference(batch), strict=True):
                same(a, b)
        assert pipeline.restarts == MAX_FAILED_STARTS and pipeline.workers == 0
        assert not pipeline.pids
    finally:
        pipeline.close()
