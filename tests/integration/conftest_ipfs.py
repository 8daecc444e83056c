"""The session's js-ipfs node, as a fixture for the real conftest to import."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.jsipfs import JsIpfsMissingError, JsIpfsNode

__all__ = ["ipfs_api"]


@pytest.fixture(scope="session")
def ipfs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The RPC API multiaddr of a js-ipfs node that lives for the whole session."""
    node = JsIpfsNode(tmp_path_factory.mktemp("jsipfs"))
    try:
        api = node.start()
    except JsIpfsMissingError as exc:
        pytest.fail(str(exc))
    try:
        yield api
    finally:
        node.stop()
