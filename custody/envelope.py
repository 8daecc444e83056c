"""The sealed format: AES-256-GCM under a one-time data key, bound to its ticket.

    blob = version (1 byte, 0x01) || nonce (12 random bytes) || ciphertext || tag (16)

The associated data binds the blob to the ticket id, the secret's name and KV
version, and the requester, so a blob moved to another ticket or redeemed by
another person fails the tag check instead of decrypting.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custody.errors import IntegrityError

FORMAT_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32
# A sealed blob fits one 256 KiB block, IPFS's default chunk: its CID is then the
# raw CID of its bytes, known before it is stored, so the sweeper can always find it.
MAX_BLOB = 256 * 1024
MAX_PLAINTEXT = MAX_BLOB - 1 - NONCE_SIZE - TAG_SIZE


@dataclass(frozen=True, slots=True)
class Binding:
    """What a sealed blob is bound to; becomes the GCM associated data."""

    ticket_id: str
    name: str
    version: int
    user_id: int
    chat_id: int

    def associated_data(self) -> bytes:
        fields = {
            "format": FORMAT_VERSION,
            "ticket": self.ticket_id,
            "name": self.name,
            "version": self.version,
            "user": self.user_id,
            "chat": self.chat_id,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def __repr__(self) -> str:
        return f"Binding(name={self.name!r}, version={self.version}, user={self.user_id})"


def seal(plaintext: bytes, key: bytes | bytearray, binding: Binding) -> bytes:
    """Encrypt `plaintext` under `key` with a fresh random nonce."""
    if len(key) != KEY_SIZE:
        raise ValueError("AES-256-GCM needs a 32-byte key.")
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(bytes(key)).encrypt(nonce, plaintext, binding.associated_data())

    return bytes([FORMAT_VERSION]) + nonce + sealed


def unseal(blob: bytes, key: bytes | bytearray, binding: Binding) -> bytes:
    """Decrypt a blob made by `seal`; any tampering raises IntegrityError."""
    if len(key) != KEY_SIZE:
        raise IntegrityError("the data key is not a 256-bit key")
    if len(blob) < 1 + NONCE_SIZE + TAG_SIZE or blob[0] != FORMAT_VERSION:
        raise IntegrityError("the ciphertext is not in a format this version reads")
    nonce, sealed = blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
    try:
        return AESGCM(bytes(key)).decrypt(nonce, sealed, binding.associated_data())
    except InvalidTag:
        raise IntegrityError("the ciphertext failed authentication") from None


def encode_fields(fields: dict[str, str]) -> bytes:
    """Serialise a secret's fields for sealing."""
    return json.dumps({"fields": fields}, sort_keys=True, separators=(",", ":")).encode()


def decode_fields(payload: bytes) -> dict[str, str]:
    """Read back what `encode_fields` wrote."""
    try:
        fields = json.loads(payload)["fields"]
    except (ValueError, KeyError, TypeError):
        raise IntegrityError("the decrypted payload is malformed") from None
    if not isinstance(fields, dict):
        raise IntegrityError("the decrypted payload is malformed")

    return {str(key): str(value) for key, value in fields.items()}
