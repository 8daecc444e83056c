"""Finding a command in a message, and the dispatcher that runs its handler."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from custody.errors import CommandError, SecretNotFoundError
from handlers.dispatcher import Access, Dispatcher
from handlers.messages import IncomingMessage, Reply
from handlers.router import Command, ParsedCommand, Router, parse_command

OWNER = 100
FRIEND = 200
STRANGER = 300
ANSWER = "pong: hunter2-answer"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        # "/secret db_prod" -> secret, no target, args "db_prod"
        ("/secret db_prod", ParsedCommand("secret", None, "db_prod")),
        ("/secret@OtherBot db_prod", ParsedCommand("secret", "OtherBot", "db_prod")),
        ("/SECRET x", ParsedCommand("secret", None, "x")),
        ("/SECRET DB_Prod", ParsedCommand("secret", None, "DB_Prod")),
        ("/secretx db_prod", ParsedCommand("secretx", None, "db_prod")),
        (" /help ", ParsedCommand("help", None, "")),
        ("/help", ParsedCommand("help", None, "")),
        ("/secret   db_prod  ", ParsedCommand("secret", None, "db_prod")),
        ("/note first line\nsecond line", ParsedCommand("note", None, "first line\nsecond line")),
        ("/secret\ndb_prod", ParsedCommand("secret", None, "db_prod")),
        ("hello", None),
        ("/ x", None),
        ("", None),
        ("a /secret db_prod", None),
        ("/secret@ db_prod", None),
        ("/secret-x", None),
    ],
)
def test_parse_command(text: str, parsed: ParsedCommand | None) -> None:
    """parse_command lowercases the name, keeps the target and args, and refuses non-commands."""
    assert parse_command(text) == parsed


def test_a_command_registered_twice_raises() -> None:
    """Registering a second handler under a name the router knows raises ValueError."""
    router: Router[None] = Router()

    @router.command("ping", usage="/ping", summary="answer")
    async def first(command: Command, services: None) -> Reply:
        return Reply("first")

    with pytest.raises(ValueError, match="/ping"):

        @router.command("ping", usage="/ping", summary="answer again")
        async def second(command: Command, services: None) -> Reply:
            return Reply("second")


def test_the_router_lists_its_routes() -> None:
    """A router yields one route per registered command, and finds each by name."""
    router: Router[None] = Router()

    @router.command("ping", usage="/ping", summary="answer")
    async def ping(command: Command, services: None) -> Reply:
        return Reply("pong")

    assert [route.name for route in router] == ["ping"]
    route = router.get("ping")
    assert route is not None
    assert route.handler is ping
    assert router.get("pong") is None


class Services:
    """What the test's handlers get: a record of the commands they saw."""

    def __init__(self) -> None:
        self.seen: list[Command] = []


def make_dispatcher(
    own_username: str | None = None, services: Services | None = None
) -> Dispatcher[Services]:
    router: Router[Services] = Router()

    @router.command("ping", usage="/ping [text]", summary="answer")
    async def ping(command: Command, services: Services) -> Reply:
        services.seen.append(command)
        return Reply(ANSWER)

    @router.command("refuse", usage="/refuse", summary="fail as a user error")
    async def refuse(command: Command, services: Services) -> Reply:
        raise CommandError("That name is not one you may ask for.")

    @router.command("missing", usage="/missing", summary="fail with a typed leaf")
    async def missing(command: Command, services: Services) -> Reply:
        raise SecretNotFoundError("db_prod")

    @router.command("crash", usage="/crash", summary="fail as a bug")
    async def crash(command: Command, services: Services) -> Reply:
        raise RuntimeError("internal detail hunter2 at 0xdeadbeef")

    access = Access(allowed_users=frozenset({FRIEND}))

    return Dispatcher([router], Services() if services is None else services, access, own_username)


def mine(text: str) -> IncomingMessage:
    return IncomingMessage(text=text, sender_id=OWNER, chat_id=-1, outgoing=True)


def incoming(text: str, sender_id: int) -> IncomingMessage:
    return IncomingMessage(text=text, sender_id=sender_id, chat_id=-1, outgoing=False)


async def test_a_plain_message_gets_no_reply() -> None:
    """A message that is not a command returns None."""
    assert await make_dispatcher().handle(mine("hello there")) is None


async def test_an_unknown_command_gets_no_reply() -> None:
    """A command no router knows returns None."""
    assert await make_dispatcher().handle(mine("/pingx")) is None


async def test_a_command_for_another_bot_gets_no_reply() -> None:
    """A command addressed to another username returns None, even with no own username set."""
    assert await make_dispatcher("myname").handle(mine("/ping@OtherBot")) is None
    assert await make_dispatcher().handle(mine("/ping@OtherBot")) is None


async def test_a_command_for_our_own_username_is_handled() -> None:
    """A command addressed to our own username, in any letter case, is handled."""
    reply = await make_dispatcher(own_username="myname").handle(mine("/ping@MyName hi"))

    assert reply == Reply(ANSWER)


async def test_a_stranger_gets_no_reply() -> None:
    """An incoming command from a user outside allowed_users returns None and runs nothing."""
    services = Services()

    assert await make_dispatcher(services=services).handle(incoming("/ping", STRANGER)) is None
    assert services.seen == []


async def test_an_allowed_user_is_answered() -> None:
    """An incoming command from a user in allowed_users is handled."""
    assert await make_dispatcher().handle(incoming("/ping", FRIEND)) == Reply(ANSWER)


async def test_the_handler_gets_the_message_name_and_args() -> None:
    """The handler receives the original message, the lowercased name and the trimmed args."""
    services = Services()
    message = incoming("/PING  some args ", FRIEND)

    await make_dispatcher(services=services).handle(message)

    assert services.seen == [Command(message, "ping", "some args")]


async def test_the_owners_own_message_is_handled() -> None:
    """An outgoing command is handled though the owner is not in allowed_users."""
    assert await make_dispatcher().handle(mine("/ping")) == Reply(ANSWER)


@pytest.mark.parametrize("text", ["/refuse", "/missing"])
async def test_a_userbot_error_becomes_a_one_line_warning(text: str) -> None:
    """A handler's UserbotError becomes a failed one-line reply that starts with '⚠️'."""
    reply = await make_dispatcher().handle(mine(text))

    assert reply is not None
    assert reply.failed
    assert reply.text.startswith("⚠️")
    assert "\n" not in reply.text


async def test_a_crash_becomes_a_generic_warning() -> None:
    """A handler's RuntimeError becomes a failed generic reply that hides the error's message."""
    reply = await make_dispatcher().handle(mine("/crash"))

    assert reply is not None
    assert reply.failed
    assert reply.text.startswith("⚠️")
    assert "hunter2" not in reply.text
    assert "0xdeadbeef" not in reply.text


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("/ping", "ok"),
        ("/refuse", "CommandError"),
        ("/missing", "SecretNotFoundError"),
        ("/crash", "crash"),
    ],
)
async def test_each_handled_command_logs_one_summary_line(text: str, outcome: str) -> None:
    """Each handled command logs exactly one command.handled event with outcome and duration_ms."""
    with capture_logs() as logs:
        await make_dispatcher().handle(mine(text))

    handled = [entry for entry in logs if entry["event"] == "command.handled"]
    assert len(handled) == 1
    assert handled[0]["outcome"] == outcome
    assert handled[0]["command"] == text.removeprefix("/")
    assert isinstance(handled[0]["duration_ms"], float)
    assert handled[0]["duration_ms"] >= 0


async def test_ignored_messages_log_nothing() -> None:
    """A message that gets no reply leaves no log event."""
    dispatcher = make_dispatcher()

    with capture_logs() as logs:
        await dispatcher.handle(mine("hello"))
        await dispatcher.handle(mine("/unknown"))
        await dispatcher.handle(incoming("/ping", STRANGER))

    assert logs == []


@pytest.mark.parametrize("text", ["/ping", "/refuse", "/missing", "/crash"])
async def test_no_log_event_contains_the_reply(text: str) -> None:
    """No captured log event holds the reply text, whatever the outcome."""
    with capture_logs() as logs:
        reply = await make_dispatcher().handle(mine(text))

    assert reply is not None
    assert logs
    for entry in logs:
        assert reply.text not in repr(entry)
        assert all(reply.text not in str(value) for value in entry.values())
