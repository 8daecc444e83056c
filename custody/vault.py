"""The Vault adapter: KV v2 reads and transit data keys, off the event loop.

hvac is synchronous, so every call runs in a bounded thread pool over one
`requests` session whose connection pool is as large as the thread pool: the
loop never blocks, and connections are reused. This module is the one place
where hvac and requests exceptions become `custody.errors`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import hvac
import hvac.exceptions
import requests
from requests.adapters import HTTPAdapter

from custody.errors import (
    SecretNotFoundError,
    VaultError,
    VaultPathNotFoundError,
    VaultPermissionError,
    VaultUnavailableError,
)
from custody.names import kv_path
from custody.urls import shown_url

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """One version of a KV v2 secret; field values are text."""

    name: str
    version: int
    fields: dict[str, str]

    def __repr__(self) -> str:
        shown = f"name={self.name!r}, version={self.version}, fields=<{len(self.fields)}>"
        return f"SecretVersion({shown})"


@dataclass(frozen=True, slots=True)
class DataKey:
    """A fresh data key: its plaintext for one use, and Vault's wrapped form to keep."""

    plaintext: bytearray
    wrapped: str

    def wipe(self) -> None:
        """Overwrite the plaintext key in place once it has been used."""
        self.plaintext[:] = bytes(len(self.plaintext))

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"


@dataclass(frozen=True, slots=True)
class VaultLocation:
    """Where the secrets and the transit key live inside Vault."""

    kv_mount: str = "secret"
    kv_prefix: str = ""
    transit_mount: str = "transit"
    transit_key: str = "userbot"


def _as_text(value: object) -> str:
    # KV values are usually strings; numbers or nested objects are shown as JSON.
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


class VaultClient:
    """Async front for the few Vault endpoints the services use."""

    def __init__(
        self,
        addr: str,
        token: str,
        location: VaultLocation,
        *,
        namespace: str | None = None,
        cacert: str | None = None,
        timeout: float = 5.0,
        workers: int = 8,
    ) -> None:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=workers)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session = session
        self._hvac = hvac.Client(
            url=addr,
            token=token,
            namespace=namespace,
            verify=cacert if cacert else True,
            timeout=timeout,
            session=session,
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vault")
        self._location = location
        self.addr = shown_url(addr)

    async def _call(self, fn: Callable[[], T], *, secret_name: str | None = None) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise VaultUnavailableError(f"Vault at {self.addr} is unreachable.") from exc
        except hvac.exceptions.InvalidPath as exc:
            if secret_name is not None:
                raise SecretNotFoundError(secret_name) from exc
            raise VaultPathNotFoundError(
                "Vault has nothing at a path we need; run `userbot setup-vault`."
            ) from exc
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
            raise VaultPermissionError(
                "Vault refused the request: the token lacks permission or has expired."
            ) from exc
        except (hvac.exceptions.VaultDown, hvac.exceptions.BadGateway) as exc:
            raise VaultUnavailableError(f"Vault at {self.addr} is sealed or unavailable.") from exc
        except hvac.exceptions.RateLimitExceeded as exc:
            raise VaultUnavailableError(
                "Vault is rate-limiting requests; try again shortly."
            ) from exc
        except hvac.exceptions.VaultError as exc:
            # hvac's message is Vault's own error list: paths and reasons, no values.
            raise VaultError(f"Vault rejected the request: {exc}.") from exc
        except requests.RequestException as exc:
            # requests may quote a header or URL in its message, token included.
            raise VaultError(f"The request to Vault failed ({type(exc).__name__}).") from exc

    async def read_secret(self, name: str) -> SecretVersion:
        """Read the latest version of `name`: GET /v1/{kv_mount}/data/{prefix}/{name}."""
        loc = self._location
        read = functools.partial(
            self._hvac.secrets.kv.v2.read_secret_version,
            path=kv_path(loc.kv_prefix, name),
            mount_point=loc.kv_mount,
            raise_on_deleted_version=True,
        )
        response: dict[str, Any] = await self._call(read, secret_name=name)

        data = response["data"]
        fields = {str(key): _as_text(value) for key, value in (data.get("data") or {}).items()}

        return SecretVersion(name=name, version=int(data["metadata"]["version"]), fields=fields)

    async def list_secrets(self, max_folders: int = 50) -> list[str]:
        """List names under the prefix, folders included: LIST /v1/{kv_mount}/metadata/{path}.

        A folder costs one request, so at most `max_folders` are opened.
        """
        names: list[str] = []
        folders = [""]
        opened = 0
        while folders and opened < max_folders:
            folder = folders.pop(0)
            opened += 1
            for key in await self._list_folder(folder):
                (folders if key.endswith("/") else names).append(folder + key)

        return sorted(names)

    async def _list_folder(self, folder: str) -> list[str]:
        loc = self._location
        listing = functools.partial(
            self._hvac.secrets.kv.v2.list_secrets,
            path=kv_path(loc.kv_prefix, folder.rstrip("/")) if folder else loc.kv_prefix,
            mount_point=loc.kv_mount,
        )
        try:
            response: dict[str, Any] = await self._call(listing, secret_name=folder or "/")
        except SecretNotFoundError:
            return []

        return [str(key) for key in response["data"]["keys"]]

    async def generate_data_key(self) -> DataKey:
        """Create a fresh 256-bit key: POST /v1/{transit}/datakey/plaintext/{key}."""
        loc = self._location
        create = functools.partial(
            self._hvac.secrets.transit.generate_data_key,
            name=loc.transit_key,
            key_type="plaintext",
            bits=256,
            mount_point=loc.transit_mount,
        )
        response: dict[str, Any] = await self._call(create)

        data = response["data"]
        return DataKey(
            plaintext=bytearray(base64.b64decode(data["plaintext"])), wrapped=data["ciphertext"]
        )

    async def decrypt_data_key(self, wrapped: str) -> DataKey:
        """Unwrap a data key: POST /v1/{transit}/decrypt/{key}."""
        loc = self._location
        decrypt = functools.partial(
            self._hvac.secrets.transit.decrypt_data,
            name=loc.transit_key,
            ciphertext=wrapped,
            mount_point=loc.transit_mount,
        )
        response: dict[str, Any] = await self._call(decrypt)

        plaintext = bytearray(base64.b64decode(response["data"]["plaintext"]))

        return DataKey(plaintext=plaintext, wrapped=wrapped)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
