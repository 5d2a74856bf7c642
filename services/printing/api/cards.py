"""Card orders: what admins and bank operators see, the status reports bank operators post at
the outlet, and reprints after a failed print (admin). A bank operator sees and moves only
their own bank's cards; any other card answers 404, as if it did not exist."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.printing.deps import current
from services.printing.domain.lifecycle import REPORTABLE, STATUSES
from services.printing.domain.reports import StatusReport, operator_source
from services.printing.use_cases.card_reports import report_card_status
from services.printing.use_cases.cards import CardDetails, find_cards, reprint_card, show_card
from shared.auth import ADMIN, BANK_OPERATOR
from shared.errors import Forbidden
from shared.time import utcnow
from shared.web.auth import current_principal, requires_roles
from shared.web.problems import ProblemSchema
from shared.web.transaction import transactional

blp = Blueprint("cards", __name__, description="Card orders and their life until activation.")


class HolderSchema(Schema):
    name = fields.String()
    id_number_masked = fields.String()


class SerialSchema(Schema):
    card_serial = fields.String()
    card_identification_code = fields.String()
    print_number = fields.Integer()
    assigned_at = fields.DateTime()


class TimelineEntrySchema(Schema):
    status = fields.String()
    at = fields.DateTime(metadata={"description": "When it happened, as its source reported"})
    card_serial = fields.String(metadata={"description": "The print run it concerns"})
    reason = fields.String(allow_none=True)
    source = fields.String(
        metadata={"description": "printing, bank:<code>, operator:<id>, holder:<id> or admin:<id>"}
    )
    outlet_id = fields.UUID(
        allow_none=True, metadata={"description": "The counter, for an unblock"}
    )


class BankCommandSchema(Schema):
    command_id = fields.UUID(metadata={"description": "The command's CloudEvent id"})
    command = fields.String(
        metadata={"description": "card.block_request, card.unblock_request or card.cancel_request"}
    )
    sent_at = fields.DateTime()
    confirmed_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the bank's confirmation arrived"}
    )


class CardSchema(Schema):
    card_id = fields.UUID()
    application_id = fields.UUID()
    account_id = fields.UUID()
    bank_code = fields.String()
    outlet_id = fields.UUID()
    card_serial = fields.String()
    card_identification_code = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    reason = fields.String(allow_none=True)
    print_count = fields.Integer()
    issue_date = fields.Date()
    expiry_date = fields.Date()
    bank_account_masked = fields.String(allow_none=True)
    replaces_card_id = fields.UUID(
        allow_none=True, metadata={"description": "The lost or damaged card this one replaces"}
    )
    replaced_by_card_id = fields.UUID(
        allow_none=True, metadata={"description": "The card that replaced this one"}
    )
    holder = fields.Nested(HolderSchema, allow_none=True)
    bank_commands = fields.List(fields.Nested(BankCommandSchema))
    serials = fields.List(fields.Nested(SerialSchema))
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


_CARD_COLUMNS = (
    "card_id",
    "application_id",
    "account_id",
    "bank_code",
    "outlet_id",
    "card_serial",
    "card_identification_code",
    "status",
    "reason",
    "print_count",
    "issue_date",
    "expiry_date",
    "bank_account_masked",
    "replaces_card_id",
    "replaced_by_card_id",
    "created_at",
    "updated_at",
)


class CardListSchema(Schema):
    items = fields.List(fields.Nested(CardSchema))


class CardQuerySchema(Schema):
    application_id = fields.UUID()
    outlet_id = fields.UUID()
    bank_code = fields.String(metadata={"description": "Admins only; operators see their bank"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CardEventSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(REPORTABLE))
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))
    bank_account_masked = fields.String(
        validate=validate.Length(min=16, max=19),
        metadata={"description": "With `printed`: the debit account, first 6 + * + last 4"},
    )
    card_serial = fields.String(
        validate=validate.Length(equal=9),
        metadata={"description": "The print run this is about; defaults to the current one"},
    )


def problem_doc(description: str) -> dict:
    return {
        "schema": ProblemSchema,
        "description": description,
        "content_type": "application/problem+json",
    }


NO_SUCH_CARD = problem_doc("No such card, or another bank's")


def card_view(details: CardDetails) -> dict:
    card, applicant = details.card, details.holder
    return {
        **{name: getattr(card, name) for name in _CARD_COLUMNS},
        "holder": (
            {"name": applicant.name, "id_number_masked": applicant.id_number_masked}
            if applicant
            else None
        ),
        "serials": details.serials,
        "bank_commands": details.commands,
        "timeline": [
            {
                "status": entry.status,
                "at": entry.occurred_at,
                "card_serial": entry.card_serial,
                "reason": entry.reason,
                "source": entry.source,
                "outlet_id": entry.outlet_id,
            }
            for entry in details.history
        ],
    }


def _operator_bank() -> str | None:
    """The caller's bank when they are a bank operator (None for an admin)."""
    principal = current_principal()
    if principal.has_any(ADMIN):
        return None
    if not principal.bank_code:
        raise Forbidden("This bank operator's token names no bank.")
    return principal.bank_code


@blp.route("/cards", methods=["GET"])
@requires_roles(ADMIN, BANK_OPERATOR)
@blp.arguments(CardQuerySchema, location="query", as_kwargs=True)
@blp.response(200, CardListSchema)
def list_cards(**query):
    """Newest first; `?application_id=` finds an application's card."""
    bank = _operator_bank()
    for name in ("application_id", "outlet_id"):
        if query.get(name) is not None:
            query[name] = str(query[name])
    with current().database.session_factory() as session:
        found = find_cards(session, visible_to_bank=bank, **query)
        return {"items": [card_view(details) for details in found]}


@blp.route("/cards/<uuid:card_id>", methods=["GET"])
@requires_roles(ADMIN, BANK_OPERATOR)
@blp.response(200, CardSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
def get_card(card_id):
    bank = _operator_bank()
    with current().database.session_factory() as session:
        return card_view(show_card(session, card_id=str(card_id), visible_to_bank=bank))


@blp.route("/cards/<uuid:card_id>/events", methods=["POST"])
@requires_roles(BANK_OPERATOR)
@transactional
@blp.arguments(CardEventSchema)
@blp.response(200, CardSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
@blp.alt_response(409, **problem_doc("The card cannot take this status (now)"))
def post_card_event(payload, card_id, uow):
    """A status report from the card's bank: 200 when applied, 200 and nothing changes when
    the card is already there, 409 when the card cannot take that status (now)."""
    report = StatusReport(
        status=payload["status"],
        source=operator_source(current_principal().subject),
        occurred_at=utcnow(),
        reason=payload.get("reason"),
        bank_account=payload.get("bank_account_masked"),
        card_serial=payload.get("card_serial"),
    )
    details = report_card_status(
        uow, card_id=str(card_id), visible_to_bank=_operator_bank(), report=report
    )
    return card_view(details)


@blp.route("/cards/<uuid:card_id>/reprint", methods=["POST"])
@requires_roles(ADMIN)
@transactional(idempotent=True)
@blp.response(200, CardSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
@blp.alt_response(409, **problem_doc("The card's printing has not failed"))
def reprint(card_id, uow):
    """After print_failed: a new serial and a new signed print message to the bank; 409 in
    any other status."""
    return card_view(reprint_card(uow, current(), card_id=str(card_id)))
