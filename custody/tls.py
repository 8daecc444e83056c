"""TLS material for the gRPC links: loaded from files, or made for one process.

Production hands each server and the bot a certificate from the team's CA
(`GRPC_TLS_CA`, `GRPC_TLS_CERT`, `GRPC_TLS_KEY`). When the servers run inside
the bot's own process, `local_pki` makes a throwaway CA with one server and one
client certificate, valid for loopback only, so even those links are mutual TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from custody.errors import ConfigError

# Servers made by `local_pki` answer to this name; clients check it.
LOCAL_SERVER_NAME = "localhost"
LOCAL_CLIENT_NAME = "userbot"


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """A CA to trust, and this side's own certificate chain and private key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def __repr__(self) -> str:
        return "TlsIdentity(<hidden>)"

    def server_credentials(self) -> grpc.ServerCredentials:
        """Credentials for a server that requires a client certificate from the CA."""
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)],
            root_certificates=self.ca_pem,
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Credentials for a client that presents its certificate and checks the server's."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem,
            private_key=self.key_pem,
            certificate_chain=self.cert_pem,
        )


def load_identity(ca: Path | None, cert: Path | None, key: Path | None) -> TlsIdentity:
    """Read the three PEM files, naming the variable of any that is missing."""
    contents: list[bytes] = []
    for variable, path in (("GRPC_TLS_CA", ca), ("GRPC_TLS_CERT", cert), ("GRPC_TLS_KEY", key)):
        if path is None:
            raise ConfigError(
                variable, "must name a PEM file (or set GRPC_INSECURE=true for local development)"
            )
        try:
            contents.append(path.read_bytes())
        except OSError as exc:
            raise ConfigError(variable, f"must name a readable PEM file ({exc.strerror})") from exc
        if b"-----BEGIN" not in contents[-1]:
            raise ConfigError(variable, "must name a PEM file, and this one is not PEM")

    _check_pair(*contents)

    return TlsIdentity(ca_pem=contents[0], cert_pem=contents[1], key_pem=contents[2])


def _check_pair(ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> None:
    # gRPC would only say that it cannot listen, or that the peer is unreachable;
    # checking here names the file that is wrong.
    try:
        x509.load_pem_x509_certificates(ca_pem)
    except ValueError:
        raise ConfigError("GRPC_TLS_CA", "must name a PEM file of CA certificates") from None
    try:
        cert = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise ConfigError("GRPC_TLS_CERT", "must name a PEM certificate chain") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError("GRPC_TLS_KEY", "must name an unencrypted PEM private key") from None
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ConfigError(
            "GRPC_TLS_KEY", "must be the private key of the GRPC_TLS_CERT certificate"
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(**allowed: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(allowed)
    return x509.KeyUsage(**flags)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    usage: x509.ObjectIdentifier,
    lifetime: datetime.timedelta,
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_agreement=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(common_name)]
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        names += [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())

    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def local_pki(
    lifetime: datetime.timedelta = datetime.timedelta(days=1),
) -> tuple[TlsIdentity, TlsIdentity]:
    """Make a throwaway CA and return (server identity, client identity) signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("secrets-userbot local CA"))
        .issuer_name(_name("secrets-userbot local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)

    server_cert, server_key = _issue(
        ca_key, ca_cert, LOCAL_SERVER_NAME, ExtendedKeyUsageOID.SERVER_AUTH, lifetime
    )
    client_cert, client_key = _issue(
        ca_key, ca_cert, LOCAL_CLIENT_NAME, ExtendedKeyUsageOID.CLIENT_AUTH, lifetime
    )

    return (
        TlsIdentity(ca_pem=ca_pem, cert_pem=server_cert, key_pem=server_key),
        TlsIdentity(ca_pem=ca_pem, cert_pem=client_cert, key_pem=client_key),
    )
