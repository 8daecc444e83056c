"""Each server's Vault token can do its own job and nothing of the other's."""

from __future__ import annotations

import pytest

from custody.errors import VaultPermissionError
from custody.vault_admin import BACKEND_POLICY, SECRETS_POLICY, VaultAdmin
from handlers.secrets import SecretServices
from secrets_client import Requester
from userbot.config import Settings
from userbot.stack import vault_client


async def test_service_token_cannot_decrypt(settings: Settings) -> None:
    """The secrets service may create data keys but never unwrap one."""
    async with vault_client(settings, "secrets") as vault:
        data_key = await vault.generate_data_key()
        with pytest.raises(VaultPermissionError):
            await vault.decrypt_data_key(data_key.wrapped)


async def test_backend_token_can_only_decrypt(settings: Settings) -> None:
    """The backend may unwrap data keys but may not read secrets or create keys."""
    async with vault_client(settings, "secrets") as service:
        data_key = await service.generate_data_key()
    async with vault_client(settings, "backend") as vault:
        unwrapped = await vault.decrypt_data_key(data_key.wrapped)
        assert unwrapped.plaintext == data_key.plaintext
        with pytest.raises(VaultPermissionError):
            await vault.read_secret("db_prod")
        with pytest.raises(VaultPermissionError):
            await vault.generate_data_key()


async def test_policies_are_written(vault_admin: VaultAdmin) -> None:
    """setup-vault leaves both policies in place, unchanged on a second run."""
    steps = await vault_admin.ensure_policies()

    assert [(step.what, step.changed) for step in steps] == [
        (f"policy {SECRETS_POLICY}", False),
        (f"policy {BACKEND_POLICY}", False),
    ]


async def test_listing_walks_into_folders(
    secret_services: SecretServices, vault_admin: VaultAdmin
) -> None:
    """/secrets lists names inside folders as the paths /secret accepts, not the folders."""
    await vault_admin.write_secret("team/payments/stripe", {"key": "sk-demo"})

    names = await secret_services.secrets.list_secrets(Requester(user_id=5, chat_id=5))

    assert "team/payments/stripe" in names
    assert "db_prod" in names
    assert not [name for name in names if name.endswith("/")]
