"""The headless subcommands: ``lag``, ``reset``, ``topics`` and ``poll``.

They use the same core as the dashboard and print tables or JSON for scripts and cron.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from fink_tui.config import Settings
from fink_tui.core.clients import (
    ErrorTracker,
    check_topics,
    commit_stored,
    livestream_first,
    make_admin,
    make_consumer,
    make_peek_consumer,
    store_offsets,
    wait_for_metadata,
)
from fink_tui.core.decode import Alert, SchemaInfo, load_schema_file
from fink_tui.core.errors import ErrorKind, StreamError, UsageError
from fink_tui.core.files import dump_schema, ensure_dir, save_alert
from fink_tui.core.lag import LagSnapshot, TopicLag, fetch_lag
from fink_tui.core.lag_reader import make_lag_reader
from fink_tui.core.lag_status import time_lag_text
from fink_tui.core.links import links_for
from fink_tui.core.memory import give_back, keep_freed_pages
from fink_tui.core.pool import DecodePipeline, batch_errors, default_workers
from fink_tui.core.query import Query, QueryError, compile_query, unknown_paths
from fink_tui.core.reset import apply_plan_admin, make_plan, parse_target
from fink_tui.core.transfer import (
    SCHEMA_SUFFIX,
    TopicKind,
    attach_schema_keys,
    fetch_schema_keys,
    is_data_transfer,
    schema_topic,
    topic_kind,
)
from fink_tui.core.worker import next_offsets

MAX_SCHEMA_BYTES = 10_000_000
"""An Avro schema is tens of kilobytes; a file this big is not one."""


def forced_schema(settings: Settings) -> SchemaInfo | None:
    """The ``--schema`` file, parsed, or None; a bad file is one UsageError naming it."""
    if not settings.schema_path:
        return None
    name = settings.schema_path
    try:
        path = Path(name).expanduser()
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "no such file"
            raise UsageError(f"schema file {name}: {what}, expected an Avro schema (.avsc/.json)")
        if path.stat().st_size > MAX_SCHEMA_BYTES:
            raise UsageError(f"schema file {name}: over 10 MB, not an Avro schema")
        return load_schema_file(path)
    except UnicodeDecodeError:
        raise UsageError(f"schema file {name}: not UTF-8 text, expected Avro schema JSON") from None
    except RecursionError:
        raise UsageError(f"schema file {name}: JSON nested too deeply for a schema") from None
    except (ValueError, RuntimeError, OSError) as exc:
        text = str(exc)
        raise UsageError(
            text if name in text or str(path) in text else f"schema file {name}: {text}"
        ) from exc


def where_query(option: str, text: str | None) -> Query | None:
    """The compiled ``--where``/``--notify`` expression, or None; a mistake is one UsageError
    that names the option and the column."""
    if text is None:
        return None
    try:
        return compile_query(text)
    except QueryError as exc:
        raise UsageError(f"{option} {text!r}: {exc}") from None


def check_saved_filters(settings: Settings) -> None:
    """Each saved filter of config.toml compiles (a mistake is one UsageError naming it)."""
    for name, text in settings.filters:
        where_query(f"config.toml [filters] {name} =", text)


def check_export_path(text: str) -> Path:
    """Where ``lag --export`` may write: an .svg file in a folder that exists (none is made)."""
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # an unknown ~user
        raise UsageError(f"--export {text}: no such user's home folder (~)") from None
    if path.suffix.lower() != ".svg":
        got = f"{path.suffix!r}" if path.suffix else "no suffix"
        raise UsageError(
            f"--export {text}: the lag screen is exported as SVG only: name the file "
            f"*.svg (got {got})"
        )
    if path.is_dir():
        raise UsageError(f"--export {text}: is a folder, expected a file name ending in .svg")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"--export {text}: no folder {folder}: create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--export {text}: cannot write in {folder} (permission denied)")
    return path


def snapshot_now(settings: Settings) -> LagSnapshot:
    """The group's lag now, with a clear error if the broker does not answer."""
    tracker = ErrorTracker(settings)
    admin = make_admin(settings, tracker)
    if not settings.group_id:
        raise UsageError("no consumer group set: pass --group-id")
    check_topics(admin, settings.topics, tracker, settings.maxtimeout)
    try:
        return fetch_lag(admin, settings.group_id, settings.topics, settings.maxtimeout)
    except StreamError as exc:
        raise tracker.explain(str(exc)) from exc


def watch_lag(settings: Settings, samples: int = 1, interval: float = 3.0) -> LagSnapshot:
    """The group's lag with time lag and members, after ``samples`` refreshes ``interval``
    seconds apart (the statuses and drain rates are judged on them)."""
    tracker = ErrorTracker(settings)
    admin = make_admin(settings, tracker)
    if not settings.group_id:
        raise UsageError("no consumer group set: pass --group-id")
    check_topics(admin, settings.topics, tracker, settings.maxtimeout)
    reader = make_lag_reader(settings, admin, tracker, settings.maxtimeout)
    try:
        for n in range(samples):
            if n:
                time.sleep(interval)
            try:
                snapshot = reader.read()
            except StreamError as exc:
                raise tracker.explain(str(exc)) from exc
        return snapshot
    finally:
        reader.close()


def write_json(data: object) -> None:
    """Print JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


SvgRenderer = Callable[[Settings, LagSnapshot, Path, bool], Path]
"""Renders the lag screen to an SVG file (given by the app layer: commands import no UI)."""


def lag(settings: Settings, args: argparse.Namespace, render_svg: SvgRenderer | None = None) -> int:
    """``fink-tui lag``: the table of fink_consumer --display_statistics, or JSON, or SVG."""
    export = check_export_path(args.export) if args.export else None
    snapshot = watch_lag(settings, args.samples, args.interval)
    if export is not None:
        if render_svg is None:
            raise UsageError("--export needs the dashboard's renderer")
        path = render_svg(settings, snapshot, export, args.all_partitions)
        print(f"saved {path}", file=sys.stderr)
    if args.json:
        write_json(snapshot.to_dict())
    elif not args.export:
        print(snapshot.to_text(all_partitions=args.all_partitions))
    return 0


def reset(settings: Settings, args: argparse.Namespace) -> int:
    """``fink-tui reset``: print the plan, then apply it unless --dry-run."""
    if args.partition is not None and args.topic is None:
        raise UsageError("--partition needs --topic")
    try:
        target = parse_target(args.to, args.shift)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.topic is not None and args.topic not in settings.topics:
        settings = replace(settings, topics=(*settings.topics, args.topic))
    snapshot = snapshot_now(settings)
    tracker = ErrorTracker(settings)
    admin = make_admin(settings, tracker)
    try:
        plan = make_plan(admin, snapshot, target, args.topic, args.partition, settings.maxtimeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(plan.to_text())
    if args.dry_run:
        print("dry run: nothing changed")
        return 0
    apply_plan_admin(admin, plan, settings.maxtimeout)
    after = fetch_lag(admin, settings.group_id, settings.topics, settings.maxtimeout)
    moved = [
        r
        for r in plan.changes
        if (p := after.partition(r.topic, r.partition)) is None or p.committed != r.new
    ]
    if moved:
        r = moved[0]
        raise StreamError(f"{r.topic} [{r.partition}]: the broker did not keep offset {r.new}")
    print(f"applied: {len(plan.changes)} partition(s) moved")
    return 0


KIND_ORDER = (TopicKind.LIVESTREAM, TopicKind.DATA_TRANSFER, TopicKind.SCHEMA, TopicKind.OTHER)


def topics(settings: Settings, args: argparse.Namespace) -> int:
    """``fink-tui topics``: the topics you can see — Livestream (``fink_*``) ones first, then
    Data Transfer ones (``ftransfer_*``, their schema topics folded in), then the others; with
    a group, its lag, time lag and status on each Fink topic."""
    tracker = ErrorTracker(settings)
    admin = make_admin(settings, tracker)
    metadata = wait_for_metadata(admin, tracker, settings.maxtimeout)
    names = set(metadata.topics)
    listed = sorted(
        (
            n
            for n in livestream_first(names)
            if not (topic_kind(n) is TopicKind.SCHEMA and n.removesuffix(SCHEMA_SUFFIX) in names)
        ),
        key=lambda n: (KIND_ORDER.index(topic_kind(n)), n),
    )
    fink = [n for n in listed if topic_kind(n) in (TopicKind.LIVESTREAM, TopicKind.DATA_TRANSFER)]
    lags: dict[str, TopicLag] = {}
    if settings.group_id and fink:
        reader = make_lag_reader(
            replace(settings, topics=tuple(fink)), admin, tracker, settings.maxtimeout
        )
        try:
            lags = {t.topic: t for t in reader.read().topics}
        except StreamError as exc:
            print(f"fink-tui: no lag figures: {settings.redact(str(exc))}", file=sys.stderr)
        finally:
            reader.close()
    for name in listed:
        n = len(metadata.topics[name].partitions)
        kind = topic_kind(name)
        columns = [name, f"{n} partition{'s' if n != 1 else ''}", kind.value]
        t = lags.get(name)
        if t is not None and not t.error:
            columns += [f"lag {t.lag:,}", time_lag_text(t.time_lag, t.lag), t.status.value]
        if kind is TopicKind.DATA_TRANSFER:
            companion = schema_topic(name)
            columns.append(f"schema: {companion}" if companion in names else "no schema topic")
        print("\t".join(columns))
    return 0


def data_transfer_keys(
    settings: Settings, admin: AdminClient, tracker: ErrorTracker
) -> dict[str, bytes]:
    """The schema (as a message key) of each Data Transfer topic followed; a topic whose
    schema cannot be read is said on stderr (its messages then fail to decode, listed)."""
    if not any(is_data_transfer(t) for t in settings.topics):
        return {}
    metadata = wait_for_metadata(admin, tracker, settings.maxtimeout)
    found = fetch_schema_keys(
        lambda: make_peek_consumer(settings, tracker),
        {name: list(meta.partitions) for name, meta in metadata.topics.items()},
        settings.topics,
        settings.maxtimeout,
    )
    for topic, key in found.items():
        if isinstance(key, str):
            print(f"fink-tui: {topic}: {key}", file=sys.stderr)
    return {topic: key for topic, key in found.items() if isinstance(key, bytes)}


def alert_line(alert: Alert) -> str:
    """One line per alert: UTC time, topic, id, ra, dec, mag or flux, band, class."""
    s = alert.summary
    when = s.time.strftime("%Y-%m-%d %H:%M:%S") if s.time else "-" * 19
    ident = s.object_id or f"{alert.ref.partition}:{alert.ref.offset}"
    pos = f"{s.ra:10.5f} {s.dec:+10.5f}" if s.ra is not None and s.dec is not None else " " * 21
    return (
        f"{when}  {alert.ref.topic:<34} {ident:<20} {pos}  {s.brightness:>14} "
        f"{s.band:<2} {s.classification}"
    ).rstrip()


def alert_json(alert: Alert) -> dict[str, Any]:
    """The JSON form of a polled alert's summary."""
    s = alert.summary
    return {
        "topic": alert.ref.topic,
        "partition": alert.ref.partition,
        "offset": alert.ref.offset,
        "survey": s.survey,
        "time": s.time.isoformat() if s.time else None,
        "object_id": s.object_id,
        "object_kind": s.object_kind,
        "source_id": s.source_id,
        "ra": s.ra,
        "dec": s.dec,
        "mag": s.mag,
        "mag_err": s.mag_err,
        "flux": s.flux,
        "flux_err": s.flux_err,
        "band": s.band,
        "class": s.classification,
        "schema": alert.schema.fingerprint,
        "links": links_for(s).to_dict(),
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def poll(settings: Settings, args: argparse.Namespace) -> int:
    """``fink-tui poll``: one line per alert, committing as it goes.

    ``--idle`` counts from the partition assignment (or the last alert), so a slow group join
    does not end the poll before it had a chance to read anything.
    """
    text = getattr(args, "where", None)
    where = where_query("--where", dict(settings.filters).get(text, text) if text else text)
    save_dir = ensure_dir(args.save) if args.save else None
    schema_dir = ensure_dir(args.dump_schema) if args.dump_schema else None
    workers = default_workers(screen=False) if args.workers is None else args.workers
    keep_freed_pages()
    pipeline = DecodePipeline(workers, forced_schema(settings))
    if where is not None:
        pipeline.carry(where.paths)  # read by the decoding processes, with the summaries
    # SIGTERM (a cron timeout, `kill`) ends the poll as Ctrl-C does: what was printed is
    # committed, the decoding processes are stopped, and the summary is said.
    previous = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    tracker = ErrorTracker(settings)
    admin = make_admin(settings, tracker)
    check_topics(admin, settings.topics, tracker, settings.maxtimeout)
    schema_keys = data_transfer_keys(settings, admin, tracker)
    consumer = make_consumer(settings, tracker)
    active_since: float | None = None  # None until partitions are assigned

    def on_assign(_consumer: object, _partitions: object) -> None:
        nonlocal active_since
        active_since = time.monotonic()

    consumer.subscribe(list(settings.topics), on_assign=on_assign)
    shown = failed = saved = unsaved = skipped = 0
    schemas_seen: dict[str, SchemaInfo] = {}
    in_flight = 0  # messages consumed and still being decoded
    dumped: set[str] = set()
    uncommitted = False  # offsets stored since the last commit
    finished = False
    try:
        while not args.limit or shown < args.limit:
            # Batches are decoded by other processes while the next ones are consumed; the
            # decoded ones are printed in order, and only then are their offsets stored.
            # With --where, reading ahead is the only way to find the matches at a good pace.
            enough = bool(args.limit) and where is None and shown + in_flight >= args.limit
            wait = 0.2 if pipeline.full() or enough else 0.0
            for batch in pipeline.ready(wait=wait):
                in_flight -= len(batch.messages)
                if args.limit and shown >= args.limit:
                    break  # read ahead for --where: left uncommitted, read again next time
                for error in batch_errors(batch.messages):
                    print(f"fink-tui: {settings.redact(error.str())}", file=sys.stderr)
                for failure in batch.failures:
                    failed += 1
                    print(
                        f"fink-tui: {failure.ref.place}: cannot decode: {failure.reason}",
                        file=sys.stderr,
                    )
                upto = len(batch.messages)
                for index, alert in enumerate(batch.results):
                    if not isinstance(alert, Alert):
                        continue
                    schemas_seen.setdefault(alert.schema.fingerprint, alert.schema)
                    if where is not None and not where.matches(alert):
                        skipped += 1  # read and committed, not shown
                        continue
                    if args.json:
                        print(json.dumps(alert_json(alert)))
                    else:
                        print(alert_line(alert))
                    if save_dir is not None:
                        try:
                            save_alert(alert, save_dir)
                            saved += 1
                        except ValueError as exc:  # the whole alert does not decode
                            unsaved += 1
                            reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
                            print(
                                f"fink-tui: {alert.ref.place}: not saved: {reason}",
                                file=sys.stderr,
                            )
                    if schema_dir is not None and alert.schema.fingerprint not in dumped:
                        dumped.add(alert.schema.fingerprint)
                        dump_schema(
                            alert.schema, schema_dir, alert.ref.topic, alert.summary.versions
                        )
                    shown += 1
                    if args.limit and shown >= args.limit:
                        upto = index + 1  # the rest is read again by the next poll
                        break
                sys.stdout.flush()
                # A partition lost in a rebalance meanwhile is read again by its new owner.
                if store_offsets(consumer, next_offsets(batch.messages[:upto])):
                    uncommitted = True
            if pipeline.full() or enough:
                continue
            want = args.limit - shown - in_flight if args.limit and where is None else 100
            messages = consumer.consume(min(want, 100), timeout=0.05 if len(pipeline) else 0.5)
            if tracker.kind is ErrorKind.AUTH:
                raise tracker.explain("authentication failed")
            if not messages:
                if uncommitted and not len(pipeline):
                    # Read to the end: committed now, not at the next auto-commit (as the
                    # dashboard's worker does, worker.CAUGHT_UP_COMMIT).
                    uncommitted = False
                    commit_stored(consumer)
                idle = time.monotonic() - active_since if active_since is not None else 0.0
                if args.idle and idle > args.idle and not len(pipeline):
                    break
                continue
            active_since = time.monotonic()
            attach_schema_keys(messages, schema_keys)
            pipeline.put(messages)
            in_flight += len(messages)
            give_back()  # what the printed alerts freed (at most every 2 s)
        finished = True
    except KeyboardInterrupt:
        finished = True  # say what was saved, then exit as interrupted
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        pipeline.close()
        consumer.close()
        if finished:
            if where is not None:
                missing = unknown_paths(where, schemas_seen.values())
                typo = f" (no alert's schema has {', '.join(missing)})" if missing else ""
                print(
                    f"fink-tui: {_plural(shown, 'alert')} matched --where, {skipped} did not{typo}",
                    file=sys.stderr,
                )
            _poll_summary(save_dir, saved, unsaved, schema_dir, len(dumped), failed)
    return 0


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _poll_summary(
    save_dir: Path | None,
    saved: int,
    unsaved: int,
    schema_dir: Path | None,
    schemas: int,
    failed: int,
) -> None:
    """The last line of ``poll`` on stderr: what was written where, what failed."""
    parts = []
    if save_dir is not None:
        part = f"saved {_plural(saved, 'alert')} to {save_dir}"
        if unsaved:
            part += f" ({unsaved} could not be saved, listed above)"
        parts.append(part)
    if schema_dir is not None:
        parts.append(f"{'' if parts else 'saved '}{_plural(schemas, 'schema')} to {schema_dir}")
    if failed:
        parts.append(f"{_plural(failed, 'message')} could not be decoded (listed above)")
    if parts:
        print(f"fink-tui: {', '.join(parts)}", file=sys.stderr)
