"""structlog set-up, done once at start-up: key-value events, redacted.

Logs go to standard error, so standard output stays the chat for the console.
JSON off a terminal, coloured key-value lines on one.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

# Field names whose values must never be printed, whatever they hold.
_SENSITIVE = re.compile(
    r"(token|secret|password|passwd|api_hash|session|key|ciphertext|plaintext|value|auth)",
    re.IGNORECASE,
)
_SAFE_FIELDS = frozenset({"secret_name", "key_version", "kind", "event"})
_MASK = "**********"


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask sensitive-looking fields and raw bytes: the last line of defence."""
    for name, value in event.items():
        if name in _SAFE_FIELDS:
            continue
        if isinstance(value, bytes | bytearray | memoryview) or _SENSITIVE.search(name):
            event[name] = _MASK

    return event


def configure_logging(
    level: str = "info", fmt: str = "auto", stream: TextIO | None = None
) -> None:
    """Configure structlog for the whole process."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )

    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, redact, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )

    # Libraries log through the standard library (Telethon's reconnect warnings,
    # for one): give them the same format and redaction, warnings and worse only,
    # since some of them put message contents in their debug lines.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
