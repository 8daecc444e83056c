"""The embedded content store: raw CIDv1 blocks in a directory.

Each block lives in a file named by its CID, written to a temporary name and
renamed into place, so a reader never sees half a block. The CID is the one
Kubo gives for `ipfs add --cid-version=1 --raw-leaves` of a single-block payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from custody.content.cid import normalize_cid, raw_cid
from custody.errors import ContentError, ContentNotFoundError, IntegrityError


class EmbeddedContentStore:
    """Content-addressed blocks on local disk."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _path(self, cid: str) -> Path:
        try:
            return self._directory / normalize_cid(cid)
        except IntegrityError as exc:
            raise ContentNotFoundError(cid) from exc

    def _write(self, cid: str, data: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self._directory / cid
        fd, temp = tempfile.mkstemp(dir=self._directory, prefix=".incoming-")
        try:
            # No fsync: a block lives for one ticket's TTL, and a block torn by a power
            # cut fails the SHA-256 check at redeem instead of decrypting. The rename
            # still keeps readers from ever seeing a block being written.
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    async def put(self, data: bytes) -> str:
        cid = raw_cid(data)
        try:
            await asyncio.to_thread(self._write, cid, data)
        except OSError as exc:
            raise ContentError(
                f"The content store could not write a block: {exc.strerror}."
            ) from exc

        return cid

    async def get(self, cid: str) -> bytes:
        path = self._path(cid)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise ContentNotFoundError(cid) from exc
        except OSError as exc:
            raise ContentError(
                f"The content store could not read a block: {exc.strerror}."
            ) from exc

    async def remove(self, cid: str) -> None:
        path = self._path(cid)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)

    async def aclose(self) -> None:
        return None
