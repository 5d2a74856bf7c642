"""The event registry: every event type sscard publishes or consumes, with the marshmallow
schema of its `data`.

This is the single source for publishing (validated strictly), consuming (validated, unknown
fields tolerated), the topology's bindings, and `docs/asyncapi.yaml`. docs/contract.md §4.3 sets the
minimum fields; fields added here are additions, never renames.
"""

from __future__ import annotations

import builtins
import functools
from dataclasses import dataclass

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

EVENTS_EXCHANGE = "sscard.events"
PRINT_EXCHANGE = "sscard.print"
BANK_FEEDBACK_EXCHANGE = "sscard.bank-feedback"

SHA256_HEX = validate.Regexp(r"^[0-9a-f]{64}$", error="Not a lowercase hex SHA-256 digest.")
CHECKS = (
    "id_number_valid",
    "identity_registry_match",
    "photo_format",
    "photo_single_face",
    "id_card_face_match",
    "registry_face_match",
    "not_duplicate",
)
GENDERS = ("male", "female")
PERSON_STATUSES = ("employed", "unemployed", "retired", "student", "other")
BANK_REPORTED_STATUSES = (
    "printed",
    "print_failed",
    "shipped",
    "ready_for_pickup",
    "collected",
    "activated",
)
# What a bank reports to confirm a signed command about a card after its activation
# (card.block_request, card.unblock_request, card.cancel_request).
BANK_CONFIRMATION_STATUSES = ("blocked", "unblocked", "cancelled")
CANCELLATION_REASONS = ("death", "emigration", "holder_request")
REPLACEMENT_REASONS = ("lost", "damaged")


class EventData(Schema):
    class Meta:
        unknown = EXCLUDE


class AccountRegistered(EventData):
    account_id = fields.UUID(required=True)
    phone = fields.String(required=True)
    name = fields.String(required=True)


class AccountLocked(EventData):
    account_id = fields.UUID(required=True)
    reason = fields.String(
        required=True, validate=validate.OneOf(("identity_proven_by_another_account",))
    )


class OutletUpserted(EventData):
    outlet_id = fields.UUID(required=True)
    bank_code = fields.String(required=True)
    bank_name = fields.String(required=True)
    name = fields.String(required=True)
    district = fields.String(required=True)
    address = fields.String(required=True)
    active = fields.Boolean(required=True)


class OutletSnapshotRequested(EventData):
    """A consumer whose outlet read model is empty asks the printing service to publish every
    outlet again (see docs/operations.md, "cold start")."""

    requested_by = fields.String(required=True)


class Applicant(EventData):
    name = fields.String(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    ethnicity = fields.String(required=True)
    birth_date = fields.Date(required=True)
    id_number = fields.String(required=True, validate=validate.Length(equal=18))
    phone = fields.String(required=True)
    address = fields.String(required=True)
    person_status = fields.String(required=True, validate=validate.OneOf(PERSON_STATUSES))


class FileReference(EventData):
    """A claim check: the file stays with the application service; this says where and what."""

    url = fields.Url(required=True, require_tld=False)
    sha256 = fields.String(required=True, validate=SHA256_HEX)
    content_type = fields.String(
        required=True, validate=validate.OneOf(["image/jpeg", "image/png"])
    )


class ApplicationFiles(EventData):
    photo = fields.Nested(FileReference, required=True)
    id_card_front = fields.Nested(FileReference, required=True)
    id_card_back = fields.Nested(FileReference, required=True)


class ApplicationSubmitted(EventData):
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    acceptance_number = fields.String(required=True)
    applicant = fields.Nested(Applicant, required=True)
    outlet_id = fields.UUID(required=True)
    bank_code = fields.String(required=True)
    files = fields.Nested(ApplicationFiles, required=True)
    photo_source = fields.String(validate=validate.OneOf(["upload", "on_file"]))
    submitted_at = fields.DateTime()


class ApplicationCancelled(EventData):
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)


class CheckResult(EventData):
    check = fields.String(required=True, validate=validate.OneOf(CHECKS))
    outcome = fields.String(required=True, validate=validate.OneOf(["pass", "fail", "review"]))
    detail = fields.String(required=True)
    # Machine-readable reasons behind a `fail` or `review` outcome (empty for `pass`).
    codes = fields.List(fields.String())


class RejectionReason(EventData):
    code = fields.String(required=True)
    detail = fields.String(required=True)


class VerificationStarted(EventData):
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True)


class VerificationApproved(EventData):
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True)
    decided_by = fields.String(allow_none=True)


class VerificationReviewRequired(EventData):
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True)
    checks = fields.List(fields.Nested(CheckResult), required=True)


class VerificationRejected(EventData):
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True)
    reasons = fields.List(fields.Nested(RejectionReason), required=True)
    decided_by = fields.String(allow_none=True)


class CardPrintRequested(EventData):
    card_id = fields.UUID(required=True)
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    bank_code = fields.String(required=True)
    outlet_id = fields.UUID(required=True)
    card_serial = fields.String(required=True)
    reprint = fields.Boolean()
    # A replacement card: the lost or damaged card it replaces.
    replaces_card_id = fields.UUID(allow_none=True)


class CardStatusChanged(EventData):
    card_id = fields.UUID(required=True)
    application_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    bank_code = fields.String(required=True)
    outlet_id = fields.UUID(required=True)
    card_serial = fields.String()
    reason = fields.String(allow_none=True)
    occurred_at = fields.DateTime()


class CardReportedLost(CardStatusChanged):
    # "holder" (their own card, online) or "operator" (a bank operator at the counter).
    reported_by = fields.String(required=True, validate=validate.OneOf(["holder", "operator"]))


class CardUnblocked(CardStatusChanged):
    # The counter where the holder was present.
    unblocked_at_outlet_id = fields.UUID(required=True)


class CardReplaced(CardStatusChanged):
    new_card_id = fields.UUID(required=True)
    replacement_reason = fields.String(required=True, validate=validate.OneOf(REPLACEMENT_REASONS))


class CardCancelled(CardStatusChanged):
    cancellation_reason = fields.String(
        required=True, validate=validate.OneOf(CANCELLATION_REASONS)
    )


class CardExpiryApproaching(CardStatusChanged):
    expiry_date = fields.Date(required=True)
    days_ahead = fields.Integer(required=True)


class BankCardCommand(EventData):
    """A signed command to a card's bank (signed like card.print_request)."""

    card_id = fields.UUID(required=True)
    application_id = fields.UUID(required=True)
    bank_code = fields.String(required=True)
    card_serial = fields.String(required=True)
    requested_at = fields.String(required=True, metadata={"description": "RFC 3339 UTC"})
    reason = fields.String()
    # card.unblock_request: the outlet where the holder was present.
    outlet_id = fields.UUID()


class BankCardStatus(EventData):
    card_id = fields.UUID(required=True)
    # The print run the report is about; lets a late report on an earlier run (before a
    # reprint) be recognised as such.
    card_serial = fields.String(validate=validate.Length(equal=9))
    status = fields.String(
        required=True,
        validate=validate.OneOf((*BANK_REPORTED_STATUSES, *BANK_CONFIRMATION_STATUSES)),
    )
    # With a confirmation: the id of the command it confirms.
    command_id = fields.UUID()
    reason = fields.String(allow_none=True)
    occurred_at = fields.DateTime(required=True)
    bank_account_masked = fields.String(allow_none=True)


class PrintPhoto(EventData):
    content_type = fields.String(required=True, validate=validate.Equal("image/jpeg"))
    sha256 = fields.String(required=True, validate=SHA256_HEX)
    data_base64 = fields.String(required=True)


class CardPrintRequest(EventData):
    card_id = fields.UUID(required=True)
    application_id = fields.UUID(required=True)
    bank_code = fields.String(required=True)
    outlet_id = fields.UUID(required=True)
    card_serial = fields.String(required=True)
    card_identification_code = fields.String()
    social_security_number = fields.String(required=True, validate=validate.Length(equal=18))
    name = fields.String(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    ethnicity = fields.String(required=True)
    birth_date = fields.Date(required=True)
    issue_date = fields.Date(required=True)
    expiry_date = fields.Date()
    photo = fields.Nested(PrintPhoto, required=True)


@dataclass(frozen=True)
class EventContract:
    type: str
    # `builtins.`: inside this class body `type` names the field above.
    schema: builtins.type[EventData]
    exchange: str
    producer: str
    summary: str
    version: int = 1
    # Public events may reach integrators' webhooks; the others carry data only services need.
    public: bool = True

    @property
    def dataschema(self) -> str:
        return f"urn:sscard:{self.type}:v{self.version}"


def _card_status(status: str, summary: str) -> EventContract:
    return EventContract(f"card.{status}", CardStatusChanged, EVENTS_EXCHANGE, "printing", summary)


REGISTRY: dict[str, EventContract] = {
    contract.type: contract
    for contract in (
        EventContract(
            "account.registered",
            AccountRegistered,
            EVENTS_EXCHANGE,
            "registration",
            "A citizen registered an account with their real name.",
            public=False,
        ),
        EventContract(
            "account.locked",
            AccountLocked,
            EVENTS_EXCHANGE,
            "registration",
            "A citizen account was locked: another account with its ID number proved that it "
            "is that person's (an application of theirs was approved).",
            public=False,
        ),
        EventContract(
            "outlet.upserted",
            OutletUpserted,
            EVENTS_EXCHANGE,
            "printing",
            "A bank outlet was created or changed (the full current state).",
        ),
        EventContract(
            "outlet.snapshot_requested",
            OutletSnapshotRequested,
            EVENTS_EXCHANGE,
            "application",
            "A consumer asks for every outlet to be published again.",
            public=False,
        ),
        EventContract(
            "application.submitted",
            ApplicationSubmitted,
            EVENTS_EXCHANGE,
            "application",
            "A citizen submitted a complete application; files travel by claim check.",
            public=False,
        ),
        EventContract(
            "application.cancelled",
            ApplicationCancelled,
            EVENTS_EXCHANGE,
            "application",
            "The citizen cancelled their application before it was sent to print.",
        ),
        EventContract(
            "verification.started",
            VerificationStarted,
            EVENTS_EXCHANGE,
            "verification",
            "A case was opened for a submitted application; its checks (identity registry, "
            "photo, face match) run next. An addition to the first contract (docs/contract.md "
            "§4.3): it moves an application to `verifying`.",
        ),
        EventContract(
            "verification.approved",
            VerificationApproved,
            EVENTS_EXCHANGE,
            "verification",
            "Every check passed, or a reviewer approved the case.",
        ),
        EventContract(
            "verification.review_required",
            VerificationReviewRequired,
            EVENTS_EXCHANGE,
            "verification",
            "A check needs a person's judgement; the case waits for a reviewer.",
        ),
        EventContract(
            "verification.rejected",
            VerificationRejected,
            EVENTS_EXCHANGE,
            "verification",
            "A check failed, or a reviewer rejected the case; reasons are machine-readable.",
        ),
        EventContract(
            "card.print_requested",
            CardPrintRequested,
            EVENTS_EXCHANGE,
            "printing",
            "A card order was created and its print message sent to the partner bank.",
        ),
        _card_status("printed", "The partner bank printed the card."),
        _card_status("print_failed", "The partner bank could not print the card."),
        _card_status("shipped", "The card left the bank for the outlet."),
        _card_status("ready_for_pickup", "The card is at the outlet, waiting for its holder."),
        _card_status("collected", "The holder collected the card at the outlet."),
        _card_status("activated", "The card's social security function was activated."),
        EventContract(
            "card.reported_lost",
            CardReportedLost,
            EVENTS_EXCHANGE,
            "printing",
            "The card was reported lost, by its holder or at a bank counter: blocked at once.",
        ),
        EventContract(
            "card.unblocked",
            CardUnblocked,
            EVENTS_EXCHANGE,
            "printing",
            "A bank operator unblocked a lost card, its holder present at the counter.",
        ),
        EventContract(
            "card.replaced",
            CardReplaced,
            EVENTS_EXCHANGE,
            "printing",
            "A lost or damaged card was replaced by a new card (new serial, same social "
            "security number); the old card is final.",
        ),
        EventContract(
            "card.cancelled",
            CardCancelled,
            EVENTS_EXCHANGE,
            "printing",
            "An administrator cancelled the card (death, emigration, the holder's request).",
        ),
        EventContract(
            "card.expiry_approaching",
            CardExpiryApproaching,
            EVENTS_EXCHANGE,
            "printing",
            "The card expires in 90 or 30 days; published once per threshold per card.",
        ),
        EventContract(
            "bank.card_status",
            BankCardStatus,
            BANK_FEEDBACK_EXCHANGE,
            "partner bank",
            "A partner bank reports a card's status; routing key bank.<bank_code>.<status>.",
            public=False,
        ),
        EventContract(
            "card.print_request",
            CardPrintRequest,
            PRINT_EXCHANGE,
            "printing",
            "The signed print message for one card; routing key = bank_code.",
            public=False,
        ),
        EventContract(
            "card.block_request",
            BankCardCommand,
            PRINT_EXCHANGE,
            "printing",
            "Signed: block this card (reported lost); routing key = bank_code. The bank "
            "confirms with bank.card_status `blocked`.",
            public=False,
        ),
        EventContract(
            "card.unblock_request",
            BankCardCommand,
            PRINT_EXCHANGE,
            "printing",
            "Signed: unblock this card (holder present at the outlet); routing key = "
            "bank_code. The bank confirms with bank.card_status `unblocked`.",
            public=False,
        ),
        EventContract(
            "card.cancel_request",
            BankCardCommand,
            PRINT_EXCHANGE,
            "printing",
            "Signed: cancel this card for good (cancelled, or replaced by a new card); routing "
            "key = bank_code. The bank confirms with bank.card_status `cancelled`.",
            public=False,
        ),
    )
}

CARD_STATUS_EVENT_TYPES = tuple(f"card.{status}" for status in BANK_REPORTED_STATUSES)
# What happens to a card after its activation (and its expiry notices), for the citizen.
CARD_AFTER_ACTIVATION_EVENT_TYPES = (
    "card.reported_lost",
    "card.unblocked",
    "card.replaced",
    "card.cancelled",
    "card.expiry_approaching",
)


class UnknownEventType(LookupError):
    pass


def contract_for(event_type: str) -> EventContract:
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


@functools.cache
def _schema(event_type: str, strict: bool) -> Schema:
    # Building a marshmallow schema costs more than validating with it: one instance each.
    return contract_for(event_type).schema(unknown=RAISE if strict else EXCLUDE)


def validation_errors(event_type: str, data: dict, *, strict: bool) -> dict:
    """Errors of `data` against the type's schema; `strict` also refuses unknown fields
    (our own publishers), while consumers tolerate additions (docs/contract.md §4.3)."""
    return _schema(event_type, strict).validate(data)
