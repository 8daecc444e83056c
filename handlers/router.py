"""Command registry and the parse step that finds a command in a message."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from handlers.messages import IncomingMessage, Reply

ServicesT = TypeVar("ServicesT")

# "/secret db_prod"        -> name="secret", target=None,      args="db_prod"
# "/secret@OtherBot x"     -> name="secret", target="OtherBot", args="x"
# "/secretx db_prod"       -> name="secretx" (no such command, so ignored)
_COMMAND = re.compile(
    r"^/(?P<name>[A-Za-z0-9_]{1,32})(?:@(?P<target>[A-Za-z0-9_]{1,64}))?(?:\s+(?P<args>.*))?$",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command as typed: its name, the bot it addresses if any, its arguments."""

    name: str
    target: str | None
    args: str


def parse_command(text: str) -> ParsedCommand | None:
    """Split a message into a command, or return None if it is not one."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None

    return ParsedCommand(
        name=match["name"].lower(),
        target=match["target"],
        args=(match["args"] or "").strip(),
    )


@dataclass(frozen=True, slots=True)
class Command:
    """What a handler gets: the message and the command's arguments."""

    message: IncomingMessage
    name: str
    args: str


Handler = Callable[[Command, ServicesT], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route(Generic[ServicesT]):
    name: str
    usage: str
    summary: str
    handler: Handler[ServicesT]


class Router(Generic[ServicesT]):
    """One group of commands, registered by decorator."""

    def __init__(self) -> None:
        self._routes: dict[str, Route[ServicesT]] = {}

    def command(
        self, name: str, *, usage: str, summary: str
    ) -> Callable[[Handler[ServicesT]], Handler[ServicesT]]:
        """Register the decorated coroutine as the handler of `/name`."""

        def register(handler: Handler[ServicesT]) -> Handler[ServicesT]:
            if name in self._routes:
                raise ValueError(f"Command /{name} is registered twice.")
            self._routes[name] = Route(name, usage, summary, handler)
            return handler

        return register

    def get(self, name: str) -> Route[ServicesT] | None:
        return self._routes.get(name)

    def __iter__(self) -> Iterator[Route[ServicesT]]:
        return iter(self._routes.values())
