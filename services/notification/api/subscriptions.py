"""`/subscriptions`: integrators' webhook subscriptions and their delivery history.

An owner sees only their own subscriptions (another's is a 404); an admin sees all.
"""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.notification import dao
from services.notification.api.fields import UtcTime
from services.notification.config import notification_config
from services.notification.domain.webhooks import (
    SECRET_COLUMN,
    new_secret,
    secret_key,
    validate_event_patterns,
)
from services.notification.models import WebhookSubscription
from services.notification.outbound import DestinationGuard
from shared.auth import ADMIN, INTEGRATOR
from shared.errors import NotFound
from shared.pii import FieldCipher
from shared.web.app import readonly_session, service_context, unit_of_work
from shared.web.auth import current_principal, requires_roles

blp = Blueprint("subscriptions", __name__, description="Webhook subscriptions for integrators.")

DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")


class SubscriptionCreateSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "http(s) endpoint; private and loopback addresses are refused"},
    )
    event_types = fields.List(
        fields.String(validate=validate.Length(min=1, max=120)),
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "Glob patterns over public event types, e.g. `card.*`"},
    )
    secret = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "`whsec_` + base64 of 24–64 bytes; generated when omitted"},
    )


class SubscriptionSchema(Schema):
    subscription_id = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    status = fields.String(metadata={"enum": ["active", "disabled"]})
    created_at = UtcTime()
    failing_since = UtcTime(allow_none=True)
    disabled_at = UtcTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)


class CreatedSubscriptionSchema(SubscriptionSchema):
    secret = fields.String(metadata={"description": "Shown only in this response"})


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))


class DeliveryQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AttemptSchema(Schema):
    attempt = fields.Integer(attribute="number")
    attempted_at = UtcTime()
    status_code = fields.Integer(allow_none=True)
    succeeded = fields.Boolean()
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()


class DeliverySchema(Schema):
    delivery_id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempt_count = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    next_attempt_at = UtcTime(allow_none=True)
    created_at = UtcTime()
    delivered_at = UtcTime(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema))


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))


def _view(subscription: WebhookSubscription) -> dict:
    return {
        "subscription_id": subscription.subscription_id,
        "url": subscription.url,
        "event_types": dao.subscription_patterns(subscription),
        "status": subscription.status,
        "created_at": subscription.created_at,
        "failing_since": subscription.failing_since,
        "disabled_at": subscription.disabled_at,
        "disabled_reason": subscription.disabled_reason,
    }


def _visible(session, subscription_id: str) -> WebhookSubscription:
    """The subscription if the caller owns it (or is an admin); 404 otherwise, alike for one
    that does not exist, so ids cannot be probed."""
    try:
        uuid.UUID(subscription_id)
    except ValueError:
        raise NotFound("No such subscription.") from None
    subscription = dao.dao_get_subscription(session, subscription_id)
    principal = current_principal()
    if subscription is None or (
        subscription.owner_id != principal.subject and not principal.has_any(ADMIN)
    ):
        raise NotFound("No such subscription.")
    return subscription


# Not @idempotent: the stored replay would keep the secret in plain text.
@blp.route("/subscriptions", methods=["POST"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.arguments(SubscriptionCreateSchema)
@blp.response(201, CreatedSubscriptionSchema)
def create_subscription(payload: dict):
    """Subscribe a URL to public events. The secret is returned once, here."""
    context = service_context()
    config = notification_config(context.settings)
    patterns = validate_event_patterns(payload["event_types"])
    secret = payload.get("secret") or new_secret()
    secret_key(secret)  # refuses a malformed one with a 422
    url = DestinationGuard(allow_private=config.allow_private_destinations).check_url(
        payload["url"]
    )
    encrypted = FieldCipher(context.settings.pii_key()).encrypt(secret, column=SECRET_COLUMN)
    with unit_of_work() as uow:
        subscription = dao.dao_create_subscription(
            uow.session, current_principal().subject, url, patterns, encrypted
        )
        uow.commit()
    return {**_view(subscription), "secret": secret}


@blp.route("/subscriptions", methods=["GET"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.response(200, SubscriptionListSchema)
def list_subscriptions():
    """The caller's subscriptions (an admin's view: everyone's)."""
    principal = current_principal()
    owner = None if principal.has_any(ADMIN) else principal.subject
    with readonly_session() as session:
        return {"items": [_view(s) for s in dao.dao_list_subscriptions(session, owner)]}


@blp.route("/subscriptions/<subscription_id>", methods=["GET"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.response(200, SubscriptionSchema)
def get_subscription(subscription_id: str):
    with readonly_session() as session:
        return _view(_visible(session, subscription_id))


@blp.route("/subscriptions/<subscription_id>/deliveries", methods=["GET"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliveryListSchema)
def list_deliveries(query: dict, subscription_id: str):
    """Deliveries, newest first, each with every attempt and the status code it got."""
    with readonly_session() as session:
        subscription = _visible(session, subscription_id)
        views = dao.dao_list_deliveries(
            session, subscription.subscription_id, status=query.get("status"), limit=query["limit"]
        )
        return {
            "items": [
                {
                    "delivery_id": v.delivery.delivery_id,
                    "event_id": v.delivery.event_id,
                    "event_type": v.delivery.event_type,
                    "status": v.delivery.status,
                    "attempt_count": v.delivery.attempt_count,
                    "last_status_code": v.delivery.last_status_code,
                    "next_attempt_at": v.delivery.next_attempt_at,
                    "created_at": v.delivery.created_at,
                    "delivered_at": v.delivery.delivered_at,
                    "attempts": v.attempts,
                }
                for v in views
            ]
        }


@blp.route("/subscriptions/<subscription_id>", methods=["DELETE"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.response(204)
def delete_subscription(subscription_id: str):
    """Stop the subscription; pending deliveries are cancelled."""
    with unit_of_work() as uow:
        dao.dao_delete_subscription(uow.session, _visible(uow.session, subscription_id))
        uow.commit()
