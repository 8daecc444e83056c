"""`secrets.v1.BackendService`: steps 5 to 8 of the flow in DESIGN.md."""

from __future__ import annotations

import asyncio

import grpc.aio
import structlog

from backend.render import render_secret
from custody.content import ContentStore
from custody.content.cid import check_bytes, same_cid
from custody.envelope import Binding, decode_fields, unseal
from custody.errors import CommandError, IntegrityError, UserbotError
from custody.serving import Context, Guarded, rpc_method
from custody.tickets import TicketStore, ticket_ref
from custody.vault import VaultClient
from protos.secrets.v1 import secrets_pb2 as pb
from protos.secrets.v1 import secrets_pb2_grpc as pb_grpc

SERVICE_NAME = "secrets.v1.BackendService"
log = structlog.get_logger("backend")


class BackendServicer(Guarded, pb_grpc.BackendServiceServicer):
    """Redeems tickets and renders the secrets they stand for."""

    def __init__(
        self,
        vault: VaultClient,
        content: ContentStore,
        tickets: TicketStore,
        *,
        allowed_clients: frozenset[str] = frozenset(),
    ) -> None:
        self._vault = vault
        self._content = content
        self._tickets = tickets
        self._cleanups: set[asyncio.Task[None]] = set()
        self.allowed_clients = allowed_clients

    def register(self, server: grpc.aio.Server) -> None:
        pb_grpc.add_BackendServiceServicer_to_server(self, server)

    @rpc_method("BackendService")
    async def Resolve(self, request: pb.ResolveRequest, context: Context) -> pb.ResolveResponse:
        if not request.ticket_id or not request.HasField("requester"):
            raise CommandError("The request names no ticket or no requester.")
        user_id, chat_id = request.requester.user_id, request.requester.chat_id
        structlog.contextvars.bind_contextvars(
            ticket=ticket_ref(request.ticket_id), user_id=user_id
        )

        # From here on the ticket is spent, whatever happens next.
        ticket = await self._tickets.redeem(request.ticket_id)
        structlog.contextvars.bind_contextvars(secret_name=ticket.name, cid=ticket.cid)
        try:
            if (ticket.user_id, ticket.chat_id) != (user_id, chat_id):
                raise IntegrityError("the ticket was issued to another requester")
            if not same_cid(request.cid, ticket.cid):
                raise IntegrityError("the CID does not match the ticket")

            blob = request.ciphertext or await self._content.get(ticket.cid)
            check_bytes(ticket.cid, blob, ticket.sha256)

            key = await self._vault.decrypt_data_key(ticket.wrapped_key)
            binding = Binding(request.ticket_id, ticket.name, ticket.version, user_id, chat_id)
            try:
                fields = decode_fields(unseal(blob, key.plaintext, binding))
            finally:
                key.wipe()
        finally:
            # The wrapped key is gone with the ticket, so the ciphertext can never be
            # decrypted again; unpin it so the store can reclaim the space.
            self._remove_later(ticket.cid)

        rendered = render_secret(ticket.name, ticket.version, fields)
        structlog.contextvars.bind_contextvars(version=ticket.version)

        return pb.ResolveResponse(
            text=rendered.text,
            hidden=[pb.HiddenSpan(offset=o, length=n) for o, n in rendered.hidden],
            name=ticket.name,
            version=ticket.version,
        )

    def _remove_later(self, cid: str) -> None:
        task = asyncio.create_task(self._remove(cid))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _remove(self, cid: str) -> None:
        # On failure the CID stays indexed, and the sweeper tries again after expiry.
        try:
            await self._content.remove(cid)
            await self._tickets.release(cid)
        except UserbotError as exc:
            log.warning("content.unpin_failed", cid=cid, error=str(exc))

    async def drain(self) -> None:
        """Wait for pending unpins; call before closing the content store."""
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
