"""Removes ciphertext whose ticket expired without being redeemed.

A redeemed ticket's content is removed by the backend right away. A ticket
that nobody redeems (the chat went away, the backend was down) leaves its
ciphertext behind; once the ticket has expired that ciphertext can never be
decrypted again, and the sweeper unpins it. Every replica may sweep: the
ticket store hands each CID to one sweeper only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from custody.content import ContentStore
from custody.errors import UserbotError
from custody.tickets import TicketStore

log = structlog.get_logger("sweeper")

# Clocks of replicas differ a little: sweep only well after a ticket's expiry.
GRACE_SECONDS = 60.0
INTERVAL_SECONDS = 30.0


class ContentSweeper:
    """Sweeps expired content every `interval` seconds while started."""

    def __init__(
        self,
        tickets: TicketStore,
        content: ContentStore,
        *,
        interval: float = INTERVAL_SECONDS,
        grace: float = GRACE_SECONDS,
    ) -> None:
        self._tickets = tickets
        self._content = content
        self._interval = interval
        self._grace = grace
        self._task: asyncio.Task[None] | None = None

    async def sweep_once(self, now: float | None = None) -> int:
        """Remove what expired more than the grace period before `now`; return how many."""
        before = (time.time() if now is None else now) - self._grace
        removed = 0
        while cids := await self._tickets.take_expired(before):
            for cid in cids:
                try:
                    await self._content.remove(cid)
                except UserbotError as exc:
                    log.warning("content.sweep_failed", cid=cid, error=str(exc))
                    continue
                removed += 1
        if removed:
            log.info("content.swept", removed=removed)

        return removed

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except UserbotError as exc:
                log.warning("content.sweep_failed", error=str(exc))
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="content-sweeper")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
