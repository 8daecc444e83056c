"""Start and stop a real js-ipfs node on loopback for the integration tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "jsipfs"
POLYFILL = TOOLS / "polyfill.cjs"
JSIPFS = TOOLS / "node_modules" / ".bin" / "jsipfs"

START_TIMEOUT = 60.0
STOP_GRACE = 10.0


class JsIpfsMissingError(RuntimeError):
    """js-ipfs or Node is not installed where the helper looks."""


def free_port() -> int:
    """Return a loopback TCP port that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))

        return int(probe.getsockname()[1])


def _offline_config(config: dict[str, Any], api_port: int, gateway_port: int) -> None:
    """Point the node at loopback only and switch off everything that reaches out."""
    addresses = config.setdefault("Addresses", {})
    addresses["API"] = f"/ip4/127.0.0.1/tcp/{api_port}"
    addresses["Gateway"] = f"/ip4/127.0.0.1/tcp/{gateway_port}"
    addresses["Swarm"] = []
    addresses["Announce"] = []
    addresses["Delegates"] = []
    # Without an RPC address the daemon starts no gRPC server, which would take a fixed port.
    addresses.pop("RPC", None)
    config["Bootstrap"] = []
    discovery = config.setdefault("Discovery", {})
    discovery["MDNS"] = {"Enabled": False}
    discovery["webRTCStar"] = {"Enabled": False}
    config.setdefault("Swarm", {})["DisableNatPortMap"] = True


@dataclass
class JsIpfsNode:
    """One js-ipfs daemon with its own repository under `root`."""

    root: Path
    api_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    init_seconds: float = 0.0
    start_seconds: float = 0.0
    _process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.api_port}"

    @property
    def log_path(self) -> Path:
        return self.root / "daemon.log"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.root / "repo")
        require = f'--require "{POLYFILL}"'
        env["NODE_OPTIONS"] = " ".join(filter(None, [env.get("NODE_OPTIONS"), require]))

        return env

    def start(self) -> str:
        """Create the repository, start the daemon, and return the API multiaddr."""
        if not JSIPFS.exists():
            raise JsIpfsMissingError(
                f"js-ipfs is not installed in {JSIPFS.parent.parent}; "
                "run `make test`, which installs it with npm."
            )
        if shutil.which("node") is None:
            raise JsIpfsMissingError("Node.js is not installed; js-ipfs needs `node` on PATH.")
        env = self._environment()

        began = time.monotonic()
        subprocess.run(
            [str(JSIPFS), "init", "--empty-repo"],
            env=env,
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        config_path = self.root / "repo" / "config"
        config = json.loads(config_path.read_text())
        _offline_config(config, self.api_port, self.gateway_port)
        config_path.write_text(json.dumps(config, indent=2))
        self.init_seconds = time.monotonic() - began

        began = time.monotonic()
        with self.log_path.open("wb") as log:
            # Preloading would send every added CID to public preload nodes; --offline alone
            # does not stop it.
            self._process = subprocess.Popen(
                [str(JSIPFS), "daemon", "--offline", "--enable-preload=false"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began

        return self.api

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        url = f"http://127.0.0.1:{self.api_port}/api/v0/id"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"js-ipfs exited with status {self._process.returncode} while starting:\n"
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(url, data=b"", timeout=1.0) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"js-ipfs did not answer on {url} within {START_TIMEOUT:g} seconds.")

    def stop(self) -> None:
        """Stop the daemon: SIGTERM first, SIGKILL after the grace period."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
