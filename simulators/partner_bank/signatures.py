"""Checking that a print message really comes from sscard's printing service.

The signature is Ed25519 over the canonical JSON (RFC 8785) of the event's `data`. For print
data — strings and nested objects, no numbers — that is exactly Python's
`json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, UTF-8 encoded.
The public key comes from `GET {printing}/api/v1/print-signing-key`; a message naming a key
id we do not know yet makes us fetch the keys again (sscard rotated its key).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

log = logging.getLogger(__name__)

KEY_PATH = "/api/v1/print-signing-key"


class KeysUnavailable(Exception):
    """The printing service could not be asked for its keys; try the message again later."""


def canonical_bytes(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def signature_is_valid(public_key: Ed25519PublicKey, data: dict, signature_b64: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), canonical_bytes(data))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


class SigningKeys:
    """The printing service's public keys by key id, fetched when a new id turns up — but at
    most every `min_refresh_seconds`, so forged key ids cannot turn into a flood of requests."""

    def __init__(self, printing_url: str, *, min_refresh_seconds: float = 5.0) -> None:
        self.url = printing_url.rstrip("/") + KEY_PATH
        self.min_refresh_seconds = min_refresh_seconds
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, key_id: str) -> Ed25519PublicKey | None:
        """The key, or None when the printing service does not know it either."""
        with self._lock:
            if key_id not in self._keys and self._may_refresh():
                self._refresh()
            return self._keys.get(key_id)

    def _may_refresh(self) -> bool:
        return (
            self._fetched_at is None
            or time.monotonic() - self._fetched_at >= self.min_refresh_seconds
        )

    def _refresh(self) -> None:
        try:
            response = requests.get(self.url, timeout=(3, 5))
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise KeysUnavailable(f"cannot fetch {self.url}: {exc}") from exc
        self._fetched_at = time.monotonic()
        for entry in body.get("keys") or [body]:
            if entry.get("algorithm") != "Ed25519":
                continue
            key = load_pem_public_key(entry["public_key_pem"].encode())
            if isinstance(key, Ed25519PublicKey):
                self._keys[entry["key_id"]] = key
        log.info("print-signing keys now known: %s", ", ".join(sorted(self._keys)))
