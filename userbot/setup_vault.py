"""`userbot setup-vault`: prepare Vault for the services, idempotently."""

from __future__ import annotations

import sys

from custody.vault_admin import BACKEND_POLICY, SECRETS_POLICY
from userbot.config import Settings
from userbot.stack import vault_admin


async def setup_vault(settings: Settings) -> int:
    """Enable KV v2 and transit, create the key, write the policies; print each step."""
    async with vault_admin(settings) as admin:
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
