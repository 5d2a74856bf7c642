"""Tokens stop working when registration revokes their account (a disabled or locked account,
a reset password), within a minute; and a slow or unreachable registration service turns into
neither 401s nor 503s elsewhere: the revocation list, the signing keys and the service token
in hand are kept (issue 16, rules 7 and 8)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.auth.revocations import REVOCATIONS_PATH, RevocationList, issued_before
from shared.auth.service_tokens import ServiceTokenClient
from shared.auth.token_cache import CachingVerifier
from shared.auth.tokens import CITIZEN, SERVICE, JwksClient, TokenVerifier
from shared.errors import TransientError, Unauthorized
from shared.testing.tokens import TEST_SERVICE_SECRET, TokenAuthority
from shared.testing.waiting import wait_until

JWKS = "/.well-known/jwks.json"


@pytest.fixture
def authority(tmp_path):
    authority = TokenAuthority(tmp_path / "keys").start()
    yield authority
    authority.stop()


def moment(seconds_from_now: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).isoformat()


def revocation_list(authority, **timing) -> RevocationList:
    tokens = ServiceTokenClient(authority.url, "application", TEST_SERVICE_SECRET)
    return RevocationList(authority.url + REVOCATIONS_PATH, tokens.headers, **timing)


def verifier_with(revocations) -> TokenVerifier:
    return TokenVerifier(JwksClient("unused"), revocations=revocations)


def test_a_token_issued_before_its_account_was_revoked_is_refused(authority):
    authority.revocations = [
        {"account_id": "revoked", "since": moment(+5)},
        {"account_id": "reset-long-ago", "since": moment(-5)},
    ]
    verifier = TokenVerifier(
        JwksClient(authority.url + JWKS), revocations=revocation_list(authority)
    )
    with pytest.raises(Unauthorized, match="revoked"):
        verifier.verify(authority.token([CITIZEN], subject="revoked"))
    assert verifier.verify(authority.token([CITIZEN], subject="reset-long-ago"))
    assert verifier.verify(authority.token([CITIZEN], subject="someone-else"))
    # Service tokens are never revoked through the list.
    authority.revocations.append({"account_id": "service:printing", "since": moment(+5)})
    assert verifier.verify(authority.token([SERVICE], subject="service:printing"))


def test_a_token_issued_in_the_second_of_the_revocation_counts_as_before_it():
    assert issued_before(99, 100.7) and issued_before(100, 100.7)
    assert not issued_before(101, 100.7)


def test_a_remembered_token_is_refused_once_its_account_is_revoked(authority):
    revocations = revocation_list(authority, refresh_interval=0, max_age=0, retry_interval=0)
    verifier = CachingVerifier(
        TokenVerifier(JwksClient(authority.url + JWKS), revocations=revocations)
    )
    token = authority.token([CITIZEN], subject="staff-1")
    assert verifier.verify(token).subject == "staff-1"
    authority.revocations = [{"account_id": "staff-1", "since": moment(+5)}]
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_the_list_is_refreshed_in_the_background_without_holding_up_a_verification(authority):
    revocations = revocation_list(authority, refresh_interval=0.2, max_age=60, retry_interval=0)
    assert not revocations.is_revoked("later", int(time.time()))  # the first fetch
    authority.revocations = [{"account_id": "later", "since": moment(+5)}]
    time.sleep(0.3)
    wait_until(
        lambda: revocations.is_revoked("later", int(time.time())),
        timeout=5,
        what="the refreshed list",
    )


def test_an_outage_keeps_the_list_in_hand(authority):
    authority.revocations = [{"account_id": "locked", "since": moment(+5)}]
    revocations = revocation_list(authority, refresh_interval=0, max_age=0, retry_interval=0)
    assert revocations.is_revoked("locked", int(time.time()))
    authority.stop()
    assert not revocations.refresh()
    assert revocations.is_revoked("locked", int(time.time()))
    assert not revocations.is_revoked("other", int(time.time()))


def test_with_no_list_yet_and_registration_down_tokens_count_on_their_signature(authority):
    revocations = revocation_list(authority, timeout=0.5)
    revocations.url = "http://127.0.0.1:9/nothing-listens-here"
    assert not revocations.is_revoked("anyone", int(time.time()))


def test_the_service_token_is_kept_until_shortly_before_it_expires(authority):
    client = ServiceTokenClient(authority.url, "application", TEST_SERVICE_SECRET)
    first = client.token()
    authority.stop()  # registration down: the token in hand is still good for minutes
    assert client.token() == first


def test_a_failed_renewal_keeps_the_token_in_hand(authority):
    client = ServiceTokenClient(
        authority.url, "application", TEST_SERVICE_SECRET, renew_before=1_000, retry_interval=0
    )
    first = client.token()
    authority.stop()  # the renewal is due at once and fails
    assert client.token() == first
    client.min_remaining = 1_000  # no longer good enough to use: the caller must wait
    with pytest.raises(TransientError):
        client.token()


def test_signing_keys_are_served_stale_within_the_limit_when_registration_is_down(authority):
    jwks = JwksClient(authority.url + JWKS, max_age=0, max_stale=3_600, min_refresh_interval=0)
    verifier = TokenVerifier(jwks)
    token = authority.token([CITIZEN], subject="a")
    assert verifier.verify(token).subject == "a"
    authority.stop()
    for _ in range(3):
        assert verifier.verify(token).subject == "a"  # no 503, no wait
    jwks.max_stale = 0  # past the limit: the keys are no longer trusted
    with pytest.raises(TransientError):
        verifier.verify(token)


def test_a_rotated_key_is_fetched_at_once(authority):
    verifier = TokenVerifier(JwksClient(authority.url + JWKS, min_refresh_interval=0))
    verifier.verify(authority.token([CITIZEN], subject="a"))
    authority.keys.rotate()
    assert verifier.verify(authority.token([CITIZEN], subject="b")).subject == "b"
