"""Ed25519 signing keys kept in files: the current key signs, recent previous keys still
verify, so a rotation never invalidates what was signed just before it.

Layout of a key ring directory (created 0700, keys 0600, never in git):
    <kid>.pem    one private key per file
    current      the kid that signs now
Keys may also be provided by a mounted secret: point the directory at it.

How long a replaced key keeps verifying: the `keep_previous` newest previous keys (token signing
keys, whose tokens live minutes), or, given an `overlap`, every key replaced less than `overlap`
ago, however many rotations happened since (the print key: a print message may wait days in a
bank's queue). A key's replacement time is its successor's creation time, read from the
successor's kid (`YYYYmmddHHMMSSffffff-…`) or, for a kid of another form, its file's mtime.
"""

from __future__ import annotations

import base64
import fcntl
import itertools
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    def __init__(
        self, directory: Path, *, keep_previous: int = 2, overlap: timedelta | None = None
    ) -> None:
        self.directory = directory
        self.keep_previous = keep_previous
        self.overlap = overlap

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
        """A new current key; the previous keys stay for verification (see the module's
        docstring for how long), and the ones past that are deleted."""
        with self._locked():
            new = self._write_new()
            kept = {key.kid for key in self.verification_keys()}
            for stale in self.all_keys():
                if stale.kid not in kept:
                    (self.directory / f"{stale.kid}.pem").unlink()
            return new

    def _created_at(self, kid: str) -> datetime:
        try:
            return datetime.strptime(kid.split("-", 1)[0], "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
        except ValueError:
            mtime = (self.directory / f"{kid}.pem").stat().st_mtime
            return datetime.fromtimestamp(mtime, UTC)

    def all_keys(self) -> list[SigningKey]:
        """Current first, then previous keys, newest first."""
        current = self.current()
        others = sorted(
            (p.stem for p in self.directory.glob("*.pem") if p.stem != current.kid), reverse=True
        )
        return [current, *(self._read(kid) for kid in others)]

    def verification_keys(self, *, now: datetime | None = None) -> list[SigningKey]:
        """The current key, then the previous keys that still verify, newest first."""
        keys = self.all_keys()
        if self.overlap is None:
            return keys[: 1 + self.keep_previous]
        now = now or datetime.now(UTC)
        kept = [keys[0]]
        for successor, key in itertools.pairwise(keys):
            if now - self._created_at(successor.kid) >= self.overlap:
                break
            kept.append(key)
        return kept
