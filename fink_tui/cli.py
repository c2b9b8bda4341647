"""The ``fink-tui`` command: the dashboard by default, and headless subcommands for scripts.

Every error becomes one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaException

from fink_tui import __version__
from fink_tui.config import ConfigError, Settings, load_settings
from fink_tui.core.errors import StreamError, UsageError, describe_kafka_error

EXIT_ERROR = 1
EXIT_USAGE = 2


def _kafka_option(text: str) -> str:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return text


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
        "--maxtimeout", type=float, default=default, help="seconds to wait for the servers"
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
    parser = argparse.ArgumentParser(
        prog="fink-tui",
        description="A terminal dashboard for the Fink alert broker's Livestream.",
    )
    parser.add_argument("--version", action="version", version=f"fink-tui {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("lag", help="print the group's committed offsets and lag per partition")
    _common(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--all-partitions", action="store_true", help="show empty partitions too")
    p.add_argument("--export", metavar="FILE.svg", help="render the lag screen to an SVG file")

    p = sub.add_parser("reset", help="move the group's committed offsets (plan, then apply)")
    _common(p)
    p.add_argument("--to", help="earliest, latest, an offset, or an ISO-8601 time")
    p.add_argument("--shift", type=int, default=0, help="move by N messages (after --to)")
    p.add_argument("--topic", help="only this topic")
    p.add_argument("--partition", type=int, help="only this partition (needs --topic)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    p = sub.add_parser("topics", help="list the topics you can see, Livestream ones first")
    _common(p)

    p = sub.add_parser(
        "poll",
        help="print one line per alert, committing as it goes (it moves the group); "
        "optionally save alerts and schemas",
    )
    _common(p)
    p.add_argument("--limit", type=int, default=0, help="stop after N alerts (0: no limit)")
    p.add_argument("--save", metavar="DIR", help="save each alert as an Avro file")
    p.add_argument("--dump-schema", metavar="DIR", help="write each distinct schema once")
    p.add_argument("--json", action="store_true", help="one JSON object per alert")
    p.add_argument(
        "--idle",
        type=float,
        default=0.0,
        help="stop after this many seconds without an alert (0: never)",
    )

    p = sub.add_parser("demo", help="run the app on an embedded broker with a stream of alerts")
    p.add_argument("--rate", type=float, default=1.0, help="stream intensity (1 = a survey night)")
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop producing after this many seconds (0: until quit); the broker stays up",
    )
    p.add_argument(
        "--broker-only",
        action="store_true",
        help="no app: print the bootstrap address and keep streaming until Ctrl-C",
    )
    p.add_argument("--seed", type=int, default=None, help="seed for the generated alerts")
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


def _need_topics(settings: Settings) -> None:
    if not settings.topics:
        raise UsageError(
            "no topics set: pass --topics T1,T2, or list them in your fink-client credentials "
            "(see `fink-tui topics`)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fink-tui`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Subparsers fill their own copies of the common options; merge the top-level ones in.
    settings: Settings | None = None
    try:
        if args.command == "demo":
            from fink_tui.demo.run import run_demo

            return run_demo(args)
        settings = settings_from_args(args)
        if args.command is None:
            from fink_tui.app import run_app

            return run_app(settings)
        from fink_tui import commands

        handler = {
            "lag": commands.lag,
            "reset": commands.reset,
            "topics": commands.topics,
            "poll": commands.poll,
        }[args.command]
        if args.command != "topics":
            _need_topics(settings)
        if args.command == "lag" and args.export:
            from fink_tui.export import export_lag_svg

            return commands.lag(settings, args, render_svg=export_lag_svg)
        return handler(settings, args)
    except (ConfigError, StreamError, UsageError) as exc:
        return _fail(str(exc), settings, EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR)
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


def _fail(text: str, settings: Settings | None, code: int) -> int:
    """One line on stderr, without secrets; the exit status."""
    if settings is not None:
        text = settings.redact(text)
    print(f"fink-tui: {text}", file=sys.stderr)
    return code
