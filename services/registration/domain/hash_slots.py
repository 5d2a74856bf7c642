"""A bound on argon2 work in one process, so a burst of registrations and logins cannot starve
the service's cheap endpoints (the JWKS, service tokens, identity checks, the revocation list).

argon2id is slow and memory-hard on purpose (64 MiB and a few tenths of a second each). At most
`concurrency` hashes or verifications run at once (`REGISTRATION_HASH_CONCURRENCY`, default 2);
at most `max_waiting` more wait for a slot, each at most `max_wait` seconds
(`REGISTRATION_HASH_WAIT_SECONDS`, default 2). Any other request for hashing is answered at once
with 503 and `Retry-After` (HashingBusy), and the web threads left over keep serving the rest.
A thread that holds a slot may ask again (a login holds one around its password check).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from shared.errors import TransientError


class HashingBusy(TransientError):
    """Every password-hashing slot is taken and the wait ran out: 503 with `Retry-After`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("every password-hashing slot is busy")
        self.retry_after = retry_after


class HashSlots:
    def __init__(
        self, concurrency: int, *, max_wait: float, max_waiting: int, retry_after: int = 2
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.max_wait = max_wait
        self.max_waiting = max(0, max_waiting)
        self.retry_after = retry_after
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._admitted = threading.BoundedSemaphore(self.concurrency + self.max_waiting)
        self._held = threading.local()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Holds one slot for the block; HashingBusy when none comes free in time."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        if not self._admitted.acquire(blocking=False):
            raise HashingBusy(self.retry_after)
        try:
            if not self._slots.acquire(timeout=self.max_wait):
                raise HashingBusy(self.retry_after)
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                self._slots.release()
        finally:
            self._admitted.release()


class BoundedPasswords:
    """domain.passwords.Passwords, each hash and verification inside a slot."""

    def __init__(self, passwords, slots: HashSlots) -> None:
        self.passwords = passwords
        self.slots = slots

    def hash(self, password: str) -> str:
        with self.slots.slot():
            return self.passwords.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        with self.slots.slot():
            return self.passwords.verify(stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.passwords.needs_rehash(stored_hash)
