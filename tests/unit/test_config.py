"""Settings: where each value comes from, how bad values stop start-up, what stays masked."""

from __future__ import annotations

import os
import threading
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
        ("VAULT_TIMEOUT", "inf"),
        ("REPLY_TTL", "nan"),
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


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "redis://:pw-secret@127.0.0.1:99999/0"),
        ("REDIS_URL", "rediss://:pw-secret@127.0.0.1:0/0"),
        ("REDIS_URL", "redis://:pw-secret@127.0.0.1:port/0"),
        ("VAULT_ADDR", "http://127.0.0.1:99999"),
    ],
)
def test_reported_url_with_a_bad_port_stops_start_up(variable: str, value: str) -> None:
    """Reported fault: a port out of range passed, then `.port` raised deep inside the client.

    Now load_settings names the variable and asks for a port from 1 to 65535, echoing nothing.
    """
    with pytest.raises(ConfigError) as caught:
        settings_from({variable: value})

    assert caught.value.variable == variable
    assert "65535" in str(caught.value)
    assert "pw-secret" not in str(caught.value)


@pytest.mark.parametrize("path", ["/abc", "/0/1", "/-1", "/db0"])
def test_reported_redis_url_path_that_is_no_database_number_stops_start_up(path: str) -> None:
    """Reported fault: redis-py ignores a path it cannot read as a number and uses database 0.

    Now REDIS_URL must have no path, or `/` followed by the database number.
    """
    with pytest.raises(ConfigError) as caught:
        settings_from({"REDIS_URL": f"redis://127.0.0.1:6379{path}"})

    assert caught.value.variable == "REDIS_URL"


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379",
        "redis://127.0.0.1:6379/",
        "rediss://:pw@[::1]:6380/15",
        "unix:///run/redis/redis.sock",
    ],
)
def test_redis_urls_with_or_without_a_database_number_are_accepted(url: str) -> None:
    """REDIS_URL may leave out the database, name it by number, or name a Unix socket."""
    assert settings_from({"REDIS_URL": url}).store.redis_url.reveal() == url


@pytest.mark.parametrize(
    "addr", ["http://admin:pw-secret@127.0.0.1:8200", "https://hvs.pw-secret@vault:8200"]
)
def test_reported_vault_addr_with_credentials_stops_start_up(addr: str) -> None:
    """Reported fault: credentials in VAULT_ADDR were accepted and could end up in logs.

    Now load_settings refuses them and points at VAULT_TOKEN, without repeating them.
    """
    with pytest.raises(ConfigError) as caught:
        settings_from({"VAULT_ADDR": addr})

    assert caught.value.variable == "VAULT_ADDR"
    assert "must not carry credentials" in str(caught.value)
    assert "pw-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "maximum", "past"),
    [
        ("VAULT_WORKERS", "256", "257"),
        ("RPC_CLIENT_CONCURRENCY", "100000", "100001"),
        ("RPC_SERVER_CONCURRENCY", "100000", "100001"),
        ("TICKET_TTL", "86400", "86401"),
        ("INLINE_CIPHERTEXT_MAX", "4194304", "4194305"),
        ("VAULT_TIMEOUT", "600", "600.5"),
        ("RPC_TIMEOUT", "600", "600.5"),
        ("REPLY_TTL", "172800", "172801"),
        ("FLOOD_WAIT_CAP", "3600", "3600.5"),
    ],
)
def test_reported_unbounded_number_now_stops_at_its_maximum(
    variable: str, maximum: str, past: str
) -> None:
    """Reported fault: huge numbers passed and failed later; each now accepts up to its bound."""
    settings_from({variable: maximum})

    with pytest.raises(ConfigError) as caught:
        settings_from({variable: past})

    assert caught.value.variable == variable


TOKEN_VARIABLES = [
    "VAULT_TOKEN",
    "SECRETS_VAULT_TOKEN",
    "BACKEND_VAULT_TOKEN",
    "TG_API_HASH",
    "TG_SESSION",
]


@pytest.mark.parametrize("variable", TOKEN_VARIABLES)
@pytest.mark.parametrize("inside", [" ", "\r\n", "\t", "\x00", "\x7f", "\u200b"])
def test_reported_token_with_spaces_or_control_characters_stops_start_up(
    variable: str, inside: str
) -> None:
    """Reported fault: a CR/LF pasted into a token failed later, in a message quoting it.

    Now load_settings refuses the token and names its variable, without echoing any of it.
    """
    with pytest.raises(ConfigError) as caught:
        settings_from({variable: f"left-secret{inside}right-secret"})

    assert caught.value.variable == variable
    assert "left-secret" not in str(caught.value)
    assert "right-secret" not in str(caught.value)


@pytest.mark.parametrize("variable", TOKEN_VARIABLES)
def test_a_line_break_around_a_token_is_trimmed(variable: str) -> None:
    """A CR/LF before or after a token, as a paste often leaves, is dropped, not refused."""
    settings = settings_from({variable: "\r\nhvs.token\r\n"})

    tokens = {
        "VAULT_TOKEN": settings.vault.token,
        "SECRETS_VAULT_TOKEN": settings.vault.secrets_token,
        "BACKEND_VAULT_TOKEN": settings.vault.backend_token,
        "TG_API_HASH": settings.telegram.api_hash,
        "TG_SESSION": settings.telegram.session,
    }
    assert tokens[variable].reveal() == "hvs.token"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VAULT_KV_MOUNT", "/"),
        ("VAULT_KV_MOUNT", "../sys"),
        ("VAULT_KV_MOUNT", "kv//team"),
        ("VAULT_KV_MOUNT", 'secret" {'),
        ("VAULT_KV_PREFIX", "team/../other"),
        ("VAULT_KV_PREFIX", "team/./x"),
        ("VAULT_KV_PREFIX", "team*"),
        ("VAULT_TRANSIT_MOUNT", "transit key"),
        ("VAULT_TRANSIT_KEY", "a/b"),
        ("VAULT_TRANSIT_KEY", ".."),
        ("VAULT_TRANSIT_KEY", "clé"),
        ("REDIS_KEY_PREFIX", "user bot:"),
        ("REDIS_KEY_PREFIX", "userbot:\x1b"),
        ("REDIS_KEY_PREFIX", "ключ:"),
    ],
)
def test_reported_odd_vault_path_or_redis_prefix_stops_start_up(variable: str, value: str) -> None:
    """Reported fault: mounts, keys and prefixes took any text and broke paths or policies later.

    Now each takes only the characters documented in `userbot._checks`.
    """
    with pytest.raises(ConfigError) as caught:
        settings_from({variable: value})

    assert caught.value.variable == variable
    assert "\n" not in str(caught.value)


def test_sensible_vault_paths_and_redis_prefix_are_accepted() -> None:
    """Nested mounts, dotted names and a punctuated prefix pass; outer slashes are trimmed."""
    settings = settings_from(
        {
            "VAULT_KV_MOUNT": "/team-a/kv_v2/",
            "VAULT_KV_PREFIX": "apps/db.prod",
            "VAULT_TRANSIT_MOUNT": "transit.eu",
            "VAULT_TRANSIT_KEY": "user_bot-1.2",
            "REDIS_KEY_PREFIX": "{userbot}:t1/",
        }
    )

    assert settings.vault.kv_mount == "team-a/kv_v2"
    assert settings.vault.kv_prefix == "apps/db.prod"
    assert settings.vault.transit_mount == "transit.eu"
    assert settings.vault.transit_key == "user_bot-1.2"
    assert settings.store.key_prefix == "{userbot}:t1/"


def test_reported_content_dir_that_is_a_file_stops_start_up(tmp_path: Path) -> None:
    """Reported fault: a CONTENT_DIR naming a file passed and the first store failed.

    Now load_settings names CONTENT_DIR; a folder that does not exist yet is still fine.
    """
    a_file = tmp_path / "content"
    a_file.write_text("", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        settings_from({"CONTENT_DIR": str(a_file)})

    assert caught.value.variable == "CONTENT_DIR"
    assert settings_from({"CONTENT_DIR": str(tmp_path / "new")}).store.content_dir.name == "new"


@pytest.mark.parametrize(
    "variable", ["VAULT_CACERT", "GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY"]
)
@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_reported_pem_path_that_is_not_a_file_stops_start_up(
    variable: str, kind: str, tmp_path: Path
) -> None:
    """Reported fault: a CA, certificate or key path naming nothing, or a folder, failed late.

    Now load_settings names the variable as soon as the path is not an existing regular file.
    """
    path = tmp_path if kind == "directory" else tmp_path / "absent.pem"

    with pytest.raises(ConfigError) as caught:
        settings_from({variable: str(path)})

    assert caught.value.variable == variable


def test_existing_pem_files_are_accepted(tmp_path: Path) -> None:
    """VAULT_CACERT and the gRPC TLS paths pass when each names a file; their contents wait."""
    pem = tmp_path / "any.pem"
    pem.write_text("not parsed here", encoding="utf-8")
    names = ["VAULT_CACERT", "GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY"]

    settings = settings_from(dict.fromkeys(names, str(pem)))

    assert settings.vault.cacert == str(pem)
    assert settings.rpc.tls_ca == settings.rpc.tls_cert == settings.rpc.tls_key == pem


@pytest.mark.parametrize("name", ["absent.env", "."])
def test_a_required_env_file_that_is_missing_stops_start_up(tmp_path: Path, name: str) -> None:
    """With env_file_required, a settings file that is not there stops start-up for --env-file."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, env_file=tmp_path / name, env_file_required=True)

    assert str(caught.value) == "--env-file must name an existing settings file."


def test_reported_env_file_not_in_utf8_stops_start_up(tmp_path: Path) -> None:
    """Reported fault: a .env in Latin-1 ended start-up in a UnicodeDecodeError traceback.

    Now it is a ConfigError for --env-file, and the decode error, holding the bytes, is dropped.
    """
    env_file = tmp_path / "settings.env"
    env_file.write_bytes(b"VAULT_TOKEN=s\xe9cret\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, env_file=env_file)

    assert str(caught.value) == "--env-file must name a readable UTF-8 settings file."
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_reported_default_env_file_not_in_utf8_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reported fault: the default .env, read unasked, ended in a traceback too; now it cannot."""
    (tmp_path / ".env").write_bytes(b"TG_SESSION=\xff\xfe\n")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ConfigError) as caught:
        load_settings(environ={})

    assert caught.value.variable == "--env-file"


def test_an_env_file_that_cannot_be_read_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError while reading the settings file becomes a ConfigError for --env-file."""
    env_file = tmp_path / ".env"
    env_file.write_text("TICKET_TTL=30\n", encoding="utf-8")

    def refuse(*args: object, **kwargs: object) -> None:
        # Stands in for a file without read permission, which root could read anyway.
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", refuse)

    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, env_file=env_file)

    assert str(caught.value) == "--env-file must name a readable UTF-8 settings file."


def test_an_env_file_may_be_a_pipe(tmp_path: Path) -> None:
    """A FIFO, as `--env-file <(decrypt settings)` passes, is read like a file."""
    fifo = tmp_path / "settings.fifo"
    os.mkfifo(fifo)
    # A daemon, so that a writer nobody reads from cannot keep the test run alive.
    writer = threading.Thread(target=fifo.write_text, args=("TICKET_TTL=33\n",), daemon=True)
    writer.start()

    settings = load_settings(environ={}, env_file=fifo, env_file_required=True)

    assert settings.store.ticket_ttl == 33


@pytest.mark.parametrize(
    ("component", "environ", "variable"),
    [
        ("secrets", {"BACKEND_VAULT_TOKEN": "hvs.b"}, "SECRETS_VAULT_TOKEN or VAULT_TOKEN"),
        ("backend", {"SECRETS_VAULT_TOKEN": "hvs.s"}, "BACKEND_VAULT_TOKEN or VAULT_TOKEN"),
        ("admin", {"SECRETS_VAULT_TOKEN": "hvs.s", "BACKEND_VAULT_TOKEN": "hvs.b"}, "VAULT_TOKEN"),
    ],
)
def test_require_token_names_where_the_missing_token_comes_from(
    component: str, environ: dict[str, str], variable: str
) -> None:
    """require_token() without a token for the component names the variables that could set it."""
    vault = settings_from(environ).vault

    with pytest.raises(ConfigError) as caught:
        vault.require_token(component)

    assert str(caught.value) == f"{variable} must be set to a Vault token."


def test_require_token_returns_the_token_in_use() -> None:
    """require_token() returns the token in use: the component's own, else VAULT_TOKEN."""
    vault = settings_from({"VAULT_TOKEN": "hvs.shared", "SECRETS_VAULT_TOKEN": "hvs.own"}).vault

    assert vault.require_token("secrets").reveal() == "hvs.own"
    assert vault.require_token("backend").reveal() == "hvs.shared"
    assert vault.require_token("admin").reveal() == "hvs.shared"


def test_the_admin_token_is_vault_token_only() -> None:
    """setup-vault's "admin" token is VAULT_TOKEN even when a per-server token is set."""
    vault = settings_from({"VAULT_TOKEN": "hvs.root", "BACKEND_VAULT_TOKEN": "hvs.backend"}).vault

    assert vault.token_for("admin").reveal() == "hvs.root"


def test_reported_unparsable_env_line_stops_start_up(tmp_path: Path) -> None:
    """A `.env` line python-dotenv cannot parse names --env-file and its line number.

    Reported fault: the line was skipped with a warning and start-up went on."""
    env_file = tmp_path / ".env"
    env_file.write_text("TICKET_TTL=30\nREDIS_URL='redis://unclosed\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, env_file=env_file)

    assert caught.value.variable == "--env-file"
    assert "line 2" in str(caught.value)


@pytest.mark.parametrize("value", ["ns\r\nX: y", "a b", "../x"])
def test_reported_malformed_vault_namespace_is_refused(value: str) -> None:
    """VAULT_NAMESPACE takes a Vault path; a header injection or a space is refused.

    Reported fault: a CR/LF namespace started fine and broke every Vault call."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"VAULT_NAMESPACE": value}, env_file=None)

    assert caught.value.variable == "VAULT_NAMESPACE"


@pytest.mark.parametrize("value", ["-5", "1_000", "0"])
def test_reported_odd_user_ids_are_refused(value: str) -> None:
    """ALLOWED_USERS takes positive decimal ids only.

    Reported fault: -5 and 1_000 were accepted."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"ALLOWED_USERS": value}, env_file=None)

    assert caught.value.variable == "ALLOWED_USERS"


def test_allowed_clients_are_read_as_a_set_of_names() -> None:
    """GRPC_ALLOWED_CLIENTS splits on commas; a name with a space is refused by variable."""
    settings = load_settings(environ={"GRPC_ALLOWED_CLIENTS": "bot-a, bot-b,,"}, env_file=None)
    assert settings.rpc.allowed_clients == frozenset({"bot-a", "bot-b"})

    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"GRPC_ALLOWED_CLIENTS": "bot a"}, env_file=None)
    assert caught.value.variable == "GRPC_ALLOWED_CLIENTS"
