"""`secrets.v1.SecretsService`: steps 1 to 4 of the flow in DESIGN.md."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time

import grpc.aio
import structlog

from custody.content import ContentStore
from custody.content.cid import raw_cid
from custody.envelope import MAX_PLAINTEXT, Binding, encode_fields, seal
from custody.errors import CommandError, SecretTooLargeError, UserbotError
from custody.names import validate_secret_name
from custody.serving import Context, Guarded, rpc_method
from custody.tickets import Ticket, TicketStore, new_ticket_id, ticket_ref
from custody.vault import VaultClient
from protos.secrets.v1 import secrets_pb2 as pb
from protos.secrets.v1 import secrets_pb2_grpc as pb_grpc

SERVICE_NAME = "secrets.v1.SecretsService"
log = structlog.get_logger("secrets_service")


def requester_of(message: pb.Requester, present: bool) -> tuple[int, int]:
    """Return (user id, chat id); a call without a requester is refused."""
    if not present or message.user_id == 0:
        raise CommandError("The request names no requester.")

    return message.user_id, message.chat_id


class SecretsServicer(Guarded, pb_grpc.SecretsServiceServicer):
    """Seals secrets read from Vault under fresh transit data keys."""

    def __init__(
        self,
        vault: VaultClient,
        content: ContentStore,
        tickets: TicketStore,
        *,
        ticket_ttl: int,
        inline_max: int,
        allowed_clients: frozenset[str] = frozenset(),
    ) -> None:
        self._vault = vault
        self._content = content
        self._tickets = tickets
        self._ticket_ttl = ticket_ttl
        self._inline_max = inline_max
        self.allowed_clients = allowed_clients

    def register(self, server: grpc.aio.Server) -> None:
        pb_grpc.add_SecretsServiceServicer_to_server(self, server)

    @rpc_method("SecretsService")
    async def RequestSecret(
        self, request: pb.RequestSecretRequest, context: Context
    ) -> pb.RequestSecretResponse:
        name = validate_secret_name(request.name)
        user_id, chat_id = requester_of(request.requester, request.HasField("requester"))
        structlog.contextvars.bind_contextvars(secret_name=name, user_id=user_id)

        # The two Vault calls are independent; run them side by side.
        read = asyncio.ensure_future(self._vault.read_secret(name))
        create = asyncio.ensure_future(self._vault.generate_data_key())
        try:
            secret = await read
        except BaseException:
            create.cancel()
            with contextlib.suppress(asyncio.CancelledError, UserbotError):
                data_key = await create
                data_key.wipe()
            raise
        data_key = await create

        ticket_id = new_ticket_id()
        issued_at = time.time()
        expires_at = int(issued_at) + self._ticket_ttl
        binding = Binding(ticket_id, name, secret.version, user_id, chat_id)
        try:
            payload = encode_fields(secret.fields)
            if len(payload) > MAX_PLAINTEXT:
                raise SecretTooLargeError(name, len(payload), MAX_PLAINTEXT)
            blob = seal(payload, data_key.plaintext, binding)
        finally:
            data_key.wipe()

        # Indexed before it is stored: if the store finishes an add we gave up on,
        # the sweeper still knows the CID once the ticket's time is over.
        await self._tickets.track(raw_cid(blob), expires_at)
        cid = await self._content.put(blob)
        ticket = Ticket(
            wrapped_key=data_key.wrapped,
            cid=cid,
            sha256=hashlib.sha256(blob).hexdigest(),
            name=name,
            version=secret.version,
            user_id=user_id,
            chat_id=chat_id,
            issued_at=issued_at,
            expires_at=expires_at,
        )
        try:
            await self._tickets.issue(ticket_id, ticket, self._ticket_ttl)
        except BaseException:
            # No ticket means no one can ever decrypt this; don't leave it pinned.
            with contextlib.suppress(UserbotError):
                await self._content.remove(cid)
            raise
        structlog.contextvars.bind_contextvars(
            version=secret.version, cid=cid, ticket=ticket_ref(ticket_id), size=len(blob)
        )

        envelope = pb.Envelope(ticket_id=ticket_id, cid=cid, expires_at=expires_at)
        if len(blob) <= self._inline_max:
            envelope.ciphertext = blob

        return pb.RequestSecretResponse(envelope=envelope)

    @rpc_method("SecretsService")
    async def ListSecrets(
        self, request: pb.ListSecretsRequest, context: Context
    ) -> pb.ListSecretsResponse:
        requester_of(request.requester, request.HasField("requester"))
        names = await self._vault.list_secrets()

        return pb.ListSecretsResponse(names=names)
