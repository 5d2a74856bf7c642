"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, has_request_context, json, request
from gunicorn.http.errors import ParseException
from marshmallow import Schema, fields
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from shared.errors import DomainError, TooManyRequests, TransientError

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://sscard.dev/problems/"

# Plain HTTP failures keep RFC 9457's "about:blank": the status code says it all.
_SLUGS = {
    400: "bad-request",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    503: "unavailable",
}


def plain_problem_type(status: int) -> str:
    """The `type` of a plain HTTP failure with this status; also for the requests gunicorn
    rejects before Flask sees them (shared/web/server.py)."""
    slug = _SLUGS.get(status)
    return PROBLEM_TYPE_BASE + slug if slug else "about:blank"


class ProblemSchema(Schema):
    """Documents the error body; responses are built by `problem()` directly."""

    type = fields.String(metadata={"description": "URI naming the kind of problem"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "For validation errors: field → messages"},
    )


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if has_request_context():
        body["instance"] = request.path
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow/webargs nest errors by location and field; clients want `field: [msgs]`,
    with dotted paths for nested fields."""
    if isinstance(messages, list | tuple):
        return {prefix or "_schema": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "form", "files", "headers", "view_args"):
                flat.update(flatten_errors(value, ""))
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
        return flat
    return {prefix or "_schema": [str(messages)]}


def problem_from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    headers = dict(data.get("headers") or {})
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    if status == 400 and messages:
        return problem(
            400,
            "Malformed request",
            "The request body is not valid JSON.",
            slug="bad-request",
            headers=headers,
        )
    if status == 422:
        return problem(
            422,
            "Invalid fields",
            "One or more fields are invalid.",
            slug="validation-error",
            errors=flatten_errors(messages),
            headers=headers,
        )
    return problem(status, error.name, error.description, slug=_SLUGS.get(status), headers=headers)


def register_problem_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        headers = {}
        if isinstance(error, TooManyRequests):
            headers["Retry-After"] = str(error.retry_after)
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="sscard"'
        return problem(
            error.status,
            error.title,
            error.detail,
            slug=error.slug,
            errors=error.errors,
            headers=headers,
            **error.extra,
        )

    @app.errorhandler(TransientError)
    def _transient(error: TransientError):
        log.warning("dependency unavailable: %s", error)
        return problem(
            503,
            "Service unavailable",
            "A dependency is unavailable; try again.",
            slug="unavailable",
            # A TransientError may say how long to wait (e.g. busy password hashing).
            headers={"Retry-After": str(getattr(error, "retry_after", 5))},
        )

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError):
        # Down, restarting or (SQLite) busy: the request may well succeed later, so a 503
        # with Retry-After rather than the 500 of an unexpected error.
        log.warning("database unavailable: %s", error.orig)
        return problem(
            503,
            "Service unavailable",
            "The database is unavailable; try again.",
            slug="unavailable",
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(ParseException)
    def _malformed_body(error: ParseException):
        # gunicorn reads a body as the view asks for it, so a broken chunked encoding surfaces
        # here, inside the view, not in the worker (shared/web/server.py). The client's fault:
        # a 400, and nothing of the body logged. (A body that ends early is an OSError, which
        # werkzeug already turns into a 400.)
        log.warning("malformed request body: %s", type(error).__name__)
        return problem(
            400,
            "Malformed request body",
            "The request body's chunked encoding is not valid.",
            slug="bad-request",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return problem_from_http_exception(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return problem(
            500, "Internal server error", "Something went wrong on our side; it has been logged."
        )
