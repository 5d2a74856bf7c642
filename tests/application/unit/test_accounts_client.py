"""The adapter to the registration service's identity check reads only `{match}`: anything
else in the answer is ignored, an answer without a boolean `match` is the registration
service failing (503), an unknown account is no match."""

from __future__ import annotations

import pytest

from services.application.adapters.accounts import AccountsClient
from shared.errors import TransientError
from shared.testing.http import LocalServer, QuietHandler


class Tokens:
    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer service-token"}


def answering(status: int, body: object) -> LocalServer:
    class Handler(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_json(status, body)

    return LocalServer(Handler)


def check(status: int, body: object):
    with answering(status, body) as server:
        client = AccountsClient(server.base_url, Tokens())  # type: ignore[arg-type]
        return client.check_identity("a" * 36, "王芳", "11010519491231002X")


@pytest.mark.parametrize("match", [True, False])
def test_only_match_is_read(match):
    assert check(200, {"match": match}).match is match
    assert check(200, {"match": match, "name_matches": not match}).match is match


def test_an_unknown_account_is_no_match():
    assert check(404, {}).match is False


@pytest.mark.parametrize("body", [{}, {"match": "yes"}, {"match": 1}, ["match"], "true"])
def test_an_answer_without_a_boolean_match_is_the_registration_service_failing(body):
    with pytest.raises(TransientError):
        check(200, body)


@pytest.mark.parametrize("status", [401, 403, 500])
def test_any_other_status_is_the_registration_service_failing(status):
    with pytest.raises(TransientError):
        check(status, {"match": True})
