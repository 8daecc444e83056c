"""The IPFS content store: ciphertext kept on a node through its Kubo-compatible RPC API."""

from __future__ import annotations

import asyncio
import ipaddress
import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
import aioipfs

from custody.content.cid import normalize_cid, parse_cid, raw_cid, same_cid
from custody.errors import (
    ConfigError,
    ContentError,
    ContentNotFoundError,
    ContentUnavailableError,
    IntegrityError,
)

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_SIZE = 16 * 1024 * 1024

_ADDRESS_REQUIREMENT = (
    "must be a multiaddr such as /ip4/127.0.0.1/tcp/5001 or a URL such as http://127.0.0.1:5001"
)
_CHUNK = 64 * 1024

# A node that does not hold a block goes looking for it and reports absence only as its own
# timeout, so these answers (js-ipfs, then Kubo online and offline) mean "not there".
_NOT_FOUND_MARKERS = (
    "request timed out",
    "context deadline exceeded",
    "not found locally",
    "could not find",
)
_NOT_PINNED_MARKER = "not pinned"

# The node is asked to give up its search this much earlier than our own deadline, so that an
# absent CID comes back as the node's answer rather than as silence.
_NODE_TIMEOUT_SHARE = 0.8


@dataclass(frozen=True)
class _Endpoint:
    """Where the RPC API listens, parsed from IPFS_API."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host

        return f"{self.scheme}://{host}:{self.port}"


def _parse_port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(text)

    return int(text)


def _parse_multiaddr(text: str) -> _Endpoint:
    # "/ip4/127.0.0.1/tcp/5001" -> ["ip4", "127.0.0.1", "tcp", "5001"]
    # "/dns4/ipfs.internal/tcp/443/https" -> [..., "tcp", "443", "https"]
    parts = text.split("/")[1:]
    scheme = parts.pop() if len(parts) == 5 and parts[4] in ("http", "https") else "http"
    if len(parts) != 4 or parts[2] != "tcp":
        raise ValueError(text)
    protocol, host, _, port = parts
    if protocol == "ip4":
        host = str(ipaddress.IPv4Address(host))
    elif protocol == "ip6":
        host = str(ipaddress.IPv6Address(host))
    elif protocol not in ("dns", "dns4", "dns6") or not host:
        raise ValueError(text)

    return _Endpoint(scheme, host, _parse_port(port))


def _parse_url(text: str) -> _Endpoint:
    url = urlsplit(text)
    # Credentials in the address would leak wherever the address is shown.
    if url.scheme not in ("http", "https") or url.username is not None or not url.hostname:
        raise ValueError(text)
    if url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError(text)
    if url.port is None:
        return _Endpoint(url.scheme, url.hostname, 443 if url.scheme == "https" else 80)

    return _Endpoint(url.scheme, url.hostname, _parse_port(str(url.port)))


def _parse_address(value: str) -> _Endpoint:
    """Parse IPFS_API, a multiaddr or an http(s) URL of the RPC API."""
    text = value.strip()
    try:
        if text.startswith("/"):
            return _parse_multiaddr(text)
        return _parse_url(text)
    except ValueError as exc:
        raise ConfigError("IPFS_API", _ADDRESS_REQUIREMENT) from exc


class IpfsContentStore:
    """Ciphertext on an IPFS node, added as CIDv1 with raw leaves and pinned.

    Unpinning does not delete: the node keeps serving the blocks until its garbage
    collector runs. That is acceptable because what was stored is crypto-shredded once its
    ticket is redeemed.
    """

    def __init__(
        self,
        api: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self._endpoint = _parse_address(api)
        self._timeout = timeout
        self._max_size = max_size
        # aioipfs binds its HTTP session to the event loop at creation, so it waits for one.
        self._client: Any = None
        self._closed = False

    def __repr__(self) -> str:
        return f"IpfsContentStore(api={str(self._endpoint)!r})"

    async def open(self) -> None:
        """Create the RPC client in the running event loop; calls do this when needed."""
        self._get_client()

    async def __aenter__(self) -> Self:
        await self.open()

        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def _get_client(self) -> Any:
        if self._closed:
            raise RuntimeError("the IPFS content store is closed")
        if self._client is None:
            self._client = aioipfs.AsyncIPFS(
                host=self._endpoint.host,
                port=self._endpoint.port,
                scheme=self._endpoint.scheme,
            )

        return self._client

    async def put(self, data: bytes) -> str:
        """Add `data` as CIDv1 with raw leaves, pin it, and return its CID in base32."""
        client = self._get_client()
        async with self._translated("add content"):
            answer = await client.core.add_bytes(data, cid_version=1, raw_leaves=True, pin=True)
        # js-ipfs answers with base32 in "Name" and base58btc in "Hash", but "Name" becomes the
        # upload's file name whenever one was sent, so "Hash" is the field to trust.
        reported = answer.get("Hash") if isinstance(answer, dict) else None
        if not isinstance(reported, str):
            raise ContentError("The IPFS node answered an add without a CID.")
        cid = normalize_cid(reported)

        # A single raw block is named by the hash of its bytes, so the node's answer can be
        # checked; a dag-pb root cannot, and the recorded SHA-256 covers it later.
        if parse_cid(cid).codec.name == "raw" and not same_cid(cid, raw_cid(data)):
            raise IntegrityError("the IPFS node named the content with a CID of other bytes")

        return cid

    async def get(self, cid: str) -> bytes:
        """Return the bytes under `cid`, refusing more than `max_size` of them."""
        cid = self._checked(cid)
        client = self._get_client()
        node_timeout_ms = int(self._timeout * _NODE_TIMEOUT_SHARE * 1000)
        params = {
            "arg": cid,
            # An honest node stops one byte past the limit; a hostile one is cut off below.
            "length": str(self._max_size + 1),
            "timeout": f"{node_timeout_ms}ms",
        }
        # `core.cat` buffers the whole answer, whatever its size, so the body is streamed here
        # through the client's own session and error decoding.
        async with (
            self._translated("read content", cid),
            client.session.post(
                client.api_endpoint("cat"), params=params, auth=client.auth
            ) as response,
        ):
            if response.status >= 400:
                client.core.handle_error(response, await response.content.read(_CHUNK))
            data = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > self._max_size:
                    raise ContentError(
                        f"The content under CID {cid} is larger than the limit of "
                        f"{self._max_size} bytes."
                    )

        return bytes(data)

    async def remove(self, cid: str) -> None:
        """Unpin `cid`; content that is not pinned counts as removed already."""
        cid = self._checked(cid)
        client = self._get_client()
        async with self._translated("unpin content", cid, tolerate_not_pinned=True):
            # aioipfs swallows a refused or dropped connection on this path and answers None.
            if await client.pin.rm(cid) is None:
                raise ContentUnavailableError(f"The IPFS node at {self._endpoint} is unreachable.")

    @staticmethod
    def _checked(cid: str) -> str:
        try:
            return normalize_cid(cid)
        except IntegrityError as exc:
            raise ContentNotFoundError(cid) from exc

    @asynccontextmanager
    async def _translated(
        self, action: str, cid: str | None = None, *, tolerate_not_pinned: bool = False
    ) -> AsyncIterator[None]:
        """Bound one call by the deadline and turn aiohttp and aioipfs errors into ours.

        This is the only place where those libraries' exceptions are caught.
        """
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except TimeoutError as exc:
            raise ContentUnavailableError(
                f"The IPFS node at {self._endpoint} did not {action} within "
                f"{self._timeout:g} seconds."
            ) from exc
        except aioipfs.EndpointNotFoundError as exc:
            raise ContentError(
                f"The address {self._endpoint} does not serve a Kubo RPC API."
            ) from exc
        except aioipfs.RPCAccessDenied as exc:
            raise ContentError(f"The IPFS node at {self._endpoint} refused access.") from exc
        except aioipfs.APIError as exc:
            message = str(exc.message or "").strip()
            lowered = message.lower()
            if tolerate_not_pinned and _NOT_PINNED_MARKER in lowered:
                return
            if cid is not None and any(marker in lowered for marker in _NOT_FOUND_MARKERS):
                raise ContentNotFoundError(cid) from exc
            reason = message[:200].rstrip(".") or "no reason given"
            raise ContentError(
                f"The IPFS node at {self._endpoint} could not {action}: {reason}."
            ) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise ContentUnavailableError(
                f"The IPFS node at {self._endpoint} is unreachable."
            ) from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise ContentError(
                f"The IPFS node at {self._endpoint} gave an answer that could not be read."
            ) from exc
