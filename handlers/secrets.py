"""The `/secret`, `/secrets` and `/help` commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from custody.errors import CommandError
from custody.names import validate_secret_name
from handlers.messages import HiddenSpan, Reply
from handlers.router import Command, Router
from secrets_client.types import Envelope, Rendered, Requester


class SecretsApi(Protocol):
    async def request_secret(self, name: str, requester: Requester) -> Envelope: ...

    async def list_secrets(self, requester: Requester) -> list[str]: ...


class BackendApi(Protocol):
    async def resolve(self, envelope: Envelope, requester: Requester) -> Rendered: ...


@dataclass(frozen=True, slots=True)
class SecretServices:
    """What the secret commands need: the two services and the reply lifetime."""

    secrets: SecretsApi
    backend: BackendApi
    reply_ttl: float | None


router: Router[SecretServices] = Router()


def _requester(command: Command) -> Requester:
    return Requester(user_id=command.message.sender_id, chat_id=command.message.chat_id)


@router.command("secret", usage="/secret <name>", summary="show a secret, hidden, for a while")
async def secret(command: Command, services: SecretServices) -> Reply:
    if not command.args:
        raise CommandError("Usage: /secret <name>, for example /secret db_prod.")
    name = validate_secret_name(command.args)
    requester = _requester(command)

    envelope = await services.secrets.request_secret(name, requester)
    rendered = await services.backend.resolve(envelope, requester)

    hidden = tuple(HiddenSpan(offset, length) for offset, length in rendered.hidden)
    return Reply(rendered.text, hidden=hidden, delete_after=services.reply_ttl)


@router.command("secrets", usage="/secrets", summary="list the secret names you can ask for")
async def list_secrets(command: Command, services: SecretServices) -> Reply:
    names = await services.secrets.list_secrets(_requester(command))
    if not names:
        return Reply("No secrets are available.")

    return Reply("Secrets: " + ", ".join(names))


@router.command("help", usage="/help", summary="list the commands")
async def help_(command: Command, services: SecretServices) -> Reply:
    lines = [f"{route.usage} - {route.summary}" for route in router]

    return Reply("\n".join(lines))
