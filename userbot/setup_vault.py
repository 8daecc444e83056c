"""`userbot setup-vault`: prepare Vault for the services, idempotently."""

from __future__ import annotations

import sys

from custody.vault import VaultLocation
from custody.vault_admin import BACKEND_POLICY, SECRETS_POLICY, VaultAdmin
from userbot.config import Settings


async def setup_vault(settings: Settings) -> int:
    """Enable KV v2 and transit, create the key, write the policies; print each step."""
    vault = settings.vault
    vault.require()
    token = vault.require_token("admin")
    location = VaultLocation(
        vault.kv_mount, vault.kv_prefix, vault.transit_mount, vault.transit_key
    )
    async with VaultAdmin(
        vault.addr,
        token.reveal(),
        location,
        namespace=vault.namespace,
        cacert=vault.cacert,
        timeout=vault.timeout,
    ) as admin:
        steps = await admin.setup()

    for step in steps:
        print(step)
    print(
        "Give each server its own token, e.g. "
        f"`bao token create -policy={SECRETS_POLICY}` for SECRETS_VAULT_TOKEN and "
        f"`bao token create -policy={BACKEND_POLICY}` for BACKEND_VAULT_TOKEN.",
        file=sys.stderr,
    )

    return 0
