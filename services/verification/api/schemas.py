"""Marshmallow schemas of the verification API: they validate requests and document
responses in the generated OpenAPI."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.verification.domain.checks import FAIL, PASS, REVIEW
from services.verification.domain.status import CASE_STATUSES, CaseStatus


class CheckSchema(Schema):
    check = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf([PASS, FAIL, REVIEW]))
    detail = fields.String(required=True)
    codes = fields.List(fields.String(), metadata={"description": "Machine-readable reasons"})


class ApplicantSchema(Schema):
    name = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birth_date = fields.String(allow_none=True)
    id_number_masked = fields.String(allow_none=True, metadata={"description": "First 6, last 4"})


class LinksSchema(Schema):
    photo = fields.String()
    id_card_front = fields.String()
    id_card_back = fields.String()
    registry_photo = fields.String(
        metadata={"description": "The applicant's photo on file in the identity registry"}
    )


class CaseSchema(Schema):
    case_id = fields.String(required=True)
    application_id = fields.String(required=True)
    account_id = fields.String(required=True)
    acceptance_number = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(CASE_STATUSES))
    outlet_id = fields.String(allow_none=True)
    bank_code = fields.String(allow_none=True)
    applicant = fields.Nested(ApplicantSchema)
    checks = fields.List(fields.Nested(CheckSchema), required=True)
    created_at = fields.String(required=True)
    decided_at = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    links = fields.Nested(
        LinksSchema, metadata={"description": "The images, served by this service"}
    )


class CaseListSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema), required=True)


class ReviewQuerySchema(Schema):
    status = fields.String(
        load_default=CaseStatus.PENDING.value, validate=validate.OneOf(CASE_STATUSES)
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CaseQuerySchema(Schema):
    application_id = fields.UUID(required=True)


class DecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))

    @validates_schema
    def _reject_needs_a_reason(self, data, **_kwargs):
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            raise ValidationError("A rejection needs a reason the citizen can act on.", "reason")
