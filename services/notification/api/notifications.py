"""`/notifications`: what the caller has been told, newest first."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.notification.api.fields import UtcTime
from services.notification.api.roles import PEOPLE
from services.notification.domain.statuses import NotificationStatus
from services.notification.use_cases.notices import list_notifications as list_own
from shared.web.app import readonly_session
from shared.web.auth import current_principal, requires_roles

blp = Blueprint("notifications", __name__, description="The caller's notifications.")


class NotificationQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class NotificationSchema(Schema):
    notification_id = fields.String()
    channel = fields.String()
    event_type = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in NotificationStatus]})
    body = fields.String()
    created_at = UtcTime()
    sent_at = UtcTime(allow_none=True)


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))


@blp.route("/notifications", methods=["GET"])
@requires_roles(*PEOPLE)
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationListSchema)
def list_notifications(query: dict):
    """The caller's own notifications on every channel."""
    with readonly_session() as session:
        rows = list_own(session, account_id=current_principal().subject, limit=query["limit"])
    return {"items": rows}
