"""The whole `/secret` path against OpenBao, Redis and the embedded content store."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace

import pytest

from custody.content.embedded import EmbeddedContentStore
from custody.errors import (
    ContentNotFoundError,
    ContentUnavailableError,
    IntegrityError,
    SecretNotFoundError,
    SecretTooLargeError,
    TicketUnavailableError,
)
from custody.sweeper import ContentSweeper
from custody.tickets import RedisTicketStore
from custody.vault_admin import VaultAdmin
from handlers.secrets import SecretServices
from secrets_client import Requester
from tests.integration.conftest import redis_keys, redis_value
from userbot.config import Settings
from userbot.demo import DEMO_SECRETS
from userbot.devvault import free_port
from userbot.stack import open_stack

OWNER = Requester(user_id=1001, chat_id=2002)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


async def test_whole_path_returns_the_exact_secret(secret_services: SecretServices) -> None:
    """Every field of db_prod comes back exactly, each value inside a hidden span."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)
    rendered = await secret_services.backend.resolve(envelope, OWNER)

    expected = DEMO_SECRETS["db_prod"]
    assert rendered.name == "db_prod"
    hidden_values = sorted(rendered.text[o : o + n] for o, n in rendered.hidden)
    assert hidden_values == sorted(expected.values())
    for field, value in expected.items():
        assert f"{field}: {value}" in rendered.text.splitlines()


async def test_ticket_redeems_once(secret_services: SecretServices) -> None:
    """A second redeem of the same ticket is refused as used or expired."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)
    await secret_services.backend.resolve(envelope, OWNER)

    with pytest.raises(TicketUnavailableError):
        await secret_services.backend.resolve(envelope, OWNER)


async def test_concurrent_redeems_have_one_winner(secret_services: SecretServices) -> None:
    """Of ten redeems of one ticket racing each other, exactly one succeeds."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)

    results = await asyncio.gather(
        *(secret_services.backend.resolve(envelope, OWNER) for _ in range(10)),
        return_exceptions=True,
    )

    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1
    assert all(isinstance(r, TicketUnavailableError) for r in results if r not in wins)


async def test_ticket_past_its_ttl_is_refused(short_ttl_services: SecretServices) -> None:
    """A ticket that has lived longer than TICKET_TTL can no longer be redeemed."""
    envelope = await short_ttl_services.secrets.request_secret("db_prod", OWNER)
    await asyncio.sleep(2.1)

    with pytest.raises(TicketUnavailableError):
        await short_ttl_services.backend.resolve(envelope, OWNER)


async def test_stores_hold_no_plaintext(
    secret_services: SecretServices,
    vault_admin: VaultAdmin,
    settings: Settings,
    redis_url: str,
    content: EmbeddedContentStore,
) -> None:
    """A unique planted value appears in no Redis key or value and in no stored block."""
    planted = f"planted-{secrets.token_hex(12)}"
    await vault_admin.write_secret("planted", {"value": planted, "note": planted})

    envelopes = [await secret_services.secrets.request_secret("planted", OWNER) for _ in range(3)]

    keys = redis_keys(redis_url, settings.store.key_prefix)
    assert keys, "the tickets should be in Redis while unredeemed"
    for key in keys:
        assert planted.encode() not in key
        assert planted.encode() not in redis_value(redis_url, key)
    blocks = list(settings.store.content_dir.iterdir())
    assert len(blocks) >= 3
    for block in blocks:
        assert planted.encode() not in block.read_bytes()
    for envelope in envelopes:
        assert planted.encode() not in envelope.ciphertext

    rendered = await secret_services.backend.resolve(envelopes[0], OWNER)
    assert planted in rendered.text


async def test_swapped_cid_is_an_integrity_error(secret_services: SecretServices) -> None:
    """Presenting one ticket with another ticket's CID fails and yields nothing."""
    first = await secret_services.secrets.request_secret("db_prod", OWNER)
    second = await secret_services.secrets.request_secret("api_token", OWNER)

    with pytest.raises(IntegrityError):
        await secret_services.backend.resolve(replace(first, cid=second.cid), OWNER)


@pytest.mark.parametrize("index", [0, 5, 40, -1])
async def test_flipped_inline_byte_is_an_integrity_error(
    secret_services: SecretServices, index: int
) -> None:
    """One flipped byte of the inline ciphertext fails the check; nothing is decrypted."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)
    assert envelope.ciphertext, "small secrets travel inline"
    tampered = replace(envelope, ciphertext=_flip(envelope.ciphertext, index))

    with pytest.raises(IntegrityError):
        await secret_services.backend.resolve(tampered, OWNER)


async def test_flipped_stored_byte_is_an_integrity_error(
    secret_services: SecretServices, content: EmbeddedContentStore, settings: Settings
) -> None:
    """A block altered in the content store is caught when the backend fetches it."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)
    block = settings.store.content_dir / envelope.cid
    block.write_bytes(_flip(block.read_bytes(), 20))

    with pytest.raises(IntegrityError):
        await secret_services.backend.resolve(replace(envelope, ciphertext=b""), OWNER)


async def test_redeem_for_another_requester_is_an_integrity_error(
    secret_services: SecretServices,
) -> None:
    """A ticket issued to one user and chat cannot be redeemed for another."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)
    other_chat = Requester(user_id=OWNER.user_id, chat_id=OWNER.chat_id + 1)

    with pytest.raises(IntegrityError):
        await secret_services.backend.resolve(envelope, other_chat)
    # The ticket is spent by the attempt: a stolen ticket is burnt, not left for later.
    with pytest.raises(TicketUnavailableError):
        await secret_services.backend.resolve(envelope, OWNER)


async def test_redeemed_ciphertext_is_removed(
    secret_services: SecretServices, settings: Settings
) -> None:
    """After a redeem the ciphertext is unpinned from the content store."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)
    block = settings.store.content_dir / envelope.cid
    assert block.exists()

    await secret_services.backend.resolve(envelope, OWNER)
    for _ in range(50):
        if not block.exists():
            break
        await asyncio.sleep(0.02)
    assert not block.exists()


async def test_unknown_secret_leaves_no_ticket(
    secret_services: SecretServices, settings: Settings, redis_url: str
) -> None:
    """Asking for a missing secret raises SecretNotFoundError and writes no ticket."""
    before = set(redis_keys(redis_url, settings.store.key_prefix))

    with pytest.raises(SecretNotFoundError) as caught:
        await secret_services.secrets.request_secret("nope", OWNER)

    assert caught.value.name == "nope"
    assert set(redis_keys(redis_url, settings.store.key_prefix)) == before


async def test_unredeemed_content_is_swept_after_expiry(
    secret_services: SecretServices,
    tickets: RedisTicketStore,
    content: EmbeddedContentStore,
    settings: Settings,
) -> None:
    """Ciphertext whose ticket nobody redeemed is removed once the ticket has expired,
    and not before."""
    envelope = await secret_services.secrets.request_secret("db_prod", OWNER)
    block = settings.store.content_dir / envelope.cid
    sweeper = ContentSweeper(tickets, content, grace=60)

    await sweeper.sweep_once(now=envelope.expires_at - 1)
    assert block.exists()

    await sweeper.sweep_once(now=envelope.expires_at + 61)
    assert not block.exists()
    with pytest.raises(ContentNotFoundError):
        # The ticket itself is still live in this test: its ciphertext is gone.
        await secret_services.backend.resolve(replace(envelope, ciphertext=b""), OWNER)


async def test_secret_too_large_for_one_block_is_refused_before_any_ticket(
    secret_services: SecretServices,
    vault_admin: VaultAdmin,
    settings: Settings,
    redis_url: str,
) -> None:
    """A secret past one 256 KiB block is refused by name, and no ticket is issued.

    Reported fault: a 5 MB secret spent its ticket, then the client retried
    Resolve and told the user the ticket was already used."""
    await vault_admin.write_secret("huge", {"blob": "Q" * 300_000})
    before = {k for k in redis_keys(redis_url, settings.store.key_prefix) if b":ticket:" in k}

    with pytest.raises(SecretTooLargeError) as caught:
        await secret_services.secrets.request_secret("huge", OWNER)

    assert caught.value.name == "huge"
    after = {k for k in redis_keys(redis_url, settings.store.key_prefix) if b":ticket:" in k}
    assert after == before


async def test_content_of_a_failed_store_is_still_indexed_for_the_sweeper(
    settings: Settings, tickets: RedisTicketStore
) -> None:
    """When the IPFS node does not answer the add, the CID it may still store later is
    indexed anyway, so the sweeper removes it after the ticket's time.

    Reported fault: adds the node finished after we gave up stayed pinned for good."""
    dead = replace(
        settings, store=replace(settings.store, ipfs_api=f"http://127.0.0.1:{free_port()}")
    )
    await tickets.take_expired(before=float("inf"), limit=10_000)

    async with open_stack(dead, tickets=tickets) as services:
        with pytest.raises(ContentUnavailableError):
            await services.secrets.request_secret("db_prod", OWNER)

    [cid] = await tickets.take_expired(before=float("inf"))
    assert cid.startswith("bafkrei")
