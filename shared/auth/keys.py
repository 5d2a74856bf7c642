"""Ed25519 signing keys kept in files: the current key signs, recent previous keys still
verify, so a rotation never invalidates what was signed just before it.

Layout of a key ring directory (created 0700, keys 0600, never in git):
    <kid>.pem    one private key per file
    current      the kid that signs now
Keys may also be provided by a mounted secret: point the directory at it.
"""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def public_jwk(self) -> dict[str, str]:
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }

    def sign(self, payload: bytes) -> bytes:
        return self.private_key.sign(payload)


class KeyRing:
    def __init__(self, directory: Path, *, keep_previous: int = 2) -> None:
        self.directory = directory
        self.keep_previous = keep_previous

    @contextmanager
    def _locked(self):
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self, kid: str) -> SigningKey:
        pem = (self.directory / f"{kid}.pem").read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{kid}.pem is not an Ed25519 key")
        return SigningKey(kid, key)

    def _write_new(self) -> SigningKey:
        # Microseconds, so that kids sort in creation order even for rotations within a second.
        kid = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f") + "-" + secrets.token_hex(4)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self.directory / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        temporary = self.directory / "current.tmp"
        temporary.write_text(kid)
        temporary.replace(self.directory / "current")
        return SigningKey(kid, key)

    def current(self) -> SigningKey:
        """The signing key, generated on first use."""
        pointer = self.directory / "current"
        if pointer.exists():
            return self._read(pointer.read_text().strip())
        with self._locked():
            if pointer.exists():
                return self._read(pointer.read_text().strip())
            return self._write_new()

    def rotate(self) -> SigningKey:
        """A new current key; the newest previous keys stay for verification."""
        with self._locked():
            new = self._write_new()
            for stale in self.all_keys()[1 + self.keep_previous :]:
                (self.directory / f"{stale.kid}.pem").unlink()
            return new

    def all_keys(self) -> list[SigningKey]:
        """Current first, then previous keys, newest first."""
        current = self.current()
        others = sorted(
            (p.stem for p in self.directory.glob("*.pem") if p.stem != current.kid), reverse=True
        )
        return [current, *(self._read(kid) for kid in others)]

    def verification_keys(self) -> list[SigningKey]:
        return self.all_keys()[: 1 + self.keep_previous]
