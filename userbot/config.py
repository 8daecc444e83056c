"""Settings, read once: the environment first, then a `.env` file, then defaults.

This is the only module that reads the environment. Every other part takes
its settings as arguments. `config.example.env` lists each variable.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from custody.errors import ConfigError
from userbot import _checks


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
        """The token `component` ("secrets", "backend" or "admin") talks to Vault with."""
        own = {"secrets": self.secrets_token, "backend": self.backend_token, "admin": Secret("")}
        if component not in own:
            raise ValueError(f"unknown Vault component {component!r}")
        return own[component] or self.token

    def require_token(self, component: str) -> Secret:
        """Return `token_for(component)`, or stop naming the variables that could set it."""
        token = self.token_for(component)
        if not token:
            variable = "VAULT_TOKEN"
            if component != "admin":
                variable = f"{component.upper()}_VAULT_TOKEN or VAULT_TOKEN"
            raise ConfigError(variable, "must be set to a Vault token")
        return token

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
    # Certificate names a server answers; empty: any certificate the CA signed.
    allowed_clients: frozenset[str]


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

    def secret(self, name: str) -> Secret:
        return Secret(_checks.single_token(name, self.text(name)))

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(name, f"must be a whole number, not {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ConfigError(name, f"must be from {minimum} to {maximum}, not {value}")
        return value

    def seconds(self, name: str, default: float, *, minimum: float = 0.0, maximum: float) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(name, f"must be a number of seconds, not {raw!r}") from None
        # Written so that NaN fails too.
        if not minimum <= value <= maximum:
            raise ConfigError(name, f"must be a number of seconds from {minimum:g} to {maximum:g}")
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

    def file(self, name: str) -> Path | None:
        return _checks.existing_file(name, self.path(name))

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self.text(name, default).lower()
        if raw not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}, not {raw!r}")
        return raw


def _env_file_values(
    env_file: str | os.PathLike[str], *, required: bool
) -> Mapping[str, str | None]:
    unreadable = "must name a readable UTF-8 settings file"
    path = Path(env_file)
    try:
        mode: int | None = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError, ValueError):
        mode = None
    except OSError:
        raise ConfigError("--env-file", unreadable) from None
    # A FIFO counts as a file, so that `--env-file <(decrypt settings.enc)` works.
    if mode is None or not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        if required:
            raise ConfigError("--env-file", "must name an existing settings file")
        return {}

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        # Not chained: a UnicodeDecodeError holds the raw bytes of the file, secrets included.
        raise ConfigError("--env-file", unreadable) from None
    # python-dotenv skips a line it cannot parse with a warning; a setting lost that
    # way would surface much later, so it stops start-up here instead.
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                "--env-file",
                f"must hold one KEY=VALUE per line; line {binding.original.line} is not one",
            )

    return dotenv_values(stream=io.StringIO(text))


def _default_content_dir(env: _Reader) -> Path:
    data_home = env.text("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "secrets-userbot" / "content"


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
    *,
    env_file_required: bool = False,
) -> Settings:
    """Read every setting; raise ConfigError naming the first bad variable.

    `env_file` is read after `environ` (default: the process environment); when it does not
    exist it is skipped, unless `env_file_required` says it was asked for by name.
    """
    sources: list[Mapping[str, str | None]] = [os.environ if environ is None else environ]
    if env_file is not None:
        sources.append(_env_file_values(env_file, required=env_file_required))
    env = _Reader(sources)

    api_id_raw = env.text("TG_API_ID")
    if api_id_raw and not _checks.is_number(api_id_raw):
        raise ConfigError("TG_API_ID", f"must be the numeric api_id, not {api_id_raw!r}")
    cacert = env.file("VAULT_CACERT")

    # The upper bounds below catch a typo, such as an extra zero, at start-up:
    # - worker threads and calls in flight past these only cost memory, they add no speed;
    # - a ticket is redeemed within seconds, and living a day is already generous;
    # - gRPC refuses messages over 4 MiB by default, so a larger inline copy could not travel;
    # - a call still waiting after ten minutes has failed, whatever it may answer later;
    # - Telegram lets a user delete their own messages only within 48 hours;
    # - a flood wait over an hour means the reply is better dropped than sent late.
    vault = VaultSettings(
        addr=_checks.vault_addr("VAULT_ADDR", env.text("VAULT_ADDR")),
        token=env.secret("VAULT_TOKEN"),
        secrets_token=env.secret("SECRETS_VAULT_TOKEN"),
        backend_token=env.secret("BACKEND_VAULT_TOKEN"),
        namespace=_checks.vault_path("VAULT_NAMESPACE", env.text("VAULT_NAMESPACE"), empty_ok=True)
        or None,
        cacert=str(cacert) if cacert else None,
        kv_mount=_checks.vault_path(
            "VAULT_KV_MOUNT", env.text("VAULT_KV_MOUNT", "secret").strip("/")
        ),
        kv_prefix=_checks.vault_path(
            "VAULT_KV_PREFIX", env.text("VAULT_KV_PREFIX").strip("/"), empty_ok=True
        ),
        transit_mount=_checks.vault_path(
            "VAULT_TRANSIT_MOUNT", env.text("VAULT_TRANSIT_MOUNT", "transit").strip("/")
        ),
        transit_key=_checks.vault_path(
            "VAULT_TRANSIT_KEY", env.text("VAULT_TRANSIT_KEY", "userbot"), nested=False
        ),
        timeout=env.seconds("VAULT_TIMEOUT", 5.0, minimum=0.1, maximum=600.0),
        workers=env.integer("VAULT_WORKERS", 8, minimum=1, maximum=256),
    )
    store = StoreSettings(
        redis_url=Secret(
            _checks.redis_url("REDIS_URL", env.text("REDIS_URL", "redis://127.0.0.1:6379/0"))
        ),
        key_prefix=_checks.redis_prefix(
            "REDIS_KEY_PREFIX", env.text("REDIS_KEY_PREFIX", "userbot:")
        ),
        ticket_ttl=env.integer("TICKET_TTL", 120, minimum=1, maximum=86_400),
        ipfs_api=env.text("IPFS_API"),
        content_dir=_checks.directory_or_absent(
            "CONTENT_DIR", env.path("CONTENT_DIR") or _default_content_dir(env)
        ),
        inline_max=env.integer("INLINE_CIPHERTEXT_MAX", 4096, maximum=4 * 1024 * 1024),
    )
    rpc = RpcSettings(
        secrets_addr=_checks.address("SECRETS_SERVICE_ADDR", env.text("SECRETS_SERVICE_ADDR")),
        backend_addr=_checks.address("BACKEND_ADDR", env.text("BACKEND_ADDR")),
        secrets_listen=_checks.address(
            "SECRETS_SERVICE_LISTEN", env.text("SECRETS_SERVICE_LISTEN", "127.0.0.1:50051")
        ),
        backend_listen=_checks.address(
            "BACKEND_LISTEN", env.text("BACKEND_LISTEN", "127.0.0.1:50052")
        ),
        tls_ca=env.file("GRPC_TLS_CA"),
        tls_cert=env.file("GRPC_TLS_CERT"),
        tls_key=env.file("GRPC_TLS_KEY"),
        insecure=env.flag("GRPC_INSECURE"),
        timeout=env.seconds("RPC_TIMEOUT", 5.0, minimum=0.05, maximum=600.0),
        client_concurrency=env.integer("RPC_CLIENT_CONCURRENCY", 64, minimum=1, maximum=100_000),
        server_concurrency=env.integer("RPC_SERVER_CONCURRENCY", 256, minimum=1, maximum=100_000),
        allowed_clients=_checks.names("GRPC_ALLOWED_CLIENTS", env.text("GRPC_ALLOWED_CLIENTS")),
    )
    telegram = TelegramSettings(
        api_id=int(api_id_raw) if api_id_raw else None,
        api_hash=env.secret("TG_API_HASH"),
        session=env.secret("TG_SESSION"),
        allowed_users=_checks.user_ids("ALLOWED_USERS", env.text("ALLOWED_USERS")),
        reply_ttl=env.seconds("REPLY_TTL", 60.0, maximum=172_800.0) or None,
        flood_wait_cap=env.seconds("FLOOD_WAIT_CAP", 30.0, maximum=3600.0),
    )

    return Settings(
        vault=vault,
        store=store,
        rpc=rpc,
        telegram=telegram,
        log_level=env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
        log_format=env.choice("LOG_FORMAT", "auto", ("auto", "json", "console")),
    )
