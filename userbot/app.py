"""The long-running jobs behind each command: console, servers, Telegram."""

from __future__ import annotations

import asyncio
import signal

import structlog

from custody.content import ContentStore
from custody.tickets import TicketStore
from handlers import Dispatcher
from handlers.dispatcher import Access
from handlers.secrets import SecretServices
from handlers.secrets import router as secrets_router
from userbot.config import Settings
from userbot.console import run_console
from userbot.stack import (
    Backends,
    content_store,
    open_stack,
    open_ticket_store,
    remote_identity,
    start_backend_server,
    start_secrets_server,
)

log = structlog.get_logger("userbot")


def build_dispatcher(
    services: SecretServices, settings: Settings, own_username: str | None = None
) -> Dispatcher[SecretServices]:
    access = Access(allowed_users=settings.telegram.allowed_users)
    return Dispatcher([secrets_router], services, access, own_username=own_username)


async def run_console_app(
    settings: Settings,
    *,
    tickets: TicketStore | None = None,
    content: ContentStore | None = None,
) -> int:
    """`userbot console`: the terminal chat over the configured services."""
    async with open_stack(settings, tickets=tickets, content=content) as services:
        return await run_console(build_dispatcher(services, settings))


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


async def wait_for_stop_signal() -> None:
    """Return on SIGTERM, SIGINT or SIGHUP."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def serve(settings: Settings, which: str, grace: float = 5.0) -> int:
    """`userbot serve secrets|backend`: one server alone, until SIGTERM."""
    identity = remote_identity(settings)
    tickets = await open_ticket_store(settings)
    content = content_store(settings)
    backends = Backends(tickets=tickets, content=content)
    start = start_secrets_server if which == "secrets" else start_backend_server
    listen = settings.rpc.secrets_listen if which == "secrets" else settings.rpc.backend_listen
    try:
        started = await start(settings, backends, listen, identity)
        log.info("server.ready", server=which, port=started.port)
        await wait_for_stop_signal()
        log.info("server.stopping", server=which, grace_s=grace)
        await started.stop(grace)
    finally:
        await content.aclose()
        await tickets.aclose()

    return 0


async def run_telegram(settings: Settings) -> int:
    """`userbot run`: answer commands in Telegram until SIGTERM or disconnection."""
    from userbot.telegram import TelegramUserbot, open_client

    telegram = settings.telegram
    api_id, api_hash = telegram.require()
    client = await open_client(api_id, api_hash, telegram.session.reveal())
    try:
        me = await client.get_me()
        async with open_stack(settings) as services:
            dispatcher = build_dispatcher(services, settings, getattr(me, "username", None))
            bot = TelegramUserbot(client, dispatcher, flood_wait_cap=telegram.flood_wait_cap)
            async with bot:
                log.info("telegram.ready", user_id=getattr(me, "id", None))
                stop = asyncio.ensure_future(wait_for_stop_signal())
                gone = asyncio.ensure_future(client.disconnected)
                done, pending = await asyncio.wait(
                    {stop, gone}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
                if gone in done:
                    log.warning("telegram.disconnected")
                    return 1
    finally:
        await client.disconnect()

    return 0


async def login(settings: Settings) -> int:
    """`userbot login`: sign in on the terminal and print the session string for TG_SESSION."""
    from userbot.telegram import login as telegram_login

    api_id, api_hash = settings.telegram.require()
    session = await telegram_login(api_id, api_hash)
    print("Put this in TG_SESSION (it is as good as your password; keep it secret):")
    print(session)

    return 0
