"""The IPFS content store against a real js-ipfs node, and against a node that misbehaves."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp.web
import aioipfs
import pytest

from custody.content.cid import check_bytes, parse_cid, raw_cid
from custody.content.ipfs import IpfsContentStore
from custody.errors import (
    ConfigError,
    ContentError,
    ContentNotFoundError,
    ContentUnavailableError,
    IntegrityError,
)
from tests.integration.jsipfs import free_port

CHUNK_SIZE = 256 * 1024

Handler = Callable[[aiohttp.web.Request], Awaitable[aiohttp.web.StreamResponse]]


@pytest.fixture
async def store(ipfs_api: str) -> AsyncIterator[IpfsContentStore]:
    async with IpfsContentStore(ipfs_api) as opened:
        yield opened


@pytest.fixture
async def quick_store(ipfs_api: str) -> AsyncIterator[IpfsContentStore]:
    """A store whose node gives up looking for absent content after 2.4 seconds."""
    async with IpfsContentStore(ipfs_api, timeout=3.0) as opened:
        yield opened


@pytest.fixture
async def raw_client(ipfs_api: str) -> AsyncIterator[aioipfs.AsyncIPFS]:
    """An aioipfs client of our own, to see what js-ipfs answers before the store reads it."""
    client = aioipfs.AsyncIPFS(maddr=ipfs_api)
    yield client
    await client.close()


async def serve(routes: dict[str, Handler]) -> tuple[aiohttp.web.AppRunner, str]:
    """Serve `routes` under /api/v0/ on a loopback port; return the runner and the API URL."""
    app = aiohttp.web.Application()
    for name, handler in routes.items():
        app.router.add_post(f"/api/v0/{name}", handler)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]

    return runner, f"http://{host}:{port}"


@pytest.mark.ipfs
async def test_put_then_get_round_trips(store: IpfsContentStore) -> None:
    """What put stores, get returns byte for byte, under a base32 CIDv1."""
    data = os.urandom(1024)

    cid = await store.put(data)

    assert cid.startswith("bafkrei")
    assert await store.get(cid) == data


@pytest.mark.ipfs
@pytest.mark.parametrize("size", [210, 100_000, CHUNK_SIZE])
async def test_jsipfs_answers_with_the_embedded_cid(
    raw_client: aioipfs.AsyncIPFS, size: int
) -> None:
    """Both CIDs js-ipfs reports for one block decode to the CID the embedded store computes."""
    data = os.urandom(size)

    answer = await raw_client.core.add_bytes(data, cid_version=1, raw_leaves=True, pin=False)

    # The two fields differ as strings (base32 and base58btc), not as CIDs.
    assert answer["Name"] != answer["Hash"]
    assert parse_cid(answer["Name"]) == parse_cid(raw_cid(data))
    assert parse_cid(answer["Hash"]) == parse_cid(raw_cid(data))


@pytest.mark.ipfs
@pytest.mark.parametrize("size", [210, 100_000, CHUNK_SIZE])
async def test_put_returns_the_embedded_cid_string(store: IpfsContentStore, size: int) -> None:
    """Up to one chunk, put returns exactly the string the embedded store would."""
    data = os.urandom(size)

    assert await store.put(data) == raw_cid(data)


@pytest.mark.ipfs
async def test_content_past_one_chunk_gets_a_dag_pb_cid(store: IpfsContentStore) -> None:
    """Past 256 KiB the CID is a dag-pb root; the bytes come back whole, checked by SHA-256."""
    data = os.urandom(CHUNK_SIZE + 40_000)
    sha256 = hashlib.sha256(data).hexdigest()

    cid = await store.put(data)
    fetched = await store.get(cid)

    assert parse_cid(cid).codec.name == "dag-pb"
    assert fetched == data
    check_bytes(cid, fetched, sha256)
    flipped = bytearray(fetched)
    flipped[CHUNK_SIZE + 7] ^= 0x01
    with pytest.raises(IntegrityError):
        check_bytes(cid, bytes(flipped), sha256)


@pytest.mark.ipfs
async def test_unpinned_content_is_served_until_garbage_collection(
    quick_store: IpfsContentStore, raw_client: aioipfs.AsyncIPFS
) -> None:
    """js-ipfs keeps serving unpinned blocks; only its garbage collector makes them absent."""
    data = os.urandom(512)
    cid = await quick_store.put(data)

    await quick_store.remove(cid)

    assert await quick_store.get(cid) == data
    async for _ in raw_client.repo.gc():
        pass
    with pytest.raises(ContentNotFoundError) as caught:
        await quick_store.get(cid)
    assert caught.value.cid == cid


@pytest.mark.ipfs
async def test_removing_twice_is_quiet(store: IpfsContentStore) -> None:
    """Removing content that is no longer pinned is not an error."""
    cid = await store.put(os.urandom(64))

    await store.remove(cid)
    await store.remove(cid)


@pytest.mark.ipfs
async def test_unknown_cid_is_not_found(quick_store: IpfsContentStore) -> None:
    """A CID the node never held is reported as not found before the store's own deadline."""
    cid = raw_cid(os.urandom(32))

    began = time.monotonic()
    with pytest.raises(ContentNotFoundError):
        await quick_store.get(cid)

    assert time.monotonic() - began < 3.0


async def test_malformed_cid_is_not_found() -> None:
    """A string that is not a CID names no content, and no request is sent for it."""
    async with IpfsContentStore(f"/ip4/127.0.0.1/tcp/{free_port()}") as unused:
        with pytest.raises(ContentNotFoundError):
            await unused.get("not-a-cid")


@pytest.mark.parametrize(
    "operation",
    [
        lambda store: store.put(b"ciphertext"),
        lambda store: store.get(raw_cid(b"ciphertext")),
        lambda store: store.remove(raw_cid(b"ciphertext")),
    ],
    ids=["put", "get", "remove"],
)
async def test_unreachable_api_is_unavailable_at_once(
    operation: Callable[[IpfsContentStore], Awaitable[object]],
) -> None:
    """With nobody listening on the API port, every call fails fast as unavailable."""
    async with IpfsContentStore(f"/ip4/127.0.0.1/tcp/{free_port()}") as store:
        began = time.monotonic()
        with pytest.raises(ContentUnavailableError):
            await operation(store)

        assert time.monotonic() - began < 1.0


async def test_silent_node_runs_into_the_deadline() -> None:
    """A node that accepts the call but never answers is unavailable once the deadline passes."""

    released = asyncio.Event()

    async def stall(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        await released.wait()
        return aiohttp.web.Response()

    runner, url = await serve({"add": stall})
    try:
        async with IpfsContentStore(url, timeout=0.3) as store:
            began = time.monotonic()
            with pytest.raises(ContentUnavailableError, match=r"within 0\.3 seconds"):
                await store.put(b"ciphertext")
            assert time.monotonic() - began < 2.0
    finally:
        released.set()
        await runner.cleanup()


async def test_oversized_answer_is_cut_off() -> None:
    """A node that ignores the length limit cannot make get buffer more than max_size."""
    sent = 0

    async def flood(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        nonlocal sent
        response = aiohttp.web.StreamResponse()
        await response.prepare(request)
        for _ in range(1024):
            await response.write(b"\0" * 65536)
            sent += 65536
        return response

    runner, url = await serve({"cat": flood})
    try:
        async with IpfsContentStore(url, max_size=100_000) as store:
            with pytest.raises(ContentError, match="larger than the limit"):
                await store.get(raw_cid(b"anything"))
    finally:
        await runner.cleanup()
    assert sent < 1024 * 65536


async def test_node_naming_other_bytes_is_an_integrity_failure() -> None:
    """put refuses a raw CID that is not the hash of the bytes it sent."""

    async def lie(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        await request.read()
        return aiohttp.web.json_response({"Name": "", "Hash": raw_cid(b"other"), "Size": 5})

    runner, url = await serve({"add": lie})
    try:
        async with IpfsContentStore(url) as store:
            with pytest.raises(IntegrityError):
                await store.put(b"ciphertext")
    finally:
        await runner.cleanup()


async def test_api_error_becomes_a_sentence() -> None:
    """An error the node explains comes back as a content error that quotes the reason."""

    async def refuse(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        await request.read()
        body = {"Message": "repo is read-only", "Code": 0, "Type": "error"}
        return aiohttp.web.json_response(body, status=500)

    runner, url = await serve({"add": refuse})
    try:
        async with IpfsContentStore(url) as store:
            with pytest.raises(ContentError) as caught:
                await store.put(b"ciphertext")
    finally:
        await runner.cleanup()
    assert type(caught.value) is ContentError
    assert str(caught.value).endswith("could not add content: repo is read-only.")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "localhost:5001",
        "127.0.0.1:5001",
        "/ip4/127.0.0.1",
        "/ip4/127.0.0.1/udp/5001",
        "/ip4/300.0.0.1/tcp/5001",
        "/ip4/127.0.0.1/tcp/70000",
        "/ip4/127.0.0.1/tcp/0",
        "http://127.0.0.1:0",
        "/unix/run/ipfs.sock",
        "ftp://127.0.0.1:5001",
        "http://user:pass@127.0.0.1:5001",
        "http://127.0.0.1:5001/api/v0",
        "http://127.0.0.1:port",
    ],
)
def test_malformed_address_is_a_config_error(value: str) -> None:
    """A value that is neither a TCP multiaddr nor an http(s) URL is refused, naming IPFS_API."""
    with pytest.raises(ConfigError) as caught:
        IpfsContentStore(value)

    assert caught.value.variable == "IPFS_API"
    assert str(caught.value) == (
        "IPFS_API must be a multiaddr such as /ip4/127.0.0.1/tcp/5001 "
        "or a URL such as http://127.0.0.1:5001."
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001"),
        ("/ip6/::1/tcp/5001", "http://[::1]:5001"),
        ("/dns4/ipfs.internal/tcp/443/https", "https://ipfs.internal:443"),
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("https://ipfs.internal/", "https://ipfs.internal:443"),
    ],
)
def test_well_formed_addresses_are_accepted(value: str, shown: str) -> None:
    """Multiaddrs and URLs of either scheme are accepted, and no connection is made yet."""
    assert repr(IpfsContentStore(value)) == f"IpfsContentStore(api={shown!r})"
