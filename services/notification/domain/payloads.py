"""What of each event an integrator receives: an explicit allow-list per event type, so a
field a producer adds later stays inside sscard until it is listed here on purpose.

Never listed: the citizen's `account_id` (a subscription gets `holder_ref` instead, its own
pseudonym of the person), a reviewer's id (`decided_by`), the checks' details and
measurements (`checks`, a reason's `detail`: face distances, registry answers), the case id
(the verification service's internal record), and every personal field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

# A field maps to None (a plain value: string, number, boolean or null) or, for a list of
# objects, to the keys allowed inside each object.
Fields = dict[str, tuple[str, ...] | None]

HOLDER_REF = "holder_ref"

_OUTLET: Fields = dict.fromkeys(
    ("outlet_id", "bank_code", "bank_name", "name", "district", "address", "active")
)
_APPLICATION: Fields = {"application_id": None}
_CARD: Fields = dict.fromkeys(
    (
        "card_id",
        "application_id",
        "bank_code",
        "outlet_id",
        "card_serial",
        "reason",
        "occurred_at",
    )
)

PAYLOAD_FIELDS: dict[str, Fields] = {
    "outlet.upserted": _OUTLET,
    "application.cancelled": _APPLICATION,
    "verification.started": _APPLICATION,
    "verification.approved": _APPLICATION,
    "verification.review_required": _APPLICATION,
    # The codes say what the citizen must fix; the details may hold measurements.
    "verification.rejected": {**_APPLICATION, "reasons": ("code",)},
    "card.print_requested": dict.fromkeys(
        ("card_id", "application_id", "bank_code", "outlet_id", "card_serial", "reprint")
    ),
    **{
        f"card.{status}": _CARD
        for status in (
            "printed",
            "print_failed",
            "shipped",
            "ready_for_pickup",
            "collected",
            "activated",
        )
    },
    # After activation: what happened to the card, never who at the bank or the holder did it.
    "card.reported_lost": {**_CARD, "reported_by": None},
    "card.unblocked": _CARD,
    "card.replaced": {**_CARD, "new_card_id": None, "replacement_reason": None},
    "card.cancelled": {**_CARD, "cancellation_reason": None},
    "card.expiry_approaching": {**_CARD, "expiry_date": None, "days_ahead": None},
}

# The resource each type is about: the webhook's `subject`.
SUBJECT_FIELDS: dict[str, str] = {
    event_type: (
        "outlet_id"
        if event_type.startswith("outlet.")
        else "card_id"
        if event_type.startswith("card.")
        else "application_id"
    )
    for event_type in PAYLOAD_FIELDS
}

# Event types about one person: a subscription receives their `holder_ref`.
PERSON_EVENT_TYPES = frozenset(t for t in PAYLOAD_FIELDS if not t.startswith("outlet."))

_PLAIN = (str, int, float, bool, type(None))


def outgoing_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The allow-listed part of an event's data; an unlisted type gives nothing. A value of
    the wrong shape (an object where a plain value is allowed) is left out."""
    out: dict[str, Any] = {}
    for name, inner in PAYLOAD_FIELDS.get(event_type, {}).items():
        if name not in data:
            continue
        value = data[name]
        if inner is None:
            if isinstance(value, _PLAIN):
                out[name] = value
        elif isinstance(value, list):
            out[name] = [
                {key: item[key] for key in inner if isinstance(item.get(key), _PLAIN)}
                for item in value
                if isinstance(item, dict)
            ]
    return out


def allowed_keys(event_type: str) -> frozenset[str]:
    """Every key a delivered `data` of this type may have, `holder_ref` included."""
    extra = {HOLDER_REF} if event_type in PERSON_EVENT_TYPES else set()
    return frozenset(PAYLOAD_FIELDS.get(event_type, {})) | extra


def new_pseudonym_salt() -> str:
    return secrets.token_hex(32)


def holder_ref(salt: str, account_id: str) -> str:
    """One subscription's stable pseudonym of a person: the same person gives the same value
    to the same subscription, different values to different subscriptions, and the value does
    not lead back to the account without the salt (which never leaves sscard)."""
    digest = hmac.new(bytes.fromhex(salt), account_id.encode(), hashlib.sha256).hexdigest()
    return "h_" + digest[:32]
