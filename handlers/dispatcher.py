"""Routes a message to its command handler and turns failures into replies."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic

import structlog

from custody.errors import UserbotError, crash_fields
from handlers.messages import IncomingMessage, Reply
from handlers.router import Command, Route, Router, ServicesT, parse_command

log = structlog.get_logger("handlers")


@dataclass(frozen=True, slots=True)
class Access:
    """Who may give commands: the account owner always, and these user ids."""

    allowed_users: frozenset[int] = frozenset()

    def permits(self, message: IncomingMessage) -> bool:
        return message.outgoing or message.sender_id in self.allowed_users


class Dispatcher(Generic[ServicesT]):
    """Finds the handler for a message and runs it.

    A message that is not a command, names an unknown command, addresses another
    bot (`/secret@OtherBot`) or comes from someone without access gets no reply
    at all: in a userbot most messages are ordinary chat.
    """

    def __init__(
        self,
        routers: Iterable[Router[ServicesT]],
        services: ServicesT,
        access: Access,
        own_username: str | None = None,
    ) -> None:
        self._routers = tuple(routers)
        self._services = services
        self._access = access
        self._own_username = own_username.lower() if own_username else None

    @property
    def routes(self) -> list[Route[ServicesT]]:
        return [route for router in self._routers for route in router]

    def _find(self, message: IncomingMessage) -> tuple[Route[ServicesT], Command] | None:
        parsed = parse_command(message.text)
        if parsed is None:
            return None
        if parsed.target is not None and parsed.target.lower() != self._own_username:
            return None
        for router in self._routers:
            route = router.get(parsed.name)
            if route is not None:
                return route, Command(message, parsed.name, parsed.args)

        return None

    async def handle(self, message: IncomingMessage) -> Reply | None:
        """Answer `message`, or return None when it is not for us."""
        found = self._find(message)
        if found is None or not self._access.permits(message):
            return None
        route, command = found

        started = time.perf_counter()
        outcome = "ok"
        try:
            reply = await route.handler(command, self._services)
        except UserbotError as exc:
            outcome = type(exc).__name__
            # One line, whatever the message: a reply is a status, not a report.
            reply = Reply("⚠️ " + " ".join(str(exc).split()), failed=True)
        except Exception as exc:
            outcome = "crash"
            log.error("command.crashed", command=route.name, **crash_fields(exc))
            reply = Reply(
                "⚠️ Something went wrong on our side; the bot's log has the details.", failed=True
            )
        log.info(
            "command.handled",
            command=route.name,
            user_id=message.sender_id,
            chat_id=message.chat_id,
            outcome=outcome,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

        return reply
