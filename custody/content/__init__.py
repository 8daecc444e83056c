"""Content stores for ciphertext: IPFS through its RPC API, or an embedded one.

Both are content-addressed: `put` returns the CIDv1 of what it stored, and
what is stored must be assumed public, so only ciphertext ever goes in.
"""

from __future__ import annotations

from typing import Protocol


class ContentStore(Protocol):
    """What the services need from a content-addressed store."""

    async def put(self, data: bytes) -> str:
        """Store `data` and pin it; return its CIDv1 in base32."""
        ...

    async def get(self, cid: str) -> bytes:
        """Return the bytes stored under `cid` (unchecked: callers verify)."""
        ...

    async def remove(self, cid: str) -> None:
        """Unpin or delete the content; nothing happens if it is already gone."""
        ...

    async def aclose(self) -> None: ...
