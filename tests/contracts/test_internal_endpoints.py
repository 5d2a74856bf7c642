"""Every internal endpoint × every caller: a service token is let in only where its service is
listed (docs/contract.md, "Internal endpoints"), an admin only to traces, anyone else nowhere.
The real apps answer; an allowed caller gets past the guard (whatever the unreachable database
then makes of the request), a refused one gets 403."""

from __future__ import annotations

import importlib
import uuid

import pytest

from shared.auth.tokens import ADMIN, CITIZEN, SERVICE, JwksClient, TokenVerifier
from shared.config import SERVICES

SHA256 = "a" * 64
CALLERS = (*SERVICES, "sscardctl", "admin", "citizen", "unnamed service")
EVERY_SERVICE = frozenset(SERVICES)
TRACE_CALLERS = frozenset({"sscardctl", "admin"})

# (service, method, path as routed) → who may call it.
INTERNAL_ENDPOINTS: dict[tuple[str, str, str], frozenset[str]] = {
    ("application", "GET", "/internal/v1/files/<sha256>"): frozenset({"verification", "printing"}),
    ("registration", "POST", "/internal/v1/accounts/<uuid:account_id>/identity-check"): frozenset(
        {"application"}
    ),
    ("registration", "GET", "/internal/v1/revocations"): EVERY_SERVICE,
    **{
        (service, "GET", "/internal/v1/trace/<correlation_id>"): TRACE_CALLERS
        for service in SERVICES
    },
}
CONCRETE = {
    "/internal/v1/files/<sha256>": f"/internal/v1/files/{SHA256}",
    "/internal/v1/accounts/<uuid:account_id>/identity-check": (
        f"/internal/v1/accounts/{uuid.uuid4()}/identity-check"
    ),
    "/internal/v1/revocations": "/internal/v1/revocations",
    "/internal/v1/trace/<correlation_id>": f"/internal/v1/trace/{uuid.uuid4()}",
}


@pytest.fixture(scope="module")
def apps(token_authority):
    """Each service's real app, verifying tokens from the test authority."""
    built = {}
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.app").create_app()
        app.extensions["sscard"].verifier = TokenVerifier(
            JwksClient(token_authority.url + "/.well-known/jwks.json")
        )
        app.config["PROPAGATE_EXCEPTIONS"] = False
        built[service] = app
    return built


def headers_of(token_authority, caller: str) -> dict[str, str]:
    if caller == "admin":
        return token_authority.headers([ADMIN])
    if caller == "citizen":
        return token_authority.headers([CITIZEN])
    if caller == "unnamed service":  # a service token of before: no `service` claim
        return token_authority.headers([SERVICE], subject="service:verification")
    return token_authority.service(caller)


def test_every_internal_route_is_in_the_table(apps):
    routed = {
        (service, method, rule.rule)
        for service, app in apps.items()
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/internal/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routed == set(INTERNAL_ENDPOINTS)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("service", "method", "path"), sorted(INTERNAL_ENDPOINTS), ids=lambda part: str(part)
)
def test_an_internal_endpoint_lets_in_only_the_callers_listed(
    apps, token_authority, service, method, path, caller
):
    allowed = caller in INTERNAL_ENDPOINTS[(service, method, path)]
    client = apps[service].test_client()
    body = {"name": "张三", "id_number": "11010519491231002X"} if method == "POST" else None
    response = client.open(
        CONCRETE[path], method=method, json=body, headers=headers_of(token_authority, caller)
    )
    if allowed:
        assert response.status_code not in (401, 403), response.get_data(as_text=True)
    else:
        assert response.status_code == 403, response.get_data(as_text=True)


@pytest.mark.parametrize(("service", "method", "path"), sorted(INTERNAL_ENDPOINTS))
def test_no_token_no_entry(apps, service, method, path):
    response = apps[service].test_client().open(CONCRETE[path], method=method, json={})
    assert response.status_code == 401
