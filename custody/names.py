"""Secret names: what a chat may ask for, and how a name maps to a KV path."""

from __future__ import annotations

import re

from custody.errors import CommandError, shorten

# One or more segments of letters, digits, "_", "-" and ".", joined by "/";
# no segment may be "." or "..", so a name can never climb out of the prefix.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
MAX_NAME_LENGTH = 200


def validate_secret_name(name: str) -> str:
    """Return `name` if a chat may ask for it; raise CommandError otherwise."""
    shown = shorten(name, 40)
    if not name or len(name) > MAX_NAME_LENGTH:
        raise CommandError(f"{shown!r} is not a valid secret name: use 1 to 200 characters.")
    for segment in name.split("/"):
        if not _SEGMENT.fullmatch(segment) or segment in {".", ".."}:
            raise CommandError(
                f"{shown!r} is not a valid secret name: use letters, digits, '_', '-', '.'"
                " and '/' between parts."
            )

    return name


def kv_path(prefix: str, name: str) -> str:
    """Join the configured KV prefix and a validated name: ("apps", "db") -> "apps/db"."""
    prefix = prefix.strip("/")

    return f"{prefix}/{name}" if prefix else name
