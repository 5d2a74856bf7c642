"""The error vocabulary every service speaks. Pure Python, so domain packages can raise these.

One classification decides two fates (STYLE §6): over HTTP the status code, on a queue
whether a message is retried later or parked in the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    """A business rule said no. Permanent: retrying the same input gives the same answer."""

    status = 422
    title = "Unprocessable request"
    slug = "invalid"

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.extra = dict(extra) if extra else {}


class InvalidInput(DomainError):
    status, title, slug = 422, "Invalid fields", "validation-error"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


class Unauthorized(DomainError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Conflict(DomainError):
    """The resource is in a state that does not allow this (wrong state, duplicate, …)."""

    status, title, slug = 409, "Conflict", "conflict"


class TooManyRequests(DomainError):
    status, title, slug = 429, "Too many requests", "rate-limited"

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class TransientError(Exception):
    """Something outside this service failed (a peer, the database, the broker).

    The same request or message may well succeed later: 503 over HTTP, a delayed retry on a
    queue.
    """


class PermanentMessageError(Exception):
    """A message that can never be processed as it is (malformed, unknown type, bad data)."""
