"""Server start-up: a busy port is an error, not a second listener."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from custody.errors import ConfigError
from custody.serving import start_server
from custody.tls import TlsIdentity


async def test_second_server_on_a_busy_port_is_refused() -> None:
    """Starting a server on a port another one holds fails, naming the listen variable."""
    first = await start_server(lambda server: None, [], "127.0.0.1:0", None, 8, "BACKEND_LISTEN")
    try:
        with pytest.raises(ConfigError) as caught:
            await start_server(
                lambda server: None, [], f"127.0.0.1:{first.port}", None, 8, "BACKEND_LISTEN"
            )
    finally:
        await first.stop(0)

    assert caught.value.variable == "BACKEND_LISTEN"


def _ca_only_identity() -> TlsIdentity:
    """A certificate made for signing certificates only, with its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a CA, not a server")])
    now = datetime.datetime.now(datetime.UTC)
    usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(key_cert_sign=True, crl_sign=True, **usage), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return TlsIdentity(ca_pem=pem, cert_pem=pem, key_pem=key_pem)


async def test_a_certificate_grpc_refuses_names_grpc_tls_cert() -> None:
    """A CA-only certificate on a free port is blamed on GRPC_TLS_CERT, not the port.

    Reported fault: the message named BACKEND_LISTEN although the port was free."""
    with pytest.raises(ConfigError) as caught:
        await start_server(
            lambda server: None, [], "127.0.0.1:0", _ca_only_identity(), 8, "BACKEND_LISTEN"
        )

    assert caught.value.variable == "GRPC_TLS_CERT"
