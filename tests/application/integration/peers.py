"""Stand-ins for the application service's HTTP peers, served over real HTTP:

- `FakeAccounts` plays the registration service's internal identity check (the JWKS and
  service tokens come from the shared `token_authority`);
- `serve_identity_registry` runs the identity registry simulator on a free port.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
from werkzeug.serving import make_server

from shared.testing.http import LocalServer, QuietHandler
from simulators.identity_registry.app import create_app as create_registry_app
from simulators.identity_registry.store import PeopleStore

IDENTITY_CHECK = re.compile(r"/internal/v1/accounts/([0-9a-f-]{36})/identity-check")


class FakeAccounts:
    """Answers `POST /internal/v1/accounts/{id}/identity-check` as the registration service
    does (`{match}` only), for callers presenting a service token."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict] = {}
        self.calls = 0
        self._server = LocalServer(self._handler())

    @property
    def url(self) -> str:
        return self._server.base_url

    def start(self) -> FakeAccounts:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def add(self, account_id: str, *, name: str, id_number: str, phone: str) -> None:
        self.accounts[account_id] = {
            "name": name,
            "id_number": id_number,
            "phone": phone,
            "vouched": True,
        }

    def lock(self, account_id: str) -> None:
        """The account no longer matches anything (locked, or never confirmed): what the
        registration service answers for an account it does not vouch for."""
        self.accounts[account_id]["vouched"] = False

    def _handler(self):
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                fake.calls += 1
                match = IDENTITY_CHECK.fullmatch(self.path)
                scheme, _, token = self.headers.get("Authorization", "").partition(" ")
                try:
                    claims = jwt.decode(token, options={"verify_signature": False})
                except jwt.PyJWTError:
                    claims = {}
                if scheme != "Bearer" or "service" not in claims.get("roles", []):
                    self.send_json(401 if not claims else 403, {})
                    return
                account = fake.accounts.get(match.group(1)) if match else None
                if account is None:
                    self.send_json(404, {})
                    return
                claim = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                match = (
                    account["vouched"]
                    and claim["name"] == account["name"]
                    and claim["id_number"].upper() == account["id_number"]
                )
                self.send_json(200, {"match": match})

        return Handler


class RegistryServer:
    def __init__(self, path: Path) -> None:
        self.store = PeopleStore(path)
        self._server = make_server("127.0.0.1", 0, create_registry_app(self.store), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"


@contextmanager
def serve_identity_registry(path: Path) -> Iterator[RegistryServer]:
    registry = RegistryServer(path)
    registry._thread.start()
    try:
        yield registry
    finally:
        registry._server.shutdown()


@contextmanager
def serve_wsgi(app) -> Iterator[str]:
    """Any WSGI app on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
