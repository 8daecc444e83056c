"""Settings: where each value comes from, how bad values stop start-up, what stays masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.errors import ConfigError
from userbot.config import Secret, Settings, load_settings


def settings_from(environ: dict[str, str], env_file: Path | None = None) -> Settings:
    return load_settings(environ=environ, env_file=env_file)


def test_defaults_without_any_variable(tmp_path: Path) -> None:
    """With nothing set, every setting takes its documented default."""
    settings = settings_from({"XDG_DATA_HOME": str(tmp_path)})

    assert settings.vault.addr == ""
    assert not settings.vault.token
    assert settings.vault.kv_mount == "secret"
    assert settings.vault.transit_mount == "transit"
    assert settings.vault.transit_key == "userbot"
    assert settings.vault.timeout == 5.0
    assert settings.store.redis_url.reveal() == "redis://127.0.0.1:6379/0"
    assert settings.store.key_prefix == "userbot:"
    assert settings.store.ticket_ttl == 120
    assert settings.store.ipfs_api == ""
    assert settings.store.content_dir == tmp_path / "secrets-userbot" / "content"
    assert settings.rpc.secrets_listen == "127.0.0.1:50051"
    assert settings.rpc.backend_listen == "127.0.0.1:50052"
    assert settings.rpc.insecure is False
    assert settings.rpc.timeout == 5.0
    assert settings.telegram.api_id is None
    assert settings.telegram.allowed_users == frozenset()
    assert settings.telegram.reply_ttl == 60.0
    assert settings.log_level == "info"
    assert settings.log_format == "auto"


def test_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    """A variable set in both places takes the environment's value; the file fills the rest."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "VAULT_ADDR=http://from-file:8200\nTICKET_TTL=30\nALLOWED_USERS=7, 8\n", encoding="utf-8"
    )

    settings = settings_from({"VAULT_ADDR": "http://from-env:8200"}, env_file)

    assert settings.vault.addr == "http://from-env:8200"
    assert settings.store.ticket_ttl == 30
    assert settings.telegram.allowed_users == frozenset({7, 8})


def test_a_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    """Naming a .env file that does not exist falls back to the environment and defaults."""
    settings = settings_from({"TICKET_TTL": "45"}, tmp_path / "absent.env")

    assert settings.store.ticket_ttl == 45


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TICKET_TTL", "abc"),
        ("TICKET_TTL", "0"),
        ("RPC_TIMEOUT", "-1"),
        ("VAULT_ADDR", "ftp://x"),
        ("VAULT_ADDR", "not a url"),
        ("VAULT_ADDR", "http://[::1"),
        ("REDIS_URL", "http://x"),
        ("REDIS_URL", "unix://"),
        ("SECRETS_SERVICE_ADDR", "localhost"),
        ("SECRETS_SERVICE_ADDR", "127.0.0.1:²"),
        ("TG_API_ID", "abc"),
        ("TG_API_ID", "²"),
        ("ALLOWED_USERS", "1,x"),
        ("GRPC_INSECURE", "maybe"),
        ("LOG_LEVEL", "loud"),
    ],
)
def test_a_malformed_value_names_its_variable_in_one_line(variable: str, value: str) -> None:
    """A bad value raises ConfigError whose variable is the culprit and whose text is one line."""
    with pytest.raises(ConfigError) as caught:
        settings_from({variable: value})

    assert caught.value.variable == variable
    message = str(caught.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_a_unix_socket_redis_url_is_accepted() -> None:
    """REDIS_URL may name a Unix socket, as its list of schemes promises."""
    settings = settings_from({"REDIS_URL": "unix:///run/redis/redis.sock?db=2"})

    assert settings.store.redis_url.reveal() == "unix:///run/redis/redis.sock?db=2"


def test_a_rejected_url_does_not_echo_its_password() -> None:
    """The error for a URL with the wrong scheme does not repeat the password it carried."""
    with pytest.raises(ConfigError) as caught:
        settings_from({"REDIS_URL": "http://:redis-password@127.0.0.1:6379/0"})

    assert "redis-password" not in str(caught.value)


def test_secret_never_shows_its_value() -> None:
    """A Secret's repr, str and f-string show asterisks, never the value."""
    secret = Secret("hunter2")

    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2"


def test_settings_repr_hides_every_secret() -> None:
    """The repr of the whole Settings shows none of the tokens, hashes, session or Redis URL."""
    hidden = {
        "VAULT_TOKEN": "hvs.root-token-value",
        "SECRETS_VAULT_TOKEN": "hvs.secrets-token-value",
        "BACKEND_VAULT_TOKEN": "hvs.backend-token-value",
        "TG_API_HASH": "0123456789abcdef-api-hash",
        "TG_SESSION": "1BVtsOKABu-session-string",
        "REDIS_URL": "redis://:redis-password@127.0.0.1:6379/0",
    }

    shown = repr(settings_from(hidden))

    for value in hidden.values():
        assert value not in shown
    assert "redis-password" not in shown


def test_token_for_falls_back_to_vault_token() -> None:
    """A component without its own token uses VAULT_TOKEN; one with its own token uses that."""
    vault = settings_from(
        {"VAULT_TOKEN": "hvs.shared", "BACKEND_VAULT_TOKEN": "hvs.backend-only"}
    ).vault

    assert vault.token_for("secrets").reveal() == "hvs.shared"
    assert vault.token_for("backend").reveal() == "hvs.backend-only"


def test_reply_ttl_zero_keeps_replies() -> None:
    """REPLY_TTL=0 turns scheduled deletion off: reply_ttl is None."""
    assert settings_from({"REPLY_TTL": "0"}).telegram.reply_ttl is None


def test_vault_require_names_vault_addr() -> None:
    """VaultSettings.require() with no VAULT_ADDR raises ConfigError naming VAULT_ADDR."""
    vault = settings_from({}).vault

    with pytest.raises(ConfigError) as caught:
        vault.require()

    assert caught.value.variable == "VAULT_ADDR"


def test_vault_require_passes_with_an_address() -> None:
    """VaultSettings.require() returns quietly once VAULT_ADDR is set."""
    settings_from({"VAULT_ADDR": "https://vault.example:8200"}).vault.require()


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"TG_API_HASH": "abc"}, "TG_API_ID"),
        ({"TG_API_ID": "12345"}, "TG_API_HASH"),
    ],
)
def test_telegram_require_names_the_missing_variable(
    environ: dict[str, str], variable: str
) -> None:
    """TelegramSettings.require() raises ConfigError naming whichever of the pair is missing."""
    telegram = settings_from(environ).telegram

    with pytest.raises(ConfigError) as caught:
        telegram.require()

    assert caught.value.variable == variable


def test_telegram_require_returns_the_credentials() -> None:
    """TelegramSettings.require() returns api_id as a number and api_hash revealed."""
    telegram = settings_from({"TG_API_ID": "12345", "TG_API_HASH": "abc"}).telegram

    assert telegram.require() == (12345, "abc")
