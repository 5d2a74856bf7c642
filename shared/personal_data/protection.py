"""Personal data helpers: field and file encryption at rest, a keyed blind index to find an
encrypted value again, and masking for display."""

from __future__ import annotations

import base64
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"v1"


def mask_id_number(id_number: str) -> str:
    """First 6 and last 4 characters (docs/domain.md, the ID number): `110105********002X`."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    if len(master_key) != 32:
        raise ValueError("master key must be 32 bytes")
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"sscard/" + purpose).derive(
        master_key
    )


class FieldCipher:
    """AES-256-GCM for one column's values.

    The column name is bound into every ciphertext as associated data, so a value copied into
    another column does not decrypt. Separate keys for encryption and the blind index are
    derived from one master key, so a leak of the index key reveals nothing about ciphertexts.
    """

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_derive(master_key, b"field-encryption"))
        self._index_key = _derive(master_key, b"blind-index")

    def encrypt(self, plaintext: str, *, column: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), column.encode())
        return _VERSION.decode() + ":" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, column: str) -> str:
        version, _, payload = token.partition(":")
        if version != _VERSION.decode():
            raise ValueError(f"unknown ciphertext version {version!r}")
        raw = base64.b64decode(payload)
        return self._aead.decrypt(raw[:12], raw[12:], column.encode()).decode()

    def blind_index(self, value: str, *, column: str) -> str:
        """Deterministic, keyed: equal values give equal indexes, but the index alone cannot be
        brute-forced over the small space of ID numbers without the key."""
        # hmac.digest: the same HMAC in one call to OpenSSL (the progress look-up's hot path).
        message = column.encode() + b"\0" + value.encode()
        return hmac.digest(self._index_key, message, "sha256").hex()


class FileCipher:
    """AES-256-GCM for stored files (photos, ID card images), with its own key derived from the
    same master key. The file's name is bound into the ciphertext as associated data, so a file
    copied under another name does not open. Files stored before sealing existed (they do not
    begin with the marker) are read as they are."""

    MARKER = b"sscard-sealed-v1\n"

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_derive(master_key, b"file-encryption"))

    def seal(self, data: bytes, *, name: str) -> bytes:
        nonce = os.urandom(12)
        return self.MARKER + nonce + self._aead.encrypt(nonce, data, name.encode())

    def open(self, stored: bytes, *, name: str) -> bytes:
        """The file's bytes; `cryptography.exceptions.InvalidTag` if they were altered, moved to
        another name or sealed with another key."""
        if not stored.startswith(self.MARKER):
            return stored
        sealed = stored[len(self.MARKER) :]
        return self._aead.decrypt(sealed[:12], sealed[12:], name.encode())
