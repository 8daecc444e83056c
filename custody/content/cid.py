"""Content identifiers: computing, parsing and comparing CIDs.

CIDs are compared after decoding, never as strings: the same CID prints as
`bafkrei...` in base32 and as `zb2rh...` in base58btc, and IPFS nodes answer
with either.
"""

from __future__ import annotations

import hashlib

from multiformats import CID, multihash

from custody.errors import IntegrityError


def raw_cid(data: bytes) -> str:
    """Return the CIDv1 (raw codec, sha2-256, base32) of `data` as one block."""
    digest = multihash.digest(data, "sha2-256")

    return str(CID("base32", 1, "raw", digest))


def parse_cid(text: str) -> CID:
    """Decode a CID in any multibase; a malformed one is an integrity failure."""
    try:
        return CID.decode(text)
    # A bare multibase prefix such as "z" ends in IndexError, a LookupError like KeyError.
    except (LookupError, ValueError) as exc:
        raise IntegrityError("the CID is malformed") from exc


def normalize_cid(text: str) -> str:
    """Return the CIDv1 base32 form of `text`, whatever base it came in."""
    cid = parse_cid(text)

    return str(cid.set(version=1, base="base32"))


def same_cid(left: str, right: str) -> bool:
    """Tell whether two CID strings name the same content."""
    try:
        # A CIDv0 and its CIDv1 form differ only in version, and name the same content.
        return parse_cid(left).set(version=1) == parse_cid(right).set(version=1)
    except IntegrityError:
        return False


def check_bytes(cid: str, data: bytes, sha256: str) -> None:
    """Check fetched bytes against the recorded SHA-256 and, for a raw CID, the CID.

    A CID with a `dag-pb` root (content larger than one block) is not a hash of
    the bytes, so for it the recorded SHA-256 is the check that counts.
    """
    digest = hashlib.sha256(data).digest()
    if digest.hex() != sha256:
        raise IntegrityError("the ciphertext does not match its recorded SHA-256")
    parsed = parse_cid(cid)
    if parsed.codec.name == "raw" and (
        parsed.hashfun.name != "sha2-256" or parsed.raw_digest != digest
    ):
        raise IntegrityError("the ciphertext does not match its CID")
