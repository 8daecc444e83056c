"""CID helpers: computing raw CIDs, decoding any multibase, and checking fetched bytes."""

from __future__ import annotations

import hashlib

import pytest
from multiformats import CID, multihash

from custody.content.cid import check_bytes, normalize_cid, parse_cid, raw_cid, same_cid
from custody.errors import IntegrityError

DATA = b"ciphertext"
SHA256 = hashlib.sha256(DATA).hexdigest()
# The CIDv1 of a small UnixFS file; as a dag-pb root it is not a hash of the file's bytes.
DAG_PB = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
CID_V0 = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"

MALFORMED = [
    pytest.param("", id="empty"),
    pytest.param("not-a-cid", id="words"),
    pytest.param("z", id="bare-base58-prefix"),
    pytest.param("m", id="bare-base64-prefix"),
    pytest.param("\x00", id="nul"),
    pytest.param("bafy", id="truncated-prefix"),
    pytest.param(raw_cid(DATA)[:-3], id="truncated"),
    pytest.param("bafkrei" + "a" * 40, id="short-digest"),
    pytest.param("zzzzz", id="base58-garbage"),
]


def test_raw_cid_is_the_sha256_of_the_bytes() -> None:
    """raw_cid gives a base32 CIDv1 with the raw codec whose digest is the SHA-256."""
    cid = CID.decode(raw_cid(DATA))

    assert raw_cid(DATA).startswith("bafkrei")
    assert (cid.version, cid.codec.name, cid.hashfun.name) == (1, "raw", "sha2-256")
    assert cid.raw_digest == hashlib.sha256(DATA).digest()


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_cid_is_an_integrity_error(text: str) -> None:
    """Every malformed CID string raises IntegrityError, never a library exception."""
    with pytest.raises(IntegrityError, match="malformed"):
        parse_cid(text)


@pytest.mark.parametrize("base", ["base58btc", "base32", "base36", "base64"])
def test_normalize_gives_base32_for_any_base(base: str) -> None:
    """normalize_cid turns a CID in any multibase into its base32 form."""
    cid = raw_cid(DATA)

    assert normalize_cid(str(CID.decode(cid).set(base=base))) == cid


def test_normalize_turns_cid_v0_into_v1() -> None:
    """A CIDv0 comes out as the base32 CIDv1 of the same dag-pb content."""
    normalized = CID.decode(normalize_cid(CID_V0))

    assert normalized.version == 1
    assert normalized.codec.name == "dag-pb"
    assert normalized.raw_digest == CID.decode(CID_V0).raw_digest


def test_same_cid_ignores_the_base() -> None:
    """One CID printed in base32 and in base58btc counts as the same."""
    cid = raw_cid(DATA)

    assert same_cid(cid, str(CID.decode(cid).set(base="base58btc")))


def test_same_cid_ignores_the_version() -> None:
    """A CIDv0 and its CIDv1 form name the same content."""
    assert same_cid(CID_V0, normalize_cid(CID_V0))


def test_same_cid_tells_different_content_apart() -> None:
    """CIDs of different bytes, or a malformed one, are not the same."""
    assert not same_cid(raw_cid(DATA), raw_cid(b"other"))
    assert not same_cid(raw_cid(DATA), "not-a-cid")


def test_check_bytes_accepts_matching_bytes() -> None:
    """Bytes that match both the recorded SHA-256 and their raw CID pass."""
    check_bytes(raw_cid(DATA), DATA, SHA256)


def test_check_bytes_rejects_a_wrong_sha256() -> None:
    """Bytes whose SHA-256 differs from the recorded one fail, whatever the CID says."""
    other = b"ciphertexT"

    with pytest.raises(IntegrityError, match="SHA-256"):
        check_bytes(raw_cid(other), other, SHA256)


def test_check_bytes_rejects_a_raw_cid_of_other_bytes() -> None:
    """Bytes that match the SHA-256 but not the raw CID fail."""
    with pytest.raises(IntegrityError, match="its CID"):
        check_bytes(raw_cid(b"other"), DATA, SHA256)


def test_check_bytes_rejects_a_raw_cid_with_another_hash() -> None:
    """A raw CID whose hash function is not SHA-256 cannot vouch for the bytes."""
    digest = multihash.digest(DATA, "sha2-512")
    cid = str(CID("base32", 1, "raw", digest))

    with pytest.raises(IntegrityError, match="its CID"):
        check_bytes(cid, DATA, SHA256)


def test_check_bytes_relies_on_the_sha256_for_dag_pb() -> None:
    """For a dag-pb root, the recorded SHA-256 alone decides."""
    check_bytes(DAG_PB, DATA, SHA256)

    with pytest.raises(IntegrityError, match="SHA-256"):
        check_bytes(DAG_PB, b"ciphertexT", SHA256)


def test_check_bytes_rejects_a_malformed_cid() -> None:
    """A malformed CID fails the check even when the SHA-256 matches."""
    with pytest.raises(IntegrityError, match="malformed"):
        check_bytes("not-a-cid", DATA, SHA256)
