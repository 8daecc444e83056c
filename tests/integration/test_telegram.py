"""The Telegram adapter end to end: a real TelegramClient and Dispatcher, no network."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from telethon import functions, types

from custody.errors import ConfigError, ServiceUnavailableError
from handlers.dispatcher import Access, Dispatcher
from handlers.messages import HiddenSpan, Reply
from handlers.router import Command, Router
from handlers.secrets import SecretServices
from handlers.secrets import router as secrets_router
from tests.telegram_harness import (
    API_HASH,
    API_ID,
    FRIEND_ID,
    GROUP_ID,
    TelegramHarness,
    fake_session_string,
    refusing_port,
    silent_endpoint,
)
from userbot.telegram import build_client, ensure_authorised, open_client

SendMessage = functions.messages.SendMessageRequest
DeleteMessages = functions.messages.DeleteMessagesRequest

USERNAME = "app"
PASSWORD = "s3cr3t-demo-pass"
ALLOWED_ID = 700_010
STRANGER_ID = 700_666


def _utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def spoilers(request: Any) -> list[str]:
    """The parts of a sent message that Telegram shows as spoilers."""
    entities = request.entities or []
    assert all(isinstance(entity, types.MessageEntitySpoiler) for entity in entities)

    return [_utf16_slice(request.message, e.offset, e.length) for e in entities]


def outside_spoilers(request: Any) -> str:
    """The sent message with every spoiler cut out."""
    units = bytearray(request.message.encode("utf-16-le"))
    for entity in request.entities or []:
        units[2 * entity.offset : 2 * (entity.offset + entity.length)] = (
            b"\x00\x00" * entity.length
        )

    return units.decode("utf-16-le")


@pytest.fixture
async def harness() -> AsyncIterator[TelegramHarness]:
    harness = await TelegramHarness.start()
    yield harness
    await harness.aclose()


def dispatcher(services: SecretServices) -> Dispatcher[SecretServices]:
    return Dispatcher([secrets_router], services, Access(allowed_users=frozenset({ALLOWED_ID})))


async def test_owner_command_gets_one_reply_with_the_secret_as_spoilers(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """The owner's /secret gets exactly one reply to the command, values behind spoilers."""
    await harness.run_userbot(dispatcher(secret_services))

    command = await harness.owner_sends("/secret db_prod")

    [request] = harness.sent_of(SendMessage)
    assert request.peer.user_id == FRIEND_ID
    assert request.reply_to.reply_to_msg_id == command.id
    assert request.no_webpage is True
    hidden = spoilers(request)
    assert any(USERNAME in part for part in hidden)
    assert any(PASSWORD in part for part in hidden)
    assert PASSWORD not in outside_spoilers(request)


@pytest.mark.parametrize(
    ("who", "text"),
    [
        ("stranger", "/secret db_prod"),
        ("owner", "/secretx db_prod"),
        ("owner", "/secret@OtherBot db_prod"),
        ("owner", "just chatting about db_prod"),
    ],
)
async def test_messages_not_for_us_get_no_reply(
    harness: TelegramHarness, secret_services: SecretServices, who: str, text: str
) -> None:
    """A stranger's command, an unknown command, another bot's command or chat get no reply."""
    await harness.run_userbot(dispatcher(secret_services))

    if who == "owner":
        await harness.owner_sends(text)
    else:
        await harness.user_sends(STRANGER_ID, text)

    assert harness.sent_of(SendMessage) == []


async def test_reaction_to_an_unanswered_command_gets_no_reply(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """A reaction-only edit of a /secret command sent before start-up is not answered."""
    command = await harness.owner_sends("/secret db_prod")
    await harness.run_userbot(dispatcher(secret_services))

    await harness.react_edit(command)

    assert harness.sent_of(SendMessage) == []


async def test_reaction_to_an_answered_command_gets_no_second_reply(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """Reacting to a command that was answered does not post the secret again."""
    await harness.run_userbot(dispatcher(secret_services))
    command = await harness.owner_sends("/secret db_prod")

    await harness.react_edit(command)
    await harness.react_edit(command, "🔥")

    assert len(harness.sent_of(SendMessage)) == 1


async def test_forwarded_command_gets_no_reply(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """A /secret the owner merely forwards was typed by someone else, so it is not answered."""
    await harness.run_userbot(dispatcher(secret_services))

    await harness.owner_sends("/secret db_prod", forwarded_from=STRANGER_ID)

    assert harness.sent_of(SendMessage) == []


@pytest.mark.parametrize("in_group", [False, True], ids=["private", "group"])
async def test_allowed_user_gets_an_answer(
    harness: TelegramHarness, secret_services: SecretServices, in_group: bool
) -> None:
    """A user on the allowed list gets the secret, in the chat the command came from."""
    await harness.run_userbot(dispatcher(secret_services))

    command = await harness.user_sends(ALLOWED_ID, "/secret db_prod", in_group=in_group)

    [request] = harness.sent_of(SendMessage)
    if in_group:
        assert request.peer == types.InputPeerChat(GROUP_ID)
    else:
        assert request.peer.user_id == ALLOWED_ID
    assert request.reply_to.reply_to_msg_id == command.id
    assert any(PASSWORD in part for part in spoilers(request))


async def test_reply_is_deleted_after_delete_after(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """Once delete_after has passed, the reply (and only the reply) is deleted for everyone."""
    services = dataclasses.replace(secret_services, reply_ttl=0.05)
    await harness.run_userbot(dispatcher(services))

    await harness.owner_sends("/secret db_prod")
    [sent] = harness.answered_of(SendMessage)
    request = await harness.wait_for_request(DeleteMessages, within=5.0)

    assert request.id == [sent.result.id]
    assert request.revoke is True


async def test_aclose_deletes_pending_replies_at_once(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """Closing the userbot deletes replies still waiting for their time, rather than keep them."""
    services = dataclasses.replace(secret_services, reply_ttl=3600.0)
    bot = await harness.run_userbot(dispatcher(services))
    await harness.owner_sends("/secret db_prod")
    [sent] = harness.answered_of(SendMessage)
    assert harness.sent_of(DeleteMessages) == []

    await bot.aclose()

    [request] = harness.sent_of(DeleteMessages)
    assert request.id == [sent.result.id]


async def test_failed_deletion_is_logged_and_the_bot_carries_on(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """A deletion Telegram refuses is a logged warning, not a crash: the next command works."""
    services = dataclasses.replace(secret_services, reply_ttl=0.01)
    await harness.run_userbot(dispatcher(services), flood_wait_cap=5.0)
    harness.flood_next(3600, request_type=DeleteMessages)

    with structlog.testing.capture_logs() as logs:
        await harness.owner_sends("/secret db_prod")
        await harness.wait_for_request(DeleteMessages)
        await harness.owner_sends("/secret db_prod")

    assert len(harness.answered_of(SendMessage)) == 2
    [failure] = [entry for entry in logs if entry["event"] == "telegram.delete_failed"]
    assert failure["log_level"] == "warning"
    assert failure["error"] == "FloodWaitError"


async def test_short_flood_wait_is_retried_once(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """A FLOOD_WAIT below the cap is waited out and the reply still goes out, on the retry."""
    await harness.run_userbot(dispatcher(secret_services), flood_wait_cap=5.0)
    harness.flood_next(1)

    await harness.owner_sends("/secret db_prod")

    assert len(harness.sent_of(SendMessage)) == 2
    [sent] = harness.answered_of(SendMessage)
    assert any(PASSWORD in part for part in spoilers(sent.request))


async def test_long_flood_wait_gives_up_with_a_warning(
    harness: TelegramHarness, secret_services: SecretServices
) -> None:
    """A FLOOD_WAIT above the cap is not waited out: one attempt, a warning with retry_after."""
    await harness.run_userbot(dispatcher(secret_services), flood_wait_cap=5.0)
    harness.flood_next(3600)

    with structlog.testing.capture_logs() as logs:
        await harness.owner_sends("/secret db_prod")

    assert len(harness.sent_of(SendMessage)) == 1
    assert harness.answered_of(SendMessage) == []
    [warning] = [entry for entry in logs if entry["event"] == "telegram.flood_wait"]
    assert warning["log_level"] == "warning"
    assert warning["retry_after"] == 3600
    assert PASSWORD not in repr(logs)


_emoji_router: Router[None] = Router()


@_emoji_router.command("emoji", usage="/emoji", summary="a reply with emoji before its secret")
async def _emoji(command: Command, services: None) -> Reply:
    text = "🔑🇩🇪 é key: hunter2 👍"
    start = text.index("hunter2")
    return Reply(text, hidden=(HiddenSpan(start, len("hunter2")),))


async def test_spoiler_offsets_count_emoji_in_utf16(harness: TelegramHarness) -> None:
    """Astral-plane emoji before a hidden span shift its offset by two UTF-16 units each."""
    await harness.run_userbot(Dispatcher([_emoji_router], None, Access()))

    await harness.owner_sends("/emoji")

    [request] = harness.sent_of(SendMessage)
    [entity] = request.entities
    # 🔑 and the two regional indicators that make 🇩🇪 are astral, two units each.
    assert (entity.offset, entity.length) == (request.message.index("hunter2") + 3, 7)
    assert spoilers(request) == ["hunter2"]


@_emoji_router.command("long", usage="/long", summary="a reply longer than Telegram allows")
async def _long(command: Command, services: None) -> Reply:
    text = "key: " + "x" * 4095
    return Reply(text, hidden=(HiddenSpan(5, 4095),))


async def test_reply_over_telegram_limit_is_refused_in_one_line(harness: TelegramHarness) -> None:
    """A reply past 4096 UTF-16 units is replaced by one line saying so, without the value."""
    await harness.run_userbot(Dispatcher([_emoji_router], None, Access()))

    await harness.owner_sends("/long")

    [request] = harness.sent_of(SendMessage)
    assert "too long for a Telegram message (4100 UTF-16 units" in request.message
    assert "x" * 100 not in request.message
    assert len(request.message.splitlines()) == 1


@_emoji_router.command("wide", usage="/wide", summary="a secret of 150 fields")
async def _wide(command: Command, services: None) -> Reply:
    lines = [f"f{index:03d}: V{index:03d}" for index in range(150)]
    text = "\n".join(lines)
    starts = [text.index(f"V{index:03d}") for index in range(150)]
    return Reply(text, hidden=tuple(HiddenSpan(start, 4) for start in starts))


async def test_reported_reply_with_150_hidden_fields_shows_none_in_clear(
    harness: TelegramHarness,
) -> None:
    """Reported fault: Telegram ignores entities past the 100th, so field 101 on was visible.

    The reply now carries at most 100 spoilers, and no value is left outside them.
    """
    await harness.run_userbot(Dispatcher([_emoji_router], None, Access()))

    await harness.owner_sends("/wide")

    [request] = harness.sent_of(SendMessage)
    assert len(request.entities) <= 100
    assert "V" not in outside_spoilers(request)
    assert "f000" in outside_spoilers(request)
    for index in range(150):
        assert any(f"V{index:03d}" in part for part in spoilers(request))


@pytest.fixture
def no_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything asks on the terminal (phone, code or password)."""

    def refuse(*_: object) -> str:
        raise AssertionError("Start-up asked for input.")

    monkeypatch.setattr("builtins.input", refuse)
    monkeypatch.setattr("getpass.getpass", refuse)


def assert_unreachable_said_plainly(error: ServiceUnavailableError, port: int) -> None:
    message = str(error)
    assert message.startswith("Telegram could not be reached: ")
    assert message.endswith(".")
    assert "127.0.0.1" not in message
    assert str(port) not in message
    assert error.__cause__ is not None


@pytest.mark.usefixtures("no_prompt")
async def test_reported_refused_data_centre_is_service_unavailable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Reported fault: a refused connection crashed start-up with a bare ConnectionError.

    Once Telethon's retries run out, start-up stops with ServiceUnavailableError instead.
    """
    with refusing_port() as port:
        client = build_client(API_ID, API_HASH, fake_session_string(port), retry_delay=0)
        async with asyncio.timeout(10):
            with pytest.raises(ServiceUnavailableError) as caught:
                await ensure_authorised(client, deadline=5.0)

    assert_unreachable_said_plainly(caught.value, port)
    assert "refused" in str(caught.value)
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert not client.is_connected()
    assert capsys.readouterr() == ("", "")


@pytest.mark.usefixtures("no_prompt")
async def test_reported_refused_data_centre_does_not_outlast_the_deadline() -> None:
    """Reported fault: start-up could wait on a data centre for as long as Telethon retried.

    With the default retries and delay, the deadline still ends it, as ServiceUnavailableError.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    with refusing_port() as port, pytest.raises(ServiceUnavailableError) as caught:
        await open_client(API_ID, API_HASH, fake_session_string(port), deadline=0.5)

    assert loop.time() - started < 5.0
    assert_unreachable_said_plainly(caught.value, port)


@pytest.mark.usefixtures("no_prompt")
async def test_reported_silent_data_centre_is_service_unavailable_at_the_deadline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Reported fault: a data centre that accepts but never answers hung start-up for good.

    The deadline ends the wait with ServiceUnavailableError, and the connection is closed.
    """
    loop = asyncio.get_running_loop()
    async with silent_endpoint() as port:
        client = build_client(API_ID, API_HASH, fake_session_string(port))
        started = loop.time()
        with pytest.raises(ServiceUnavailableError) as caught:
            await ensure_authorised(client, deadline=0.5)
        elapsed = loop.time() - started

    assert 0.5 <= elapsed < 5.0
    assert_unreachable_said_plainly(caught.value, port)
    assert "did not answer within 0.5 seconds" in str(caught.value)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert not client.is_connected()
    assert capsys.readouterr() == ("", "")


async def test_unauthorised_session_is_a_config_error() -> None:
    """A session Telegram no longer accepts stops start-up with TG_SESSION named, no prompt."""
    harness = await TelegramHarness.start(authorised=False)
    try:
        with pytest.raises(ConfigError) as caught:
            await ensure_authorised(harness.client)
    finally:
        await harness.aclose()

    assert caught.value.variable == "TG_SESSION"
    assert "userbot login" in str(caught.value)
    assert harness.sent_of(functions.updates.GetStateRequest)
    assert not harness.client.is_connected()


@pytest.mark.parametrize("session", ["", "not a session", "1" + "A" * 352])
def test_unusable_session_string_is_a_config_error(session: str) -> None:
    """An empty, malformed or keyless session string is refused before anything is sent."""
    with pytest.raises(ConfigError) as caught:
        build_client(API_ID, API_HASH, session)

    assert caught.value.variable == "TG_SESSION"
