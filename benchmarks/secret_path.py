"""Benchmark: the whole `/secret` path against Vault's response wrapping, in one run.

    python -m benchmarks.secret_path [--rounds 300] [--concurrency 8] [--burst 400]
                                     [--storage dev|raft|both]

Both flows run against the same OpenBao (started here: a dev server in memory,
and one on integrated raft storage as production runs it) and the same Redis
(REDIS_URL, default the machine's on 127.0.0.1:6379):

- ours: a Telegram update carrying `/secret db_prod` goes into a real, offline
  TelegramClient; the clock stops when its SendMessageRequest reaches the
  sender. In between: handlers, both gRPC servers over mutual TLS, a KV read,
  a transit data key, AES-GCM, the content store, a Redis ticket, its redeem,
  a transit decrypt.
- wrap: the yardstick, Vault's own answer: a KV read with `X-Vault-Wrap-TTL`,
  then an unwrap of the single-use token, over one reused HTTP session.

Rounds alternate between the two, so drift on a shared machine hits both. It
prints medians, 99th percentiles, their ratios, and the throughput ratio at a
fixed concurrency. Absolute times vary between machines; ratios from one run hold.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import requests
from telethon import functions

from handlers.dispatcher import Access, Dispatcher
from handlers.messages import IncomingMessage
from handlers.secrets import router
from tests.telegram_harness import TelegramHarness
from userbot.config import load_settings
from userbot.demo import prepare_demo_vault
from userbot.devvault import start_dev_vault, start_raft_vault
from userbot.log import configure_logging
from userbot.stack import open_stack


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))

    return ordered[index]


class WrapFlow:
    """KV read wrapped in a single-use token, then unwrapped: two HTTP calls."""

    def __init__(self, addr: str, token: str) -> None:
        self._addr = addr
        self._session = requests.Session()
        self._session.headers["X-Vault-Token"] = token

    def once(self) -> None:
        wrapped = self._session.get(
            f"{self._addr}/v1/secret/data/db_prod", headers={"X-Vault-Wrap-TTL": "60s"}, timeout=10
        )
        wrapped.raise_for_status()
        token = wrapped.json()["wrap_info"]["token"]
        unwrapped = self._session.post(
            f"{self._addr}/v1/sys/wrapping/unwrap", json={"token": token}, timeout=10
        )
        unwrapped.raise_for_status()
        if "password" not in unwrapped.json()["data"]["data"]:
            raise RuntimeError("the unwrapped secret has no password field")


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()

    return (time.perf_counter() - started) * 1000


async def throughput(call: Callable[[], Awaitable[object]], total: int, concurrency: int) -> float:
    """Operations per second with `concurrency` in flight until `total` are done."""
    limit = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with limit:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))

    return total / (time.perf_counter() - started)


async def run(rounds: int, concurrency: int, burst: int, content_dir: Path, storage: str) -> None:
    vault = start_raft_vault(content_dir / "openbao") if storage == "raft" else start_dev_vault()
    try:
        settings = load_settings(
            environ={
                "VAULT_ADDR": vault.addr,
                "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                "REDIS_KEY_PREFIX": f"userbot-bench-{secrets.token_hex(4)}:",
                "CONTENT_DIR": str(content_dir),
            },
            env_file=None,
        )
        settings = await prepare_demo_vault(vault.addr, vault.root_token, settings)
        settings = replace(settings, telegram=replace(settings.telegram, reply_ttl=None))
        wrap = WrapFlow(vault.addr, vault.root_token)

        async with open_stack(settings) as services:
            dispatcher = Dispatcher([router], services, Access())
            harness = await TelegramHarness.start()
            await harness.run_userbot(dispatcher)
            send = functions.messages.SendMessageRequest

            async def ours() -> None:
                before = len(harness.sent_of(send))
                await harness.owner_sends("/secret db_prod")
                if len(harness.sent_of(send)) != before + 1:
                    raise RuntimeError("the update did not produce exactly one reply")

            async def wrapped() -> None:
                await asyncio.to_thread(wrap.once)

            for _ in range(20):  # warm up connections, caches and the JIT-less interpreter
                await ours()
                await wrapped()
            ours_ms, wrap_ms = [], []
            for _ in range(rounds):
                ours_ms.append(await timed(ours))
                wrap_ms.append(await timed(wrapped))
            await harness.aclose()

            # Throughput: the services under load (handlers down, no Telegram client),
            # against wrap+unwrap from as many threads.
            message = IncomingMessage("/secret db_prod", 1, 1, outgoing=True)
            ours_rate = await throughput(lambda: dispatcher.handle(message), burst, concurrency)
            wrap_rate = await throughput(wrapped, burst, concurrency)

        print(f"OpenBao {storage} storage")
        report(ours_ms, wrap_ms, ours_rate, wrap_rate, concurrency)
    finally:
        vault.stop()


def report(
    ours: list[float], wrap: list[float], ours_rate: float, wrap_rate: float, concurrency: int
) -> None:
    rows = [
        ("median ms", statistics.median(ours), statistics.median(wrap)),
        ("p99 ms", percentile(ours, 0.99), percentile(wrap, 0.99)),
        (f"ops/s at {concurrency}", ours_rate, wrap_rate),
    ]
    print(f"{'':<16}{'/secret path':>14}{'wrap+unwrap':>14}{'ratio':>10}")
    for label, mine, theirs in rows:
        print(f"{label:<16}{mine:>14.2f}{theirs:>14.2f}{mine / theirs:>10.2f}")
    print(f"rounds: {len(ours)} each, alternating; ratio = /secret path / wrap+unwrap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--burst", type=int, default=400)
    parser.add_argument("--storage", choices=("dev", "raft", "both"), default="both")
    args = parser.parse_args()
    configure_logging("warning")
    for storage in ("dev", "raft") if args.storage == "both" else (args.storage,):
        with tempfile.TemporaryDirectory(prefix="userbot-bench-") as content_dir:
            asyncio.run(run(args.rounds, args.concurrency, args.burst, Path(content_dir), storage))


if __name__ == "__main__":
    main()
