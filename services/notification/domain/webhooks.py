"""Webhook rules: which events a subscription may ask for, the Standard Webhooks secret and
signature, and what of an event an integrator may see (when a failed delivery is tried again:
domain/delivery.py).

Standard Webhooks (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of 24–64
random bytes; `webhook-signature` is `v1,` + base64 HMAC-SHA256, keyed with the decoded
secret, over `{webhook-id}.{webhook-timestamp}.{body}`.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from typing import Any

from services.notification.domain.payloads import (
    HOLDER_REF,
    PAYLOAD_FIELDS,
    SUBJECT_FIELDS,
    outgoing_data,
)
from shared.errors import InvalidInput
from shared.messaging.envelope import Event
from shared.messaging.events import REGISTRY
from shared.messaging.topology import SUBSCRIPTIONS
from shared.observability.logs import mask_id_numbers

SECRET_PREFIX = "whsec_"  # noqa: S105 — the format's prefix, not a secret
# Secrets are kept encrypted (shared.personal_data.protection.FieldCipher), bound to this column
# name.
SECRET_COLUMN = "webhook_subscriptions.secret"  # noqa: S105 — a column name
SECRET_BYTES = 32
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64
_PATTERN = re.compile(r"^[a-z0-9_.*?\[\]!-]{1,120}$")

# The events this service hears and is allowed to pass on: public ones with an allow-list.
DELIVERABLE_TYPES: tuple[str, ...] = tuple(
    sorted(
        binding.routing_key
        for binding in SUBSCRIPTIONS["notification"]
        if binding.routing_key in REGISTRY
        and REGISTRY[binding.routing_key].public
        and binding.routing_key in PAYLOAD_FIELDS
    )
)


# -- subscriptions ---------------------------------------------------------------------------
def validate_event_patterns(patterns: Iterable[str]) -> list[str]:
    """Glob patterns over the registry's public types (`card.*`, `verification.rejected`).
    Each must match at least one event a subscriber can receive."""
    cleaned: list[str] = []
    errors: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip()
        if not _PATTERN.match(pattern):
            errors.append(f"{pattern!r} is not a pattern over event types.")
            continue
        if not matching_types([pattern]):
            if pattern in REGISTRY:
                errors.append(f"{pattern} is not a public event; webhooks only carry public ones.")
            else:
                errors.append(
                    f"{pattern!r} matches no public event type (they are: "
                    f"{', '.join(DELIVERABLE_TYPES)})."
                )
            continue
        if pattern not in cleaned:
            cleaned.append(pattern)
    if errors:
        raise InvalidInput(
            "Some event types cannot be subscribed to.", errors={"event_types": errors}
        )
    return cleaned


def matching_types(patterns: Iterable[str]) -> list[str]:
    patterns = list(patterns)
    return [t for t in DELIVERABLE_TYPES if any(fnmatch.fnmatchcase(t, p) for p in patterns)]


def subscribes_to(patterns: Iterable[str], event_type: str) -> bool:
    return event_type in DELIVERABLE_TYPES and any(
        fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns
    )


# -- secrets and signatures ------------------------------------------------------------------
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret; InvalidInput when it is not one."""
    problem = "Must be 'whsec_' followed by base64 of 24 to 64 random bytes."
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidInput(
            "The secret is not a Standard Webhooks secret.", errors={"secret": [problem]}
        )
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "The secret is not valid base64.", errors={"secret": [problem]}
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidInput("The secret has the wrong length.", errors={"secret": [problem]})
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/cloudevents+json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, message_id, timestamp, body),
    }


# -- what an integrator sees -----------------------------------------------------------------
def public_payload(event: Event) -> bytes:
    """The CloudEvent as every subscriber receives it, before its own `holder_ref` is added
    (`delivery_body`): only the allow-listed fields of its type (domain/payloads.py), any
    string that looks like an ID number masked; the subject is the event's own resource id."""
    data = _masked(outgoing_data(event.type, event.data))
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": event.time,
        "datacontenttype": "application/json",
        "dataschema": event.dataschema or REGISTRY[event.type].dataschema,
    }
    # A type without an allow-list has an empty payload and no subject: nothing to pass on.
    subject = data.get(SUBJECT_FIELDS.get(event.type, ""))
    if subject is not None:
        envelope["subject"] = subject
    if isinstance(data.get("application_id"), str):
        envelope["correlationid"] = data["application_id"]
    envelope["data"] = data
    return _encode(envelope)


def delivery_body(payload: str, holder_ref: str | None) -> bytes:
    """The bytes sent to one subscription: the stored payload with that subscription's
    pseudonym of the person added (`data.holder_ref`), when the event is about one."""
    if holder_ref is None:
        return payload.encode()
    envelope = json.loads(payload)
    envelope["data"][HOLDER_REF] = holder_ref
    return _encode(envelope)


def _encode(envelope: dict) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_id_numbers(value)
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value
