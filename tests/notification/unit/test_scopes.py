"""Whose events a subscription may see: a bank's integrator its bank's, a channel's
integrator those of people who bound that channel; and which scope a new subscription gets."""

from __future__ import annotations

import pytest

from services.notification.domain.scopes import (
    EventFacts,
    Scope,
    ScopeKind,
    bank_scope,
    channel_scope,
    in_scope,
    stored_scope,
    subscription_scope,
)
from shared.errors import Forbidden, InvalidInput

ICBC, CCB = bank_scope("ICBC"), bank_scope("CCB")
WECHAT, ALIPAY = channel_scope("wechat"), channel_scope("alipay")


def card(bank_code: str | None = "ICBC", channels=()) -> EventFacts:
    return EventFacts("card.shipped", bank_code, "account-1", frozenset(channels))


def test_a_bank_sees_only_its_own_banks_events():
    assert in_scope(ICBC, card("ICBC"))
    assert in_scope(ICBC, card("icbc"))  # one rule for bank codes
    assert not in_scope(ICBC, card("CCB"))
    assert not in_scope(CCB, card("ICBC"))
    assert not in_scope(ICBC, card(None))  # the application's bank is not known
    outlet = EventFacts("outlet.upserted", "CCB", None)
    assert in_scope(CCB, outlet) and not in_scope(ICBC, outlet)


def test_a_channel_sees_only_people_who_bound_it():
    assert in_scope(WECHAT, card(channels={"wechat", "sms"}))
    assert not in_scope(WECHAT, card(channels={"sms", "alipay"}))
    assert in_scope(ALIPAY, card(channels={"alipay"}))
    assert not in_scope(WECHAT, EventFacts("verification.approved", None, None, frozenset()))
    # Outlets are public reference data about no person.
    assert in_scope(WECHAT, EventFacts("outlet.upserted", "ICBC", None))


def test_no_scope_sees_nothing():
    assert not in_scope(None, card("ICBC", channels={"wechat"}))
    assert stored_scope(None, None) is None
    assert stored_scope("galaxy", "x") is None
    assert stored_scope("bank", "ICBC") == Scope(ScopeKind.BANK, "ICBC")


def test_scopes_are_checked_when_made():
    assert bank_scope(" icbc ") == Scope(ScopeKind.BANK, "ICBC")
    for bad in ("", "1ABC", "bad.code", "A" * 17):
        with pytest.raises(InvalidInput):
            bank_scope(bad)
    for bad in ("sms", "email", "inbox", "WeChat"):
        with pytest.raises(InvalidInput):
            channel_scope(bad)


def test_a_subscription_takes_the_tokens_bank_then_the_granted_scope():
    assert (
        subscription_scope(token_bank_code="icbc", granted=None, requested=None, is_admin=False)
        == ICBC
    )
    # The token's bank wins over a grant, and nobody can ask for more.
    assert (
        subscription_scope(token_bank_code="ICBC", granted=WECHAT, requested=None, is_admin=False)
        == ICBC
    )
    assert (
        subscription_scope(token_bank_code=None, granted=WECHAT, requested=WECHAT, is_admin=False)
        == WECHAT
    )
    with pytest.raises(Forbidden):
        subscription_scope(token_bank_code="ICBC", granted=None, requested=CCB, is_admin=False)
    with pytest.raises(Forbidden):
        subscription_scope(token_bank_code=None, granted=WECHAT, requested=ICBC, is_admin=True)


def test_without_a_scope_an_integrator_cannot_subscribe_and_an_admin_must_name_one():
    with pytest.raises(Forbidden):
        subscription_scope(token_bank_code=None, granted=None, requested=None, is_admin=False)
    with pytest.raises(Forbidden):
        subscription_scope(token_bank_code=None, granted=None, requested=ICBC, is_admin=False)
    with pytest.raises(InvalidInput):
        subscription_scope(token_bank_code=None, granted=None, requested=None, is_admin=True)
    assert (
        subscription_scope(token_bank_code=None, granted=None, requested=CCB, is_admin=True) == CCB
    )
