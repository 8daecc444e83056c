"""The sealed format: what unseals, and every way a blob or its binding can fail."""

from __future__ import annotations

import dataclasses
import os

import pytest

from custody.envelope import (
    KEY_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    Binding,
    decode_fields,
    encode_fields,
    seal,
    unseal,
)
from custody.errors import IntegrityError

PLAINTEXT = b'{"fields":{"password":"hunter2"}}'
TICKET_ID = "tkt-7Qm2x9VbLr4s"


@pytest.fixture
def key() -> bytes:
    return os.urandom(KEY_SIZE)


@pytest.fixture
def binding() -> Binding:
    return Binding(ticket_id=TICKET_ID, name="db_prod", version=3, user_id=1001, chat_id=-42)


@pytest.fixture
def blob(key: bytes, binding: Binding) -> bytes:
    return seal(PLAINTEXT, key, binding)


def test_unseal_returns_what_was_sealed(blob: bytes, key: bytes, binding: Binding) -> None:
    """A blob unsealed with its own key and binding gives back the plaintext."""
    assert unseal(blob, key, binding) == PLAINTEXT


def test_unseal_accepts_the_key_as_a_bytearray(key: bytes, binding: Binding) -> None:
    """A key held in a bytearray, so it can be wiped, seals and unseals alike."""
    mutable_key = bytearray(key)

    assert unseal(seal(PLAINTEXT, mutable_key, binding), mutable_key, binding) == PLAINTEXT


def test_an_empty_plaintext_round_trips(key: bytes, binding: Binding) -> None:
    """An empty plaintext seals to the shortest valid blob and unseals to nothing."""
    blob = seal(b"", key, binding)

    assert len(blob) == 1 + NONCE_SIZE + TAG_SIZE
    assert unseal(blob, key, binding) == b""


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("ticket_id", "tkt-someone-else"),
        ("name", "db_staging"),
        ("version", 4),
        ("user_id", 1002),
        ("chat_id", -43),
    ],
)
def test_a_changed_binding_field_fails_the_tag_check(
    blob: bytes, key: bytes, binding: Binding, field: str, other: object
) -> None:
    """Changing any one field of the binding makes unseal raise IntegrityError."""
    moved = dataclasses.replace(binding, **{field: other})

    with pytest.raises(IntegrityError):
        unseal(blob, key, moved)


def test_a_different_key_fails_the_tag_check(blob: bytes, binding: Binding) -> None:
    """A blob unsealed under another 32-byte key raises IntegrityError."""
    with pytest.raises(IntegrityError):
        unseal(blob, os.urandom(KEY_SIZE), binding)


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(0, id="version"),
        pytest.param(1, id="nonce-first"),
        pytest.param(NONCE_SIZE, id="nonce-last"),
        pytest.param(1 + NONCE_SIZE, id="body-first"),
        pytest.param(-TAG_SIZE - 1, id="body-last"),
        pytest.param(-TAG_SIZE, id="tag-first"),
        pytest.param(-1, id="tag-last"),
    ],
)
def test_a_flipped_byte_fails(blob: bytes, key: bytes, binding: Binding, position: int) -> None:
    """Flipping one bit anywhere in the blob makes unseal raise IntegrityError."""
    tampered = bytearray(blob)
    tampered[position] ^= 0x01

    with pytest.raises(IntegrityError):
        unseal(bytes(tampered), key, binding)


@pytest.mark.parametrize(
    "length",
    [
        pytest.param(0, id="empty"),
        pytest.param(1, id="version-only"),
        pytest.param(1 + NONCE_SIZE + TAG_SIZE - 1, id="one-short-of-a-header"),
        pytest.param(-1, id="last-byte-cut"),
    ],
)
def test_a_truncated_blob_fails(blob: bytes, key: bytes, binding: Binding, length: int) -> None:
    """A blob cut short at any point makes unseal raise IntegrityError."""
    with pytest.raises(IntegrityError):
        unseal(blob[:length], key, binding)


def test_each_seal_uses_a_fresh_nonce(key: bytes, binding: Binding) -> None:
    """Sealing the same plaintext twice gives different nonces and different blobs."""
    first, second = seal(PLAINTEXT, key, binding), seal(PLAINTEXT, key, binding)

    assert first[1 : 1 + NONCE_SIZE] != second[1 : 1 + NONCE_SIZE]
    assert first != second


def test_the_blob_starts_with_the_format_version(blob: bytes) -> None:
    """A blob is one version byte, the nonce, and the ciphertext with its tag."""
    assert blob[0] == 0x01
    assert len(blob) == 1 + NONCE_SIZE + len(PLAINTEXT) + TAG_SIZE


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33, 64])
def test_seal_refuses_a_key_that_is_not_32_bytes(binding: Binding, size: int) -> None:
    """Sealing with a key of any size but 32 bytes raises ValueError."""
    with pytest.raises(ValueError, match="32-byte"):
        seal(PLAINTEXT, b"k" * size, binding)


def test_fields_round_trip() -> None:
    """decode_fields gives back exactly the fields encode_fields wrote."""
    fields = {"password": "hunter2", "user": "app", "note": "línea 1\nline 2 🔑", "empty": ""}

    assert decode_fields(encode_fields(fields)) == fields


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[]", id="list"),
        pytest.param(b'"fields"', id="string"),
        pytest.param(b"{}", id="no-fields-key"),
        pytest.param(b'{"fields": ["a", "b"]}', id="fields-not-a-mapping"),
        pytest.param(b'{"fields": null}', id="fields-null"),
    ],
)
def test_a_malformed_payload_is_an_integrity_error(payload: bytes) -> None:
    """A payload that is not what encode_fields writes raises IntegrityError."""
    with pytest.raises(IntegrityError):
        decode_fields(payload)


def test_binding_repr_hides_the_ticket_id(binding: Binding) -> None:
    """The repr of a Binding names the secret but never shows the ticket id."""
    shown = repr(binding)

    assert TICKET_ID not in shown
    assert "db_prod" in shown
