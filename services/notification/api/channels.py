"""`/channels`: where the caller wants to be told about their application."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.notification import deps
from services.notification.api.fields import UtcTime
from services.notification.api.roles import PEOPLE
from services.notification.domain.channels import LOCALES, mask_address
from services.notification.use_cases import contacts
from shared.web.app import readonly_session
from shared.web.auth import current_principal, requires_roles
from shared.web.transaction import transactional

blp = Blueprint("channels", __name__, description="The caller's channel bindings.")


class ChannelBindingSchema(Schema):
    address = fields.String(
        required=True,
        validate=validate.Length(min=1, max=320),
        metadata={
            "description": "sms: mainland mobile number; email: e-mail address; wechat: openid; "
            "alipay: user id (2088…) or openid"
        },
    )
    locale = fields.String(
        validate=validate.OneOf(LOCALES),
        metadata={"description": "Language of messages on this channel (default zh-CN)"},
    )


class ChannelViewSchema(Schema):
    channel = fields.String()
    address_masked = fields.String()
    locale = fields.String()
    source = fields.String(
        metadata={"description": "`account`: the phone registered with; `citizen`: set here"}
    )
    updated_at = UtcTime()


class ChannelListSchema(Schema):
    items = fields.List(fields.Nested(ChannelViewSchema))


@blp.route("/channels/<channel>", methods=["PUT"])
@requires_roles(*PEOPLE)
@transactional
@blp.arguments(ChannelBindingSchema)
@blp.response(204)
def bind_channel(payload: dict, channel: str, uow):
    """Bind (or re-bind) the caller's address on one channel."""
    contacts.bind_channel(
        uow,
        deps.current(),
        account_id=current_principal().subject,
        channel=channel,
        address=payload["address"],
        locale=payload.get("locale"),
    )


@blp.route("/channels", methods=["GET"])
@requires_roles(*PEOPLE)
@blp.response(200, ChannelListSchema)
def list_channels():
    """The caller's bindings, addresses masked."""
    with readonly_session() as session:
        bindings = contacts.list_channels(session, account_id=current_principal().subject)
    return {
        "items": [
            {
                "channel": b.channel,
                "address_masked": mask_address(b.channel, b.address),
                "locale": b.locale,
                "source": b.source,
                "updated_at": b.updated_at,
            }
            for b in bindings
        ]
    }


@blp.route("/channels/<channel>", methods=["DELETE"])
@requires_roles(*PEOPLE)
@transactional
@blp.response(204)
def unbind_channel(channel: str, uow):
    """Stop messages on one channel."""
    contacts.unbind_channel(
        uow, deps.current(), account_id=current_principal().subject, channel=channel
    )
