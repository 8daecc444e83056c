"""Settings, read once: the environment first, then a `.env` file, then defaults.

This is the only module that reads the environment. Every other part takes
its settings as arguments. `config.example.env` lists each variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from custody.errors import ConfigError


class Secret:
    """A string that prints as asterisks, so it cannot leak through repr or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class VaultSettings:
    addr: str
    token: Secret
    # Narrower tokens for each server; each falls back to `token` when empty.
    secrets_token: Secret
    backend_token: Secret
    namespace: str | None
    cacert: str | None
    kv_mount: str
    kv_prefix: str
    transit_mount: str
    transit_key: str
    timeout: float
    workers: int

    def token_for(self, component: str) -> Secret:
        own = self.secrets_token if component == "secrets" else self.backend_token
        return own or self.token

    def require(self) -> None:
        if not self.addr:
            raise ConfigError(
                "VAULT_ADDR", "must be set to the URL of Vault, e.g. http://127.0.0.1:8200"
            )


@dataclass(frozen=True, slots=True)
class StoreSettings:
    redis_url: Secret  # a Redis URL may carry a password
    key_prefix: str
    ticket_ttl: int
    ipfs_api: str
    content_dir: Path
    inline_max: int


@dataclass(frozen=True, slots=True)
class RpcSettings:
    secrets_addr: str
    backend_addr: str
    secrets_listen: str
    backend_listen: str
    tls_ca: Path | None
    tls_cert: Path | None
    tls_key: Path | None
    insecure: bool
    timeout: float
    client_concurrency: int
    server_concurrency: int


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    api_id: int | None
    api_hash: Secret
    session: Secret
    allowed_users: frozenset[int]
    reply_ttl: float | None
    flood_wait_cap: float

    def require(self) -> tuple[int, str]:
        """Return api_id and api_hash, or stop with the variable that is missing."""
        if self.api_id is None:
            raise ConfigError(
                "TG_API_ID", "must be set to the numeric api_id from my.telegram.org"
            )
        if not self.api_hash:
            raise ConfigError("TG_API_HASH", "must be set to the api_hash from my.telegram.org")
        return self.api_id, self.api_hash.reveal()


@dataclass(frozen=True, slots=True)
class Settings:
    vault: VaultSettings
    store: StoreSettings
    rpc: RpcSettings
    telegram: TelegramSettings
    log_level: str
    log_format: str


class _Reader:
    """Looks variables up in order and converts them, naming the culprit on error."""

    def __init__(self, sources: list[Mapping[str, str | None]]) -> None:
        self._sources = sources

    def text(self, name: str, default: str = "") -> str:
        for source in self._sources:
            value = source.get(name)
            if value is not None and value.strip() != "":
                return value.strip()
        return default

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(name, f"must be a whole number, not {raw!r}") from None
        if value < minimum:
            raise ConfigError(name, f"must be at least {minimum}, not {value}")
        return value

    def seconds(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(name, f"must be a number of seconds, not {raw!r}") from None
        if not value >= minimum or value == float("inf"):
            raise ConfigError(name, f"must be a number of seconds of at least {minimum:g}")
        return value

    def flag(self, name: str) -> bool:
        raw = self.text(name, "false").lower()
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(name, f"must be true or false, not {raw!r}")

    def path(self, name: str) -> Path | None:
        raw = self.text(name)
        return Path(raw).expanduser() if raw else None

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self.text(name, default).lower()
        if raw not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}, not {raw!r}")
        return raw


def _is_number(text: str) -> bool:
    # str.isdigit() also accepts "²", which int() then refuses.
    return text.isascii() and text.isdecimal()


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    if not value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = urlsplit("")
    # The value itself is not echoed: a URL may carry a password.
    located = bool(parts.path) if parts.scheme == "unix" else bool(parts.hostname)
    if parts.scheme not in schemes or not located:
        starts = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigError(name, f"must be a URL starting with {starts}")
    return value


def _check_address(name: str, value: str) -> str:
    # "127.0.0.1:50051" -> ok; "[::1]:50051" -> ok; "localhost" -> missing port
    if not value:
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not _is_number(port) or not 0 < int(port) < 65536:
        raise ConfigError(name, f"must be host:port, such as 127.0.0.1:50051, not {value!r}")
    return value


def _user_ids(name: str, raw: str) -> frozenset[int]:
    ids = set()
    for item in raw.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            ids.add(int(item))
        except ValueError:
            raise ConfigError(
                name, f"must list numeric Telegram user ids, and {item!r} is not one"
            ) from None
    return frozenset(ids)


def _default_content_dir(env: _Reader) -> Path:
    data_home = env.text("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "secrets-userbot" / "content"


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = ".env"
) -> Settings:
    """Read every setting; raise ConfigError naming the first bad variable."""
    sources: list[Mapping[str, str | None]] = [os.environ if environ is None else environ]
    if env_file is not None and Path(env_file).is_file():
        sources.append(dotenv_values(env_file))
    env = _Reader(sources)

    api_id_raw = env.text("TG_API_ID")
    if api_id_raw and not _is_number(api_id_raw):
        raise ConfigError("TG_API_ID", f"must be the numeric api_id, not {api_id_raw!r}")
    reply_ttl = env.seconds("REPLY_TTL", 60.0)

    vault = VaultSettings(
        addr=_check_url("VAULT_ADDR", env.text("VAULT_ADDR"), ("http", "https")),
        token=Secret(env.text("VAULT_TOKEN")),
        secrets_token=Secret(env.text("SECRETS_VAULT_TOKEN")),
        backend_token=Secret(env.text("BACKEND_VAULT_TOKEN")),
        namespace=env.text("VAULT_NAMESPACE") or None,
        cacert=env.text("VAULT_CACERT") or None,
        kv_mount=env.text("VAULT_KV_MOUNT", "secret").strip("/"),
        kv_prefix=env.text("VAULT_KV_PREFIX").strip("/"),
        transit_mount=env.text("VAULT_TRANSIT_MOUNT", "transit").strip("/"),
        transit_key=env.text("VAULT_TRANSIT_KEY", "userbot"),
        timeout=env.seconds("VAULT_TIMEOUT", 5.0, minimum=0.1),
        workers=env.integer("VAULT_WORKERS", 8, minimum=1),
    )
    store = StoreSettings(
        redis_url=Secret(
            _check_url(
                "REDIS_URL",
                env.text("REDIS_URL", "redis://127.0.0.1:6379/0"),
                ("redis", "rediss", "unix"),
            )
        ),
        key_prefix=env.text("REDIS_KEY_PREFIX", "userbot:"),
        ticket_ttl=env.integer("TICKET_TTL", 120, minimum=1),
        ipfs_api=env.text("IPFS_API"),
        content_dir=env.path("CONTENT_DIR") or _default_content_dir(env),
        inline_max=env.integer("INLINE_CIPHERTEXT_MAX", 4096),
    )
    rpc = RpcSettings(
        secrets_addr=_check_address("SECRETS_SERVICE_ADDR", env.text("SECRETS_SERVICE_ADDR")),
        backend_addr=_check_address("BACKEND_ADDR", env.text("BACKEND_ADDR")),
        secrets_listen=_check_address(
            "SECRETS_SERVICE_LISTEN", env.text("SECRETS_SERVICE_LISTEN", "127.0.0.1:50051")
        ),
        backend_listen=_check_address(
            "BACKEND_LISTEN", env.text("BACKEND_LISTEN", "127.0.0.1:50052")
        ),
        tls_ca=env.path("GRPC_TLS_CA"),
        tls_cert=env.path("GRPC_TLS_CERT"),
        tls_key=env.path("GRPC_TLS_KEY"),
        insecure=env.flag("GRPC_INSECURE"),
        timeout=env.seconds("RPC_TIMEOUT", 5.0, minimum=0.05),
        client_concurrency=env.integer("RPC_CLIENT_CONCURRENCY", 64, minimum=1),
        server_concurrency=env.integer("RPC_SERVER_CONCURRENCY", 256, minimum=1),
    )
    telegram = TelegramSettings(
        api_id=int(api_id_raw) if api_id_raw else None,
        api_hash=Secret(env.text("TG_API_HASH")),
        session=Secret(env.text("TG_SESSION")),
        allowed_users=_user_ids("ALLOWED_USERS", env.text("ALLOWED_USERS")),
        reply_ttl=reply_ttl or None,
        flood_wait_cap=env.seconds("FLOOD_WAIT_CAP", 30.0),
    )

    return Settings(
        vault=vault,
        store=store,
        rpc=rpc,
        telegram=telegram,
        log_level=env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
        log_format=env.choice("LOG_FORMAT", "auto", ("auto", "json", "console")),
    )
