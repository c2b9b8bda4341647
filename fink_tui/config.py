"""Settings for fink-tui: one frozen object merged from defaults, fink-client credentials,
fink-tui's own config file, the environment and the command line (lowest to highest).

Every value is checked where it is read: a malformed one is a :class:`ConfigError` whose one
line names the file, variable or flag, the key, and what is expected, before any connection
is tried. Also the one place where every path fink-tui reads or writes is looked up
(:func:`search_directories`), so tests can redirect them all through the environment.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs
import yaml
from confluent_kafka import Consumer, KafkaException

SURVEYS = ("ztf", "lsst")
ENV_PREFIX = "FINK_TUI_"
APP_NAME = "fink-tui"

MAXTIMEOUT_RANGE = (0.1, 3600.0)
"""Seconds: below, no broker can answer; above, a hung broker looks like a hung fink-tui
(and librdkafka takes milliseconds in a 32-bit int)."""
MAX_FILE_BYTES = 1_000_000
"""A credentials or config file is a few hundred bytes; anything this big is not one."""
FINK_REGISTER = (
    "fink_client_register -survey {survey} -username USERNAME -group_id GROUP_ID "
    "-servers HOST:PORT -mytopics TOPIC1 TOPIC2"
)
"""fink-client's registration command before version 12 (from version 10 it writes
``~/.finkclient/<survey>_credentials.yml``; up to 9, ZTF only,
``~/.finkclient/credentials.yml``)."""
FINKCTL_REGISTER = (
    "finkctl auth register -survey {survey} -username USERNAME -groupid GROUP_ID "
    "-servers HOST:PORT",
    "finkctl topic subscribe -survey {survey} -name TOPIC",
)
"""fink-client 12's registration (its ``finkctl`` replaced ``fink_client_register``), into the
same ``~/.finkclient/<survey>_credentials.yml``."""

_KAFKA_CHECK_LOG = logging.getLogger("fink_tui.config.kafka_check")
_KAFKA_CHECK_LOG.addHandler(logging.NullHandler())
_KAFKA_CHECK_LOG.propagate = False
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: it refuses deep nesting in milliseconds, where
the pure-Python one takes over a second to reach a RecursionError."""
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_SERVER = re.compile(
    r"(?:[A-Za-z_]+://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d+)"
)


def is_secret_key(key: str) -> bool:
    """Whether a librdkafka setting holds a secret (sasl.password, ssl.key.password, ...)."""
    return any(word in key.lower() for word in ("password", "secret", "token"))


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and where."""


@dataclass(frozen=True)
class Directories:
    """Where fink-tui looks for its inputs and writes its outputs."""

    finkclient: Path
    """fink-client's folder of credentials files (``~/.finkclient``)."""
    config: Path
    """fink-tui's config folder (holds ``config.toml``)."""
    data: Path
    """Saved alerts and dumped schemas."""
    exports: Path
    """Lag table screenshots and CSV/JSON exports."""


def search_directories(env: Mapping[str, str] | None = None) -> Directories:
    """Every folder fink-tui uses; each can be overridden by an environment variable."""
    env = os.environ if env is None else env
    data = Path(env.get(f"{ENV_PREFIX}DATA_DIR") or platformdirs.user_data_dir(APP_NAME))
    return Directories(
        finkclient=Path(env.get(f"{ENV_PREFIX}FINKCLIENT_DIR") or Path.home() / ".finkclient"),
        config=Path(env.get(f"{ENV_PREFIX}CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME)),
        data=data,
        exports=Path(env.get(f"{ENV_PREFIX}EXPORT_DIR") or data / "exports"),
    )


@dataclass(frozen=True)
class Settings:
    """Everything fink-tui needs to reach a Fink Livestream and show it."""

    survey: str = "ztf"
    """Which survey's credentials file to read: ``ztf`` or ``lsst``."""
    servers: str = ""
    """Kafka bootstrap servers, comma separated."""
    group_id: str = ""
    """The consumer group: committed offsets and lag belong to it."""
    topics: tuple[str, ...] = ()
    """The Livestream topics to follow."""
    username: str = ""
    """Fink username; sent only when a password is set too."""
    password: str = field(default="", repr=False)
    """Fink password. Never printed, logged or drawn."""
    maxtimeout: float = 10.0
    """Seconds to wait for the servers before giving up (see :data:`MAXTIMEOUT_RANGE`)."""
    schema_path: str = ""
    """A schema file (.avsc or .json) that replaces the schema in the message keys."""
    kafka: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Extra librdkafka settings, applied last (not in repr: they may hold secrets)."""
    filters: tuple[tuple[str, str], ...] = ()
    """Saved filters, ``[filters]`` in config.toml: name -> query (picked from the command
    palette; ``poll --where NAME``)."""
    sources: tuple[str, ...] = ()
    """Where the settings came from, lowest priority first (for error messages)."""
    read_only: bool = False
    """Join no group and commit nothing: read the group's partitions beside its members."""
    last: int | None = None
    """Read-only: start this many messages before the end of each partition (None: at the
    group's committed offsets)."""

    @property
    def uses_sasl(self) -> bool:
        """Whether both username and password are set, so SASL/SCRAM is used."""
        return bool(self.username and self.password)

    def kafka_config(self, **overrides: str | int | float | bool) -> dict[str, Any]:
        """The librdkafka configuration for a consumer or admin client of this group."""
        if not self.servers:
            raise ConfigError(missing_settings_message(self, group=False, topics=False))
        conf: dict[str, Any] = {"bootstrap.servers": self.servers}
        if self.group_id:
            conf["group.id"] = self.group_id
        if self.uses_sasl:
            conf.update(
                {
                    "security.protocol": "sasl_plaintext",
                    "sasl.mechanism": "SCRAM-SHA-512",
                    "sasl.username": self.username,
                    "sasl.password": self.password,
                }
            )
        conf.update(overrides)
        conf.update(dict(self.kafka))
        return conf

    @property
    def secrets(self) -> tuple[str, ...]:
        """The password and any secret given as a librdkafka setting."""
        extra = tuple(v for k, v in self.kafka if is_secret_key(k) and v)
        return ((self.password,) if self.password else ()) + extra

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced, for anything shown to a person."""
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text


def _home_short(path: Path) -> str:
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


def missing_settings_message(settings: Settings, *, group: bool = True, topics: bool = True) -> str:
    """What to do when the servers (or the group, or the topics) are not set, in one message.

    Empty when nothing needed is missing. It names what is missing and where fink-tui looked,
    then the three ways out: fink-client's registration, fink-tui's own flags, the demo.
    """
    missing = [
        name
        for name, is_missing in (
            ("Kafka servers", not settings.servers),
            ("consumer group", group and not settings.group_id),
            ("topics", topics and not settings.topics),
        )
        if is_missing
    ]
    if not missing:
        return ""
    files = [s for s in settings.sources if s not in ("environment", "command line")]
    folder = search_directories().finkclient
    looked = [f"{_home_short(folder / f'{settings.survey}_credentials.yml')} (fink-client 10+)"]
    if settings.survey == "ztf":
        looked.append(f"{_home_short(folder / 'credentials.yml')} (fink-client 9 and older)")
    read = f"read: {', '.join(files)}" if files else "no fink-client credentials"
    survey = settings.survey
    return "\n".join(
        (
            f"not set: {', '.join(missing)} ({read}).",
            f"  fink-client keeps them in {' or '.join(looked)}.",
            "  Register the credentials Fink sent you, once, with fink-client 12:",
            *(f"    {command.format(survey=survey)}" for command in FINKCTL_REGISTER),
            "  or with fink-client 10 or 11:",
            "    " + FINK_REGISTER.format(survey=survey),
            "  or give them to fink-tui:",
            f"    fink-tui --survey {survey} --servers HOST:PORT --group-id GROUP_ID "
            "--topics TOPIC1,TOPIC2",
            "    (or --config FILE: a fink-client credentials file kept elsewhere)",
            "  No Fink account? Try it on a generated stream: make demo (or: fink-tui demo)",
        )
    )


def require_connection(settings: Settings, *, group: bool = True, topics: bool = True) -> None:
    """Raise a :class:`ConfigError` carrying :func:`missing_settings_message` if it applies."""
    message = missing_settings_message(settings, group=group, topics=topics)
    if message:
        raise ConfigError(message)


# --- Checking values --------------------------------------------------------------------------


def _shown(value: Any) -> str:
    """A value as an error message quotes it: short, and typed when it is not text."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return f"a {type(value).__name__}"


def _kind(value: Any) -> str:
    """What a value is, without the value (for secrets)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _shown(value) if isinstance(value, list | tuple | Mapping) else "something else"


def _plain_text(value: Any, label: str, what: str, secret: bool = False) -> str:
    """``value`` as text: a string (or a whole number), UTF-8, no control characters."""
    if isinstance(value, int) and not isinstance(value, bool) and not secret:
        value = str(value)
    if not isinstance(value, str):
        got = _kind(value) if secret else _shown(value)
        hint = " (put it in quotes)" if isinstance(value, int | float) else ""
        raise ConfigError(f"{label}: expected {what}, got {got}{hint}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{label}: expected {what} in UTF-8, got undecodable bytes") from None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        got = "text" if secret else _shown(value)
        raise ConfigError(f"{label}: expected {what}, got {got} with control characters")
    return value.strip() if not secret else value


def _non_empty(value: Any, label: str, what: str, secret: bool = False) -> str:
    text = _plain_text(value, label, what, secret)
    if not text:
        raise ConfigError(f"{label}: expected {what}, got nothing")
    return text


def _servers(value: Any, label: str) -> str:
    what = "Kafka servers as host:port[,host:port...]"
    text = _non_empty(value, label, what)
    items = [item.strip() for item in text.split(",")]
    for item in items:
        match = _SERVER.fullmatch(item)
        if match is None:
            raise ConfigError(f"{label}: expected {what}, got {_shown(item or text)}")
        if not 1 <= int(match["port"]) <= 65535:
            raise ConfigError(f"{label}: expected a port between 1 and 65535, got {_shown(item)}")
    return ",".join(items)


def _topics(value: Any, label: str) -> tuple[str, ...]:
    what = "topic names (a list, or T1,T2)"
    if isinstance(value, str):
        names = [t.strip() for t in _plain_text(value, label, what).split(",")]
        names = [t for t in names if t]
        if not names:
            raise ConfigError(f"{label}: expected {what}, got nothing")
    elif isinstance(value, list | tuple):
        names = [_non_empty(t, label, "each topic name as text") for t in value]
    else:
        raise ConfigError(f"{label}: expected {what}, got {_shown(value)}")
    for name in names:
        if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
            raise ConfigError(
                f"{label}: expected topic names of letters, digits and ._- "
                f"(at most 249), got {_shown(name)}"
            )
    return tuple(dict.fromkeys(names))


def parse_seconds(value: Any, label: str, low: float, high: float) -> float:
    """A finite number of seconds in ``[low, high]``, from a number or text."""
    what = f"a number of seconds from {low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{label}: expected {what}, got {_shown(value)}")
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise ConfigError(f"{label}: expected {what}, got {_shown(value)}") from None
    if not (math.isfinite(seconds) and low <= seconds <= high):
        raise ConfigError(f"{label}: expected {what}, got {_shown(value)}")
    return seconds


def _survey(value: Any, label: str) -> str:
    survey = _plain_text(value, label, f"one of {', '.join(SURVEYS)}").lower()
    if survey not in SURVEYS:
        raise ConfigError(
            f"{label}: unknown survey {_shown(survey)}: choose one of {', '.join(SURVEYS)}"
        )
    return survey


def _check_librdkafka(key: str, value: str, label: str) -> None:
    """Refuse a setting librdkafka does not know or cannot parse, before any connection.

    A throwaway consumer with no servers connects nowhere. Settings that are wrong only
    together with others (``fetch.max.bytes`` below ``message.max.bytes``) are left to the
    real client, which names them when it is made.
    """
    try:
        Consumer({"group.id": "fink-tui-check", "logger": _KAFKA_CHECK_LOG, key: value}).close()
    except KafkaException as exc:
        text = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
        if text.startswith("Failed to create"):
            return
        if is_secret_key(key) and value:
            text = text.replace(value, "********")
        raise ConfigError(f"{label}: librdkafka refuses {key}: {text}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{label}: librdkafka refuses {key}: {exc}") from None


def _librdkafka_value(value: Any, label: str, secret: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{label}: expected a finite number, got {_shown(value)}")
    if isinstance(value, int | float):
        return str(value)
    return _plain_text(value, label, "text, a number or a boolean", secret=secret)


def _filters(value: Any, label: str) -> tuple[tuple[str, str], ...]:
    """``[filters]``: names and query texts (their syntax is checked where they are used)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{label}: expected a table of name = \"query\" ([filters]), got {_shown(value)}"
        )
    found = []
    for name, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{label}.{name}: expected a query as text, got {_shown(text)}")
        found.append((str(name), text.strip()))
    return tuple(found)


def _kafka_pairs(value: Any, label: str) -> tuple[tuple[str, str], ...]:
    raw: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        raw = list(value.items())
    elif isinstance(value, list | tuple):
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(f"{label}: expected key=value, got {_shown(item)}")
            key, sep, val = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(
                    f"{label}: expected key=value for a librdkafka setting, got "
                    f"{_shown(key.strip() + sep + ('...' if val else ''))}"
                )
            raw.append((key, val))
    else:
        raise ConfigError(f"{label}: expected librdkafka settings (a table), got {_shown(value)}")
    pairs = []
    for key, val in raw:
        key = _non_empty(key, label, "a librdkafka setting name")
        where = f"{label} {key}"
        text = _librdkafka_value(val, where, is_secret_key(key))
        if not is_secret_key(key):
            text = text.strip()
        _check_librdkafka(key, text, label)
        pairs.append((key, text))
    return tuple(pairs)


# --- Reading files ----------------------------------------------------------------------------


def _read_text(path: Path, what: str) -> str:
    """A small UTF-8 text file, with one clear line for anything else (never its content)."""
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder, expected a {what}")
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path}: not a regular file, expected a {what}")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: over {MAX_FILE_BYTES // 1000} kB, not a {what}")
    if b"\x00" in data:
        raise ConfigError(f"{path}: a binary file, expected a {what} (UTF-8 text)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): "
            "save it as UTF-8"
        ) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _read_text(path, "fink-client credentials file")
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        # The parser's message quotes the offending line, which may hold the password.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or ""
        why = " (nested too deeply)" if "nesting depth" in problem else ""
        raise ConfigError(f"{path}: not valid YAML{where}{why}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML (nested too deeply)") from None
    if data is None:
        raise ConfigError(f"{path}: empty, expected fink-client's keys (servers, groupid, ...)")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of fink-client keys (servers, groupid, ...), "
            f"got {_shown(data)}"
        )
    return data


def finkclient_file(survey: str, dirs: Directories) -> Path | None:
    """The fink-client credentials file for ``survey``: v12's per-survey file, else v8's."""
    for name in (f"{survey}_credentials.yml", "credentials.yml"):
        path = dirs.finkclient / name
        if path.is_file() and (name != "credentials.yml" or survey == "ztf"):
            return path
    return None


def _own_file(path: Path) -> dict[str, Any]:
    text = _read_text(path, "TOML config file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Only the position: the message could quote a password.
        where = str(exc).rsplit("(", 1)[-1].rstrip(")") if "(" in str(exc) else "?"
        raise ConfigError(f"{path}: not valid TOML ({where})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None


# --- Layers -----------------------------------------------------------------------------------

Layer = dict[str, tuple[str, Any]]
"""Settings field → (the label that names it to the user, the raw value)."""

_FINKCLIENT_KEYS = (
    ("username", ("username",)),
    ("password", ("password",)),
    ("servers", ("servers", "bootstrap.servers")),
    ("group_id", ("groupid", "group_id", "group.id")),
    ("topics", ("topics", "mytopics")),
    ("maxtimeout", ("maxtimeout",)),
)
_CLI_FLAGS = {
    "survey": "--survey",
    "servers": "--servers",
    "group_id": "--group-id",
    "topics": "--topics",
    "username": "--username",
    "maxtimeout": "--maxtimeout",
    "schema_path": "--schema",
    "kafka": "-X",
}


def _none_if_blank(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return None
    return value


def _finkclient_layer(path: Path) -> Layer:
    """Map a fink-client credentials file (version 12 or 8) onto Settings fields."""
    raw = _read_yaml(path)
    layer: Layer = {}
    for ours, theirs in _FINKCLIENT_KEYS:
        for key in theirs:
            value = _none_if_blank(raw.get(key))
            if value is not None:
                layer[ours] = (f"{path}: {key}", value)
                break
    return layer


def _table_layer(table: Mapping[str, Any], where: str) -> Layer:
    layer: Layer = {}
    for key, value in table.items():
        ours = key.replace("-", "_")
        if ours not in _FIELD_NAMES or ours == "survey":
            raise ConfigError(
                f"{where}: unknown setting {key!r} "
                f"(known: {', '.join(sorted(_FIELD_NAMES - {'survey'}))})"
            )
        layer[ours] = (f"{where}: {key}", value)
    return layer


def _env_layer(env: Mapping[str, str]) -> Layer:
    layer: Layer = {}
    for name in sorted(_FIELD_NAMES - {"kafka", "survey"}):
        variable = ENV_PREFIX + ("SCHEMA" if name == "schema_path" else name.upper())
        value = env.get(variable)
        if value:
            layer[name] = (variable, value)
    return layer


def _cli_layer(cli: Mapping[str, Any]) -> Layer:
    layer: Layer = {}
    for key, value in cli.items():
        if key not in _FIELD_NAMES:
            raise ConfigError(f"command line: unknown setting {key!r}")
        if value is not None and key != "survey":
            layer[key] = (_CLI_FLAGS.get(key, key), value)
    return layer


_FIELD_NAMES = frozenset(f.name for f in fields(Settings)) - {"sources", "filters"}
_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "servers": _servers,
    "group_id": lambda v, label: _non_empty(v, label, "a consumer group name"),
    "topics": _topics,
    # An empty username or password is allowed: it unsets the fink-client file's (no SASL).
    "username": lambda v, label: _plain_text(v, label, "a user name"),
    "password": lambda v, label: _plain_text(v, label, "the password as text", secret=True),
    "maxtimeout": lambda v, label: parse_seconds(v, label, *MAXTIMEOUT_RANGE),
    "schema_path": lambda v, label: _non_empty(v, label, "a schema file path"),
}


def _apply(settings: Settings, layer: Layer, where: str) -> Settings:
    changes: dict[str, Any] = {}
    for key, (label, value) in layer.items():
        if key == "kafka":
            changes[key] = settings.kafka + _kafka_pairs(value, label)
        else:
            changes[key] = _CHECKS[key](value, label)
    if not changes:
        return settings
    return replace(settings, sources=(*settings.sources, where), **changes)


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    credentials_file: str | None = None,
) -> Settings:
    """Merge every source of settings, lowest to highest priority, checking every value.

    ``cli`` holds command-line values (None for options not given); ``credentials_file``
    is a fink-client credentials file given with ``--config`` instead of ``~/.finkclient``.
    """
    env = os.environ if env is None else env
    cli = dict(cli or {})
    dirs = search_directories(env)
    own = dirs.config / "config.toml"
    table = _own_file(own) if own.exists() else {}
    if cli.get("survey") is not None:
        survey = _survey(cli["survey"], "--survey")
    elif env.get(f"{ENV_PREFIX}SURVEY"):
        survey = _survey(env[f"{ENV_PREFIX}SURVEY"], f"{ENV_PREFIX}SURVEY")
    elif "survey" in table:
        survey = _survey(table["survey"], f"{own}: survey")
    else:
        survey = "ztf"
    table.pop("survey", None)
    filters = _filters(table.pop("filters", None), f"{own}: filters")

    settings = Settings(survey=survey, filters=filters)
    path: Path | None = None
    if credentials_file is not None:
        text = _non_empty(credentials_file, "--config", "a fink-client credentials file")
        try:
            path = Path(text).expanduser()
        except RuntimeError:  # an unknown ~user
            raise ConfigError(f"--config {text}: no such user's home folder (~)") from None
        if not path.exists():
            raise ConfigError(f"--config {text}: no such fink-client credentials file")
    else:
        path = finkclient_file(survey, dirs)
    if path is not None:
        settings = _apply(settings, _finkclient_layer(path), str(path))
    per_survey: Mapping[str, Any] | None = None
    for name in SURVEYS:
        section = table.pop(name, None)
        if section is not None and not isinstance(section, Mapping):
            raise ConfigError(
                f"{own}: {name}: expected a table of settings ([{name}]), got {_shown(section)}"
            )
        if name == survey:
            per_survey = section
    if table:
        settings = _apply(settings, _table_layer(table, str(own)), str(own))
    if per_survey:
        where = f"{own} [{survey}]"
        settings = _apply(settings, _table_layer(per_survey, where), where)
    settings = _apply(settings, _env_layer(env), "environment")
    return _apply(settings, _cli_layer(cli), "command line")
