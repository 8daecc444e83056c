"""The `userbot` command as a user runs it: real processes, real OpenBao and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import port_is_closed, redis_keys
from userbot.devvault import DevVault, find_bao, free_port, start_dev_vault

USERBOT = str(Path(sys.executable).with_name("userbot"))


@pytest.fixture(scope="module")
def cli_vault() -> Iterator[DevVault]:
    """A dev server of this module's own, since one test stops it."""
    server = start_dev_vault()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cli_env(
    cli_vault: DevVault, redis_url: str, key_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("VAULT_", "BAO_"))
    }
    env.update(
        VAULT_ADDR=cli_vault.addr,
        VAULT_TOKEN=cli_vault.root_token,
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=f"{key_prefix}cli:",
        CONTENT_DIR=str(tmp_path_factory.mktemp("cli-content")),
        LOG_FORMAT="json",
    )
    return env


def userbot(
    env: dict[str, str], *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [USERBOT, *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_setup_vault_is_idempotent(cli_env: dict[str, str], tmp_path: Path) -> None:
    """A second `userbot setup-vault` finds everything present and changes nothing."""
    first = userbot(cli_env, "setup-vault", cwd=tmp_path)
    second = userbot(cli_env, "setup-vault", cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert "created: transit secrets engine at transit/" in first.stdout
    assert "created: policy userbot-backend" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout
    assert second.stdout.count("present:") == 5


def test_console_prints_a_secret_written_with_bao(
    cli_env: dict[str, str], cli_vault: DevVault, tmp_path: Path
) -> None:
    """`userbot console` prints the fields of a secret written at secret/db_prod with bao."""
    assert userbot(cli_env, "setup-vault", cwd=tmp_path).returncode == 0
    subprocess.run(
        [
            find_bao(),
            "kv",
            "put",
            "-mount=secret",
            "db_prod",
            "username=cli-user",
            "password=cli-pass-7f3a",
        ],
        env=cli_env,
        check=True,
        capture_output=True,
    )

    result = userbot(cli_env, "console", stdin="/secret db_prod\n", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "username: cli-user" in result.stdout
    assert "password: cli-pass-7f3a" in result.stdout
    assert "cli-pass-7f3a" not in result.stderr


def test_console_unknown_secret_is_one_line(
    cli_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    """`/secret nope` prints one line naming `nope`, no traceback, and leaves no ticket."""
    before = set(redis_keys(redis_url, cli_env["REDIS_KEY_PREFIX"]))

    result = userbot(cli_env, "console", stdin="/secret nope\n", cwd=tmp_path)

    assert result.stdout.strip().splitlines() == ["⚠️ There is no secret named 'nope'."]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1
    assert set(redis_keys(redis_url, cli_env["REDIS_KEY_PREFIX"])) == before


def test_bad_setting_is_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    """A malformed setting stops start-up with one line naming the variable."""
    result = userbot({**cli_env, "TICKET_TTL": "soon"}, "console", stdin="/help\n", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TICKET_TTL" in lines[0]


def test_run_without_session_exits_with_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    """`userbot run` never prompts: without Telegram settings it says what is missing."""
    env = {k: v for k, v in cli_env.items() if not k.startswith("TG_")}

    result = userbot(env, "run", cwd=tmp_path)

    assert result.returncode == 2
    assert "TG_API_ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_with_vault_stopped_is_one_line(
    cli_env: dict[str, str], cli_vault: DevVault, redis_url: str, tmp_path: Path
) -> None:
    """With Vault stopped, `/secret db_prod` says Vault is unreachable in one line and
    leaves no ticket. Runs last in this module: it stops the module's dev server."""
    cli_vault.stop()
    before = set(redis_keys(redis_url, cli_env["REDIS_KEY_PREFIX"]))

    result = userbot(cli_env, "console", stdin="/secret db_prod\n", cwd=tmp_path)

    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "Vault" in lines[0]
    assert "unreachable" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1
    assert set(redis_keys(redis_url, cli_env["REDIS_KEY_PREFIX"])) == before


@pytest.mark.parametrize("redis_answers", [True, False], ids=["redis", "in-process"])
def test_demo_prints_the_demo_secret(
    redis_url: str, key_prefix: str, tmp_path: Path, redis_answers: bool
) -> None:
    """`userbot demo` starts its own OpenBao and prints db_prod; it says in one log line
    whether tickets live in Redis or in-process, and leaves no server running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "IPFS_"))}
    env.update(
        REDIS_URL=redis_url if redis_answers else f"redis://127.0.0.1:{free_port()}/0",
        REDIS_KEY_PREFIX=f"{key_prefix}demo:",
        LOG_FORMAT="json",
    )

    result = userbot(env, "demo", stdin="/secret db_prod\n", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "password: s3cr3t-demo-pass" in result.stdout
    store_lines = [line for line in result.stderr.splitlines() if "demo.ticket_store" in line]
    assert len(store_lines) == 1
    assert ('"store": "redis"' in store_lines[0]) is redis_answers
    assert "s3cr3t-demo-pass" not in result.stderr
    [started] = [
        json.loads(line) for line in result.stderr.splitlines() if "demo.vault_started" in line
    ]
    port = int(started["addr"].rsplit(":", 1)[1])
    assert port_is_closed(port)
