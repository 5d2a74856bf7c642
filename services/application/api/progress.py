"""`GET /progress`: where an application stands, for the bureau's website and the WeChat and
Alipay channels, without a login.

It answers only status, time and outlet, and only to someone who knows the applicant's name
together with their ID number or acceptance number. Whatever does not match — an unknown
number, a wrong name — gets the same 404, so the endpoint cannot tell anyone which ID numbers
have applied. Requests are rate limited per client address. ID numbers are found through
their blind index; nothing is decrypted to search.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, ValidationError

from services.application.api.rate_limit import rate_limited
from services.application.api.schemas import ProgressQuerySchema, ProgressSchema
from services.application.deps import Dependencies, current
from services.application.domain.lookup import plainly_valid_lookup
from services.application.use_cases.progress import look_up_progress
from shared.errors import InvalidInput
from shared.web.auth import public
from shared.web.openapi import documented
from shared.web.problems import flatten_errors

blp = Blueprint("progress", __name__, description="Progress look-up for every channel.")


def _limit(deps: Dependencies) -> tuple[int, int]:
    return deps.options.progress_rate_limit, deps.options.progress_rate_window_seconds


# This is the hot path of every channel: a plainly valid query is taken as it is
# (domain/lookup.py), anything else is judged by the schema that documents the query.
_QUERY = ProgressQuerySchema()
_JSON = json.JSONEncoder(ensure_ascii=False)


def query_args(query_string: str) -> dict[str, str]:
    """The query as `request.args.get` reads it (the first value of a repeated key wins; bytes
    that are not UTF-8 stay percent-encoded), into a plain dict.

    The same as `parse_qsl(query_string, keep_blank_values=True, errors="werkzeug.url_quote")`
    (a test holds them to the same answers), quicker for what every channel sends: a name that
    is nothing but percent-encoded UTF-8, which is decoded in one call, not one per byte."""
    args: dict[str, str] = {}
    for pair in query_string.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            name = _unquote_plus(name)
            if name not in args:
                args[name] = _unquote_plus(value)
    return args


def _unquote_plus(text: str) -> str:
    if "%" not in text:
        return text.replace("+", " ")
    triples = len(text) // 3
    if len(text) == 3 * triples and text[::3] == "%" * triples:
        digits = text.replace("%", "")
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raw = b""
        if len(raw) == triples:  # fromhex skips spaces: each triple must have been one byte
            return raw.decode("utf-8", "werkzeug.url_quote")
    return unquote(text.replace("+", " "), errors="werkzeug.url_quote")


def _query() -> dict:
    # The environ's QUERY_STRING: the server has already refused a request line that is not
    # ASCII, so this is the text request.query_string would give.
    args = query_args(request.environ.get("QUERY_STRING", ""))
    query = plainly_valid_lookup(args)
    if query is not None:
        return query
    try:
        return _QUERY.load(args, unknown=EXCLUDE)
    except ValidationError as exc:
        raise InvalidInput(
            "One or more fields are invalid.", errors=flatten_errors({"query": exc.messages})
        ) from None


@blp.route("/progress", methods=["GET"])
@public
@rate_limited("progress", _limit)
@documented(
    blp.doc(parameters=[{"in": "query", "schema": ProgressQuerySchema}]),
    blp.response(200, ProgressSchema),
    blp.alt_response(404, description="Nothing matches these details (whatever was wrong)"),
    blp.alt_response(422, description="Missing or invalid look-up details"),
    blp.alt_response(429, description="Too many look-ups from this client"),
)
def get_progress():
    """Status, when it last changed, and the outlet; by ID number + name or acceptance
    number + name."""
    query = _query()
    body = look_up_progress(
        current(),
        name=query["name"],
        id_number=query.get("id_number"),
        acceptance_number=query.get("acceptance_number"),
    )
    # Built here rather than dumped by the schema: this is the hot path of every channel.
    return Response(_JSON.encode(body), mimetype="application/json")
