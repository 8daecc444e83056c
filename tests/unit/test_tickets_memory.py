"""One-time tickets in memory: issued with a TTL, redeemed at most once."""

from __future__ import annotations

import asyncio
import re
import types

import pytest

from custody import tickets
from custody.errors import StoreError, TicketUnavailableError
from custody.tickets import MemoryTicketStore, Ticket, new_ticket_id, ticket_ref

WRAPPED_KEY = "vault:v1:c2VjcmV0LXdyYXBwZWQta2V5LW1hdGVyaWFs"


def make_ticket(name: str = "db_prod") -> Ticket:
    return Ticket(
        wrapped_key=WRAPPED_KEY,
        cid="bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        name=name,
        version=3,
        user_id=1001,
        chat_id=-42,
        issued_at=1_700_000_000.25,
        expires_at=1_700_000_120,
    )


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    # Only the store's view of time moves; the event loop keeps the real clock.
    fake = Clock()
    monkeypatch.setattr(tickets, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    return fake


async def test_an_issued_ticket_is_redeemed() -> None:
    """Redeeming an issued ticket returns it unchanged."""
    store = MemoryTicketStore()
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, make_ticket(), ttl=60)

    assert await store.redeem(ticket_id) == make_ticket()


async def test_a_second_redeem_fails() -> None:
    """A ticket redeemed once raises TicketUnavailableError on the next redeem."""
    store = MemoryTicketStore()
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, make_ticket(), ttl=60)
    await store.redeem(ticket_id)

    with pytest.raises(TicketUnavailableError):
        await store.redeem(ticket_id)


async def test_an_unknown_ticket_is_unavailable() -> None:
    """Redeeming an id that was never issued raises TicketUnavailableError."""
    with pytest.raises(TicketUnavailableError):
        await MemoryTicketStore().redeem(new_ticket_id())


async def test_an_expired_ticket_is_unavailable(clock: Clock) -> None:
    """A ticket whose TTL has run out raises TicketUnavailableError."""
    store = MemoryTicketStore()
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, make_ticket(), ttl=1)

    clock.now += 1.1

    with pytest.raises(TicketUnavailableError):
        await store.redeem(ticket_id)


async def test_a_ticket_is_redeemable_until_its_ttl(clock: Clock) -> None:
    """A ticket redeemed just before its TTL runs out is still handed over."""
    store = MemoryTicketStore()
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, make_ticket(), ttl=1)

    clock.now += 0.9

    assert await store.redeem(ticket_id) == make_ticket()


async def test_issuing_an_existing_id_fails() -> None:
    """Issuing a second ticket under a live id raises StoreError and keeps the first ticket."""
    store = MemoryTicketStore()
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, make_ticket("first"), ttl=60)

    with pytest.raises(StoreError):
        await store.issue(ticket_id, make_ticket("second"), ttl=60)

    assert (await store.redeem(ticket_id)).name == "first"


async def test_expired_content_is_handed_out_once() -> None:
    """take_expired returns a CID only after its ticket's expiry, and only once."""
    store = MemoryTicketStore()
    ticket = make_ticket()
    await store.track(ticket.cid, ticket.expires_at)

    assert await store.take_expired(before=ticket.expires_at - 1) == []
    assert await store.take_expired(before=ticket.expires_at + 1) == [ticket.cid]
    assert await store.take_expired(before=ticket.expires_at + 1) == []


async def test_released_content_is_not_swept() -> None:
    """Content released after a redeem is no longer handed out as expired."""
    store = MemoryTicketStore()
    ticket = make_ticket()
    await store.track(ticket.cid, ticket.expires_at)

    await store.release(ticket.cid)

    assert await store.take_expired(before=ticket.expires_at + 1) == []


async def test_concurrent_redeems_have_one_winner() -> None:
    """Of many redeems of one ticket at once, exactly one wins and the rest are refused."""
    store = MemoryTicketStore()
    ticket_id = new_ticket_id()
    await store.issue(ticket_id, make_ticket(), ttl=60)

    results = await asyncio.gather(
        *(store.redeem(ticket_id) for _ in range(50)), return_exceptions=True
    )

    assert [result for result in results if isinstance(result, Ticket)] == [make_ticket()]
    refused = [result for result in results if isinstance(result, TicketUnavailableError)]
    assert len(refused) == 49


def test_ticket_json_round_trips() -> None:
    """from_json reads back exactly what to_json wrote."""
    ticket = make_ticket()

    assert Ticket.from_json(ticket.to_json()) == ticket
    assert Ticket.from_json(ticket.to_json().encode()) == ticket


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("{not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param("null", id="null"),
        pytest.param("[]", id="list"),
        pytest.param('{"name": "db_prod"}', id="fields-missing"),
        pytest.param(make_ticket().to_json()[:-1] + ',"extra":1}', id="unknown-field"),
    ],
)
def test_a_malformed_ticket_is_a_store_error(raw: str | bytes) -> None:
    """Anything but a ticket's own JSON raises StoreError."""
    with pytest.raises(StoreError):
        Ticket.from_json(raw)


def test_ticket_ref_is_short_hex_and_not_the_id() -> None:
    """ticket_ref gives 12 lowercase hex characters that do not reveal the id."""
    ticket_id = new_ticket_id()

    ref = ticket_ref(ticket_id)

    assert re.fullmatch(r"[0-9a-f]{12}", ref)
    assert ref not in ticket_id
    assert ticket_ref(ticket_id) == ref


def test_new_ticket_ids_differ() -> None:
    """Each new ticket id is different from the last."""
    assert len({new_ticket_id() for _ in range(100)}) == 100


def test_ticket_repr_hides_the_wrapped_key() -> None:
    """The repr of a Ticket names the secret but never shows the wrapped key."""
    shown = repr(make_ticket())

    assert WRAPPED_KEY not in shown
    assert "vault:v1" not in shown
    assert "db_prod" in shown
