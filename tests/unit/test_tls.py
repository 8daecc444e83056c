"""TLS material: the throwaway local PKI, and PEM files loaded from settings."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from custody.errors import ConfigError
from custody.tls import TlsIdentity, load_identity, local_pki


@pytest.fixture(scope="module")
def pki() -> tuple[TlsIdentity, TlsIdentity]:
    return local_pki()


def certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def public_key_der(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_both_identities_trust_one_ca(pki: tuple[TlsIdentity, TlsIdentity]) -> None:
    """Server and client identities carry the same CA certificate, and it is a CA."""
    server, client = pki
    ca = certificate(server.ca_pem)

    assert server.ca_pem == client.ca_pem
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_certificates_are_signed_by_the_ca(pki: tuple[TlsIdentity, TlsIdentity]) -> None:
    """Each identity's certificate names the CA as issuer and carries the CA's valid signature."""
    for identity in pki:
        ca = certificate(identity.ca_pem)
        cert = certificate(identity.cert_pem)

        cert.verify_directly_issued_by(ca)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_chains_pass_strict_web_pki_verification(pki: tuple[TlsIdentity, TlsIdentity]) -> None:
    """Both chains pass cryptography's strict verifier, not only gRPC's checks."""
    server, client = pki
    ca = x509.load_pem_x509_certificate(server.ca_pem)
    policy = PolicyBuilder().store(Store([ca])).time(datetime.datetime.now(datetime.UTC))

    server_chain = policy.build_server_verifier(x509.DNSName("localhost")).verify(
        x509.load_pem_x509_certificate(server.cert_pem), []
    )
    client_chain = policy.build_client_verifier().verify(
        x509.load_pem_x509_certificate(client.cert_pem), []
    )

    assert server_chain[-1] == ca
    assert client_chain.subjects == [x509.DNSName("userbot")]


def test_each_key_belongs_to_its_certificate(pki: tuple[TlsIdentity, TlsIdentity]) -> None:
    """The private key of each identity is the one its certificate was issued for."""
    for identity in pki:
        key = serialization.load_pem_private_key(identity.key_pem, password=None)
        cert = certificate(identity.cert_pem)

        assert public_key_der(key.public_key()) == public_key_der(cert.public_key())


def test_the_server_answers_to_loopback(pki: tuple[TlsIdentity, TlsIdentity]) -> None:
    """The server certificate's SAN holds localhost and 127.0.0.1, and its EKU is serverAuth."""
    cert = certificate(pki[0].cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value

    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_the_client_is_userbot(pki: tuple[TlsIdentity, TlsIdentity]) -> None:
    """The client certificate's CN is 'userbot' and its only EKU is clientAuth."""
    cert = certificate(pki[1].cert_pem)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value

    assert common_name(cert) == "userbot"
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_repr_hides_the_material(pki: tuple[TlsIdentity, TlsIdentity]) -> None:
    """The repr of an identity shows no PEM at all."""
    for identity in pki:
        shown = repr(identity)

        assert "BEGIN" not in shown
        assert identity.key_pem.decode() not in shown


def write_identity(folder: Path, pki: tuple[TlsIdentity, TlsIdentity]) -> dict[str, Path]:
    server = pki[0]
    paths = {
        "GRPC_TLS_CA": folder / "ca.pem",
        "GRPC_TLS_CERT": folder / "server.pem",
        "GRPC_TLS_KEY": folder / "server.key",
    }
    paths["GRPC_TLS_CA"].write_bytes(server.ca_pem)
    paths["GRPC_TLS_CERT"].write_bytes(server.cert_pem)
    paths["GRPC_TLS_KEY"].write_bytes(server.key_pem)

    return paths


def test_load_identity_reads_the_three_files(
    tmp_path: Path, pki: tuple[TlsIdentity, TlsIdentity]
) -> None:
    """load_identity returns exactly the bytes of the CA, certificate and key files."""
    paths = write_identity(tmp_path, pki)

    loaded = load_identity(paths["GRPC_TLS_CA"], paths["GRPC_TLS_CERT"], paths["GRPC_TLS_KEY"])

    assert loaded == pki[0]


@pytest.mark.parametrize("variable", ["GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY"])
def test_a_missing_file_names_its_variable(
    tmp_path: Path, pki: tuple[TlsIdentity, TlsIdentity], variable: str
) -> None:
    """A path to a file that does not exist raises ConfigError naming that file's variable."""
    paths = write_identity(tmp_path, pki)
    paths[variable] = tmp_path / "absent.pem"

    with pytest.raises(ConfigError) as caught:
        load_identity(paths["GRPC_TLS_CA"], paths["GRPC_TLS_CERT"], paths["GRPC_TLS_KEY"])

    assert caught.value.variable == variable


@pytest.mark.parametrize("variable", ["GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY"])
def test_a_non_pem_file_names_its_variable(
    tmp_path: Path, pki: tuple[TlsIdentity, TlsIdentity], variable: str
) -> None:
    """A file that holds no PEM block raises ConfigError naming that file's variable."""
    paths = write_identity(tmp_path, pki)
    paths[variable].write_bytes(b"\x30\x82\x01\x0a not a PEM file")

    with pytest.raises(ConfigError) as caught:
        load_identity(paths["GRPC_TLS_CA"], paths["GRPC_TLS_CERT"], paths["GRPC_TLS_KEY"])

    assert caught.value.variable == variable


@pytest.mark.parametrize("variable", ["GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY"])
def test_an_unset_path_names_its_variable(
    tmp_path: Path, pki: tuple[TlsIdentity, TlsIdentity], variable: str
) -> None:
    """A path left unset raises ConfigError naming its variable."""
    paths: dict[str, Path | None] = dict(write_identity(tmp_path, pki))
    paths[variable] = None

    with pytest.raises(ConfigError) as caught:
        load_identity(paths["GRPC_TLS_CA"], paths["GRPC_TLS_CERT"], paths["GRPC_TLS_KEY"])

    assert caught.value.variable == variable


def test_a_key_of_another_certificate_names_grpc_tls_key(
    tmp_path: Path, pki: tuple[TlsIdentity, TlsIdentity]
) -> None:
    """The client's key beside the server's certificate is refused, naming GRPC_TLS_KEY."""
    paths = write_identity(tmp_path, pki)
    paths["GRPC_TLS_KEY"].write_bytes(pki[1].key_pem)

    with pytest.raises(ConfigError) as caught:
        load_identity(paths["GRPC_TLS_CA"], paths["GRPC_TLS_CERT"], paths["GRPC_TLS_KEY"])

    assert caught.value.variable == "GRPC_TLS_KEY"


def test_a_key_given_as_the_certificate_names_grpc_tls_cert(
    tmp_path: Path, pki: tuple[TlsIdentity, TlsIdentity]
) -> None:
    """A private key where the certificate belongs is refused, naming GRPC_TLS_CERT."""
    paths = write_identity(tmp_path, pki)
    paths["GRPC_TLS_CERT"].write_bytes(pki[0].key_pem)

    with pytest.raises(ConfigError) as caught:
        load_identity(paths["GRPC_TLS_CA"], paths["GRPC_TLS_CERT"], paths["GRPC_TLS_KEY"])

    assert caught.value.variable == "GRPC_TLS_CERT"
