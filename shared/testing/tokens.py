"""A stand-in for the registration service's token side, for testing any other service:
serves a JWKS, the service-token endpoint and a settable revocation list over real HTTP, and
mints tokens for any role."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from shared.auth.keys import KeyRing
from shared.auth.revocations import REVOCATIONS_PATH
from shared.auth.tokens import (
    ADMIN,
    BANK_OPERATOR,
    CITIZEN,
    INTEGRATOR,
    REVIEWER,
    SERVICE,
    issue_token,
    service_subject,
)
from shared.testing.http import LocalServer, QuietHandler

TEST_SERVICE_SECRET = "test-internal-secret"  # noqa: S105 — a test fixture's secret


class TokenAuthority:
    def __init__(self, key_directory: Path) -> None:
        self.keys = KeyRing(key_directory)
        self.keys.current()
        # What GET /internal/v1/revocations serves: [{account_id, since}] (shared.auth.revocations).
        self.revocations: list[dict[str, str]] = []
        self._server = LocalServer(self._handler())

    @property
    def url(self) -> str:
        return self._server.base_url

    def start(self) -> TokenAuthority:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def token(
        self,
        roles: list[str],
        *,
        subject: str | None = None,
        bank_code: str | None = None,
        ttl_seconds: int = 900,
        extra: dict | None = None,
    ) -> str:
        return issue_token(
            self.keys.current(),
            subject=subject or str(uuid.uuid4()),
            roles=roles,
            ttl_seconds=ttl_seconds,
            bank_code=bank_code,
            extra=extra,
        )

    def headers(self, roles: list[str], **kwargs) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(roles, **kwargs)}"}

    def citizen(self, account_id: str) -> dict[str, str]:
        return self.headers([CITIZEN], subject=account_id)

    def reviewer(self, subject: str | None = None) -> dict[str, str]:
        return self.headers([REVIEWER], subject=subject)

    def bank_operator(self, bank_code: str, subject: str | None = None) -> dict[str, str]:
        return self.headers([BANK_OPERATOR], subject=subject, bank_code=bank_code)

    def integrator(self, subject: str | None = None) -> dict[str, str]:
        return self.headers([INTEGRATOR], subject=subject)

    def admin(self, subject: str | None = None) -> dict[str, str]:
        return self.headers([ADMIN], subject=subject)

    def service(self, name: str) -> dict[str, str]:
        """A service token naming `name`, as the registration service issues one."""
        return self.headers([SERVICE], subject=service_subject(name), extra={"service": name})

    def _handler(self):
        authority = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/jwks.json":
                    keys = [key.public_jwk() for key in authority.keys.verification_keys()]
                    self.send_json(200, {"keys": keys})
                elif self.path == REVOCATIONS_PATH:
                    self.send_json(200, {"items": list(authority.revocations)})
                else:
                    self.send_json(404, {})

            def do_POST(self) -> None:
                if self.path != "/api/v1/service-tokens":
                    self.send_json(404, {})
                    return
                scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
                try:
                    name, _, secret = base64.b64decode(encoded).decode().partition(":")
                except ValueError:
                    name, secret = "", ""
                if scheme != "Basic" or secret != TEST_SERVICE_SECRET:
                    self.send_json(401, {})
                    return
                token = authority.token(
                    [SERVICE],
                    subject=service_subject(name),
                    ttl_seconds=300,
                    extra={"service": name},
                )
                self.send_json(
                    200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}
                )

        return Handler
