"""The Telegram adapter: the only module that imports Telethon.

Exports:
    `TelegramUserbot` listens for new messages on a connected `TelegramClient`, passes
    them to the handlers, posts their replies with hidden spans as spoilers and
    removes each reply again once its time is up.
    `MessageHandler` is what the adapter needs from the handlers (a `Dispatcher`).
    `build_client` makes a client from api_id, api_hash and a session string; no I/O.
    `ensure_authorised` connects a client within a deadline and checks its session is
    logged in; Telethon's connection errors become `ServiceUnavailableError` here only.
    `open_client` does both, for start-up.
    `login` signs in interactively and returns a new session string.
    `utf16_span` and `spoiler_entities` turn code-point spans into Telegram's offsets,
    at most `MAX_ENTITIES` of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar, cast

import structlog
from telethon import TelegramClient, errors, events, types
from telethon.sessions import StringSession

from custody.errors import ConfigError, ServiceUnavailableError
from handlers.messages import HiddenSpan, IncomingMessage, Reply

__all__ = [
    "MessageHandler",
    "TelegramUserbot",
    "build_client",
    "ensure_authorised",
    "login",
    "open_client",
    "spoiler_entities",
    "utf16_span",
]

log = structlog.get_logger("userbot.telegram")

T = TypeVar("T")

# Telegram refuses longer messages, counted in UTF-16 code units.
MAX_MESSAGE_LENGTH = 4096
# Telegram applies this many entities of a message and silently drops the rest, so a
# spoiler past the 100th would leave its value in clear.
MAX_ENTITIES = 100

# Telethon's timeout and retries only bound opening the socket (and reconnecting later);
# a data centre that accepts and then never answers would still hold start-up forever,
# which is what CONNECT_DEADLINE, over connecting and the first answers, is for.
CONNECT_TIMEOUT = 10.0
CONNECTION_RETRIES = 3
RETRY_DELAY = 2.0
CONNECT_DEADLINE = 30.0
_SESSION_REQUIREMENT = "must be an authorised session string; run `userbot login` to make one"


class MessageHandler(Protocol):
    async def handle(self, message: IncomingMessage) -> Reply | None: ...


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_span(text: str, span: HiddenSpan) -> tuple[int, int]:
    """Convert a code-point span of `text` to Telegram's UTF-16 (offset, length).

    "🔑 pw: x" with the span (6, 1) around "x" -> (7, 1): the key is two UTF-16 units.
    """
    end = span.offset + span.length
    if span.offset < 0 or span.length < 0 or end > len(text):
        raise ValueError(f"Span {span.offset}+{span.length} lies outside a {len(text)}-char text.")

    return _utf16_len(text[: span.offset]), _utf16_len(text[span.offset : end])


def spoiler_entities(text: str, hidden: Iterable[HiddenSpan]) -> list[Any]:
    """`MessageEntitySpoiler`s of `text` that cover every hidden span.

    Up to `MAX_ENTITIES` spans get one spoiler each. Past that, neighbouring spans share
    a spoiler, which then also hides the plain text between them.
    """
    ranges = [utf16_span(text, span) for span in hidden]
    if len(ranges) > MAX_ENTITIES:
        ranges = _merge_ranges(ranges, MAX_ENTITIES)

    return [types.MessageEntitySpoiler(offset, length) for offset, length in ranges]


def _merge_ranges(ranges: Iterable[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """At most `limit` (offset, length) ranges, in order, together covering all of `ranges`.

    With a limit of 2: (0, 2) (1, 3) (6, 1) (8, 1) -> (0, 4) (6, 3). The first two overlap
    and join at no cost; of the gaps left, 4..6 and 7..8, the narrower one is bridged.
    """
    joined: list[tuple[int, int]] = []
    # Empty ranges hide nothing, so they need no spoiler of their own.
    for offset, length in sorted(item for item in ranges if item[1] > 0):
        end = offset + length
        if joined and offset <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((offset, end))

    # Bridging the narrowest gaps leaves the least plain text behind a spoiler.
    by_width = sorted(range(1, len(joined)), key=lambda i: joined[i][0] - joined[i - 1][1])
    bridged = set(by_width[: max(0, len(joined) - limit)])
    merged: list[tuple[int, int]] = []
    for index, (start, end) in enumerate(joined):
        if index in bridged:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))

    return [(start, end - start) for start, end in merged]


class TelegramUserbot:
    """Answers commands arriving on `client` with the replies `handler` gives.

    Call `start()` once the client is connected and `aclose()` before disconnecting
    it; `aclose()` removes every reply still waiting for deletion right away, so a
    shutdown does not leave secrets in a chat.
    """

    def __init__(
        self,
        client: TelegramClient,
        handler: MessageHandler,
        *,
        flood_wait_cap: float = 30.0,
        close_grace: float = 10.0,
    ) -> None:
        self._client = client
        self._handler = handler
        self._flood_wait_cap = flood_wait_cap
        self._close_grace = close_grace
        self._self_id = 0
        self._started = False
        self._closing = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._deletions: dict[asyncio.Task[None], asyncio.Event] = {}

    async def start(self) -> None:
        """Learn the account's own id and begin answering new messages."""
        if self._started:
            return
        me = await self._client.get_me(input_peer=True)
        if me is None:
            raise ConfigError("TG_SESSION", _SESSION_REQUIREMENT)
        self._self_id = int(me.user_id)

        # Only NewMessage: Telegram reports edits, a reaction added to the command
        # included, as UpdateEditMessage, and answering those would post the secret
        # again for every edit or reaction.
        self._client.add_event_handler(self._on_new_message, events.NewMessage())
        self._started = True

    async def aclose(self) -> None:
        """Stop answering, then delete every pending reply now rather than later."""
        if self._started:
            self._client.remove_event_handler(self._on_new_message)
        self._closing = True

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._close_grace
        # A command being answered right now may still post a reply; wait for it
        # so that its deletion is part of the flush below.
        try:
            await asyncio.wait_for(self._idle.wait(), self._close_grace)
        except TimeoutError:
            log.warning("telegram.close_busy", in_flight=self._in_flight)

        for due in self._deletions.values():
            due.set()
        pending = set(self._deletions)
        if pending:
            _, left = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
            for task in left:
                task.cancel()
            if left:
                log.warning("telegram.deletions_abandoned", count=len(left))
                await asyncio.wait(left)

    async def __aenter__(self) -> TelegramUserbot:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _on_new_message(self, event: Any) -> None:
        if self._closing:
            return
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._answer(event.message)
        except Exception as exc:
            # Telethon would log the exception itself, message and all; keep it ours.
            log.error(
                "telegram.reply_failed",
                chat_id=event.chat_id,
                message_id=event.message.id,
                error=type(exc).__name__,
            )
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _answer(self, message: Any) -> None:
        # A forwarded command was typed by someone else, whoever forwarded it.
        if message.fwd_from is not None or not message.raw_text:
            return
        incoming = IncomingMessage(
            text=message.raw_text,
            # Telegram leaves the sender out of private-chat messages; ours are ours.
            sender_id=message.sender_id or (self._self_id if message.out else 0),
            chat_id=message.chat_id,
            outgoing=bool(message.out),
            message_id=message.id,
        )
        reply = await self._handler.handle(incoming)
        if reply is None:
            return
        length = _utf16_len(reply.text)
        if length > MAX_MESSAGE_LENGTH:
            # Splitting would scatter a secret over several messages; say why instead.
            reply = Reply(
                f"⚠️ The reply is too long for a Telegram message ({length} UTF-16 units;"
                f" the limit is {MAX_MESSAGE_LENGTH}). Read it with `userbot console`.",
                failed=True,
            )

        chat = await message.get_input_chat()
        sent = await self._with_flood_retry(
            "send",
            lambda: self._client.send_message(
                chat,
                reply.text,
                reply_to=message.id,
                formatting_entities=spoiler_entities(reply.text, reply.hidden),
                link_preview=False,
            ),
        )
        if reply.delete_after is not None:
            self._schedule_deletion(chat, incoming.chat_id, sent.id, reply.delete_after)

    def _schedule_deletion(self, chat: Any, chat_id: int, reply_id: int, delay: float) -> None:
        due = asyncio.Event()
        if self._closing:
            due.set()
        task = asyncio.create_task(self._delete_later(chat, chat_id, reply_id, delay, due))
        self._deletions[task] = due
        task.add_done_callback(lambda done: self._deletions.pop(done, None))

    async def _delete_later(
        self, chat: Any, chat_id: int, reply_id: int, delay: float, due: asyncio.Event
    ) -> None:
        # Whichever comes first: the reply's time is up, or aclose() wants it gone now.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(due.wait(), delay)

        try:
            await self._with_flood_retry(
                "delete", lambda: self._client.delete_messages(chat, [reply_id], revoke=True)
            )
        except Exception as exc:
            log.warning(
                "telegram.delete_failed",
                chat_id=chat_id,
                reply_id=reply_id,
                error=type(exc).__name__,
            )
            return
        log.info("telegram.reply_deleted", chat_id=chat_id, reply_id=reply_id)

    async def _with_flood_retry(self, action: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except errors.FloodWaitError as exc:
            wait = int(exc.seconds)
            if wait > self._flood_wait_cap:
                log.warning(
                    "telegram.flood_wait", action=action, retry_after=wait, outcome="gave_up"
                )
                raise
            log.warning("telegram.flood_wait", action=action, retry_after=wait, outcome="retry")
            await asyncio.sleep(wait)

        return await call()


def build_client(
    api_id: int,
    api_hash: str,
    session: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    connection_retries: int = CONNECTION_RETRIES,
    retry_delay: float = RETRY_DELAY,
) -> TelegramClient:
    """Make a client for the account in `session`; nothing is sent yet.

    `connect_timeout` bounds each attempt to open the connection, and after a failed
    attempt Telethon waits `retry_delay` seconds and tries up to `connection_retries`
    more times, on start-up and whenever Telegram drops the connection later.
    """
    try:
        string_session = StringSession(session) if session else None
    except (ValueError, struct.error) as exc:
        raise ConfigError("TG_SESSION", _SESSION_REQUIREMENT) from exc
    # Without a key, connecting would only make Telegram issue a fresh, unauthorised one.
    if string_session is None or string_session.auth_key is None:
        raise ConfigError("TG_SESSION", _SESSION_REQUIREMENT)

    return TelegramClient(
        string_session,
        api_id,
        api_hash,
        timeout=connect_timeout,
        connection_retries=connection_retries,
        retry_delay=retry_delay,
        # Telethon would otherwise sleep through flood waits of up to a minute in
        # silence; TelegramUserbot decides when waiting is worth it, and logs it.
        flood_sleep_threshold=0,
    )


async def ensure_authorised(client: TelegramClient, *, deadline: float = CONNECT_DEADLINE) -> None:
    """Connect `client` and make sure its session is logged in, never prompting.

    Raises:
        ServiceUnavailableError: Telegram refused the connection, dropped it, or did not
            answer within `deadline` seconds.
        ConfigError: Telegram answered, but the session is not logged in.
    """
    try:
        authorised = await _connect_within(client, deadline)
    except BaseException:
        # Leave no half-open connection and no retry loop behind, whatever went wrong.
        await client.disconnect()
        raise

    if not authorised:
        await client.disconnect()
        raise ConfigError("TG_SESSION", _SESSION_REQUIREMENT)


async def _connect_within(client: TelegramClient, deadline: float) -> bool:
    """Connect and ask whether the session is logged in; Telethon's errors become ours here."""
    try:
        # A data centre that accepts the connection and then stays silent would keep
        # Telethon waiting for its first answer forever; nothing inside it gives up.
        async with asyncio.timeout(deadline):
            await client.connect()
            return bool(await client.is_user_authorized())
    except (errors.AuthKeyNotFound, errors.AuthKeyError, errors.UnauthorizedError) as exc:
        # Telegram answered, and does not know the key or no longer accepts it.
        raise ConfigError("TG_SESSION", _SESSION_REQUIREMENT) from exc
    # TimeoutError comes before OSError, of which it is a subclass.
    except TimeoutError as exc:
        reason = f"it did not answer within {deadline:g} seconds"
        raise ServiceUnavailableError(f"Telegram could not be reached: {reason}.") from exc
    except OSError as exc:
        # ConnectionError included: Telethon raises it once its retries have run out.
        reason = "the connection to its data centre was refused, failed or broke off"
        raise ServiceUnavailableError(f"Telegram could not be reached: {reason}.") from exc
    except errors.InvalidBufferError as exc:
        reason = "it closed the connection with a transport-level error"
        raise ServiceUnavailableError(f"Telegram could not be reached: {reason}.") from exc
    except errors.RPCError as exc:
        reason = f"it turned the first request down with {type(exc).__name__}"
        raise ServiceUnavailableError(f"Telegram could not be reached: {reason}.") from exc


async def open_client(
    api_id: int, api_hash: str, session: str, *, deadline: float = CONNECT_DEADLINE
) -> TelegramClient:
    """Build a client from the settings and connect it within `deadline`, for start-up."""
    client = build_client(api_id, api_hash, session)
    await ensure_authorised(client, deadline=deadline)

    return client


async def login(api_id: int, api_hash: str) -> str:
    """Sign in on the terminal (phone, code, password) and return the session string."""
    client = TelegramClient(StringSession(), api_id, api_hash)
    try:
        await client.start()
        if await client.is_bot():
            await client.log_out()
            raise ConfigError("TG_SESSION", "must belong to a user account, not a bot")
        return cast(str, client.session.save())
    finally:
        await client.disconnect()
