"""Logging set-up and the redaction step that is the last line of defence."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from userbot.log import configure_logging, redact

MASK = "**********"


@pytest.fixture
def restore_structlog() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


@pytest.mark.parametrize(
    "field",
    [
        "token",
        "vault_token",
        "password",
        "session",
        "api_hash",
        "ciphertext",
        "key",
        "data_key",
        "wrapped_key",
        "Authorization",
        "plaintext",
        "secret",
    ],
)
def test_sensitive_fields_are_masked(field: str) -> None:
    """A field whose name looks sensitive is masked, whatever its value."""
    event = redact(None, "info", {"event": "vault.login", field: "hunter2"})

    assert event[field] == MASK


@pytest.mark.parametrize(
    "value", [b"raw", bytearray(b"raw"), memoryview(b"raw")], ids=lambda v: type(v).__name__
)
def test_bytes_are_masked_whatever_the_field(value: object) -> None:
    """A bytes-like value is masked even under a harmless-looking name."""
    event = redact(None, "info", {"event": "ipfs.add", "data": value})

    assert event["data"] == MASK


def test_ordinary_fields_are_left_alone() -> None:
    """secret_name, event, cid, outcome and other plain fields pass through unchanged."""
    fields = {
        "event": "secret.resolved",
        "secret_name": "db_prod",
        "cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        "outcome": "ok",
        "duration_ms": 1.25,
        "key_version": 2,
    }

    assert redact(None, "info", dict(fields)) == fields


def test_json_output_carries_no_token_or_bytes(restore_structlog: None) -> None:
    """With JSON configured, a logged token and raw bytes appear only as the mask."""
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)

    structlog.get_logger("test").info(
        "vault.read", token="tok-123", data=b"raw", secret_name="db_prod"
    )

    output = stream.getvalue()
    assert "tok-123" not in output
    assert "raw" not in output
    record = json.loads(output)
    assert record["event"] == "vault.read"
    assert record["secret_name"] == "db_prod"
    assert record["token"] == MASK
    assert record["data"] == MASK
    assert record["level"] == "info"


def test_events_below_the_level_are_dropped(restore_structlog: None) -> None:
    """An event below the configured level writes nothing."""
    stream = io.StringIO()
    configure_logging(level="warning", fmt="json", stream=stream)

    structlog.get_logger("test").info("vault.read")

    assert stream.getvalue() == ""


def test_library_warnings_come_out_as_redacted_json(restore_structlog: None) -> None:
    """A library's stdlib warning is one JSON line with its logger's name; its info is dropped."""
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)

    logging.getLogger("telethon.network").info("chatty detail")
    logging.getLogger("telethon.network").warning("Attempt %d at connecting failed", 1)

    [line] = stream.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "Attempt 1 at connecting failed"
    assert event["logger"] == "telethon.network"
    assert event["level"] == "warning"
