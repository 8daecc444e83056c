"""Value checks for `userbot.config`: each returns the value or raises ConfigError naming it.

A check never echoes a value that may be secret: a token, or a URL that may carry a password.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from custody.errors import ConfigError

# Vault mounts and the KV prefix are parts made of letters, digits, "_", "-" and "." with single
# slashes between them, and the transit key is one such part. No value may contain "..", and no
# part may be a lone ".": an HTTP client collapses dot segments, so the request would reach
# another path. These names also go unquoted into policy text, where other characters would
# change its meaning. A Redis key prefix may be any printable ASCII except the space.
_VAULT_PART = re.compile(r"[A-Za-z0-9_.-]+")


def is_number(text: str) -> bool:
    # str.isdigit() also accepts "²", which int() then refuses.
    return text.isascii() and text.isdecimal()


def _url(name: str, value: str, schemes: tuple[str, ...]) -> SplitResult:
    starts = " or ".join(f"{scheme}://" for scheme in schemes)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ConfigError(name, f"must be a URL starting with {starts}") from None
    located = bool(parts.path) if parts.scheme == "unix" else bool(parts.hostname)
    if parts.scheme not in schemes or not located:
        raise ConfigError(name, f"must be a URL starting with {starts}")

    try:
        port = parts.port
    except ValueError:  # "host:99999" or "host:abc"
        port = 0
    if port == 0:
        raise ConfigError(name, "must be a URL whose port is a number from 1 to 65535")

    return parts


def vault_addr(name: str, value: str) -> str:
    if not value:
        return value
    parts = _url(name, value, ("http", "https"))
    if parts.username is not None:
        raise ConfigError(
            name, "must not carry credentials; put the Vault token in VAULT_TOKEN instead"
        )
    return value


def redis_url(name: str, value: str) -> str:
    parts = _url(name, value, ("redis", "rediss", "unix"))
    # redis-py reads the database from the path and quietly ignores one it cannot parse:
    # "" -> 0, "/" -> 0, "/3" -> 3, "/abc" -> refused here.
    db = parts.path.removeprefix("/")
    if parts.scheme != "unix" and db and not is_number(db):
        raise ConfigError(name, "must end in /<database number>, such as /0, or have no path")
    return value


def address(name: str, value: str) -> str:
    # "127.0.0.1:50051" -> ok; "[::1]:50051" -> ok; "localhost" -> missing port
    if not value:
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not is_number(port) or not 0 < int(port) < 65536:
        raise ConfigError(name, f"must be host:port, such as 127.0.0.1:50051, not {value!r}")
    return value


def single_token(name: str, value: str) -> str:
    # A CR or LF pasted into the middle of a token would otherwise reach an HTTP header or the
    # session decoder and fail there with a message that may quote the token.
    if not value.isprintable() or any(char.isspace() for char in value):
        raise ConfigError(name, "must be a single token without spaces or control characters")
    return value


def vault_path(name: str, value: str, *, nested: bool = True, empty_ok: bool = False) -> str:
    if empty_ok and not value:
        return value
    parts = value.split("/") if nested else [value]
    if ".." in value or not all(_VAULT_PART.fullmatch(part) and part != "." for part in parts):
        between = " with one / between parts" if nested else ""
        raise ConfigError(
            name, f"must be letters, digits, _ - and .{between}, without '..', not {value!r}"
        )
    return value


def redis_prefix(name: str, value: str) -> str:
    if not all("!" <= char <= "~" for char in value):
        raise ConfigError(name, f"must be printable ASCII without spaces, not {value!r}")
    return value


def user_ids(name: str, raw: str) -> frozenset[int]:
    ids = set()
    for item in raw.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        # Telegram user ids are positive; "1_000" would pass int() but is no id as typed.
        if not is_number(item) or int(item) == 0:
            raise ConfigError(
                name, f"must list numeric Telegram user ids, and {item!r} is not one"
            )
        ids.add(int(item))
    return frozenset(ids)


def _mode(path: Path) -> int | None:
    # None when nothing can be found there, including a path the process may not look into.
    try:
        return path.stat().st_mode
    except (OSError, ValueError):
        return None


def existing_file(name: str, path: Path | None) -> Path | None:
    if path is None:
        return path
    mode = _mode(path)
    if mode is None:
        raise ConfigError(name, f"must name an existing file, and {str(path)!r} was not found")
    if not stat.S_ISREG(mode):
        raise ConfigError(name, f"must name a file, and {str(path)!r} is not a regular file")
    return path


def directory_or_absent(name: str, path: Path) -> Path:
    # A missing folder is fine: the embedded store creates it on first use.
    mode = _mode(path)
    if mode is not None and not stat.S_ISDIR(mode):
        raise ConfigError(name, f"must name a directory, and {str(path)!r} is not one")
    return path


def names(name: str, raw: str) -> frozenset[str]:
    """A comma-separated list of certificate names: printable ASCII, no spaces."""
    found = set()
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        if not all("!" <= char <= "~" for char in item):
            raise ConfigError(name, f"must list certificate names without spaces, not {item!r}")
        found.add(item)
    return frozenset(found)
