"""Route decorators for who may call what. Every route carries exactly one of `requires_roles`,
`requires_service` (the internal endpoints) or `public`; a guard-rail test checks that none is
forgotten."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request
from flask_smorest import Blueprint

from shared.auth.tokens import ADMIN, SERVICE, Principal
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.web.openapi import documented

BEARER_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("An `Authorization: Bearer <token>` header is required.")
    return token.strip()


def authenticate() -> Principal:
    principal = current_app.extensions["sscard"].verifier.verify(_bearer_token())
    g.principal = principal
    return principal


def requires_roles(*roles: str) -> Callable:
    """401 without a valid token, 403 when the token has none of `roles`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if not principal.has_any(*roles):
                raise Forbidden("Your role does not allow this.")
            return view(*args, **kwargs)

        wrapper._sscard_roles = roles  # type: ignore[attr-defined]
        return documented(Blueprint.doc(security=BEARER_SECURITY))(wrapper)

    return decorator


def requires_service(*services: str, admin: bool = False) -> Callable:
    """For an internal endpoint: 401 without a valid token; 403 unless it is a service token
    naming one of `services` (or, with `admin=True`, an admin's token). Which service calls
    which endpoint is docs/contract.md's table "Internal endpoints"."""
    allowed = frozenset(services)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if principal.service in allowed or (admin and principal.has_any(ADMIN)):
                return view(*args, **kwargs)
            raise Forbidden("This internal endpoint is not for you.")

        wrapper._sscard_roles = (SERVICE, ADMIN) if admin else (SERVICE,)  # type: ignore[attr-defined]
        wrapper._sscard_services = tuple(sorted(allowed))  # type: ignore[attr-defined]
        return documented(Blueprint.doc(security=BEARER_SECURITY))(wrapper)

    return decorator


def public(view: Callable) -> Callable:
    """Marks a route that deliberately needs no token."""
    view._sscard_public = True  # type: ignore[attr-defined]
    return view


def current_principal() -> Principal:
    return g.principal


def ensure_owner(owner_id: str, *, hide: bool = True) -> None:
    """A citizen may only touch their own resources. By default the answer is 404, the same as
    for a resource that does not exist, so ids cannot be probed."""
    principal = current_principal()
    if principal.subject != owner_id:
        if hide:
            raise NotFound("No such resource.")
        raise Forbidden("This resource belongs to someone else.")
