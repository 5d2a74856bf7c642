"""Per-route request body rules: which media types a route accepts and how large a body may be.

A route that takes JSON needs nothing: JSON with a body limit of `max_json_bytes` is the
default for every POST, PUT and PATCH. Upload routes declare their own types and limits.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from shared.config import Settings
from shared.errors import DomainError

JSON = "application/json"


class UnsupportedMediaType(DomainError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


def accepts(
    *media_types: str, max_bytes: int | Callable[[Settings], int] | None = None
) -> Callable:
    """`max_bytes` is a number, or a function of the service's settings when the limit is
    configurable (an upload size window, say)."""

    def decorator(view: Callable) -> Callable:
        view._sscard_accepts = media_types  # type: ignore[attr-defined]
        if max_bytes is not None:
            view._sscard_max_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return decorator


def _body_rules(app: Flask) -> None:
    if request.method not in ("POST", "PUT", "PATCH") or request.endpoint is None:
        return
    view = app.view_functions.get(request.endpoint)
    if view is None:
        return
    settings = app.extensions["sscard"].settings
    accepted = getattr(view, "_sscard_accepts", (JSON,))
    limit = getattr(view, "_sscard_max_bytes", settings.max_json_bytes)
    if callable(limit):
        limit = limit(settings)
    request.max_content_length = limit  # enforced while reading a body of unknown length
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"The body may be at most {limit} bytes.")
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
    if not has_body:
        return
    if request.mimetype not in accepted:
        raise UnsupportedMediaType(
            f"This endpoint accepts {', '.join(accepted)}, not "
            f"{request.mimetype or 'a body without Content-Type'}."
        )


def register_body_rules(app: Flask) -> None:
    app.before_request(partial(_body_rules, app))
