"""The edge owns the transaction: `@transactional` opens one unit of work for a route, hands it
to the view as `uow`, and commits it when the view answers below 400. A view never commits.

With `idempotent=True` an `Idempotency-Key` header joins that same transaction: a retried
request gets the first response again and changes nothing, because the stored response commits
together with the changes. Keys are scoped to the caller (the token's subject, or "anonymous"
on public routes) and bound to the request they were first used with: the same key with another
body is a 422.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, g, make_response, request
from flask_smorest import Blueprint
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from shared.db.uow import UnitOfWork
from shared.errors import Conflict, InvalidInput
from shared.observability.http import current_correlation_id
from shared.time import utcnow
from shared.web.app import service_context

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

_IDEMPOTENCY_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
            "description": "Makes a retried request safe: the first response is returned again.",
        }
    ]
}


def transactional(view: Callable | None = None, *, idempotent: bool = False) -> Callable[..., Any]:
    """Use bare (`@transactional`) or with `idempotent=True`, below the auth decorators and above
    flask-smorest's `arguments`/`response`, so the key is checked before the body is parsed."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = _idempotency_key() if idempotent else None
            context = service_context()
            with UnitOfWork(
                context.database, context.settings.service, correlation_id=current_correlation_id()
            ) as uow:
                stored = _IdempotentRequest(uow, key) if key is not None else None
                if stored is not None and (replay := stored.previous_response()) is not None:
                    return replay
                response = make_response(view(*args, uow=uow, **kwargs))
                if response.status_code >= 400:
                    return response  # the context manager rolls everything back
                if stored is not None:
                    stored.remember(response)
                try:
                    uow.commit()
                except IntegrityError:
                    if stored is None:
                        raise
                    uow.rollback()
                    return stored.winner_of_race()
            return response

        return Blueprint.doc(**_IDEMPOTENCY_DOC)(wrapper) if idempotent else wrapper

    return decorate(view) if view is not None else decorate


def _idempotency_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} characters.",
            errors={HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} characters."]},
        )
    return key


class _IdempotentRequest:
    """One keyed request inside its unit of work: the earlier answer, if any, and the row that
    records this one."""

    def __init__(self, uow: UnitOfWork, key: str) -> None:
        principal = g.get("principal")
        self.uow = uow
        self.key = key
        self.owner = principal.subject if principal is not None else "anonymous"
        self.fingerprint = _fingerprint()
        self.table: Table = uow.database.idempotency_keys

    def _stored(self):
        table = self.table
        lookup = select(table).where(table.c.principal == self.owner, table.c.key == self.key)
        return self.uow.session.execute(lookup).first()

    def previous_response(self) -> Response | None:
        existing = self._stored()
        if existing is None:
            return None
        if existing.request_hash != self.fingerprint:
            raise InvalidInput(
                f"This {HEADER} was used with a different request.",
                errors={HEADER: ["Already used with a different request."]},
            )
        return _replay(existing)

    def remember(self, response: Response) -> None:
        self.uow.session.execute(
            self.table.insert().values(
                principal=self.owner,
                key=self.key,
                method_path=f"{request.method} {request.path}"[:300],
                request_hash=self.fingerprint,
                status_code=response.status_code,
                content_type=response.content_type,
                response_body=response.get_data(as_text=True),
                created_at=utcnow(),
            )
        )

    def winner_of_race(self) -> Response:
        """The same key raced us and won; everything we did is rolled back."""
        existing = self._stored()
        if existing is not None and existing.request_hash == self.fingerprint:
            return _replay(existing)
        raise Conflict("This request collided with a concurrent one; retry it.")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(row) -> Response:
    response = Response(row.response_body, status=row.status_code, content_type=row.content_type)
    response.headers[REPLAYED_HEADER] = "true"
    return response
