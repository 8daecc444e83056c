"""The console chat: one chat line per line of standard input, replies on standard output.

It goes through the same handlers as Telegram, as the account owner, so
`printf '/secret db_prod\\n' | userbot console` works in a script.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
import threading
from collections.abc import AsyncIterator
from typing import TextIO

from handlers import Dispatcher, IncomingMessage
from handlers.router import parse_command
from handlers.secrets import SecretServices

# The console speaks as the account owner in a chat of its own.
CONSOLE_USER_ID = 1
CONSOLE_CHAT_ID = 1
# Longer lines are refused rather than read whole: a command is short.
MAX_LINE = 16 * 1024
TOO_LONG = object()
# Control characters other than newline and tab, shown escaped on a terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _read_lines(
    stdin: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object]
) -> None:
    # Runs in a daemon thread: a blocked read must never keep the process from exiting.
    while True:
        line = stdin.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE and not line.endswith("\n"):
            while line and not line.endswith("\n"):
                line = stdin.readline(MAX_LINE)
            loop.call_soon_threadsafe(queue.put_nowait, TOO_LONG)
            continue
        loop.call_soon_threadsafe(queue.put_nowait, line)
        if not line:
            return


async def iter_lines(stdin: TextIO) -> AsyncIterator[str | None]:
    """Yield each line of `stdin`, or None for a line past MAX_LINE, until end of input."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    reader = threading.Thread(
        target=_read_lines,
        args=(stdin, asyncio.get_running_loop(), queue),
        name="console-stdin",
        daemon=True,
    )
    reader.start()
    while True:
        line = await queue.get()
        if line is TOO_LONG:
            yield None
            continue
        assert isinstance(line, str)
        if not line:
            return
        yield line


def _shown(text: str, terminal: bool) -> str:
    # On a terminal, escape sequences inside a secret must not drive the terminal.
    if not terminal:
        return text
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


async def run_console(
    dispatcher: Dispatcher[SecretServices],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Answer each line until end of input; return 1 if any command failed, else 0."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if isinstance(stdout, io.TextIOWrapper):
        # A terminal that cannot show a character gets an escape, not a crash
        # after the ticket is already spent.
        stdout.reconfigure(errors="backslashreplace")
    interactive = stdin.isatty()
    terminal = stdout.isatty()
    failed = False
    message_id = 0

    def prompt() -> None:
        if interactive:
            stdout.write("> ")
            stdout.flush()

    prompt()
    async for line in iter_lines(stdin):
        text = line.strip() if line is not None else None
        if text == "":
            prompt()
            continue
        message_id += 1
        if text is None:
            answer, ok = f"Line too long: a command fits in {MAX_LINE} characters.", False
        else:
            answer, ok = await _answer(dispatcher, text, message_id)
        stdout.write(_shown(answer, terminal) + "\n")
        stdout.flush()
        failed = failed or not ok
        prompt()

    return 1 if failed else 0


async def _answer(
    dispatcher: Dispatcher[SecretServices], text: str, message_id: int
) -> tuple[str, bool]:
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
        return f"{hint}; try /help.", False

    return reply.text, not reply.failed
