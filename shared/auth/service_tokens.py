"""Service tokens: how one sscard service authenticates to another's internal endpoints.

The calling service presents its name and the shared internal secret (HTTP Basic) to the
registration service's `POST /api/v1/service-tokens` and receives a short-lived JWT with the
role `service`, verified by the callee like any other token. The token is cached and renewed
a minute before it expires.
"""

from __future__ import annotations

import threading
import time

import requests

from shared.errors import TransientError

SERVICE_TOKEN_PATH = "/api/v1/service-tokens"  # noqa: S105 — a path, not a secret


class ServiceTokenClient:
    def __init__(self, registration_url: str, service: str, secret: str, *, timeout: float = 3.0):
        self.url = registration_url.rstrip("/") + SERVICE_TOKEN_PATH
        self.service = service
        self.secret = secret
        self.timeout = timeout
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires_at - 60:
                self._fetch()
            assert self._token is not None
            return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def _fetch(self) -> None:
        try:
            response = requests.post(
                self.url, auth=(self.service, self.secret), timeout=self.timeout
            )
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TransientError(f"cannot obtain a service token: {exc}") from exc
        self._token = body["access_token"]
        self._expires_at = time.monotonic() + int(body["expires_in"])
