"""The whole `/secret` path with the ciphertext on a real js-ipfs node, fetched by CID."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from custody.content.ipfs import IpfsContentStore
from custody.errors import IntegrityError
from custody.tickets import RedisTicketStore
from custody.vault_admin import VaultAdmin
from handlers.secrets import SecretServices
from secrets_client import Requester
from userbot.config import Settings
from userbot.demo import DEMO_SECRETS
from userbot.stack import open_stack

pytestmark = pytest.mark.ipfs

OWNER = Requester(user_id=3003, chat_id=4004)


@pytest.fixture(scope="module")
async def ipfs_settings(settings: Settings, ipfs_api: str) -> Settings:
    """IPFS_API set, and nothing inline: the backend must fetch every ciphertext."""
    return replace(settings, store=replace(settings.store, ipfs_api=ipfs_api, inline_max=0))


@pytest.fixture(scope="module")
async def ipfs_services(
    ipfs_settings: Settings, tickets: RedisTicketStore
) -> AsyncIterator[SecretServices]:
    async with open_stack(ipfs_settings, tickets=tickets) as services:
        yield services


@pytest.fixture
async def ipfs(ipfs_api: str) -> AsyncIterator[IpfsContentStore]:
    async with IpfsContentStore(ipfs_api) as store:
        yield store


async def test_secret_travels_through_ipfs(ipfs_services: SecretServices) -> None:
    """With IPFS_API set, db_prod comes back exactly, its ciphertext fetched by CID."""
    envelope = await ipfs_services.secrets.request_secret("db_prod", OWNER)
    assert envelope.ciphertext == b""
    assert envelope.cid.startswith("bafkrei")

    rendered = await ipfs_services.backend.resolve(envelope, OWNER)

    assert sorted(rendered.text[o : o + n] for o, n in rendered.hidden) == sorted(
        DEMO_SECRETS["db_prod"].values()
    )


async def test_ipfs_holds_only_ciphertext(
    ipfs_services: SecretServices, ipfs: IpfsContentStore, vault_admin: VaultAdmin
) -> None:
    """The block on the node does not contain a planted value."""
    planted = f"planted-ipfs-{secrets.token_hex(12)}"
    await vault_admin.write_secret("planted_ipfs", {"value": planted})

    envelope = await ipfs_services.secrets.request_secret("planted_ipfs", OWNER)
    block = await ipfs.get(envelope.cid)

    assert planted.encode() not in block
    assert planted in (await ipfs_services.backend.resolve(envelope, OWNER)).text


async def test_swapped_cid_on_ipfs_is_an_integrity_error(ipfs_services: SecretServices) -> None:
    """A ticket presented with another ciphertext's CID fails before any decryption."""
    first = await ipfs_services.secrets.request_secret("db_prod", OWNER)
    second = await ipfs_services.secrets.request_secret("smtp", OWNER)

    with pytest.raises(IntegrityError):
        await ipfs_services.backend.resolve(replace(first, cid=second.cid), OWNER)
