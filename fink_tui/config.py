"""Settings for fink-tui: one frozen object merged from defaults, fink-client credentials,
fink-tui's own config file, the environment and the command line (lowest to highest).

Also the one place where every path fink-tui reads or writes is looked up
(:func:`search_directories`), so tests can redirect them all through the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs
import yaml

SURVEYS = ("ztf", "lsst")
ENV_PREFIX = "FINK_TUI_"
APP_NAME = "fink-tui"


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
    """Seconds to wait for the servers before giving up."""
    schema_path: str = ""
    """A schema file (.avsc or .json) that replaces the schema in the message keys."""
    kafka: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Extra librdkafka settings, applied last (not in repr: they may hold secrets)."""
    sources: tuple[str, ...] = ()
    """Where the settings came from, lowest priority first (for error messages)."""

    @property
    def uses_sasl(self) -> bool:
        """Whether both username and password are set, so SASL/SCRAM is used."""
        return bool(self.username and self.password)

    def kafka_config(self, **overrides: str | int | float | bool) -> dict[str, Any]:
        """The librdkafka configuration for a consumer or admin client of this group."""
        if not self.servers:
            raise ConfigError(
                "no Kafka servers set: pass --servers, or register with fink-client "
                f"(~/.finkclient/{self.survey}_credentials.yml), or set {ENV_PREFIX}SERVERS"
            )
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


def _none_if_blank(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return None
    return value


def _topics(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    return tuple(str(t) for t in value)


def _kafka_pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping):
        return tuple((str(k), _librdkafka_value(v)) for k, v in value.items())
    pairs = []
    for item in value:
        key, sep, val = str(item).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{where}: expected key=value for a librdkafka setting, got {item!r}")
        pairs.append((key.strip(), val.strip()))
    return tuple(pairs)


def _librdkafka_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _finkclient_layer(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Map a fink-client credentials file (version 12 or 8) onto Settings fields."""
    layer: dict[str, Any] = {}
    for ours, theirs in (
        ("username", ("username",)),
        ("password", ("password",)),
        ("servers", ("servers", "bootstrap.servers")),
        ("group_id", ("groupid", "group_id", "group.id")),
        ("topics", ("topics", "mytopics")),
        ("maxtimeout", ("maxtimeout",)),
        ("survey", ("survey",)),
    ):
        for key in theirs:
            value = _none_if_blank(raw.get(key))
            if value is not None:
                layer[ours] = value
                break
    return layer


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        # The parser's message quotes the offending line, which may hold the password.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of credentials, got {type(data).__name__}")
    return data


def finkclient_file(survey: str, dirs: Directories) -> Path | None:
    """The fink-client credentials file for ``survey``: v12's per-survey file, else v8's."""
    for name in (f"{survey}_credentials.yml", "credentials.yml"):
        path = dirs.finkclient / name
        if path.is_file() and (name != "credentials.yml" or survey == "ztf"):
            return path
    return None


def _own_file_layer(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        # Only the position: the message could quote a password.
        where = str(exc).rsplit("(", 1)[-1].rstrip(")") if "(" in str(exc) else "?"
        raise ConfigError(f"{path}: not valid TOML ({where})") from None
    layer = {k.replace("-", "_"): v for k, v in data.items()}
    return layer


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name in ("kafka", "sources"):
            continue
        value = env.get(ENV_PREFIX + f.name.upper())
        if value:
            layer[f.name] = value
    return layer


def _apply(settings: Settings, layer: Mapping[str, Any], where: str) -> Settings:
    known = {f.name for f in fields(Settings)} - {"sources"}
    changes: dict[str, Any] = {}
    for key, value in layer.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {key!r}")
        if value is None:
            continue
        if key == "topics":
            changes[key] = _topics(value)
        elif key == "kafka":
            changes[key] = settings.kafka + _kafka_pairs(value, where)
        elif key == "maxtimeout":
            try:
                changes[key] = float(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: maxtimeout must be a number, got {value!r}") from exc
        else:
            changes[key] = str(value)
    if not changes:
        return settings
    return replace(settings, sources=(*settings.sources, where), **changes)


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    credentials_file: str | None = None,
) -> Settings:
    """Merge every source of settings, lowest to highest priority.

    ``cli`` holds command-line values (None for options not given); ``credentials_file``
    is a fink-client credentials file given with ``--config`` instead of ``~/.finkclient``.
    """
    env = os.environ if env is None else env
    cli = dict(cli or {})
    dirs = search_directories(env)
    survey = str(cli.get("survey") or env.get(f"{ENV_PREFIX}SURVEY") or "ztf").lower()
    if survey not in SURVEYS:
        raise ConfigError(f"unknown survey {survey!r}: choose one of {', '.join(SURVEYS)}")

    settings = Settings(survey=survey)
    path = (
        Path(credentials_file).expanduser() if credentials_file else finkclient_file(survey, dirs)
    )
    if credentials_file and (path is None or not path.is_file()):
        raise ConfigError(f"{credentials_file}: no such fink-client credentials file")
    if path is not None:
        layer = _finkclient_layer(_read_yaml(path))
        layer.pop("survey", None)
        settings = _apply(settings, layer, str(path))
    own = dirs.config / "config.toml"
    if own.is_file():
        layer = _own_file_layer(own)
        per_survey = layer.pop(survey, None)
        for other in SURVEYS:
            layer.pop(other, None)
        settings = _apply(settings, layer, str(own))
        if isinstance(per_survey, Mapping):
            settings = _apply(settings, per_survey, f"{own} [{survey}]")
    env_layer = _env_layer(env)
    env_layer.pop("survey", None)
    settings = _apply(settings, env_layer, "environment")
    cli.pop("survey", None)
    return _apply(settings, cli, "command line")
