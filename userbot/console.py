"""The console chat: one chat line per line of standard input, replies on standard output.

It goes through the same handlers as Telegram, as the account owner, so
`printf '/secret db_prod\\n' | userbot console` works in a script.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from handlers import Dispatcher, IncomingMessage
from handlers.router import parse_command
from handlers.secrets import SecretServices

# The console speaks as the account owner in a chat of its own.
CONSOLE_USER_ID = 1
CONSOLE_CHAT_ID = 1


async def run_console(
    dispatcher: Dispatcher[SecretServices],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Answer each line until end of input; return 1 if any command failed, else 0."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    failed = False
    message_id = 0

    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        message_id += 1
        message = IncomingMessage(
            text=text,
            sender_id=CONSOLE_USER_ID,
            chat_id=CONSOLE_CHAT_ID,
            outgoing=True,
            message_id=message_id,
        )

        reply = await dispatcher.handle(message)
        if reply is None:
            hint = "Not a command" if parse_command(text) is None else "Unknown command"
            stdout.write(f"{hint}; try /help.\n")
            failed = True
        else:
            stdout.write(reply.text + "\n")
            failed = failed or reply.failed
        stdout.flush()

    return 1 if failed else 0
