"""The project's exception tree, shared by every package.

UserbotError
├── ConfigError                 a setting is missing or malformed (names the variable)
├── CommandError                a chat command was used wrongly (the reply says how)
├── VaultError                  anything Vault answered or failed to answer
│   ├── VaultUnavailableError   Vault did not answer, or is sealed or on standby
│   ├── VaultPermissionError    the token may not do what was asked
│   ├── SecretTooLargeError     the secret is too large to hand to a chat
│   └── VaultPathNotFoundError  nothing at that path (a mount, key or policy)
│       └── SecretNotFoundError no secret of that name
├── StoreError                  the ticket store
│   ├── StoreUnavailableError   Redis did not answer
│   └── TicketUnavailableError  the ticket was redeemed already, or has expired
├── ContentError                the content store (IPFS or the embedded one)
│   ├── ContentUnavailableError the IPFS node did not answer
│   └── ContentNotFoundError    no content under that CID
├── IntegrityError              bytes or binding failed a check; nothing is returned
└── RpcError                    a gRPC call failed for a reason of its own
    ├── ServiceUnavailableError the service could not be reached
    ├── DeadlineExceededError   the call ran out of time
    ├── CallerNotAllowedError   the caller's certificate is not on the server's list
    └── OverloadedError         the service pushed back; try again shortly

Each outside library's exceptions are translated into this tree at exactly one
place: hvac and requests in `custody.vault`, redis in `custody.tickets`, aiohttp
and aioipfs in `custody.content.ipfs`, gRPC in `custody.status`. Messages are
full sentences that may be shown to the person in the chat: they never carry a
secret value, token, key or ciphertext.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import ClassVar


def shorten(text: str, limit: int = 64) -> str:
    """Cut `text` to `limit` characters with an ellipsis, to quote it in one line."""
    return text if len(text) <= limit else text[:limit] + "…"


class UserbotError(Exception):
    """Root of every error this project raises on purpose.

    A leaf with one typed field names it in `wire_field`, so the field survives
    a trip over gRPC; the others carry only their message.
    """

    wire_field: ClassVar[str | None] = None


class ConfigError(UserbotError):
    """A setting is missing or malformed."""

    def __init__(self, variable: str, requirement: str) -> None:
        self.variable = variable
        self.requirement = requirement
        super().__init__(f"{variable} {requirement}.")


class CommandError(UserbotError):
    """A chat command was used the wrong way."""


class VaultError(UserbotError):
    """Vault refused or failed a request."""


class VaultUnavailableError(VaultError):
    """Vault could not be reached, or could not serve the request."""

    def __init__(self, message: str = "Vault is unreachable.") -> None:
        super().__init__(message)


class VaultPermissionError(VaultError):
    """The Vault token lacks a capability the request needs."""


class SecretTooLargeError(VaultError):
    """The secret's fields take more bytes than one sealed block may hold."""

    wire_field = "name"

    def __init__(self, name: str, size: int | None = None, limit: int | None = None) -> None:
        self.name = name
        shown = shorten(name)
        measure = f" ({size} bytes; the limit is {limit})" if size and limit else ""
        super().__init__(f"The secret {shown!r} is too large to hand over{measure}.")


class VaultPathNotFoundError(VaultError):
    """Vault has nothing at the requested path."""


class SecretNotFoundError(VaultPathNotFoundError):
    """No secret exists under the requested name."""

    wire_field = "name"

    def __init__(self, name: str) -> None:
        self.name = name
        shown = shorten(name)
        super().__init__(f"There is no secret named {shown!r}.")


class StoreError(UserbotError):
    """The ticket store failed."""


class StoreUnavailableError(StoreError):
    """The ticket store could not be reached."""

    def __init__(self, message: str = "The ticket store (Redis) is unreachable.") -> None:
        super().__init__(message)


class TicketUnavailableError(StoreError):
    """The ticket was already redeemed, or its time ran out."""

    def __init__(self, message: str = "The ticket was already used or has expired.") -> None:
        super().__init__(message)


class ContentError(UserbotError):
    """The content store failed."""


class ContentUnavailableError(ContentError):
    """The content store could not be reached."""

    def __init__(self, message: str = "The IPFS node is unreachable.") -> None:
        super().__init__(message)


class ContentNotFoundError(ContentError):
    """Nothing is stored under the CID."""

    wire_field = "cid"

    def __init__(self, cid: str) -> None:
        self.cid = cid
        super().__init__(f"No content is stored under CID {cid}.")


class IntegrityError(UserbotError):
    """A check on bytes or on their binding failed; no output was produced."""

    wire_field = "reason"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Integrity check failed: {reason}.")


class RpcError(UserbotError):
    """A gRPC call failed for a reason that is not one of ours."""


class ServiceUnavailableError(RpcError):
    """The service could not be reached."""


class DeadlineExceededError(RpcError):
    """The call did not finish before its deadline."""


class CallerNotAllowedError(RpcError):
    """The server does not answer the name in the caller's certificate."""


class OverloadedError(RpcError):
    """The service is at its limit of concurrent calls."""


def crash_fields(exc: BaseException) -> dict[str, str]:
    """Describe an unexpected exception for a log line: its type and where it was raised.

    The message is left out on purpose: an outside library may have put a header,
    a URL or a value in it, and none of those may reach a log.
    """
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))

    return {"error": type(exc).__qualname__, "where": where}
