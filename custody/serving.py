"""What both gRPC servers do alike: TLS, health, back-pressure, one log line per RPC.

`rpc_method` wraps a servicer method so that every call ends in exactly one
`rpc.handled` line with `duration_ms` and `outcome`, and every `UserbotError`
leaves as the status code that `custody.status` assigns to it.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import grpc
import grpc.aio
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from custody import status
from custody.errors import CallerNotAllowedError, ConfigError, UserbotError, crash_fields
from custody.tls import TlsIdentity

log = structlog.get_logger("rpc")

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
Method = Callable[[Any, Req, Context], Awaitable[Resp]]


def _bindable(listen: str) -> bool:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, int(port)))
        except (OSError, ValueError):
            return False
    return True


def caller_names(context: Context) -> list[str]:
    """The common names in the caller's client certificate; none without TLS."""
    names = context.auth_context().get("x509_common_name") or []

    return [name.decode(errors="replace") for name in names]


def peer_identity(context: Context) -> str:
    """Name the caller by its client certificate, or by address without one."""
    names = caller_names(context)

    return ",".join(names) if names else f"unauthenticated {context.peer()}"


class Guarded:
    """What our servicers share: the certificate names they answer.

    Empty means any certificate the CA signed, which is all TLS itself checks.
    """

    allowed_clients: frozenset[str] = frozenset()

    def check_caller(self, context: Context) -> None:
        if self.allowed_clients and not set(caller_names(context)) & self.allowed_clients:
            raise CallerNotAllowedError(
                f"This service does not answer {peer_identity(context)}; "
                "its certificate name is not in GRPC_ALLOWED_CLIENTS."
            )


def rpc_method(service: str) -> Callable[[Method[Req, Resp]], Method[Req, Resp]]:
    """Log one summary line per call and map our exceptions to gRPC statuses."""

    def decorate(method: Method[Req, Resp]) -> Method[Req, Resp]:
        name = f"{service}/{method.__name__}"

        @functools.wraps(method)
        async def run(self: Guarded, request: Req, context: Context) -> Resp:
            started = time.perf_counter()
            outcome = "ok"
            failure: UserbotError | None = None
            with structlog.contextvars.bound_contextvars(rpc=name, peer=peer_identity(context)):
                try:
                    self.check_caller(context)
                    return await method(self, request, context)
                except UserbotError as exc:
                    outcome = status.kind_of(exc) or type(exc).__name__
                    failure = exc
                except asyncio.CancelledError:
                    # The caller went away or its deadline passed; the server is stopping.
                    outcome = "cancelled"
                    raise
                except Exception as exc:
                    outcome = "crash"
                    log.error("rpc.crashed", **crash_fields(exc))
                    failure = UserbotError("unexpected")
                finally:
                    log.info(
                        "rpc.handled",
                        outcome=outcome,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )
            # Aborting raises, so it happens after the summary line is written.
            assert failure is not None
            await status.abort(context, failure)

        return run

    return decorate


@dataclass
class RunningServer:
    """A started gRPC server with its health service."""

    server: grpc.aio.Server
    health: HealthServicer
    port: int

    async def stop(self, grace: float = 5.0) -> None:
        """Report NOT_SERVING, let calls in flight finish for `grace` seconds, stop."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def start_server(
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    listen: str,
    identity: TlsIdentity | None,
    max_concurrent_rpcs: int,
    listen_variable: str,
) -> RunningServer:
    """Start a server on `listen` (port 0 picks a free one) with TLS unless `identity` is None.

    Calls past `max_concurrent_rpcs` are refused with RESOURCE_EXHAUSTED at once,
    rather than queued until they time out.
    """
    names = tuple(service_names)
    # No SO_REUSEPORT: a second server on a busy port must fail, not share its traffic.
    server = grpc.aio.server(
        maximum_concurrent_rpcs=max_concurrent_rpcs, options=[("grpc.so_reuseport", 0)]
    )
    register(server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)

    try:
        if identity is None:
            port = server.add_insecure_port(listen)
        else:
            port = server.add_secure_port(listen, identity.server_credentials())
    except RuntimeError:
        port = 0
    if port == 0:
        # gRPC says only that it failed; a port we can bind ourselves means the
        # certificate was what it refused.
        if identity is not None and _bindable(listen):
            raise ConfigError(
                "GRPC_TLS_CERT",
                "must be a server certificate gRPC accepts (key usage digitalSignature,"
                " with its key in GRPC_TLS_KEY)",
            )
        raise ConfigError(
            listen_variable, f"must be a free host:port to listen on; {listen} is not"
        )
    await server.start()

    for name in (*names, ""):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("server.started", services=list(names), port=port, tls=identity is not None)

    return RunningServer(server=server, health=health, port=port)
