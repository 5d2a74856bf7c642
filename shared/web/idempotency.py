"""`Idempotency-Key` for POST routes: a retried request gets the first response again and
changes nothing, because the stored response commits in the same transaction as the changes.

Keys are scoped to the caller (the token's subject, or "anonymous" for public routes) and
bound to the request they were first used with: the same key with another body is a 422.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from flask import Response, g, make_response, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.db import utcnow
from shared.errors import Conflict, InvalidInput
from shared.uow import UnitOfWork
from shared.web.app import service_context
from shared.web.observability import current_correlation_id

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Makes a retried request safe: the first response is returned again.",
        }
    ]
}


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(row) -> Response:
    response = Response(row.response_body, status=row.status_code, content_type=row.content_type)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise InvalidInput(
                "The Idempotency-Key header must be 1 to 255 characters.",
                errors={HEADER: ["Must be 1 to 255 characters."]},
            )
        principal = g.get("principal")
        owner = principal.subject if principal is not None else "anonymous"
        fingerprint = _fingerprint()
        context = service_context()
        table = context.database.idempotency_keys
        lookup = select(table).where(table.c.principal == owner, table.c.key == key)

        with UnitOfWork(
            context.database, context.settings.service, correlation_id=current_correlation_id()
        ) as uow:
            existing = uow.session.execute(lookup).first()
            if existing is not None:
                if existing.request_hash != fingerprint:
                    raise InvalidInput(
                        "This Idempotency-Key was used with a different request.",
                        errors={HEADER: ["Already used with a different request."]},
                    )
                return _replay(existing)
            g.sscard_uow = uow
            try:
                with uow.deferring_commits():
                    response = make_response(view(*args, **kwargs))
            finally:
                g.sscard_uow = None
            if not uow.commit_requested:
                return response
            if 200 <= response.status_code < 300:
                uow.session.execute(
                    table.insert().values(
                        principal=owner,
                        key=key,
                        method_path=f"{request.method} {request.path}"[:300],
                        request_hash=fingerprint,
                        status_code=response.status_code,
                        content_type=response.content_type,
                        response_body=response.get_data(as_text=True),
                        created_at=utcnow(),
                    )
                )
            try:
                uow.commit()
            except IntegrityError:
                # The same key raced us and won; everything we did is rolled back.
                uow.rollback()
                existing = uow.session.execute(lookup).first()
                if existing is not None and existing.request_hash == fingerprint:
                    return _replay(existing)
                raise Conflict("This request collided with a concurrent one; retry it.") from None
            return response

    return Blueprint.doc(**_DOC)(wrapper)
