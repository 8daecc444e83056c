"""Assembles the parts from settings: stores, Vault clients, servers and clients.

The chat front ends (Telegram, the console, the demo) all ask `open_stack` for
the same `SecretServices`. A service whose address is not configured runs in
this process on a loopback port, behind mutual TLS with a throwaway CA.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import structlog

from backend.servicer import SERVICE_NAME as BACKEND_SERVICE
from backend.servicer import BackendServicer
from custody.content import ContentStore
from custody.content.embedded import EmbeddedContentStore
from custody.serving import RunningServer, start_server
from custody.sweeper import ContentSweeper
from custody.tickets import RedisTicketStore, TicketStore
from custody.tls import LOCAL_CLIENT_NAME, TlsIdentity, load_identity, local_pki
from custody.vault import VaultClient, VaultLocation
from custody.vault_admin import VaultAdmin
from handlers.secrets import SecretServices
from secrets_client import BackendClient, SecretsClient
from secrets_service.servicer import SERVICE_NAME as SECRETS_SERVICE
from secrets_service.servicer import SecretsServicer
from userbot.config import Settings

log = structlog.get_logger("userbot")

LOOPBACK_ANY_PORT = "127.0.0.1:0"
V = TypeVar("V", bound=VaultClient)


def _vault(settings: Settings, component: str, client_class: type[V]) -> V:
    vault = settings.vault
    vault.require()

    return client_class(
        vault.addr,
        vault.require_token(component).reveal(),
        VaultLocation(vault.kv_mount, vault.kv_prefix, vault.transit_mount, vault.transit_key),
        namespace=vault.namespace,
        cacert=vault.cacert,
        timeout=vault.timeout,
        workers=vault.workers,
    )


def vault_client(settings: Settings, component: str) -> VaultClient:
    """A Vault client holding the token of one component ("secrets" or "backend")."""
    return _vault(settings, component, VaultClient)


def vault_admin(settings: Settings) -> VaultAdmin:
    """A Vault client for set-up, holding VAULT_TOKEN."""
    return _vault(settings, "admin", VaultAdmin)


async def open_ticket_store(settings: Settings) -> RedisTicketStore:
    """Connect to Redis at REDIS_URL; raises StoreUnavailableError if it does not answer."""
    store = RedisTicketStore(settings.store.redis_url.reveal(), settings.store.key_prefix)

    return await store.open()


def content_store(settings: Settings) -> ContentStore:
    """IPFS through its RPC API when IPFS_API is set, the embedded store otherwise."""
    if settings.store.ipfs_api:
        # Imported only when used: aioipfs pulls in aiohttp and more.
        from custody.content.ipfs import IpfsContentStore

        return IpfsContentStore(settings.store.ipfs_api)

    return EmbeddedContentStore(settings.store.content_dir)


def remote_identity(settings: Settings) -> TlsIdentity | None:
    """TLS material for links to other processes; None only behind GRPC_INSECURE."""
    rpc = settings.rpc
    if rpc.insecure:
        log.warning("grpc.insecure", detail="GRPC_INSECURE is on: gRPC links are plaintext")
        return None

    return load_identity(rpc.tls_ca, rpc.tls_cert, rpc.tls_key)


@dataclass
class Backends:
    """What the in-process servers share."""

    tickets: TicketStore
    content: ContentStore


Cleanup = Callable[[], Awaitable[None]]


@dataclass
class StartedServer:
    """A server and what to close, in order, once it has stopped."""

    server: RunningServer
    cleanups: list[Cleanup]

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self, grace: float) -> None:
        await self.server.stop(grace)
        for cleanup in self.cleanups:
            await cleanup()


StartServer = Callable[[Settings, Backends, str, TlsIdentity | None], Awaitable[StartedServer]]


async def start_secrets_server(
    settings: Settings, backends: Backends, listen: str, identity: TlsIdentity | None
) -> StartedServer:
    """Start the secrets service, and the sweeper for content it stored but nobody redeemed."""
    vault = vault_client(settings, "secrets")
    servicer = SecretsServicer(
        vault,
        backends.content,
        backends.tickets,
        ticket_ttl=settings.store.ticket_ttl,
        inline_max=settings.store.inline_max,
        allowed_clients=settings.rpc.allowed_clients,
    )
    server = await start_server(
        servicer.register,
        [SECRETS_SERVICE],
        listen,
        identity,
        settings.rpc.server_concurrency,
        "SECRETS_SERVICE_LISTEN",
    )
    sweeper = ContentSweeper(backends.tickets, backends.content)
    sweeper.start()

    return StartedServer(server, [sweeper.aclose, vault.aclose])


async def start_backend_server(
    settings: Settings, backends: Backends, listen: str, identity: TlsIdentity | None
) -> StartedServer:
    """Start the backend; stopping it waits for the unpins it has begun."""
    vault = vault_client(settings, "backend")
    servicer = BackendServicer(
        vault, backends.content, backends.tickets, allowed_clients=settings.rpc.allowed_clients
    )
    server = await start_server(
        servicer.register,
        [BACKEND_SERVICE],
        listen,
        identity,
        settings.rpc.server_concurrency,
        "BACKEND_LISTEN",
    )

    return StartedServer(server, [servicer.drain, vault.aclose])


@contextlib.asynccontextmanager
async def open_stack(
    settings: Settings,
    *,
    tickets: TicketStore | None = None,
    content: ContentStore | None = None,
) -> AsyncIterator[SecretServices]:
    """Start what runs in-process, connect the clients, and stop it all on exit."""
    rpc = settings.rpc
    async with contextlib.AsyncExitStack() as stack:
        remote = remote_identity(settings) if rpc.secrets_addr or rpc.backend_addr else None
        local_server = local_client = None
        backends: Backends | None = None
        if not rpc.secrets_addr or not rpc.backend_addr:
            settings.vault.require()
            local_server, local_client = local_pki()
            if tickets is None:
                tickets = await open_ticket_store(settings)
                stack.push_async_callback(tickets.aclose)
            if content is None:
                content = content_store(settings)
                stack.push_async_callback(content.aclose)
            backends = Backends(tickets=tickets, content=content)

        # In-process servers answer only the client certificate made beside them.
        local = replace(settings, rpc=replace(rpc, allowed_clients=frozenset({LOCAL_CLIENT_NAME})))

        async def in_process(start: StartServer) -> str:
            assert backends is not None
            started = await start(local, backends, LOOPBACK_ANY_PORT, local_server)
            stack.push_async_callback(started.stop, 1.0)
            return f"127.0.0.1:{started.port}"

        if rpc.secrets_addr:
            secrets_target, secrets_identity = rpc.secrets_addr, remote
        else:
            secrets_target = await in_process(start_secrets_server)
            secrets_identity = local_client
        if rpc.backend_addr:
            backend_target, backend_identity = rpc.backend_addr, remote
        else:
            backend_target = await in_process(start_backend_server)
            backend_identity = local_client

        secrets = SecretsClient(
            secrets_target,
            secrets_identity,
            timeout=rpc.timeout,
            concurrency=rpc.client_concurrency,
        )
        backend = BackendClient(
            backend_target,
            backend_identity,
            timeout=rpc.timeout,
            concurrency=rpc.client_concurrency,
        )
        await stack.enter_async_context(secrets)
        await stack.enter_async_context(backend)

        yield SecretServices(
            secrets=secrets, backend=backend, reply_ttl=settings.telegram.reply_ttl
        )
