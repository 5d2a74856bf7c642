"""Whose events an integrator's subscription may see (docs/integrators.md, "What each
integrator can see").

Every subscription has exactly one scope, fixed when it is created:

- `bank:<CODE>` — a partner bank's integrator: the cards, outlets and applications of that
  bank only. A card or outlet event names its bank; an application's bank is the one its
  `application.submitted` named (the application read model). An event whose bank is not
  known is not delivered.
- `channel:<wechat|alipay>` — a channel's integrator: progress events (cancellation,
  verification, card) only of people who have bound that channel here, at the time of the
  event; plus the outlets, which are public reference data about no person.

There is no unscoped subscription: without a scope, nothing is delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from services.notification.domain.channels import ALIPAY, WECHAT
from shared.errors import Forbidden, InvalidInput

SCOPE_CHANNELS = (WECHAT, ALIPAY)
OUTLET_UPSERTED = "outlet.upserted"
# The same rule the printing service applies to the codes it stores (upper case here first,
# so `icbc` in a grant or a token is the bank printing calls `ICBC`).
_BANK_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")


class ScopeKind(StrEnum):
    BANK = "bank"
    CHANNEL = "channel"


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    value: str  # the bank code (upper case) or the channel

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"


def bank_scope(bank_code: str) -> Scope:
    return Scope(ScopeKind.BANK, normalise_bank_code(bank_code))


def channel_scope(channel: str) -> Scope:
    if channel not in SCOPE_CHANNELS:
        raise InvalidInput(
            f"{channel!r} is not a channel integrators serve.",
            errors={"channel": [f"One of: {', '.join(SCOPE_CHANNELS)}."]},
        )
    return Scope(ScopeKind.CHANNEL, channel)


def normalise_bank_code(bank_code: str) -> str:
    code = bank_code.strip().upper()
    if not _BANK_CODE.match(code):
        raise InvalidInput(
            "Not a bank code.",
            errors={"bank_code": ["2 to 16 capital letters or digits, starting with a letter."]},
        )
    return code


def stored_scope(kind: str | None, value: str | None) -> Scope | None:
    """The scope kept in a row's two columns; None for a row without one (or a kind this
    version does not know), which sees nothing."""
    if not kind or not value or kind not in ScopeKind._value2member_map_:
        return None
    return Scope(ScopeKind(kind), value)


def subscription_scope(
    *,
    token_bank_code: str | None,
    granted: Scope | None,
    requested: Scope | None,
    is_admin: bool,
) -> Scope:
    """The scope a new subscription gets, from who creates it. In order: the `bank_code` claim
    of the caller's token; else the scope an admin granted the caller's account; else, for an
    admin only, the scope named in the request. A requested scope must equal the one the
    caller has. Forbidden when the caller has none."""
    own = bank_scope(token_bank_code) if token_bank_code else granted
    if own is not None:
        if requested is not None and requested != own:
            raise Forbidden(f"This account may only subscribe within {own}.")
        return own
    if is_admin and requested is not None:
        return requested
    if is_admin:
        raise InvalidInput(
            "Name the subscription's scope.",
            errors={"scope": ["Required for a subscription an admin creates."]},
        )
    raise Forbidden(
        "This account has no webhook scope yet; an admin grants one "
        "(PUT /api/v1/integrators/{account_id}/scope)."
    )


@dataclass(frozen=True)
class EventFacts:
    """What is known about one event's subjects when deciding whom it may reach."""

    event_type: str
    bank_code: str | None  # the event's own, or its application's
    account_id: str | None  # the person the event is about, if any
    bound_channels: frozenset[str] = frozenset()  # the channels that person has bound


def in_scope(scope: Scope | None, facts: EventFacts) -> bool:
    """May a subscription with `scope` receive this event?"""
    if scope is None:
        return False
    if scope.kind == ScopeKind.BANK:
        return facts.bank_code is not None and facts.bank_code.strip().upper() == scope.value
    if scope.kind == ScopeKind.CHANNEL:
        if facts.event_type == OUTLET_UPSERTED:
            return True
        return facts.account_id is not None and scope.value in facts.bound_channels
    return False
