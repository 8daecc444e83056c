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

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
