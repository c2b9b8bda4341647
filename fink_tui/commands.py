"""The headless subcommands: ``lag``, ``reset``, ``topics`` and ``poll``.

They use the same core as the dashboard and print tables or JSON for scripts and cron.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fink_tui.config import Settings
from fink_tui.core.clients import (
    ErrorTracker,
    check_topics,
    livestream_first,
    make_admin,
    make_consumer,
    wait_for_metadata,
)
from fink_tui.core.decode import Alert, AlertDecoder, SchemaInfo, load_schema_file
from fink_tui.core.errors import StreamError, UsageError
from fink_tui.core.files import dump_schema, ensure_dir, save_alert
from fink_tui.core.lag import LagSnapshot, fetch_lag
from fink_tui.core.reset import apply_plan_admin, make_plan, parse_target
from fink_tui.core.worker import decode_batch, next_offsets


def forced_schema(settings: Settings) -> SchemaInfo | None:
    """The ``--schema`` file, parsed, or None."""
    if not settings.schema_path:
        return None
    try:
        return load_schema_file(settings.schema_path)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


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


def write_json(data: object) -> None:
    """Print JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


SvgRenderer = Callable[[Settings, LagSnapshot, Path, bool], Path]
"""Renders the lag screen to an SVG file (given by the app layer: commands import no UI)."""


def lag(settings: Settings, args: argparse.Namespace, render_svg: SvgRenderer | None = None) -> int:
    """``fink-tui lag``: the table of fink_consumer --display_statistics, or JSON, or SVG."""
    snapshot = snapshot_now(settings)
    if args.export:
        if render_svg is None:
            raise UsageError("--export needs the dashboard's renderer")
        path = render_svg(settings, snapshot, Path(args.export), args.all_partitions)
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


def topics(settings: Settings, args: argparse.Namespace) -> int:
    """``fink-tui topics``: the topics you can see, Livestream (``fink_*``) ones first."""
    tracker = ErrorTracker(settings)
    metadata = wait_for_metadata(make_admin(settings, tracker), tracker, settings.maxtimeout)
    for name in livestream_first(metadata.topics):
        n = len(metadata.topics[name].partitions)
        print(f"{name}\t{n} partition{'s' if n != 1 else ''}")
    return 0


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
    }


def poll(settings: Settings, args: argparse.Namespace) -> int:
    """``fink-tui poll``: one line per alert, committing as it goes."""
    save_dir = ensure_dir(args.save) if args.save else None
    schema_dir = ensure_dir(args.dump_schema) if args.dump_schema else None
    decoder = AlertDecoder(forced_schema(settings))
    tracker = ErrorTracker(settings)
    check_topics(make_admin(settings, tracker), settings.topics, tracker, settings.maxtimeout)
    consumer = make_consumer(settings, tracker)
    consumer.subscribe(list(settings.topics))
    shown = failed = 0
    dumped: set[str] = set()
    last_alert = time.monotonic()
    try:
        while not args.limit or shown < args.limit:
            want = args.limit - shown if args.limit else 100
            messages = consumer.consume(min(want, 100), timeout=0.5)
            if tracker.kind == "auth":
                raise tracker.explain("authentication failed")
            if not messages:
                if args.idle and time.monotonic() - last_alert > args.idle:
                    break
                continue
            last_alert = time.monotonic()
            alerts, failures, errors = decode_batch(decoder, messages)
            for error in errors:
                print(f"fink-tui: {settings.redact(error.str())}", file=sys.stderr)
            for failure in failures:
                failed += 1
                r = failure.ref
                print(
                    f"fink-tui: {r.topic} [{r.partition}] offset {r.offset}: cannot decode: "
                    f"{failure.reason}",
                    file=sys.stderr,
                )
            for alert in alerts:
                if args.json:
                    print(json.dumps(alert_json(alert)))
                else:
                    print(alert_line(alert))
                if save_dir is not None:
                    save_alert(alert, save_dir)
                if schema_dir is not None and alert.schema.fingerprint not in dumped:
                    dumped.add(alert.schema.fingerprint)
                    dump_schema(alert.schema, schema_dir)
                shown += 1
            sys.stdout.flush()
            consumer.store_offsets(offsets=next_offsets(messages))
    finally:
        consumer.close()
    if failed:
        print(f"fink-tui: {failed} message(s) could not be decoded (listed above)", file=sys.stderr)
    return 0
