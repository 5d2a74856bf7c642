"""A citizen's applications: create, upload the photo and ID card images, submit, cancel,
and follow progress. Every route is the owner's only; anyone else gets 404."""

from __future__ import annotations

import json
import uuid

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest

from services.application.api.schemas import (
    ApplicationCreateSchema,
    ApplicationListSchema,
    ApplicationSchema,
    CancelledSchema,
    PhotoSourceSchema,
    SubmittedSchema,
)
from services.application.deps import current
from services.application.domain.images import JPEG, PNG
from services.application.models import Application
from services.application.use_cases import applications as cases
from shared.auth import CITIZEN
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput
from shared.web.auth import current_principal, requires_roles
from shared.web.limits import JSON, accepts
from shared.web.openapi import documented
from shared.web.problems import flatten_errors
from shared.web.transaction import transactional

blp = Blueprint("applications", __name__, description="A citizen's card applications.")

_BINARY = {"schema": {"type": "string", "format": "binary"}}


# -- reading ------------------------------------------------------------------------------------


@blp.route("/applications", methods=["GET"])
@requires_roles(CITIZEN)
@blp.response(200, ApplicationListSchema)
def list_applications():
    """The caller's applications, newest first."""
    with current().database.session_factory() as session:
        applications = cases.list_applications(session, account_id=current_principal().subject)
        return {"items": [_summary(application) for application in applications]}


@blp.route("/applications/<uuid:application_id>", methods=["GET"])
@requires_roles(CITIZEN)
@documented(blp.response(200, ApplicationSchema))  # stored rendered (domain/owner_view.py)
def get_application(application_id: uuid.UUID):
    """The application with its card, rejection reasons and timeline (oldest first)."""
    view = cases.get_owner_view(
        current(), account_id=current_principal().subject, application_id=str(application_id)
    )
    return _json(view)


@blp.route("/applications/<uuid:application_id>/default-photo", methods=["GET"])
@requires_roles(CITIZEN)
@transactional
@blp.doc(
    responses={
        "200": {"description": "The photo on file", "content": {JPEG: _BINARY}},
        "403": {
            "description": "The identity check does not vouch for the caller (code "
            "`identity_not_proven`): phone not proven, name and ID number not confirmed by "
            "the identity registry, or the account is locked"
        },
        "404": {"description": "No such application, or no photo on file"},
        "503": {"description": "The registration service or the registry did not answer"},
    }
)
def get_default_photo(application_id: uuid.UUID, uow: UnitOfWork):
    """The photo the identity registry has on file for the applicant; every showing is
    recorded."""
    photo = cases.get_default_photo(
        uow,
        current(),
        account_id=current_principal().subject,
        application_id=str(application_id),
    )
    response = Response(photo, mimetype=JPEG)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- creating -----------------------------------------------------------------------------------


@blp.route("/applications", methods=["POST"])
@requires_roles(CITIZEN)
@transactional(idempotent=True)
@blp.arguments(ApplicationCreateSchema)
@blp.response(201, ApplicationSchema)
def create_application(payload: dict, uow: UnitOfWork):
    """Opens a draft for the caller, who must be the applicant (403 otherwise); 409 while the
    caller has another application that is not rejected, cancelled or activated."""
    application = cases.create_application(
        uow,
        current(),
        account_id=current_principal().subject,
        outlet_id=str(payload["outlet_id"]),
        applicant=payload["applicant"],
    )
    response = _json(application.view, 201)
    response.headers["Location"] = f"{request.path.rstrip('/')}/{application.application_id}"
    return response


# -- uploads ------------------------------------------------------------------------------------


@blp.route("/applications/<uuid:application_id>/photo", methods=["PUT"])
@requires_roles(CITIZEN)
@accepts(JPEG, JSON, max_bytes=lambda _settings: current().options.uploads.photo_max_upload_bytes)
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            JPEG: _BINARY,
            JSON: {"schema": PhotoSourceSchema},
        },
        "description": "A 358×441 24-bit RGB JPEG inside the size window, or "
        '`{"source": "on_file"}` for the photo the identity registry has on file.',
    }
)
@transactional
@blp.response(204)
def put_photo(application_id: uuid.UUID, uow: UnitOfWork):
    """Sets the card photo: an upload, or the photo on file."""
    if request.mimetype == JSON:
        _load_json(PhotoSourceSchema)
        upload = None
    else:
        upload = request.get_data(cache=False)
    uow.correlation_id = str(application_id)
    cases.set_photo(
        uow,
        current(),
        account_id=current_principal().subject,
        application_id=str(application_id),
        upload=upload,
    )
    return None


@blp.route("/applications/<uuid:application_id>/id-card/<any(front, back):side>", methods=["PUT"])
@requires_roles(CITIZEN)
@accepts(JPEG, PNG, max_bytes=lambda _settings: current().options.uploads.id_card_max_bytes)
@blp.doc(
    requestBody={
        "required": True,
        "content": {JPEG: _BINARY, PNG: _BINARY},
        "description": "JPEG or PNG, at most 5 MB, at least 600 px on the long side.",
    }
)
@transactional
@blp.response(204)
def put_id_card(application_id: uuid.UUID, side: str, uow: UnitOfWork):
    """Sets the image of the front (portrait side) or back of the applicant's ID card."""
    uow.correlation_id = str(application_id)
    cases.set_id_card_image(
        uow,
        current(),
        account_id=current_principal().subject,
        application_id=str(application_id),
        side=side,
        upload=request.get_data(cache=False),
    )
    return None


def _load_json(schema_class) -> dict:
    try:
        raw = json.loads(request.get_data(cache=True) or b"{}")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The request body is not valid JSON.") from None
    try:
        return schema_class().load(raw)
    except ValidationError as exc:
        raise InvalidInput(
            "One or more fields are invalid.", errors=flatten_errors(exc.messages)
        ) from None


# -- submitting and cancelling ------------------------------------------------------------------


@blp.route("/applications/<uuid:application_id>/submit", methods=["POST"])
@requires_roles(CITIZEN)
@transactional(idempotent=True)
@blp.response(202, SubmittedSchema)
def submit_application(application_id: uuid.UUID, uow: UnitOfWork):
    """Hands a complete draft to verification; 409 listing what is missing otherwise."""
    uow.correlation_id = str(application_id)
    application = cases.submit_application(
        uow, current(), account_id=current_principal().subject, application_id=str(application_id)
    )
    return {
        "application_id": application.application_id,
        "status": application.status,
        "acceptance_number": application.acceptance_number,
    }


@blp.route("/applications/<uuid:application_id>/cancel", methods=["POST"])
@requires_roles(CITIZEN)
@transactional(idempotent=True)
@blp.response(202, CancelledSchema)
def cancel_application(application_id: uuid.UUID, uow: UnitOfWork):
    """Withdraws the application while it has not been sent to print; 409 afterwards."""
    uow.correlation_id = str(application_id)
    application = cases.cancel_application(
        uow, current(), account_id=current_principal().subject, application_id=str(application_id)
    )
    return {"application_id": application.application_id, "status": application.status}


# -- answers ------------------------------------------------------------------------------------


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="application/json")


def _summary(application: Application) -> dict:
    return {
        "application_id": application.application_id,
        "acceptance_number": application.acceptance_number,
        "status": application.status,
        "outlet_id": application.outlet_id,
        "created_at": application.created_at,
        "updated_at": application.updated_at,
    }
