"""Plain values the clients take and return, free of protobuf types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Requester:
    """The Telegram user who asked, and the chat the answer goes to."""

    user_id: int
    chat_id: int


@dataclass(frozen=True, slots=True)
class Envelope:
    """A sealed secret in transit: a one-time ticket and where its ciphertext is."""

    ticket_id: str
    cid: str
    expires_at: int
    ciphertext: bytes = b""

    def __repr__(self) -> str:
        # The ticket id is a bearer credential: keep it out of logs.
        return f"Envelope(cid={self.cid!r}, expires_at={self.expires_at})"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A reply rendered by the backend; `hidden` holds (offset, length) spans."""

    text: str
    hidden: tuple[tuple[int, int], ...]
    name: str
    version: int

    def __repr__(self) -> str:
        return f"Rendered(name={self.name!r}, version={self.version}, <{len(self.text)} chars>)"
