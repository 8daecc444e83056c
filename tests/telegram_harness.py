"""Drives a real TelegramClient offline: TL updates in, TL requests captured at the sender.

The client is the one `userbot.telegram.build_client` makes, from a session string
holding a made-up auth key and a loopback data-centre address. Before it could ever
open a socket its MTProto sender is swapped for `RecordingSender`, which keeps the
sender's contract (`send(request, ordered=False)` returns a future per request) and
answers from `FakeServer`, a model of the account's update state (pts, seq, message
ids). Updates go in where the real sender puts them, the client's updates queue, so
they pass the message box and the event builders exactly as they would live.

The harness never calls `client.connect()`: it logs in the way Telethon does right
after a successful connect (`_on_login`, which asks for the update state) and starts
the client's own update loop. Should a test call it (`ensure_authorised` does), the
recorder answers as an already-connected sender would, and Telethon returns at once.

For the real connect path there are two loopback data centres that never reach
Telegram: `refusing_port` (bound, not listening, so every connect is refused) and
`silent_endpoint` (accepts the connection and reads, but never answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telethon import errors, events, functions, types
from telethon.crypto import AuthKey
from telethon.network.mtprotosender import MTProtoSender
from telethon.sessions import StringSession

from userbot.telegram import MessageHandler, TelegramUserbot, build_client

API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"
OWNER_ID = 700_001
FRIEND_ID = 700_002
GROUP_ID = 4_100_001

# How long a fed update may take to reach every event handler before the test fails.
DISPATCH_TIMEOUT = 10.0

R = TypeVar("R")


def fake_session_string(port: int = 9) -> str:
    """A well-formed session string: random auth key, data centre on loopback `port`."""
    session = StringSession()
    # Loopback on purpose: should anything ever try to dial, it dials this machine.
    session.set_dc(2, "127.0.0.1", port)
    session.auth_key = AuthKey(secrets.token_bytes(256))

    return str(session.save())


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port where every connection is refused, for as long as the block runs."""
    # Bound but not listening: the port stays ours, and the kernel answers with RST.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def silent_endpoint() -> AsyncIterator[int]:
    """A loopback port that accepts connections and reads what comes, but never answers."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class Exchange:
    """One request the client sent and what the fake server answered."""

    request: Any
    result: Any = None
    error: BaseException | None = None


@dataclass
class FakeServer:
    """The account's side of Telegram, as far as update ordering goes."""

    authorised: bool = True
    pts: int = 100
    seq: int = 1
    last_message_id: int = 500
    date: dt.datetime = field(default_factory=_now)

    def next_pts(self, count: int = 1) -> int:
        self.pts += count
        return self.pts

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def answer(self, request: Any, owner: Any) -> Any:
        """The result Telegram would return for `request`; errors are raised."""
        if not self.authorised:
            raise errors.AuthKeyUnregisteredError(request=request)
        if isinstance(request, functions.messages.SendMessageRequest):
            return types.UpdateShortSentMessage(
                id=self.next_message_id(), pts=self.next_pts(), pts_count=1, date=_now(), out=True
            )
        if isinstance(request, functions.messages.DeleteMessagesRequest):
            count = len(request.id)
            return types.messages.AffectedMessages(pts=self.next_pts(count), pts_count=count)
        if isinstance(request, functions.updates.GetStateRequest):
            return types.updates.State(
                pts=self.pts, qts=0, date=self.date, seq=self.seq, unread_count=0
            )
        if isinstance(request, functions.updates.GetDifferenceRequest):
            return types.updates.DifferenceEmpty(date=self.date, seq=self.seq)
        if isinstance(request, functions.users.GetUsersRequest):
            return [owner]
        raise AssertionError(f"The fake server has no answer for {type(request).__name__}.")


class RecordingSender:
    """Stands where `MTProtoSender` stands; records requests, never opens a socket."""

    def __init__(self, server: FakeServer, updates_queue: asyncio.Queue[Any], owner: Any) -> None:
        self.server = server
        self.exchanges: list[Exchange] = []
        self._owner = owner
        # The same queue the real sender feeds; the client's update loop reads it.
        self._updates_queue = updates_queue
        self._connected = True
        self._disconnected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._floods: list[tuple[type[Any] | None, int]] = []
        self._changed = asyncio.Event()

    def flood_next(
        self,
        seconds: int,
        *,
        times: int = 1,
        request_type: type[Any] | None = functions.messages.SendMessageRequest,
    ) -> None:
        """Answer the next `times` requests of `request_type` (None: any) with FLOOD_WAIT."""
        self._floods.extend([(request_type, seconds)] * times)

    def deliver(self, updates: Any) -> None:
        """Hand `updates` to the client the way the sender's receive loop does."""
        self._updates_queue.put_nowait(updates)

    # The MTProtoSender surface TelegramClient uses.

    async def connect(self, connection: Any) -> bool:
        # Already "connected" from construction on, so Telethon's connect() stops here.
        return False

    def is_connected(self) -> bool:
        return self._connected

    def _transport_connected(self) -> bool:
        return False

    def _keepalive_ping(self, rnd_id: int) -> None:
        pass

    async def disconnect(self) -> None:
        self._connected = False
        if not self._disconnected.done():
            self._disconnected.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future[None]:
        return asyncio.shield(self._disconnected)

    def send(self, request: Any, ordered: bool = False) -> Any:
        if isinstance(request, list):
            return [self._send_one(item) for item in request]
        return self._send_one(request)

    def _send_one(self, request: Any) -> asyncio.Future[Any]:
        if not self._connected:
            raise ConnectionError("Cannot send requests while disconnected")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        exchange = Exchange(request)
        self.exchanges.append(exchange)
        self._changed.set()

        try:
            exchange.result = self._answer(request)
        except Exception as exc:
            exchange.error = exc
            future.set_exception(exc)
            return future
        # Results that move the account's pts go through the message box, as live.
        MTProtoSender._store_own_updates(self, exchange.result)
        future.set_result(exchange.result)

        return future

    def _answer(self, request: Any) -> Any:
        for index, (request_type, seconds) in enumerate(self._floods):
            if request_type is None or isinstance(request, request_type):
                del self._floods[index]
                raise errors.FloodWaitError(request=request, capture=seconds)

        return self.server.answer(request, self._owner)

    async def wait_for(self, predicate: Callable[[Exchange], bool], within: float) -> Exchange:
        """Wait until an exchange matching `predicate` has happened, and return it."""
        async with asyncio.timeout(within):
            while True:
                for exchange in self.exchanges:
                    if predicate(exchange):
                        return exchange
                self._changed.clear()
                await self._changed.wait()


class TelegramHarness:
    """A logged-in TelegramClient with a fake server behind it, and a chat to drive it.

    The account belongs to `OWNER_ID`; `FRIEND_ID` is the person the owner talks to
    in private, and `GROUP_ID` a basic group they share.
    """

    def __init__(self, client: Any, sender: RecordingSender, owner: Any) -> None:
        self.client = client
        self.sender = sender
        self.server = sender.server
        self.owner = owner
        self.users: dict[int, Any] = {OWNER_ID: owner}
        self.group = types.Chat(
            id=GROUP_ID,
            title="ops",
            photo=types.ChatPhotoEmpty(),
            participants_count=3,
            date=self.server.date,
            version=1,
        )
        self.add_user(FRIEND_ID)
        self._bots: list[TelegramUserbot] = []
        self._waiting: dict[int, asyncio.Future[None]] = {}

    @classmethod
    async def start(cls, *, authorised: bool = True) -> TelegramHarness:
        """Build the client, put the recorder in, and log in if `authorised`."""
        client = build_client(API_ID, API_HASH, fake_session_string())
        owner = types.User(
            id=OWNER_ID, is_self=True, access_hash=secrets.randbits(63), first_name="Owner"
        )
        server = FakeServer(authorised=authorised)
        sender = RecordingSender(server, client._updates_queue, owner)
        client._sender = sender
        harness = cls(client, sender, owner)

        if authorised:
            # What connect() does once the socket is up: learn who we are, get the
            # update state, then run the update loop.
            await client._on_login(owner)
            client._updates_handle = asyncio.get_running_loop().create_task(client._update_loop())

        return harness

    async def run_userbot(self, handler: MessageHandler, **options: Any) -> TelegramUserbot:
        """Start a `TelegramUserbot` on this client; `aclose()` closes it."""
        bot = TelegramUserbot(self.client, handler, **options)
        await bot.start()
        self._bots.append(bot)

        return bot

    async def aclose(self) -> None:
        for bot in self._bots:
            await bot.aclose()
        await self.client.disconnect()

    # What was sent.

    @property
    def sent(self) -> list[Any]:
        """Every request the client sent, in order, failed attempts included."""
        return [exchange.request for exchange in self.sender.exchanges]

    def sent_of(self, request_type: type[R]) -> list[R]:
        return [request for request in self.sent if isinstance(request, request_type)]

    def answered_of(self, request_type: type[Any]) -> list[Exchange]:
        """The exchanges for `request_type` that the server answered without an error."""
        return [
            exchange
            for exchange in self.sender.exchanges
            if isinstance(exchange.request, request_type) and exchange.error is None
        ]

    async def wait_for_request(self, request_type: type[R], within: float = 5.0) -> R:
        exchange = await self.sender.wait_for(
            lambda exchange: isinstance(exchange.request, request_type), within
        )
        request: R = exchange.request

        return request

    def flood_next(
        self,
        seconds: int,
        *,
        times: int = 1,
        request_type: type[Any] | None = functions.messages.SendMessageRequest,
    ) -> None:
        """Answer the next `times` requests of `request_type` with FLOOD_WAIT_`seconds`."""
        self.sender.flood_next(seconds, times=times, request_type=request_type)

    # What happens in the chats.

    def add_user(self, user_id: int) -> Any:
        user = types.User(
            id=user_id, access_hash=secrets.randbits(63), first_name=f"user{user_id}"
        )
        self.users[user_id] = user

        return user

    async def owner_sends(
        self, text: str, *, in_group: bool = False, forwarded_from: int | None = None
    ) -> Any:
        """The owner writes `text` to FRIEND_ID in private, or in the group.

        With `forwarded_from`, the owner forwards a message that user wrote instead.
        """
        if in_group:
            peer = types.PeerChat(GROUP_ID)
            sender = types.PeerUser(OWNER_ID)
        else:
            # Private-chat messages carry no from_id since layer 119, either way round.
            peer, sender = types.PeerUser(FRIEND_ID), None
        forward = None
        if forwarded_from is not None:
            forward = types.MessageFwdHeader(date=_now(), from_id=types.PeerUser(forwarded_from))

        return await self._new_message(peer, sender, text, out=True, fwd_from=forward)

    async def user_sends(self, user_id: int, text: str, *, in_group: bool = False) -> Any:
        """`user_id` writes `text` to the owner in private, or in the group."""
        if user_id not in self.users:
            self.add_user(user_id)
        if in_group:
            peer, sender = types.PeerChat(GROUP_ID), types.PeerUser(user_id)
        else:
            peer, sender = types.PeerUser(user_id), None

        return await self._new_message(peer, sender, text, out=False)

    async def react_edit(self, message: Any, emoticon: str = "👍") -> Any:
        """Someone reacts to `message`: an UpdateEditMessage with only reactions changed."""
        edited = types.Message(
            id=message.id,
            peer_id=message.peer_id,
            date=message.date,
            message=message.message,
            out=message.out,
            from_id=message.from_id,
            # A reaction is no edit a person made, so the client shows no "edited" mark.
            edit_hide=True,
            reactions=types.MessageReactions(
                results=[types.ReactionCount(reaction=types.ReactionEmoji(emoticon), count=1)]
            ),
        )
        await self.deliver(
            types.UpdateEditMessage(edited, pts=self.server.next_pts(), pts_count=1)
        )

        return edited

    async def _new_message(
        self, peer: Any, sender: Any, text: str, *, out: bool, fwd_from: Any = None
    ) -> Any:
        message = types.Message(
            id=self.server.next_message_id(),
            peer_id=peer,
            date=_now(),
            message=text,
            out=out,
            from_id=sender,
            fwd_from=fwd_from,
        )
        await self.deliver(
            types.UpdateNewMessage(message, pts=self.server.next_pts(), pts_count=1)
        )

        return message

    async def deliver(self, update: Any) -> None:
        """Send one update in an `Updates` envelope and wait until every handler saw it."""
        envelope = types.Updates(
            updates=[update],
            users=list(self.users.values()),
            chats=[self.group],
            date=_now(),
            seq=self.server.next_seq(),
        )
        done = asyncio.get_running_loop().create_future()
        self._waiting[id(update)] = done
        # Handlers run in the order they were added; the probe goes last each time so
        # that when it fires, every other handler has finished with the update.
        self.client.remove_event_handler(self._probe)
        self.client.add_event_handler(self._probe, events.Raw)

        self.sender.deliver(envelope)
        try:
            async with asyncio.timeout(DISPATCH_TIMEOUT):
                await done
        except TimeoutError:
            raise AssertionError(f"{type(update).__name__} never reached the handlers.") from None
        finally:
            self._waiting.pop(id(update), None)

    async def _probe(self, update: Any) -> None:
        done = self._waiting.get(id(update))
        if done is not None and not done.done():
            done.set_result(None)
