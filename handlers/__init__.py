"""Chat commands: parse, check who asks, call the services, reply.

Nothing here imports Telethon. The Telegram adapter and the console chat turn
their messages into `IncomingMessage` and send back the `Reply` they get.
"""

from handlers.dispatcher import Dispatcher
from handlers.messages import HiddenSpan, IncomingMessage, Reply

__all__ = ["Dispatcher", "HiddenSpan", "IncomingMessage", "Reply"]
