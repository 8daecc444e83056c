"""One-time tickets: issued with a TTL, redeemed at most once.

A ticket holds the wrapped data key and the metadata needed to find and check
the ciphertext; never plaintext. Keys in Redis are the SHA-256 of the ticket
id, so whoever can read Redis still cannot present a ticket. The store also
indexes each ticket's CID by expiry, so that content whose ticket was never
redeemed can be swept away. This module is the one place where redis-py
exceptions become `custody.errors`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol, Self

import redis.asyncio as aioredis
import redis.exceptions

from custody.errors import StoreError, StoreUnavailableError, TicketUnavailableError
from custody.urls import shown_url

# Atomic get-and-delete for Redis older than 6.2, which lacks GETDEL.
_GETDEL_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
"""


@dataclass(frozen=True, slots=True)
class Ticket:
    """What the backend needs to redeem a sealed secret once."""

    wrapped_key: str
    cid: str
    sha256: str
    name: str
    version: int
    user_id: int
    chat_id: int
    issued_at: float
    expires_at: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Ticket:
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError) as exc:
            raise StoreError("A stored ticket is malformed.") from exc

    def __repr__(self) -> str:
        return f"Ticket(name={self.name!r}, version={self.version}, cid={self.cid!r})"


def new_ticket_id() -> str:
    """Return a fresh unguessable ticket id (256 bits)."""
    return secrets.token_urlsafe(32)


def ticket_ref(ticket_id: str) -> str:
    """Return a short reference to a ticket that is safe to log."""
    return hashlib.sha256(ticket_id.encode()).hexdigest()[:12]


class TicketStore(Protocol):
    """Where tickets live between issue and redeem."""

    async def issue(self, ticket_id: str, ticket: Ticket, ttl: int) -> None:
        """Store `ticket`; it counts as issued once this returns."""
        ...

    async def redeem(self, ticket_id: str) -> Ticket:
        """Take the ticket away atomically; a second call raises TicketUnavailableError."""
        ...

    async def track(self, cid: str, expires_at: int) -> None:
        """Index content about to be stored for a ticket that expires at `expires_at`."""
        ...

    async def release(self, cid: str) -> None:
        """Forget the content of a redeemed ticket; it has been removed."""
        ...

    async def take_expired(self, before: float, limit: int = 100) -> list[str]:
        """Hand out, once across all callers, CIDs whose tickets expired before `before`."""
        ...

    async def aclose(self) -> None: ...


class RedisTicketStore:
    """Tickets in Redis: `SET NX EX` to issue, `GETDEL` (or a script) to redeem."""

    def __init__(self, url: str, prefix: str = "userbot:", *, timeout: float = 2.0) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout = timeout
        self._redis: aioredis.Redis | None = None
        self._has_getdel = True

    @property
    def _pins(self) -> str:
        return f"{self._prefix}pins"

    def _key(self, ticket_id: str) -> str:
        return f"{self._prefix}ticket:{hashlib.sha256(ticket_id.encode()).hexdigest()}"

    async def open(self) -> Self:
        """Connect inside the running loop and learn which redeem the server supports."""
        client = aioredis.Redis.from_url(
            self._url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            decode_responses=False,
        )
        self._redis = client
        try:
            info: dict[str, Any] = await self._guard(client.info("server"))
        except BaseException:
            await client.aclose()
            self._redis = None
            raise
        version = tuple(int(part) for part in str(info.get("redis_version", "0")).split(".")[:2])
        self._has_getdel = version >= (6, 2)

        return self

    @property
    def client(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreError("The ticket store is not open.")
        return self._redis

    async def _guard(self, pending: Any) -> Any:
        try:
            return await pending
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StoreUnavailableError(
                f"Redis at {shown_url(self._url)} is unreachable."
            ) from exc
        except redis.exceptions.ResponseError as exc:
            # Redis's own error text names a command or a limit, never a stored value.
            raise StoreError(f"Redis refused a ticket operation: {exc}.") from exc
        except redis.exceptions.RedisError as exc:
            raise StoreError(f"Redis refused a ticket operation: {type(exc).__name__}.") from exc

    async def issue(self, ticket_id: str, ticket: Ticket, ttl: int) -> None:
        stored = await self._guard(
            self.client.set(self._key(ticket_id), ticket.to_json(), nx=True, ex=ttl)
        )
        if not stored:
            raise StoreError("A ticket with this id exists already; nothing was issued.")

    async def redeem(self, ticket_id: str) -> Ticket:
        key = self._key(ticket_id)
        if self._has_getdel:
            raw = await self._guard(self.client.getdel(key))
        else:
            raw = await self._guard(self.client.eval(_GETDEL_SCRIPT, 1, key))
        if raw is None:
            raise TicketUnavailableError()

        return Ticket.from_json(raw)

    async def track(self, cid: str, expires_at: int) -> None:
        await self._guard(self.client.zadd(self._pins, {cid: expires_at}))

    async def release(self, cid: str) -> None:
        await self._guard(self.client.zrem(self._pins, cid))

    async def take_expired(self, before: float, limit: int = 100) -> list[str]:
        candidates = await self._guard(
            self.client.zrangebyscore(self._pins, "-inf", before, start=0, num=limit)
        )
        if not candidates:
            return []
        # Whoever removes a member owns it: replicas sweeping at once never share one.
        pipe = self.client.pipeline(transaction=False)
        for cid in candidates:
            pipe.zrem(self._pins, cid)
        removed = await self._guard(pipe.execute())

        return [cid.decode() for cid, won in zip(candidates, removed, strict=True) if won]

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class MemoryTicketStore:
    """Tickets in this process, for the demo when no Redis answers."""

    def __init__(self) -> None:
        self._tickets: dict[str, tuple[float, Ticket]] = {}
        self._pins: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def issue(self, ticket_id: str, ticket: Ticket, ttl: int) -> None:
        async with self._lock:
            self._drop_expired()
            if ticket_id in self._tickets:
                raise StoreError("A ticket with this id exists already; nothing was issued.")
            self._tickets[ticket_id] = (time.monotonic() + ttl, ticket)

    async def redeem(self, ticket_id: str) -> Ticket:
        async with self._lock:
            self._drop_expired()
            entry = self._tickets.pop(ticket_id, None)
        if entry is None:
            raise TicketUnavailableError()

        return entry[1]

    async def track(self, cid: str, expires_at: int) -> None:
        async with self._lock:
            self._pins[cid] = expires_at

    async def release(self, cid: str) -> None:
        async with self._lock:
            self._pins.pop(cid, None)

    async def take_expired(self, before: float, limit: int = 100) -> list[str]:
        async with self._lock:
            expired = [cid for cid, expiry in self._pins.items() if expiry < before][:limit]
            for cid in expired:
                del self._pins[cid]

        return expired

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for ticket_id in [tid for tid, (deadline, _) in self._tickets.items() if deadline <= now]:
            del self._tickets[ticket_id]

    def __len__(self) -> int:
        return len(self._tickets)

    async def aclose(self) -> None:
        self._tickets.clear()
