"""Per-alert decode cost in memory: fastavro projected vs the Rust batch fast path.

Run from the repository root: ``.venv/bin/python bench/fastread_bench.py [--repeats 7]``.

Batches of 500 real ZTF alerts and of 100 real LSST alerts (the alerts of ``../shared/fink-data``
repeated), in Fink's wire format. Per batch and repeat, side by side in one run, interleaved:

- ``fastavro``: :meth:`AlertDecoder.decode` on each message (the projected read + summary);
- ``fastread``: :func:`fink_tui.core.fastread.decode_messages` on the batch (verified schema:
  the container block, jetliner's projected read, the boundary check, the summaries);
- ``jetliner raw`` / ``polars-avro raw``: the bare projected read of the same container block
  (no boundary marker, no summaries), for reference. polars-avro is not used by fastread: it
  spins forever on a block whose records end early (one malformed value).

Prints the median per-alert cost with the spread (min..max) of the repeats. A report: exit 0.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jetliner  # noqa: E402

try:  # not a dependency: only a reference row (pip install polars-avro)
    import polars_avro
except ImportError:
    polars_avro = None

from fink_tui.core import fastread  # noqa: E402
from fink_tui.core.decode import AlertDecoder, MessageRef  # noqa: E402
from fink_tui.core.fastread import BatchDecoder, Verdict  # noqa: E402
from fink_tui.core.wire import avro_long  # noqa: E402
from tests.helpers import LSST_ALERTS, ZTF_ALERTS, wire_messages  # noqa: E402


def batch_of(path: Path, n: int) -> list[tuple[MessageRef, bytes, bytes]]:
    pairs = wire_messages(path)
    return [(MessageRef("bench", 0, i), *pairs[i % len(pairs)]) for i in range(n)]


def raw_block(decoder: AlertDecoder, messages: list[tuple[MessageRef, bytes, bytes]]) -> bytes:
    """The batch as one plain container block (the writer schema, no marker field)."""
    key = messages[0][1]
    header = (
        b"Obj\x01"
        + avro_long(2)
        + fastread._bytes(b"avro.schema")
        + fastread._bytes(key)
        + fastread._bytes(b"avro.codec")
        + fastread._bytes(b"null")
        + avro_long(0)
        + b"S" * 16
    )
    data = b"".join(value for _, _, value in messages)
    return header + avro_long(len(messages)) + avro_long(len(data)) + data + b"S" * 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, repeats {args.repeats}")
    print(f"{'batch':<16}{'method':<18}{'ms/alert median':>16}{'min..max':>18}{'speed-up':>10}")
    for name, path, n in (("ZTF x 500", ZTF_ALERTS, 500), ("LSST x 100", LSST_ALERTS, 100)):
        messages = batch_of(path, n)
        decoder = AlertDecoder()
        batch = BatchDecoder(decoder)
        batch.decode(messages)  # verifies the schema (both ways, once)
        info = decoder.schema_for_key(messages[0][1])
        assert not isinstance(info, str)
        verdict, why = batch.verdict(info)
        assert verdict is Verdict.FAST, why
        plan = batch._plan(info)
        columns = [c for c in plan.columns if c != fastread.END_FIELD]
        block = raw_block(decoder, messages)

        def jetliner_raw(block: bytes = block, columns: list[str] = columns) -> None:
            with fastread._block_file([block]) as (file, length):
                jetliner.read_avro(
                    file, columns=columns, glob=False, read_chunk_size=max(1 << 16, length)
                )

        def polars_avro_raw(block: bytes = block, columns: list[str] = columns) -> None:
            assert polars_avro is not None
            polars_avro.read_avro(io.BytesIO(block), columns=columns)

        methods: dict[str, Callable[[], object]] = {
            "fastavro": lambda d=decoder, ms=messages: [d.decode(*m) for m in ms],
            "fastread": lambda b=batch, ms=messages: b.decode(ms),
            "jetliner raw": jetliner_raw,
        }
        if polars_avro is not None:
            methods["polars-avro raw"] = polars_avro_raw
        times: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(args.repeats):
            for method, run in methods.items():
                start = time.perf_counter()
                run()
                times[method].append((time.perf_counter() - start) / n * 1e3)
        base = statistics.median(times["fastavro"])
        for method, values in times.items():
            median = statistics.median(values)
            spread = f"{min(values):.3f}..{max(values):.3f}"
            print(f"{name:<16}{method:<18}{median:>16.3f}{spread:>18}{base / median:>9.1f}x")


if __name__ == "__main__":
    main()
