"""What every HTTP simulator built on Flask shares: errors as problem+json (never an HTML page,
never a 500 for bad input), a bounded request body, and reading a JSON object body."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest, UnprocessableEntity

from shared.web.problems import register_problem_handlers

MAX_BODY_BYTES = 2 * 1024 * 1024  # a registry photo, base64, fits with room to spare


def make_simulator_app(name: str, *, max_body_bytes: int = MAX_BODY_BYTES) -> Flask:
    """A Flask app whose every error — unknown route, wrong method, body too large, broken JSON,
    an unexpected exception — is answered as problem+json."""
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    register_problem_handlers(app)
    return app


class NotAnObject(UnprocessableEntity):
    def __init__(self) -> None:
        super().__init__()
        self.data = {"messages": {"_schema": ["The body must be a JSON object."]}}


def json_object_body() -> dict[str, Any]:
    """The request's JSON object. A body that is not JSON → 400; JSON that is not an object
    (a list, a number, null) → 422. The Content-Type is not insisted on: a simulator is
    lenient about headers, strict about content."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise NotAnObject()
    try:
        body = request.get_json(force=True, silent=False)
    except BadRequest:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise NotAnObject()
    return body
