"""`userbot demo`: the console chat with everything it needs started in-process.

An OpenBao dev server on a free loopback port, transit and policies prepared,
a few demo secrets written, Redis at REDIS_URL if it answers (an in-process
ticket store otherwise), and the embedded content store in a temporary folder.
Everything started here is stopped when the demo ends.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import structlog

from custody.errors import StoreUnavailableError
from custody.tickets import MemoryTicketStore, RedisTicketStore, TicketStore
from custody.urls import shown_url
from custody.vault_admin import BACKEND_POLICY, SECRETS_POLICY
from userbot.config import Secret, Settings
from userbot.devvault import dev_vault
from userbot.stack import vault_admin

log = structlog.get_logger("demo")

DEMO_SECRETS: dict[str, dict[str, str]] = {
    "db_prod": {
        "host": "db.prod.internal:5432",
        "username": "app",
        "password": "s3cr3t-demo-pass",
    },
    "api_token": {"token": "demo-api-token-4f9c2e71"},
    "smtp": {"host": "smtp.internal", "username": "mailer", "password": "demo-smtp-pass"},
}


async def demo_ticket_store(settings: Settings) -> TicketStore:
    """Redis at REDIS_URL if it answers; an in-process store otherwise."""
    url = settings.store.redis_url.reveal()
    try:
        store = await RedisTicketStore(url, settings.store.key_prefix, timeout=0.5).open()
    except StoreUnavailableError:
        log.info("demo.ticket_store", store="in-process", reason=f"no Redis at {shown_url(url)}")
        return MemoryTicketStore()
    log.info("demo.ticket_store", store="redis", redis=shown_url(url))

    return store


async def prepare_demo_vault(addr: str, root_token: str, settings: Settings) -> Settings:
    """Set up Vault as `setup-vault` would, write the demo secrets, and return
    settings that give each server its own narrow token instead of the root token."""
    dev = replace(settings.vault, addr=addr, namespace=None, cacert=None)
    root = replace(settings, vault=replace(dev, token=Secret(root_token)))
    async with vault_admin(root) as admin:
        await admin.setup()
        for name, fields in DEMO_SECRETS.items():
            await admin.write_secret(name, fields)
        secrets_token = await admin.create_token(SECRETS_POLICY)
        backend_token = await admin.create_token(BACKEND_POLICY)

    vault = replace(
        dev,
        token=Secret(""),
        secrets_token=Secret(secrets_token),
        backend_token=Secret(backend_token),
    )
    return replace(settings, vault=vault)


async def run_demo(settings: Settings) -> int:
    """Run the console against a self-contained set of services; return its exit code."""
    from userbot.app import run_console_app

    async with dev_vault() as server:
        log.info("demo.vault_started", addr=server.addr, names=sorted(DEMO_SECRETS))
        settings = await prepare_demo_vault(server.addr, server.root_token, settings)
        with tempfile.TemporaryDirectory(prefix="userbot-demo-content-") as content_dir:
            store = replace(
                settings.store,
                ipfs_api="",
                content_dir=Path(content_dir),
                key_prefix=f"{settings.store.key_prefix}demo:",
            )
            rpc = replace(settings.rpc, secrets_addr="", backend_addr="")
            settings = replace(settings, store=store, rpc=rpc)
            tickets = await demo_ticket_store(settings)
            try:
                return await run_console_app(settings, tickets=tickets)
            finally:
                await tickets.aclose()
