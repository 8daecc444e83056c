"""Async gRPC clients for the secrets service and the backend.

Channels are created inside the running event loop (`async with` or `open`).
Every call carries a deadline; concurrency is bounded per client, because an
unbounded burst on one channel ends in CANCELLED. Only calls that never reached
the server's code are retried, and `Resolve` is never retried: a ticket that
was redeemed but whose answer was lost must not be redeemed again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

import grpc
import grpc.aio

from custody import status
from custody.errors import DeadlineExceededError
from custody.tls import TlsIdentity
from protos.secrets.v1 import secrets_pb2 as pb
from protos.secrets.v1 import secrets_pb2_grpc as pb_grpc
from secrets_client.types import Envelope, Rendered, Requester

T = TypeVar("T")

_RETRY_DELAYS = (0.05, 0.2)
# A call refused by the server before our code ran (no error kind attached)
# changed nothing, so it may be sent again.
_REFUSED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
# A failed Resolve may have spent its ticket already (even RESOURCE_EXHAUSTED may
# be this side refusing a reply too large to receive), so it is never sent twice.
_NEVER: frozenset[grpc.StatusCode] = frozenset()


class _Client:
    """One channel with a deadline, a concurrency bound and error translation."""

    service = "service"

    def __init__(
        self,
        target: str,
        identity: TlsIdentity | None,
        *,
        timeout: float = 5.0,
        concurrency: int = 64,
    ) -> None:
        self._target = target
        self._identity = identity
        self._timeout = timeout
        self._limit = asyncio.Semaphore(concurrency)
        self._channel: grpc.aio.Channel | None = None

    async def open(self) -> Self:
        """Create the channel; must run inside the event loop that will use it."""
        options: list[tuple[str, Any]] = [("grpc.keepalive_time_ms", 30_000)]
        if self._identity is None:
            self._channel = grpc.aio.insecure_channel(self._target, options=options)
        else:
            credentials = self._identity.channel_credentials()
            self._channel = grpc.aio.secure_channel(self._target, credentials, options=options)
        self._bind(self._channel)

        return self

    def _bind(self, channel: grpc.aio.Channel) -> None:
        raise NotImplementedError

    async def _call(
        self, invoke: Callable[[float], Awaitable[T]], *, retry_on: frozenset[grpc.StatusCode]
    ) -> T:
        if self._channel is None:
            raise RuntimeError(f"The {self.service} client is not open.")
        deadline = time.monotonic() + self._timeout
        attempt = 0
        async with self._limit:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceededError(f"The {self.service} did not answer in time.")
                try:
                    return await invoke(remaining)
                except grpc.aio.AioRpcError as err:
                    if attempt < len(_RETRY_DELAYS) and status.is_refused(err, retry_on):
                        await asyncio.sleep(_RETRY_DELAYS[attempt])
                        attempt += 1
                        continue
                    raise status.from_rpc_error(err, self.service) from None

    async def aclose(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _requester(requester: Requester) -> pb.Requester:
    return pb.Requester(user_id=requester.user_id, chat_id=requester.chat_id)


class SecretsClient(_Client):
    """Client of `secrets.v1.SecretsService`."""

    service = "secrets service"
    _stub: pb_grpc.SecretsServiceStub

    def _bind(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.SecretsServiceStub(channel)

    async def request_secret(self, name: str, requester: Requester) -> Envelope:
        request = pb.RequestSecretRequest(name=name, requester=_requester(requester))
        response: pb.RequestSecretResponse = await self._call(
            lambda timeout: self._stub.RequestSecret(request, timeout=timeout), retry_on=_REFUSED
        )
        sealed = response.envelope

        return Envelope(
            ticket_id=sealed.ticket_id,
            cid=sealed.cid,
            expires_at=sealed.expires_at,
            ciphertext=sealed.ciphertext,
        )

    async def list_secrets(self, requester: Requester) -> list[str]:
        request = pb.ListSecretsRequest(requester=_requester(requester))
        response: pb.ListSecretsResponse = await self._call(
            lambda timeout: self._stub.ListSecrets(request, timeout=timeout), retry_on=_REFUSED
        )

        return list(response.names)


class BackendClient(_Client):
    """Client of `secrets.v1.BackendService`."""

    service = "backend"
    _stub: pb_grpc.BackendServiceStub

    def _bind(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.BackendServiceStub(channel)

    async def resolve(self, envelope: Envelope, requester: Requester) -> Rendered:
        request = pb.ResolveRequest(
            ticket_id=envelope.ticket_id,
            cid=envelope.cid,
            requester=_requester(requester),
            ciphertext=envelope.ciphertext,
        )
        response: pb.ResolveResponse = await self._call(
            lambda timeout: self._stub.Resolve(request, timeout=timeout),
            retry_on=_NEVER,
        )

        return Rendered(
            text=response.text,
            hidden=tuple((span.offset, span.length) for span in response.hidden),
            name=response.name,
            version=response.version,
        )
