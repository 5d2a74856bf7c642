"""Service tokens: another sscard service (or sscardctl) trades the shared internal secret for
a short-lived token with the role `service` (shared.auth.service_tokens is the client)."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from services.registration import deps
from services.registration.api.sessions import AccessTokenSchema
from services.registration.use_cases import tokens as use_cases
from shared.web.auth import public

blp = Blueprint("service_tokens", __name__, description="Tokens for sscard's own services.")


@blp.route("/service-tokens", methods=["POST"])
@public
@blp.response(200, AccessTokenSchema)
@blp.alt_response(401, description="Unknown service or wrong secret")
@blp.doc(security=[{"basicAuth": []}])
def create_service_token():
    """A service token, for HTTP Basic credentials: the service's name and the internal secret."""
    credentials = request.authorization
    given = (credentials.password or "") if credentials and credentials.type == "basic" else ""
    name = credentials.username if credentials else None
    return use_cases.issue_service_token(deps.current(), client=name, secret=given)
