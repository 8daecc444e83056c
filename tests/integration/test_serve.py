"""The two servers in processes of their own, with the console talking mutual TLS to them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from custody.tls import local_pki
from tests.integration.conftest import redis_keys
from tests.integration.test_cli import USERBOT, userbot
from userbot.config import Settings
from userbot.devvault import free_port


def _write_pki(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write a server and a client identity as PEM files; return their settings."""
    server, client = local_pki()
    files = {}
    for side, identity in (("server", server), ("client", client)):
        for part, pem in (("cert", identity.cert_pem), ("key", identity.key_pem)):
            path = directory / f"{side}-{part}.pem"
            path.write_bytes(pem)
            files[f"{side}-{part}"] = str(path)
    ca = directory / "ca.pem"
    ca.write_bytes(server.ca_pem)
    server_env = {
        "GRPC_TLS_CA": str(ca),
        "GRPC_TLS_CERT": files["server-cert"],
        "GRPC_TLS_KEY": files["server-key"],
    }
    client_env = {
        "GRPC_TLS_CA": str(ca),
        "GRPC_TLS_CERT": files["client-cert"],
        "GRPC_TLS_KEY": files["client-key"],
    }
    return server_env, client_env


def _client_credentials(client_env: dict[str, str]) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=Path(client_env["GRPC_TLS_CA"]).read_bytes(),
        private_key=Path(client_env["GRPC_TLS_KEY"]).read_bytes(),
        certificate_chain=Path(client_env["GRPC_TLS_CERT"]).read_bytes(),
    )


def _wait_serving(
    port: int, creds: grpc.ChannelCredentials, process: subprocess.Popen[str]
) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early: {process.stderr.read() if process.stderr else ''}")
        with grpc.secure_channel(f"127.0.0.1:{port}", creds) as channel:
            try:
                answer = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1
                )
                return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
            except grpc.RpcError:
                time.sleep(0.1)
    pytest.fail("server did not become healthy")


@pytest.fixture
def pki(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    return _write_pki(tmp_path)


@pytest.fixture
def allowed_clients() -> str:
    """GRPC_ALLOWED_CLIENTS for both servers: the client's certificate name."""
    return "userbot"


@pytest.fixture
def servers(
    settings: Settings,
    pki: tuple[dict[str, str], dict[str, str]],
    tmp_path: Path,
    allowed_clients: str,
) -> Iterator[tuple[dict[str, str], list[subprocess.Popen[str]]]]:
    """`userbot serve secrets` and `userbot serve backend`, each with its own narrow token."""
    server_env, client_env = pki
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "GRPC_"))}
    base.update(
        VAULT_ADDR=settings.vault.addr,
        REDIS_URL=settings.store.redis_url.reveal(),
        REDIS_KEY_PREFIX=settings.store.key_prefix,
        CONTENT_DIR=str(tmp_path / "content"),
        LOG_FORMAT="json",
    )
    ports = {"secrets": free_port(), "backend": free_port()}
    processes = []
    for which, token, listen in (
        ("secrets", settings.vault.secrets_token, "SECRETS_SERVICE_LISTEN"),
        ("backend", settings.vault.backend_token, "BACKEND_LISTEN"),
    ):
        env = {
            **base,
            **server_env,
            "VAULT_TOKEN": token.reveal(),
            "GRPC_ALLOWED_CLIENTS": allowed_clients,
        }
        env[listen] = f"127.0.0.1:{ports[which]}"
        processes.append(
            subprocess.Popen(
                [USERBOT, "serve", which],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    client = {
        **base,
        **client_env,
        "SECRETS_SERVICE_ADDR": f"127.0.0.1:{ports['secrets']}",
        "BACKEND_ADDR": f"127.0.0.1:{ports['backend']}",
    }
    yield client, processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_console_against_separate_servers(
    servers: tuple[dict[str, str], list[subprocess.Popen[str]]],
    pki: tuple[dict[str, str], dict[str, str]],
    tmp_path: Path,
) -> None:
    """Over mutual TLS between processes, /secret db_prod comes back whole, and each
    server names the caller by its client certificate."""
    client_env, processes = servers
    creds = _client_credentials(pki[1])
    for process, addr in zip(
        processes, (client_env["SECRETS_SERVICE_ADDR"], client_env["BACKEND_ADDR"]), strict=True
    ):
        assert _wait_serving(int(addr.rsplit(":", 1)[1]), creds, process) == "SERVING"

    result = userbot(client_env, "console", stdin="/secret db_prod\n", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "password: s3cr3t-demo-pass" in result.stdout
    for process in processes:
        process.send_signal(signal.SIGTERM)
    logs = [process.communicate(timeout=20) for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    for _, stderr in logs:
        assert '"peer": "userbot"' in stderr
        assert "s3cr3t-demo-pass" not in stderr


def test_server_refuses_a_client_without_a_certificate(
    servers: tuple[dict[str, str], list[subprocess.Popen[str]]],
    pki: tuple[dict[str, str], dict[str, str]],
    tmp_path: Path,
) -> None:
    """A caller that trusts the CA but shows no client certificate gets no answer."""
    client_env, processes = servers
    port = int(client_env["SECRETS_SERVICE_ADDR"].rsplit(":", 1)[1])
    _wait_serving(port, _client_credentials(pki[1]), processes[0])

    ca = Path(pki[1]["GRPC_TLS_CA"]).read_bytes()
    anonymous = grpc.ssl_channel_credentials(root_certificates=ca)
    with (
        grpc.secure_channel(f"127.0.0.1:{port}", anonymous) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("allowed_clients", ["userbot-backup,ops-console"])
def test_servers_refuse_a_certificate_not_on_their_list(
    servers: tuple[dict[str, str], list[subprocess.Popen[str]]],
    pki: tuple[dict[str, str], dict[str, str]],
    tmp_path: Path,
    redis_url: str,
    settings: Settings,
) -> None:
    """A CA-signed caller whose certificate name is not in GRPC_ALLOWED_CLIENTS gets one
    line saying so, and no ticket is issued for it."""
    client_env, processes = servers
    port = int(client_env["SECRETS_SERVICE_ADDR"].rsplit(":", 1)[1])
    _wait_serving(port, _client_credentials(pki[1]), processes[0])
    before = set(redis_keys(redis_url, settings.store.key_prefix))

    result = userbot(client_env, "console", stdin="/secret db_prod\n", cwd=tmp_path)

    assert set(redis_keys(redis_url, settings.store.key_prefix)) == before
    assert result.returncode == 1
    assert result.stdout.strip().splitlines() == [
        "⚠️ This service does not answer userbot; its certificate name is not in"
        " GRPC_ALLOWED_CLIENTS."
    ]
