"""Claim checks are pinned to the application service: a URL elsewhere is never asked (no
token leaves), redirects are not followed, and the body is given up past the cap."""

from __future__ import annotations

import hashlib

import pytest

from shared.errors import PermanentMessageError
from shared.messaging.claim_check import (
    UntrustedClaimCheck,
    check_claim_url,
    claim_check_url,
    fetch_claimed_file,
)
from shared.testing.http import LocalServer, QuietHandler

SHA = "a" * 64
BASE = "http://application-web:8002"


class Tokens:
    """A ServiceTokenClient stand-in that counts how often a token was handed out."""

    def __init__(self) -> None:
        self.handed_out = 0

    def headers(self) -> dict[str, str]:
        self.handed_out += 1
        return {"Authorization": "Bearer the-service-token"}


@pytest.mark.parametrize(
    "url",
    [
        claim_check_url(BASE, SHA),
        f"HTTP://Application-Web:8002/internal/v1/files/{SHA}",
    ],
)
def test_a_url_under_the_application_service_is_accepted(url):
    check_claim_url(url, BASE)


@pytest.mark.parametrize(
    "url",
    [
        f"http://attacker.example/internal/v1/files/{SHA}",
        f"https://application-web:8002/internal/v1/files/{SHA}",
        f"http://application-web:8003/internal/v1/files/{SHA}",
        f"http://application-web/internal/v1/files/{SHA}",
        f"http://user:pw@application-web:8002/internal/v1/files/{SHA}",
        f"http://application-web:8002@attacker.example/internal/v1/files/{SHA}",
        f"http://application-web.attacker.example:8002/internal/v1/files/{SHA}",
        f"http://application-web:8002/../x/{SHA}",
        f"http://application-web:8002/internal/%2e%2e/{SHA}",
        f"file:///etc/passwd#{SHA}",
        f"//application-web:8002/internal/v1/files/{SHA}",
        "http://application-web:notaport/x",
        "",
    ],
)
def test_a_url_anywhere_else_is_refused(url):
    with pytest.raises(UntrustedClaimCheck):
        check_claim_url(url, BASE)


def test_the_base_path_prefix_is_compared_too():
    base = "http://gateway:80/application"
    check_claim_url(f"http://gateway/application/internal/v1/files/{SHA}", base)
    for url in (
        f"http://gateway/applications/internal/v1/files/{SHA}",
        f"http://gateway/internal/v1/files/{SHA}",
        f"http://gateway/application/../other/{SHA}",
    ):
        with pytest.raises(UntrustedClaimCheck):
            check_claim_url(url, base)


class Recorder:
    """A real listener that records every request and answers with `answer(handler)`."""

    def __init__(self, answer) -> None:
        self.requests: list[dict] = []
        recorder = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                recorder.requests.append({"path": self.path, **dict(self.headers)})
                answer(self)

        self.server = LocalServer(Handler).start()

    @property
    def url(self) -> str:
        return self.server.base_url


def test_a_foreign_url_gets_no_request_and_no_token():
    listener = Recorder(lambda handler: handler.send_json(200, {}))
    try:
        tokens = Tokens()
        reference = {"url": claim_check_url(listener.url, SHA), "sha256": SHA}
        with pytest.raises(UntrustedClaimCheck, match="not the application service"):
            fetch_claimed_file(reference, tokens, base_url=BASE)  # type: ignore[arg-type]
        assert listener.requests == [] and tokens.handed_out == 0
    finally:
        listener.server.stop()


def test_a_redirect_is_not_followed():
    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", "http://127.0.0.1:9/elsewhere")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    listener = Recorder(redirect)
    try:
        reference = {"url": claim_check_url(listener.url, SHA), "sha256": SHA}
        with pytest.raises(PermanentMessageError, match="redirect"):
            fetch_claimed_file(reference, Tokens(), base_url=listener.url)  # type: ignore[arg-type]
        assert len(listener.requests) == 1
    finally:
        listener.server.stop()


@pytest.mark.parametrize("declare_length", [True, False])
def test_a_body_past_the_cap_is_given_up(declare_length):
    body = b"x" * 100_000

    def large(handler):
        handler.send_response(200)
        if declare_length:
            handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    listener = Recorder(large)
    try:
        sha = hashlib.sha256(body).hexdigest()
        reference = {"url": claim_check_url(listener.url, sha), "sha256": sha}
        with pytest.raises(PermanentMessageError, match="larger than any upload"):
            fetch_claimed_file(
                reference,
                Tokens(),  # type: ignore[arg-type]
                base_url=listener.url,
                max_bytes=10_000,
            )
        # Within the cap the same file is fetched.
        assert (
            fetch_claimed_file(
                reference,
                Tokens(),  # type: ignore[arg-type]
                base_url=listener.url,
                max_bytes=len(body),
            )
            == body
        )
    finally:
        listener.server.stop()
