"""The ``fink-tui`` command: the dashboard by default, and headless subcommands for scripts.

Every error becomes one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NoReturn

from confluent_kafka import KafkaException

from fink_tui import __version__
from fink_tui.config import ConfigError, Settings, load_settings, require_connection
from fink_tui.core.errors import StreamError, UsageError, describe_kafka_error
from fink_tui.core.memory import limit_arenas

EXIT_ERROR = 1
EXIT_USAGE = 2
MAX_OFFSET = 2**63 - 1
"""Kafka offsets are signed 64-bit."""
MAX_PARTITION = 2**31 - 1
"""Kafka partition ids are signed 32-bit."""
MAX_DEMO_RATE = 100.0
"""The demo's bursts grow with the rate; beyond this they outrun any machine."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _quoted(text: str) -> str:
    """``text`` as an error message quotes it: at most 40 characters."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _kafka_option(text: str) -> str:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        # Only the key is quoted: the value may be a password.
        shown = f"{key}=..." if sep else key
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {_quoted(shown)}")
    return text


def _whole(low: int, high: int | None = None, zero: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]``, with one clear line otherwise."""
    what = (
        f"a whole number from {low} to {high}"
        if high is not None
        else f"a whole number, {low} or more"
    )
    what += f" ({zero})" if zero else ""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {_quoted(text)}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {what}, got {_quoted(text)}")
        return value

    return parse


def _number(what: str, low: float, high: float, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` if ``low_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {_quoted(text)}") from None
        inside = low < value if low_open else low <= value
        if not (math.isfinite(value) and inside and value <= high):
            raise argparse.ArgumentTypeError(f"expected {what}, got {_quoted(text)}")
        return value

    return parse


def _common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Subcommands repeat the options with suppressed defaults, so an option given before the
    # subcommand is not overwritten by the subcommand's default.
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection (override fink-client's credentials file)")
    group.add_argument(
        "--survey", choices=("ztf", "lsst"), default=default, help="which credentials file to read"
    )
    group.add_argument(
        "--config", metavar="FILE", default=default, help="a fink-client credentials file to read"
    )
    group.add_argument(
        "--servers", default=default, help="Kafka bootstrap servers, comma separated"
    )
    group.add_argument("--group-id", default=default, help="consumer group")
    group.add_argument(
        "--topics", metavar="T1,T2", default=default, help="topics to follow, comma separated"
    )
    group.add_argument(
        "--username", default=default, help="Fink username (SASL is used only with a password too)"
    )
    group.add_argument(
        "--maxtimeout",
        metavar="SECONDS",
        default=default,
        help="seconds to wait for the servers (0.1 to 3600; checked with the other settings)",
    )
    group.add_argument(
        "--schema",
        metavar="FILE",
        default=default,
        help="decode with this schema (.avsc/.json) instead of the keys'",
    )
    group.add_argument(
        "-X",
        dest="kafka",
        action="append",
        type=_kafka_option,
        default=[] if top else argparse.SUPPRESS,
        metavar="KEY=VALUE",
        help="extra librdkafka setting (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fink-tui`` and its subcommands."""
    parser = OneLineParser(
        prog="fink-tui",
        description="A terminal dashboard for the Fink alert broker's Livestream.",
    )
    parser.add_argument("--version", action="version", version=f"fink-tui {__version__}")
    parser.add_argument(
        "--notify",
        metavar="EXPR",
        help="ring the bell, send a desktop notification and mark the row when an alert "
        "where EXPR holds arrives, e.g. \"class = 'SN candidate' AND mag < 18\" (dashboard)",
    )
    _common(parser, top=True)
    view = parser.add_argument_group("dashboard")
    view.add_argument(
        "--read-only",
        action="store_true",
        help="join no group and commit nothing: read beside the group's members (a running "
        "fink_consumer keeps all its alerts); resets are disabled",
    )
    view.add_argument(
        "--last",
        type=_whole(0, MAX_OFFSET),
        metavar="N",
        help="with --read-only: start N messages before the end of each partition "
        "(default: at the group's committed offsets)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("lag", help="print the group's committed offsets and lag per partition")
    _common(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--all-partitions", action="store_true", help="show empty partitions too")
    p.add_argument("--export", metavar="FILE.svg", help="render the lag screen to an SVG file")
    p.add_argument(
        "--samples",
        type=_whole(1, 100),
        default=1,
        metavar="N",
        help="refreshes to judge the statuses and drain rates on (default 1: figures only)",
    )
    p.add_argument(
        "--interval",
        type=_number("a number of seconds from 0.1 to 3600", 0.1, 3600),
        default=3.0,
        metavar="S",
        help="seconds between those refreshes (default 3)",
    )

    p = sub.add_parser("reset", help="move the group's committed offsets (plan, then apply)")
    _common(p)
    p.add_argument("--to", help="earliest, latest, an offset, or an ISO-8601 time")
    p.add_argument(
        "--shift",
        type=_whole(-MAX_OFFSET, MAX_OFFSET),
        default=0,
        help="move by N messages (after --to)",
    )
    p.add_argument("--topic", help="only this topic")
    p.add_argument(
        "--partition", type=_whole(0, MAX_PARTITION), help="only this partition (needs --topic)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    p = sub.add_parser("topics", help="list the topics you can see, Livestream ones first")
    _common(p)

    p = sub.add_parser(
        "poll",
        help="print one line per alert, committing as it goes (it moves the group); "
        "optionally save alerts and schemas",
    )
    _common(p)
    p.add_argument(
        "--limit",
        type=_whole(0, zero="0: no limit"),
        default=0,
        help="stop after N alerts (0: no limit)",
    )
    p.add_argument("--save", metavar="DIR", help="save each alert as an Avro file")
    p.add_argument("--dump-schema", metavar="DIR", help="write each distinct schema once")
    p.add_argument("--json", action="store_true", help="one JSON object per alert")
    p.add_argument(
        "--where",
        metavar="EXPR",
        help="print only the alerts where EXPR holds, e.g. \"class = 'SN candidate' AND "
        'mag < 19" or "candidate.magpsf < 18", or a saved filter\'s name (the others are read '
        "and committed)",
    )
    p.add_argument(
        "--workers",
        type=_whole(0, 64, zero="0: decode in this process"),
        default=None,
        help="decoding processes (default: one per core; 0: decode in this process)",
    )
    p.add_argument(
        "--idle",
        type=_number("a number of seconds, 0 or more (0: never)", 0, math.inf),
        default=0.0,
        help="stop after this many seconds without an alert, counted from the partition "
        "assignment (0: never)",
    )

    p = sub.add_parser(
        "open",
        help="open saved alerts with no broker: .avro files or folders of them (fink-tui's "
        "saves, fink_consumer --save, Fink Data Transfer Avro)",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="an .avro file or a folder of them")

    p = sub.add_parser("demo", help="run the app on an embedded broker with a stream of alerts")
    p.add_argument(
        "--rate",
        type=_number(f"a number over 0, up to {MAX_DEMO_RATE:g}", 0, MAX_DEMO_RATE, low_open=True),
        default=1.0,
        help=f"stream intensity (1 = a survey night, at most {MAX_DEMO_RATE:g})",
    )
    p.add_argument(
        "--duration",
        type=_number("a number of seconds, 0 or more (0: until quit)", 0, math.inf),
        default=0.0,
        help="stop producing after this many seconds (0: until quit); the broker stays up",
    )
    p.add_argument(
        "--broker-only",
        action="store_true",
        help="no app: print the bootstrap address and keep streaming until Ctrl-C",
    )
    p.add_argument(
        "--seed", type=_whole(0, 2**32 - 1), default=None, help="seed for the generated alerts"
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Merge the command line over every other source of settings."""
    cli: dict[str, Any] = {
        "survey": args.survey,
        "servers": args.servers,
        "group_id": args.group_id,
        "topics": args.topics,
        "username": args.username,
        "maxtimeout": args.maxtimeout,
        "schema_path": args.schema,
        "kafka": args.kafka or None,
    }
    return load_settings(cli, credentials_file=args.config)


def check_kafka_settings(settings: Settings) -> None:
    """Refuse librdkafka settings that are wrong together (``-X fetch.max.bytes=1000``) before
    any connection: a consumer built from the full configuration, minus the servers, connects
    nowhere. Settings wrong on their own are refused by :func:`load_settings` already."""
    from confluent_kafka import Consumer

    from fink_tui.core.clients import ErrorTracker, consumer_config

    if not settings.kafka:
        return
    probe = replace(settings, group_id=settings.group_id or "fink-tui-check")
    conf = consumer_config(probe, ErrorTracker(probe))
    conf.pop("bootstrap.servers", None)
    conf.pop("error_cb", None)
    try:
        Consumer(conf).close()
    except KafkaException as exc:
        text = settings.redact(describe_kafka_error(exc))
        raise ConfigError(f"-X / [kafka]: librdkafka refuses these settings: {text}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fink-tui`` script."""
    limit_arenas()  # before any thread starts
    parser = build_parser()
    args = parser.parse_args(argv)
    # Subparsers fill their own copies of the common options; merge the top-level ones in.
    settings: Settings | None = None
    stream: subprocess.Popen[bytes] | None = None  # started early; None once a source owns it
    try:
        if args.command == "demo":
            from fink_tui.demo.run import run_demo

            return run_demo(args)
        if args.command == "open":
            from fink_tui.app import run_offline

            return run_offline(args.paths)
        settings = settings_from_args(args)
        if args.command is None:
            # The stream process starts now: its interpreter and imports overlap the checks
            # below and Textual's import, and it joins the group before the screen is up
            # (first alerts ~0.4-0.8 s sooner: bench/README.md, twelfth session).
            from fink_tui.core.pool import start_stream_process

            stream = start_stream_process()
        from fink_tui import commands

        if args.command == "lag" and args.export:
            commands.check_export_path(args.export)
        # Everything the command needs, in one message, before a connection is tried.
        require_connection(
            settings,
            group=args.command != "topics",
            topics=args.command != "topics",
        )
        check_kafka_settings(settings)
        if args.notify is not None and args.command not in (None, "demo"):
            raise UsageError(f"--notify is for the dashboard, not {args.command}")
        if args.command is None:
            if args.last is not None and not args.read_only:
                raise UsageError(
                    "--last N needs --read-only (without it the app reads from "
                    "the group's committed offsets, as a member)"
                )
            settings = replace(settings, read_only=args.read_only, last=args.last)
            forced = commands.forced_schema(settings)  # a bad --schema: a clear line, no screen
            notify_when = commands.where_query("--notify", args.notify)
            commands.check_saved_filters(settings)
            settings.kafka_config()  # a clear ConfigError before the screen opens
            from fink_tui.core.remote import ProcessSource

            source = ProcessSource(settings, forced=forced)
            source.prepare(stream)
            stream = None  # the source's now: it stops it
            from fink_tui.app import run_app

            return run_app(settings, source, notify_when=notify_when)
        handler = {
            "lag": commands.lag,
            "reset": commands.reset,
            "topics": commands.topics,
            "poll": commands.poll,
        }[args.command]
        if args.command == "lag" and args.export:
            from fink_tui.export import export_lag_svg

            return commands.lag(settings, args, render_svg=export_lag_svg)
        return handler(settings, args)
    except (ConfigError, UsageError) as exc:
        return _fail(str(exc), settings, EXIT_USAGE)
    except StreamError as exc:
        return _fail(str(exc), settings, EXIT_ERROR)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", settings, EXIT_ERROR)
    except KafkaException as exc:
        return _fail(describe_kafka_error(exc), settings, EXIT_ERROR)
    except RuntimeError as exc:  # e.g. Path.expanduser on an unknown ~user
        return _fail(str(exc), settings, EXIT_ERROR)
    except KeyboardInterrupt:
        return 130
    finally:
        if stream is not None:  # the dashboard never opened: nothing was read
            stream.kill()
            stream.wait()


def _fail(text: str, settings: Settings | None, code: int) -> int:
    """One line on stderr, without secrets; the exit status."""
    if settings is not None:
        text = settings.redact(text)
    print(f"fink-tui: {text}", file=sys.stderr)
    return code
