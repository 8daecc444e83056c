"""Vault set-up: transit, the data-key key, per-component policies, demo secrets.

Used by `userbot setup-vault` (with a token allowed to change mounts and
policies) and by the demo. Every step checks first and changes only what is
missing, so running it twice is harmless.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from custody.errors import VaultError, VaultPathNotFoundError
from custody.names import kv_path
from custody.vault import VaultClient, VaultLocation

SECRETS_POLICY = "userbot-secrets-service"
BACKEND_POLICY = "userbot-backend"


def _glob(prefix: str) -> str:
    return f"{prefix}/*" if prefix else "*"


def policies(location: VaultLocation) -> dict[str, str]:
    """The least each server needs: the service reads KV and makes data keys;
    the backend may only decrypt with the transit key."""
    loc = location
    secrets = f"""\
# Read secrets and list their names; nothing else in KV.
path "{loc.kv_mount}/data/{_glob(loc.kv_prefix)}" {{
  capabilities = ["read"]
}}
path "{loc.kv_mount}/metadata/{loc.kv_prefix}" {{
  capabilities = ["list"]
}}
path "{loc.kv_mount}/metadata/{_glob(loc.kv_prefix)}" {{
  capabilities = ["list"]
}}
# Fresh data keys, returned in plaintext and wrapped; no decrypt.
path "{loc.transit_mount}/datakey/plaintext/{loc.transit_key}" {{
  capabilities = ["update"]
}}
"""
    backend = f"""\
# Unwrap data keys, and nothing else.
path "{loc.transit_mount}/decrypt/{loc.transit_key}" {{
  capabilities = ["update"]
}}
"""
    return {SECRETS_POLICY: secrets, BACKEND_POLICY: backend}


@dataclass(frozen=True, slots=True)
class Step:
    """One thing set-up looked at, and whether it changed it."""

    what: str
    changed: bool

    def __str__(self) -> str:
        return f"{'created' if self.changed else 'present'}: {self.what}"


class VaultAdmin(VaultClient):
    """The administrative calls, through the same translation point as the rest."""

    async def _mounts(self) -> dict[str, Any]:
        response: dict[str, Any] = await self._call(self._hvac.sys.list_mounted_secrets_engines)
        return dict(response.get("data", response))

    async def ensure_kv(self) -> Step:
        """Enable KV v2 at the KV mount if nothing is mounted there."""
        mount = self._location.kv_mount
        existing = (await self._mounts()).get(f"{mount}/")
        if existing is not None:
            version = str((existing.get("options") or {}).get("version", "1"))
            if existing.get("type") != "kv" or version != "2":
                raise VaultError(f"The mount {mount}/ exists but is not KV version 2.")
            return Step(f"KV v2 secrets engine at {mount}/", changed=False)
        enable = functools.partial(
            self._hvac.sys.enable_secrets_engine, "kv", path=mount, options={"version": "2"}
        )
        await self._call(enable)

        return Step(f"KV v2 secrets engine at {mount}/", changed=True)

    async def ensure_transit(self) -> Step:
        """Enable the transit engine at its mount if it is missing."""
        mount = self._location.transit_mount
        existing = (await self._mounts()).get(f"{mount}/")
        if existing is not None:
            if existing.get("type") != "transit":
                raise VaultError(f"The mount {mount}/ exists but is not a transit engine.")
            return Step(f"transit secrets engine at {mount}/", changed=False)
        await self._call(
            functools.partial(self._hvac.sys.enable_secrets_engine, "transit", path=mount)
        )

        return Step(f"transit secrets engine at {mount}/", changed=True)

    async def ensure_transit_key(self) -> Step:
        """Create the AES-256-GCM key that wraps data keys, if it is missing."""
        loc = self._location
        what = f"transit key {loc.transit_key} (aes256-gcm96)"
        read = functools.partial(
            self._hvac.secrets.transit.read_key,
            name=loc.transit_key,
            mount_point=loc.transit_mount,
        )
        try:
            await self._call(read)
        except VaultPathNotFoundError:
            pass
        else:
            return Step(what, changed=False)
        create = functools.partial(
            self._hvac.secrets.transit.create_key,
            name=loc.transit_key,
            key_type="aes256-gcm96",
            exportable=False,
            mount_point=loc.transit_mount,
        )
        await self._call(create)

        return Step(what, changed=True)

    async def ensure_policies(self) -> list[Step]:
        """Write each component's policy unless Vault already holds that exact text."""
        steps = []
        for name, rules in policies(self._location).items():
            try:
                current: dict[str, Any] | None = await self._call(
                    functools.partial(self._hvac.sys.read_policy, name)
                )
            except VaultPathNotFoundError:
                current = None
            text = ((current or {}).get("data") or {}).get("rules")
            if text == rules:
                steps.append(Step(f"policy {name}", changed=False))
                continue
            await self._call(
                functools.partial(self._hvac.sys.create_or_update_policy, name, rules)
            )
            steps.append(Step(f"policy {name}", changed=True))

        return steps

    async def setup(self) -> list[Step]:
        """Everything `userbot setup-vault` does, in order."""
        return [
            await self.ensure_kv(),
            await self.ensure_transit(),
            await self.ensure_transit_key(),
            *await self.ensure_policies(),
        ]

    async def create_token(self, policy: str, ttl: str = "1h") -> str:
        """Create a token that carries only `policy` (plus Vault's default)."""
        create = functools.partial(
            self._hvac.auth.token.create, policies=[policy], ttl=ttl, renewable=True
        )
        response: dict[str, Any] = await self._call(create)

        return str(response["auth"]["client_token"])

    async def write_secret(self, name: str, fields: dict[str, str]) -> int:
        """Write a new version of a KV v2 secret and return its version number."""
        loc = self._location
        write = functools.partial(
            self._hvac.secrets.kv.v2.create_or_update_secret,
            path=kv_path(loc.kv_prefix, name),
            secret=fields,
            mount_point=loc.kv_mount,
        )
        response: dict[str, Any] = await self._call(write)

        return int(response["data"]["version"])
