"""The chat-neutral message types that handlers take and return."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A chat message as the handlers see it.

    `outgoing` is true for messages the account owner sent themselves.
    """

    text: str
    sender_id: int
    chat_id: int
    outgoing: bool
    message_id: int = 0


@dataclass(frozen=True, slots=True)
class HiddenSpan:
    """A part of a reply that the chat shows hidden; offsets in code points."""

    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers.

    `delete_after` is the number of seconds after which the chat should remove
    the reply again; None keeps it. `failed` marks a reply that reports an error.
    """

    text: str
    hidden: tuple[HiddenSpan, ...] = field(default=())
    delete_after: float | None = None
    failed: bool = False

    def __repr__(self) -> str:
        # A reply may carry a secret value: never let it reach a log by repr.
        if self.hidden:
            return f"Reply(<{len(self.text)} chars, {len(self.hidden)} hidden>)"
        return f"Reply({self.text!r})"
