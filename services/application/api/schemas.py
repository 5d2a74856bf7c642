"""The marshmallow schemas that validate the application service's requests and shape its
responses (and, through flask-smorest, its OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.application.domain.applicant import DocumentSource
from services.application.domain.status import Status
from shared.messaging.events import GENDERS, PERSON_STATUSES
from shared.time import format_time


class Timestamp(fields.DateTime):
    """RFC 3339 UTC with a `Z`, as docs/contract.md §2 writes times."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_time(value)


# -- outlets ------------------------------------------------------------------------------------
class OutletSchema(Schema):
    outlet_id = fields.String()
    bank_code = fields.String()
    bank_name = fields.String()
    name = fields.String()
    district = fields.String()
    address = fields.String()


class OutletListSchema(Schema):
    items = fields.List(fields.Nested(OutletSchema))


# -- applications -------------------------------------------------------------------------------
class ApplicantInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    ethnicity = fields.String(required=True, validate=validate.Length(min=1, max=50))
    birth_date = fields.Date(required=True)
    id_number = fields.String(required=True, validate=validate.Length(min=18, max=18))
    phone = fields.String(
        required=True,
        validate=validate.Regexp(r"^\+?[0-9]{6,15}$", error="Digits only, 6 to 15 of them."),
    )
    address = fields.String(required=True, validate=validate.Length(min=1, max=200))
    person_status = fields.String(required=True, validate=validate.OneOf(PERSON_STATUSES))


class ApplicationCreateSchema(Schema):
    outlet_id = fields.UUID(required=True)
    applicant = fields.Nested(ApplicantInputSchema, required=True)


class ApplicantSchema(Schema):
    name = fields.String()
    gender = fields.String()
    ethnicity = fields.String()
    birth_date = fields.Date()
    id_number_masked = fields.String(metadata={"description": "First 6 and last 4 characters"})
    phone = fields.String()
    address = fields.String()
    person_status = fields.String()


class CardSchema(Schema):
    card_id = fields.String()
    card_serial = fields.String(allow_none=True)


class RejectionReasonSchema(Schema):
    code = fields.String()
    detail = fields.String()


class TimelineEntrySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    at = Timestamp()
    detail = fields.String()


class ApplicationSummarySchema(Schema):
    application_id = fields.String()
    acceptance_number = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    outlet_id = fields.String()
    created_at = Timestamp()
    updated_at = Timestamp()


class ApplicationSchema(ApplicationSummarySchema):
    bank_code = fields.String()
    applicant = fields.Nested(ApplicantSchema)
    photo_source = fields.String(allow_none=True, metadata={"description": "upload or on_file"})
    missing = fields.List(
        fields.String(), metadata={"description": "What submission still needs (drafts only)"}
    )
    card = fields.Nested(CardSchema, allow_none=True)
    rejection_reasons = fields.List(fields.Nested(RejectionReasonSchema))
    timeline = fields.List(
        fields.Nested(TimelineEntrySchema), metadata={"description": "Oldest first"}
    )
    submitted_at = Timestamp(allow_none=True)
    documents_deleted_at = Timestamp(
        allow_none=True,
        metadata={
            "description": "When the photo and ID card images were deleted, the retention for "
            "rejected and cancelled applications having passed; null while they are kept"
        },
    )


class ApplicationListSchema(Schema):
    items = fields.List(fields.Nested(ApplicationSummarySchema))


class SubmittedSchema(Schema):
    application_id = fields.String()
    status = fields.String()
    acceptance_number = fields.String()


class CancelledSchema(Schema):
    application_id = fields.String()
    status = fields.String()


class PhotoSourceSchema(Schema):
    source = fields.String(required=True, validate=validate.OneOf([DocumentSource.ON_FILE.value]))


# -- progress -----------------------------------------------------------------------------------
class ProgressQuerySchema(Schema):
    id_number = fields.String(validate=validate.Length(min=1, max=40))
    acceptance_number = fields.String(validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))

    @validates_schema
    def _one_key(self, data, **_kwargs):
        if ("id_number" in data) == ("acceptance_number" in data):
            raise ValidationError(
                "Give either id_number or acceptance_number, with name.", "_schema"
            )


class ProgressOutletSchema(Schema):
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class ProgressSchema(Schema):
    status = fields.String()
    updated_at = Timestamp()
    outlet = fields.Nested(ProgressOutletSchema)
