"""Turns a secret's fields into reply text and the spans that hold values.

name="db_prod", version=3, fields={"password": "hunter2", "user": "app"}
->  "🔐 db_prod (v3)\npassword: hunter2\nuser: app"   hidden: [(27, 7), (41, 3)]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RenderedReply:
    text: str
    hidden: tuple[tuple[int, int], ...]

    def __repr__(self) -> str:
        return f"RenderedReply(<{len(self.text)} chars, {len(self.hidden)} hidden>)"


def render_secret(name: str, version: int, fields: dict[str, str]) -> RenderedReply:
    """Lay the fields out one per line; every value is a hidden span."""
    parts = [f"🔐 {name} (v{version})"]
    hidden: list[tuple[int, int]] = []
    offset = len(parts[0])
    if not fields:
        parts.append("\n(this secret has no fields)")
    for key, value in fields.items():
        label = f"\n{key}: "
        parts.append(label + value)
        offset += len(label)
        if value:
            hidden.append((offset, len(value)))
        offset += len(value)

    return RenderedReply(text="".join(parts), hidden=tuple(hidden))
