"""The Redis ticket store against a real Redis: one redeem, TTLs, and Redis going away."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
import redis

from custody.errors import StoreUnavailableError, TicketUnavailableError
from custody.tickets import RedisTicketStore, Ticket, new_ticket_id
from tests.integration.conftest import start_redis_server
from userbot.devvault import free_port


def _ticket() -> Ticket:
    return Ticket(
        wrapped_key="vault:v1:AAAA",
        cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        sha256="00" * 32,
        name="db_prod",
        version=1,
        user_id=1,
        chat_id=2,
        issued_at=time.time(),
        expires_at=int(time.time()) + 60,
    )


@pytest.fixture
async def store(redis_url: str, key_prefix: str) -> AsyncIterator[RedisTicketStore]:
    async with RedisTicketStore(redis_url, f"{key_prefix}store:") as opened:
        yield opened


async def test_issue_sets_the_ttl_and_hides_the_ticket_id(
    store: RedisTicketStore, redis_url: str, key_prefix: str
) -> None:
    """The key expires after TICKET_TTL and does not contain the ticket id."""
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, _ticket(), ttl=30)

    client = redis.Redis.from_url(redis_url)
    [key] = list(client.scan_iter(match=f"{key_prefix}store:ticket:*"))
    assert ticket_id.encode() not in key
    assert 0 < client.ttl(key) <= 30
    await store.redeem(ticket_id)


async def test_expired_content_goes_to_one_sweeper(store: RedisTicketStore) -> None:
    """Of several sweepers racing for expired CIDs, each CID goes to exactly one."""
    tickets = [replace(_ticket(), cid=f"cid-{n}", expires_at=1000 + n) for n in range(30)]
    for ticket in tickets:
        await store.track(ticket.cid, ticket.expires_at)
    await store.track("cid-live", 10**10)

    taken = await asyncio.gather(*(store.take_expired(before=2000, limit=7) for _ in range(8)))

    flat = [cid for batch in taken for cid in batch]
    assert sorted(flat) == sorted(t.cid for t in tickets[: len(flat)])
    assert len(flat) == len(set(flat))
    rest = await store.take_expired(before=2000)
    assert sorted(flat + rest) == sorted(t.cid for t in tickets)
    assert "cid-live" not in flat + rest


@pytest.mark.parametrize("getdel", [True, False], ids=["getdel", "lua-script"])
async def test_exactly_one_concurrent_redeem_wins(store: RedisTicketStore, getdel: bool) -> None:
    """With GETDEL and with the script used on Redis before 6.2, one of 20 racers wins."""
    store._has_getdel = getdel
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, _ticket(), ttl=30)

    results = await asyncio.gather(
        *(store.redeem(ticket_id) for _ in range(20)), return_exceptions=True
    )

    [winner] = [r for r in results if isinstance(r, Ticket)]
    assert winner.name == "db_prod"
    assert sum(isinstance(r, TicketUnavailableError) for r in results) == 19


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, so it can be killed."""
    url, process = start_redis_server()
    yield url, process
    if process.poll() is None:
        process.kill()
    process.wait()


async def test_redis_going_away_is_store_unavailable(
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Once Redis is killed, issuing and redeeming raise StoreUnavailableError, not a hang."""
    url, process = own_redis
    store = await RedisTicketStore(url, "t:", timeout=0.5).open()
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, _ticket(), ttl=30)

    process.kill()
    process.wait()

    with pytest.raises(StoreUnavailableError):
        await store.redeem(ticket_id)
    with pytest.raises(StoreUnavailableError):
        await store.issue(new_ticket_id(), _ticket(), ttl=30)
    await store.aclose()


async def test_unreachable_redis_at_open_is_store_unavailable() -> None:
    """Opening against a port nobody listens on fails at once with StoreUnavailableError."""
    with pytest.raises(StoreUnavailableError):
        await RedisTicketStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5).open()
