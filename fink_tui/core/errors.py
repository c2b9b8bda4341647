"""Errors of the stream core, worded for the person at the terminal."""

from __future__ import annotations

import enum
from typing import assert_never

from confluent_kafka import KafkaError, KafkaException


class StreamError(RuntimeError):
    """Something between fink-tui and the broker failed; the message says what, in one line."""


class UsageError(ValueError):
    """A bad option value or argument, worded for the person who typed it."""


AUTH_CODES = {
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
}
UNREACHABLE_CODES = {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE}


def kafka_error_of(exc: BaseException) -> KafkaError | None:
    """The KafkaError inside a KafkaException, if any."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


class ErrorKind(enum.Enum):
    """What a Kafka error means for the person at the terminal."""

    AUTH = "auth"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    OTHER = "other"


def classify(error: KafkaError | None) -> ErrorKind:
    """The kind of a Kafka error (OTHER for None)."""
    if error is None:
        return ErrorKind.OTHER
    code = error.code()
    if code in AUTH_CODES:
        return ErrorKind.AUTH
    if code in UNREACHABLE_CODES:
        return ErrorKind.UNREACHABLE
    if code == KafkaError._TIMED_OUT:
        return ErrorKind.TIMEOUT
    return ErrorKind.OTHER


def describe_kafka_error(exc: BaseException | KafkaError) -> str:
    """One line for a Kafka failure, without the client's internal prefixes."""
    error = exc if isinstance(exc, KafkaError) else kafka_error_of(exc)
    if error is None:
        return str(exc)
    kind = classify(error)
    text = error.str()
    match kind:
        case ErrorKind.AUTH:
            return f"authentication failed: {text}"
        case ErrorKind.UNREACHABLE:
            return f"broker unreachable: {text}"
        case ErrorKind.TIMEOUT:
            return f"the servers did not answer in time: {text}"
        case ErrorKind.OTHER:
            return text
        case _:
            assert_never(kind)
