"""Each server's Vault token can do its own job and nothing of the other's."""

from __future__ import annotations

import pytest

from custody.errors import VaultPermissionError
from custody.vault_admin import BACKEND_POLICY, SECRETS_POLICY, VaultAdmin
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
        assert await vault.decrypt_data_key(data_key.wrapped) == data_key.plaintext
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
