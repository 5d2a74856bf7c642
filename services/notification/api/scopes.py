"""`/integrators/{account_id}/scope`: the scope an admin grants an integrator account, which
every subscription it creates then has (docs/integrators.md)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validate

from services.notification import deps
from services.notification.api.fields import UtcTime
from services.notification.domain.scopes import Scope, ScopeKind, bank_scope, channel_scope
from services.notification.use_cases import scopes
from shared.auth import ADMIN
from shared.errors import InvalidInput
from shared.time import utcnow
from shared.web.app import readonly_session
from shared.web.auth import current_principal, requires_roles
from shared.web.transaction import transactional

blp = Blueprint("integrators", __name__, description="Integrator accounts' webhook scopes.")


class ScopeSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ScopeKind]))
    value = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "bank: the bank code (`ICBC`); channel: `wechat` or `alipay`"},
    )

    @post_load
    def to_scope(self, data: dict, **_kwargs) -> Scope:
        try:
            if data["kind"] == ScopeKind.BANK:
                return bank_scope(data["value"])
            return channel_scope(data["value"])
        except InvalidInput as problem:
            raise ValidationError({"value": [problem.detail]}) from None


class GrantSchema(Schema):
    account_id = fields.String()
    scope = fields.Nested(ScopeSchema)
    granted_by = fields.String()
    granted_at = UtcTime()


def scope_view(scope: Scope | None) -> dict | None:
    return None if scope is None else {"kind": scope.kind.value, "value": scope.value}


def _grant_view(grant) -> dict:
    return {
        "account_id": grant.account_id,
        "scope": scope_view(grant.scope),
        "granted_by": grant.granted_by,
        "granted_at": grant.granted_at,
    }


@blp.route("/integrators/<account_id>/scope", methods=["PUT"])
@requires_roles(ADMIN)
@transactional
@blp.arguments(ScopeSchema)
@blp.response(200, GrantSchema)
def grant_scope(scope: Scope, account_id: str, uow):
    """Grant (or change) the account's scope. Its subscriptions with another scope are
    disabled."""
    grant = scopes.grant_scope(
        uow,
        deps.current(),
        account_id=account_id,
        scope=scope,
        granted_by=current_principal().subject,
        now=utcnow(),
    )
    return _grant_view(grant)


@blp.route("/integrators/<account_id>/scope", methods=["GET"])
@requires_roles(ADMIN)
@blp.response(200, GrantSchema)
def get_scope(account_id: str):
    with readonly_session() as session:
        return _grant_view(scopes.granted_scope(session, account_id=account_id))


@blp.route("/integrators/<account_id>/scope", methods=["DELETE"])
@requires_roles(ADMIN)
@transactional
@blp.response(204)
def revoke_scope(account_id: str, uow):
    """Revoke the account's scope; its subscriptions are disabled."""
    scopes.revoke_scope(uow, deps.current(), account_id=account_id, now=utcnow())
