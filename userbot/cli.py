"""The `userbot` command: parses arguments, sets up logging, runs one job.

Every failure a user can cause ends in one line on standard error and a
non-zero exit status; no traceback reaches the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

import structlog

from custody.errors import ConfigError, UserbotError, crash_fields
from userbot.config import Settings, load_settings
from userbot.log import configure_logging

EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="userbot",
        description="A Telegram userbot that hands secrets from Vault to a chat, sealed all the"
        " way.",
    )
    parser.add_argument(
        "--env-file",
        help="settings file read after the environment (default: .env, if present)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run", help="run the Telegram userbot (needs TG_API_ID, TG_API_HASH, TG_SESSION)"
    )
    commands.add_parser(
        "login", help="log in to Telegram interactively and print a session string"
    )
    commands.add_parser(
        "console", help="chat on the terminal: one command per line of standard input"
    )
    commands.add_parser(
        "demo", help="the console with OpenBao, Redis or a stand-in, and IPFS embedded"
    )
    commands.add_parser("setup-vault", help="enable transit, create the key, write the policies")
    serve = commands.add_parser("serve", help="run one gRPC server alone")
    serve.add_argument("server", choices=("secrets", "backend"))

    return parser


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # SIGTERM and SIGHUP end the job like Ctrl-C does: by cancelling it, so every
    # `finally` runs and whatever it started (the demo's OpenBao) is stopped.
    # The servers and the Telegram bot install handlers of their own for a grace period.
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, task.cancel, f"signal {int(sig)}")

    return await _dispatch(args, settings)


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here so that `userbot --help` stays fast.
    if args.command == "console":
        from userbot.app import run_console_app

        return await run_console_app(settings)
    if args.command == "demo":
        from userbot.demo import run_demo

        return await run_demo(settings)
    if args.command == "setup-vault":
        from userbot.setup_vault import setup_vault

        return await setup_vault(settings)
    if args.command == "serve":
        from userbot.app import serve

        return await serve(settings, args.server)
    if args.command == "run":
        from userbot.app import run_telegram

        return await run_telegram(settings)
    if args.command == "login":
        from userbot.app import login

        return await login(settings)
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `userbot` console script."""
    # gRPC's C core writes its own lines to standard error, outside our log format
    # and its redaction; our errors say what went wrong. GRPC_VERBOSITY=error
    # brings them back for debugging.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(
            env_file=args.env_file or ".env", env_file_required=args.env_file is not None
        )
    except ConfigError as exc:
        print(f"userbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format)

    try:
        return asyncio.run(_run(args, settings))
    except asyncio.CancelledError as exc:
        # Cancelled by a signal handler above: exit as the shell expects, 128 + signal.
        reason = str(exc.args[0]) if exc.args else ""
        return 128 + int(reason.split()[-1]) if reason.startswith("signal ") else EXIT_INTERRUPTED
    except ConfigError as exc:
        print(f"userbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UserbotError as exc:
        print(f"userbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        structlog.get_logger("userbot").error(
            "userbot.crashed", command=args.command, **crash_fields(exc)
        )
        print(
            f"userbot: failed unexpectedly ({type(exc).__name__}); "
            "run with LOG_LEVEL=debug for the details.",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
