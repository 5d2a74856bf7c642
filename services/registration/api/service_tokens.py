"""Service tokens: another sscard service (or sscardctl) trades the shared internal secret for
a short-lived token with the role `service` (shared.auth.service_tokens is the client)."""

from __future__ import annotations

import hmac

from flask import request
from flask_smorest import Blueprint

from services.registration.api.sessions import AccessTokenSchema
from services.registration.runtime import runtime
from shared.config import SERVICES
from shared.errors import Unauthorized
from shared.web.app import service_context
from shared.web.auth import public

blp = Blueprint("service_tokens", __name__, description="Tokens for sscard's own services.")

SERVICE_CLIENTS = frozenset((*SERVICES, "sscardctl"))


@blp.route("/service-tokens", methods=["POST"])
@public
@blp.response(200, AccessTokenSchema)
@blp.alt_response(401, description="Unknown service or wrong secret")
@blp.doc(security=[{"basicAuth": []}])
def create_service_token():
    """A service token, for HTTP Basic credentials: the service's name and the internal secret."""
    credentials = request.authorization
    given = (credentials.password or "") if credentials and credentials.type == "basic" else ""
    expected = service_context().settings.internal_secret()
    secret_matches = hmac.compare_digest(given.encode(), expected.encode())
    name = credentials.username if credentials else None
    if not secret_matches or name not in SERVICE_CLIENTS:
        raise Unauthorized("Unknown service or wrong secret.")
    return runtime().tokens.for_service(name)
