"""URLs made safe to show in a log line or a reply: credentials never travel along."""

from __future__ import annotations

from urllib.parse import urlsplit


def shown_url(url: str) -> str:
    """Drop user, password, query and fragment.

    "redis://:pw@127.0.0.1:6379/0"  ->  "redis://127.0.0.1:6379/0"
    """
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(a malformed URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"

    return f"{parts.scheme}://{host}{port}{parts.path}"
