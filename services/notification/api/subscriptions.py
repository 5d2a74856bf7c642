"""`/subscriptions`: integrators' webhook subscriptions and their delivery history.

An owner sees only their own subscriptions (another's is a 404); an admin sees all.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.notification import deps
from services.notification.api.fields import UtcTime
from services.notification.domain.statuses import DeliveryStatus, SubscriptionStatus
from services.notification.models import WebhookSubscription
from services.notification.use_cases import subscriptions
from services.notification.use_cases.subscriptions import Caller
from shared.auth import ADMIN, INTEGRATOR
from shared.web.app import readonly_session
from shared.web.auth import current_principal, requires_roles
from shared.web.transaction import transactional

blp = Blueprint("subscriptions", __name__, description="Webhook subscriptions for integrators.")

DELIVERY_STATUSES = tuple(s.value for s in DeliveryStatus)


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
    status = fields.String(
        metadata={"enum": [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.DISABLED.value]}
    )
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
        "event_types": subscription.patterns,
        "status": subscription.status,
        "created_at": subscription.created_at,
        "failing_since": subscription.failing_since,
        "disabled_at": subscription.disabled_at,
        "disabled_reason": subscription.disabled_reason,
    }


def _caller() -> Caller:
    principal = current_principal()
    return Caller(principal.subject, is_admin=principal.has_any(ADMIN))


# Not idempotent: the stored replay would keep the secret in plain text.
@blp.route("/subscriptions", methods=["POST"])
@requires_roles(INTEGRATOR, ADMIN)
@transactional
@blp.arguments(SubscriptionCreateSchema)
@blp.response(201, CreatedSubscriptionSchema)
def create_subscription(payload: dict, uow):
    """Subscribe a URL to public events. The secret is returned once, here."""
    created = subscriptions.create_subscription(
        uow,
        deps.current(),
        owner_id=current_principal().subject,
        url=payload["url"],
        event_types=payload["event_types"],
        secret=payload.get("secret"),
    )
    return {**_view(created.subscription), "secret": created.secret}


@blp.route("/subscriptions", methods=["GET"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.response(200, SubscriptionListSchema)
def list_subscriptions():
    """The caller's subscriptions (an admin's view: everyone's)."""
    with readonly_session() as session:
        return {
            "items": [_view(s) for s in subscriptions.list_subscriptions(session, caller=_caller())]
        }


@blp.route("/subscriptions/<subscription_id>", methods=["GET"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.response(200, SubscriptionSchema)
def get_subscription(subscription_id: str):
    with readonly_session() as session:
        return _view(
            subscriptions.visible_subscription(
                session, caller=_caller(), subscription_id=subscription_id
            )
        )


@blp.route("/subscriptions/<subscription_id>/deliveries", methods=["GET"])
@requires_roles(INTEGRATOR, ADMIN)
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliveryListSchema)
def list_deliveries(query: dict, subscription_id: str):
    """Deliveries, newest first, each with every attempt and the status code it got."""
    with readonly_session() as session:
        views = subscriptions.list_deliveries(
            session,
            caller=_caller(),
            subscription_id=subscription_id,
            status=query.get("status"),
            limit=query["limit"],
        )
        return {"items": [_delivery_view(v.delivery, v.attempts) for v in views]}


def _delivery_view(delivery, attempts) -> dict:
    return {
        "delivery_id": delivery.delivery_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "last_status_code": delivery.last_status_code,
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
        "attempts": attempts,
    }


@blp.route("/subscriptions/<subscription_id>", methods=["DELETE"])
@requires_roles(INTEGRATOR, ADMIN)
@transactional
@blp.response(204)
def delete_subscription(subscription_id: str, uow):
    """Stop the subscription; pending deliveries are cancelled."""
    subscriptions.delete_subscription(
        uow, deps.current(), caller=_caller(), subscription_id=subscription_id
    )
