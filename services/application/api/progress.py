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

from services.application.api.schemas import ProgressQuerySchema, ProgressSchema
from services.application.dao import (
    dao_get_application_by_acceptance_number,
    dao_get_latest_application_by_id_number,
)
from services.application.domain.acceptance import normalise_acceptance_number
from services.application.domain.applicant import normalise_name
from services.application.domain.lookup import plainly_valid_lookup
from services.application.rate_limit import rate_limited
from services.application.runtime import Runtime
from shared.errors import InvalidInput, NotFound
from shared.messaging.envelope import format_time
from shared.resident_id import InvalidResidentId, parse_resident_id
from shared.web.app import service_context
from shared.web.auth import public
from shared.web.openapi import documented
from shared.web.problems import flatten_errors

blp = Blueprint("progress", __name__, description="Progress look-up for every channel.")


def _runtime() -> Runtime:
    return service_context().extras["runtime"]


def _limit(runtime: Runtime) -> tuple[int, int]:
    return runtime.options.progress_rate_limit, runtime.options.progress_rate_window_seconds


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
    runtime = _runtime()
    if "id_number" in query:
        try:
            id_number = parse_resident_id(query["id_number"]).number
        except InvalidResidentId as exc:
            raise InvalidInput(str(exc), errors={"id_number": [str(exc)]}) from None
        index = runtime.id_number_index(id_number)
        row = dao_get_latest_application_by_id_number(runtime.reads, index)
    else:
        number = normalise_acceptance_number(query["acceptance_number"])
        if number is None:
            raise InvalidInput(
                "Not an acceptance number.",
                errors={"acceptance_number": ["Looks like SSC-20261125-7K3Q9M."]},
            )
        row = dao_get_application_by_acceptance_number(runtime.reads, number)
    if row is None or normalise_name(row.name) != normalise_name(query["name"]):
        raise NotFound("No application matches these details.")
    body = {
        "status": row.status,
        "updated_at": format_time(row.status_at),
        "outlet": {"name": row.outlet_name, "address": row.outlet_address},
    }
    # Built here rather than dumped by the schema: this is the hot path of every channel.
    return Response(_JSON.encode(body), mimetype="application/json")
