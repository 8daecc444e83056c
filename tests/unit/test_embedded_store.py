"""The embedded content store: raw CIDv1 blocks written atomically into a directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from multiformats import CID

from custody.content.cid import raw_cid
from custody.content.embedded import EmbeddedContentStore
from custody.errors import ContentError, ContentNotFoundError


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "blocks"


@pytest.fixture
def store(directory: Path) -> EmbeddedContentStore:
    return EmbeddedContentStore(directory)


def base58(cid: str) -> str:
    return str(CID.decode(cid).set(base="base58btc"))


def entries(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


def permissions(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_put_then_get_round_trips(store: EmbeddedContentStore) -> None:
    """What put stores, get returns byte for byte, under the raw CIDv1 of those bytes."""
    data = os.urandom(4096)

    cid = await store.put(data)

    assert cid == raw_cid(data)
    assert await store.get(cid) == data


async def test_put_leaves_only_the_block(store: EmbeddedContentStore, directory: Path) -> None:
    """After put, the directory holds the block under its CID and no temporary file."""
    cid = await store.put(b"ciphertext")

    assert entries(directory) == [cid]


async def test_directory_is_private(store: EmbeddedContentStore, directory: Path) -> None:
    """The store creates its directory readable by its owner only."""
    await store.put(b"ciphertext")

    assert permissions(directory) == 0o700


async def test_failed_write_leaves_nothing_behind(
    store: EmbeddedContentStore, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails halfway is a content error, and neither block nor temp file remains."""

    def broken_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)

    with pytest.raises(ContentError, match="No space left on device"):
        await store.put(b"ciphertext")

    assert entries(directory) == []


async def test_put_of_the_same_bytes_twice_keeps_one_block(
    store: EmbeddedContentStore, directory: Path
) -> None:
    """Storing the same bytes again returns the same CID and keeps a single file."""
    first = await store.put(b"ciphertext")
    second = await store.put(b"ciphertext")

    assert first == second
    assert len(entries(directory)) == 1


async def test_missing_cid_is_not_found(store: EmbeddedContentStore) -> None:
    """Asking for a CID that was never stored raises ContentNotFoundError naming it."""
    cid = raw_cid(b"never stored")

    with pytest.raises(ContentNotFoundError) as caught:
        await store.get(cid)

    assert caught.value.cid == cid


async def test_malformed_cid_is_not_found(store: EmbeddedContentStore) -> None:
    """A string that is not a CID names no block, and cannot reach outside the directory."""
    with pytest.raises(ContentNotFoundError):
        await store.get("../../etc/passwd")


async def test_base58_cid_is_accepted(store: EmbeddedContentStore) -> None:
    """The base58btc form of a CID finds the same block as the base32 form."""
    data = b"ciphertext"
    cid = await store.put(data)

    assert await store.get(base58(cid)) == data


async def test_remove_by_base58_cid_deletes_the_block(
    store: EmbeddedContentStore, directory: Path
) -> None:
    """remove accepts any multibase, and the block is gone afterwards."""
    cid = await store.put(b"ciphertext")

    await store.remove(base58(cid))

    assert entries(directory) == []
    with pytest.raises(ContentNotFoundError):
        await store.get(cid)


async def test_removing_what_is_gone_is_quiet(store: EmbeddedContentStore) -> None:
    """Removing a CID that is not stored does nothing."""
    await store.remove(raw_cid(b"never stored"))
