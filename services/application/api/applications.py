"""A citizen's applications: create, upload the photo and ID card images, submit, cancel,
and follow progress. Every route is the owner's only; anyone else gets 404."""

from __future__ import annotations

import json
import uuid

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest

from services.application.api.schemas import (
    ApplicationCreateSchema,
    ApplicationListSchema,
    ApplicationSchema,
    CancelledSchema,
    PhotoSourceSchema,
    SubmittedSchema,
)
from services.application.dao import (
    dao_add_timeline_entry,
    dao_get_application,
    dao_get_application_view,
    dao_get_documents,
    dao_get_open_application_for_person,
    dao_get_outlet,
    dao_list_applications_for_account,
    dao_put_document,
    dao_set_status,
    dao_store_file,
    new_local_event_id,
)
from services.application.domain.acceptance import new_acceptance_number
from services.application.domain.applicant import (
    check_consistent_with_id_number,
    check_is_callers_own,
    checked_id_number,
    missing_documents,
)
from services.application.domain.images import (
    JPEG,
    PNG,
    CheckedImage,
    InvalidImage,
    check_card_photo,
    check_id_card_image,
)
from services.application.domain.status import Status, StatusState, is_cancellable
from services.application.models import Application
from services.application.runtime import Runtime
from services.application.views import refresh_view
from shared.auth import CITIZEN
from shared.claim_check import claim_check_url
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.messaging.envelope import format_time
from shared.pii import mask_id_number
from shared.web.app import readonly_session, service_context, unit_of_work
from shared.web.auth import current_principal, ensure_owner, requires_roles
from shared.web.idempotency import idempotent
from shared.web.limits import JSON, accepts
from shared.web.openapi import documented
from shared.web.problems import flatten_errors

blp = Blueprint("applications", __name__, description="A citizen's card applications.")

_ACCEPTANCE_NUMBER_ATTEMPTS = 5
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def runtime() -> Runtime:
    return service_context().extras["runtime"]


# -- reading ------------------------------------------------------------------------------------


@blp.route("/applications", methods=["GET"])
@requires_roles(CITIZEN)
@blp.response(200, ApplicationListSchema)
def list_applications():
    """The caller's applications, newest first."""
    with readonly_session() as session:
        applications = dao_list_applications_for_account(session, current_principal().subject)
        return {"items": [_summary(application) for application in applications]}


@blp.route("/applications/<uuid:application_id>", methods=["GET"])
@requires_roles(CITIZEN)
@documented(blp.response(200, ApplicationSchema))  # the view is stored rendered (views.py)
def get_application(application_id: uuid.UUID):
    """The application with its card, rejection reasons and timeline (oldest first)."""
    row = dao_get_application_view(runtime().reads, str(application_id))
    if row is None:
        raise NotFound("No such resource.")
    ensure_owner(row.account_id)
    return _json(row.view)


@blp.route("/applications/<uuid:application_id>/default-photo", methods=["GET"])
@requires_roles(CITIZEN)
@blp.doc(
    responses={
        "200": {"description": "The photo on file", "content": {JPEG: _BINARY}},
        "404": {"description": "No such application, or no photo on file"},
    }
)
def get_default_photo(application_id: uuid.UUID):
    """The photo the identity registry has on file for the applicant."""
    with readonly_session() as session:
        application = _own_application(session, application_id)
        id_number = runtime().decrypt_id_number(application.id_number_encrypted)
    photo = runtime().identity_registry.get_photo(id_number)
    if photo is None:
        raise NotFound("The identity registry has no photo on file for you.")
    response = Response(photo, mimetype=JPEG)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- creating -----------------------------------------------------------------------------------


@blp.route("/applications", methods=["POST"])
@requires_roles(CITIZEN)
@idempotent
@blp.arguments(ApplicationCreateSchema)
@blp.response(201, ApplicationSchema)
def create_application(payload: dict):
    """Opens a draft for the caller, who must be the applicant (403 otherwise); 409 while the
    caller has another application that is not rejected, cancelled or activated."""
    applicant = payload["applicant"]
    id_number = checked_id_number(applicant["id_number"])
    check_consistent_with_id_number(id_number, applicant["gender"], applicant["birth_date"])
    principal = current_principal()
    check_is_callers_own(
        runtime().accounts.check_identity(principal.subject, applicant["name"], id_number)
    )

    outlet_id = str(payload["outlet_id"])
    application_id = str(uuid.uuid4())
    person_key = runtime().id_number_index(id_number)
    now = utcnow()
    # One session for every read and write: inside an idempotent request it is the one that
    # already holds the transaction (on SQLite, the write lock).
    with unit_of_work(correlation_id=application_id) as uow:
        outlet = dao_get_outlet(uow.session, outlet_id)
        if outlet is None or not outlet.active:
            raise InvalidInput(
                "There is no active outlet with this id.",
                errors={"outlet_id": ["Not an active outlet; see GET /api/v1/outlets."]},
            )
        if dao_get_open_application_for_person(uow.session, person_key) is not None:
            raise _already_open()
        application = Application(
            application_id=application_id,
            account_id=principal.subject,
            status=Status.DRAFT.value,
            status_at=now,
            outlet_id=outlet_id,
            outlet_name=outlet.name,
            outlet_address=outlet.address,
            bank_code=outlet.bank_code,
            name=applicant["name"].strip(),
            gender=applicant["gender"],
            ethnicity=applicant["ethnicity"].strip(),
            birth_date=applicant["birth_date"],
            id_number_encrypted=runtime().encrypt_id_number(id_number),
            id_number_index=person_key,
            id_number_masked=mask_id_number(id_number),
            open_person_key=person_key,
            phone=applicant["phone"],
            address=applicant["address"].strip(),
            person_status=applicant["person_status"],
            rejection_reasons=[],
            created_at=now,
            updated_at=now,
        )
        uow.session.add(application)
        try:
            uow.session.flush()
        except IntegrityError:
            # Another request for the same person won the race to the unique constraint.
            raise _already_open() from None
        dao_add_timeline_entry(
            uow.session,
            application_id,
            event_id=new_local_event_id(),
            status=Status.DRAFT,
            at=now,
            detail="Application started.",
        )
        refresh_view(uow.session, application)
        uow.commit()
    response = _json(application.view, 201)
    response.headers["Location"] = f"{request.path.rstrip('/')}/{application_id}"
    return response


def _already_open() -> Conflict:
    return Conflict(
        "You already have an application in progress; cancel it or wait until it is done."
    )


# -- uploads ------------------------------------------------------------------------------------


@blp.route("/applications/<uuid:application_id>/photo", methods=["PUT"])
@requires_roles(CITIZEN)
@accepts(JPEG, JSON, max_bytes=lambda _settings: runtime().options.uploads.photo_max_upload_bytes)
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
@blp.response(204)
def put_photo(application_id: uuid.UUID):
    """Sets the card photo: an upload, or the photo on file."""
    rules = runtime().options.uploads
    if request.mimetype == JSON:
        _load_json(PhotoSourceSchema)
        application = _own_draft(application_id)
        id_number = runtime().decrypt_id_number(application.id_number_encrypted)
        on_file = runtime().identity_registry.get_photo(id_number)
        if on_file is None:
            raise InvalidInput(
                "The identity registry has no photo on file for you; upload one.",
                errors={"source": ["No photo on file."]},
            )
        try:
            image = check_card_photo(on_file, rules)
        except InvalidImage as exc:
            raise InvalidImage(
                "The photo on file does not meet the card photo rules; upload one.",
                errors=exc.errors,
            ) from None
        _save_document(application_id, "photo", image, source="on_file")
    else:
        _own_draft(application_id)
        image = check_card_photo(_upload_body("photo"), rules)
        _save_document(application_id, "photo", image, source="upload")
    return None


@blp.route("/applications/<uuid:application_id>/id-card/<any(front, back):side>", methods=["PUT"])
@requires_roles(CITIZEN)
@accepts(JPEG, PNG, max_bytes=lambda _settings: runtime().options.uploads.id_card_max_bytes)
@blp.doc(
    requestBody={
        "required": True,
        "content": {JPEG: _BINARY, PNG: _BINARY},
        "description": "JPEG or PNG, at most 5 MB, at least 600 px on the long side.",
    }
)
@blp.response(204)
def put_id_card(application_id: uuid.UUID, side: str):
    """Sets the image of the front (portrait side) or back of the applicant's ID card."""
    kind = f"id_card_{side}"
    _own_draft(application_id)
    image = check_id_card_image(_upload_body(kind), runtime().options.uploads, field=kind)
    _save_document(application_id, kind, image, source="upload")
    return None


def _upload_body(field: str) -> bytes:
    data = request.get_data(cache=False)
    if not data:
        raise InvalidInput("The request has no image in its body.", errors={field: ["Missing."]})
    return data


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


def _save_document(application_id: uuid.UUID, kind: str, image: CheckedImage, *, source: str):
    with unit_of_work(correlation_id=str(application_id)) as uow:
        # Checked again inside the transaction: the image was judged outside it.
        application = _own_application(uow.session, application_id, for_update=True)
        _require_draft(application)
        sha256 = dao_store_file(uow.session, runtime().files, image)
        dao_put_document(uow.session, application.application_id, kind, sha256, source=source)
        if kind == "photo":
            application.photo_source = source
        application.updated_at = utcnow()
        refresh_view(uow.session, application)
        uow.commit()


# -- submitting and cancelling ------------------------------------------------------------------


@blp.route("/applications/<uuid:application_id>/submit", methods=["POST"])
@requires_roles(CITIZEN)
@idempotent
@blp.response(202, SubmittedSchema)
def submit_application(application_id: uuid.UUID):
    """Hands a complete draft to verification; 409 listing what is missing otherwise."""
    settings = service_context().settings
    with unit_of_work(correlation_id=str(application_id)) as uow:
        application = _own_application(uow.session, application_id, for_update=True)
        _require_draft(application)
        documents = dao_get_documents(uow.session, application.application_id)
        missing = missing_documents(set(documents))
        if missing:
            raise Conflict(
                f"The application is not complete: {', '.join(missing)} missing.",
                extra={"missing": missing},
            )
        outlet = dao_get_outlet(uow.session, application.outlet_id)
        if outlet is None or not outlet.active:
            raise Conflict("The chosen outlet no longer issues cards; start a new application.")
        now = utcnow()
        application.acceptance_number = _assign_acceptance_number(uow.session, application, now)
        application.bank_code = outlet.bank_code
        application.submitted_at = now
        base_url = settings.url_of("application")
        event = uow.add_event(
            "application.submitted",
            {
                "application_id": application.application_id,
                "account_id": application.account_id,
                "acceptance_number": application.acceptance_number,
                "applicant": {
                    "name": application.name,
                    "gender": application.gender,
                    "ethnicity": application.ethnicity,
                    "birth_date": application.birth_date.isoformat(),
                    "id_number": runtime().decrypt_id_number(application.id_number_encrypted),
                    "phone": application.phone,
                    "address": application.address,
                    "person_status": application.person_status,
                },
                "outlet_id": application.outlet_id,
                "bank_code": outlet.bank_code,
                "files": {
                    kind: {
                        "url": claim_check_url(base_url, sha256),
                        "sha256": sha256,
                        "content_type": content_type,
                    }
                    for kind, (sha256, content_type, _source) in documents.items()
                },
                "photo_source": documents["photo"][2],
                "submitted_at": format_time(now),
            },
            subject=application.application_id,
        )
        dao_set_status(application, StatusState(Status.SUBMITTED, now), now=now)
        dao_add_timeline_entry(
            uow.session,
            application.application_id,
            event_id=event.id,
            status=Status.SUBMITTED,
            at=now,
            detail=f"Submitted; acceptance number {application.acceptance_number}.",
        )
        refresh_view(uow.session, application)
        uow.commit()
        return {
            "application_id": application.application_id,
            "status": application.status,
            "acceptance_number": application.acceptance_number,
        }


def _assign_acceptance_number(session: Session, application: Application, now) -> str:
    for _ in range(_ACCEPTANCE_NUMBER_ATTEMPTS):
        candidate = new_acceptance_number(now)
        try:
            with session.begin_nested():
                application.acceptance_number = candidate
                session.flush()
            return candidate
        except IntegrityError:
            continue
    raise Conflict("Could not assign an acceptance number; please retry.")


@blp.route("/applications/<uuid:application_id>/cancel", methods=["POST"])
@requires_roles(CITIZEN)
@idempotent
@blp.response(202, CancelledSchema)
def cancel_application(application_id: uuid.UUID):
    """Withdraws the application while it has not been sent to print; 409 afterwards."""
    with unit_of_work(correlation_id=str(application_id)) as uow:
        application = _own_application(uow.session, application_id, for_update=True)
        if not is_cancellable(Status(application.status)):
            raise Conflict(
                f"An application that is {application.status} can no longer be cancelled."
            )
        now = utcnow()
        event = uow.add_event(
            "application.cancelled",
            {"application_id": application.application_id, "account_id": application.account_id},
            subject=application.application_id,
        )
        dao_set_status(application, StatusState(Status.CANCELLED, now), now=now)
        dao_add_timeline_entry(
            uow.session,
            application.application_id,
            event_id=event.id,
            status=Status.CANCELLED,
            at=now,
            detail="You cancelled the application.",
        )
        refresh_view(uow.session, application)
        uow.commit()
        return {"application_id": application.application_id, "status": application.status}


# -- helpers ------------------------------------------------------------------------------------


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="application/json")


def _own_application(
    session: Session, application_id: uuid.UUID, *, for_update: bool = False
) -> Application:
    application = dao_get_application(session, str(application_id), for_update=for_update)
    if application is None:
        raise NotFound("No such resource.")
    ensure_owner(application.account_id)
    return application


def _own_draft(application_id: uuid.UUID) -> Application:
    with readonly_session() as session:
        application = _own_application(session, application_id)
    _require_draft(application)
    return application


def _require_draft(application: Application) -> None:
    if application.status != Status.DRAFT.value:
        raise Conflict(
            f"The application is {application.status}; its files and details can no longer change."
        )


def _summary(application: Application) -> dict:
    return {
        "application_id": application.application_id,
        "acceptance_number": application.acceptance_number,
        "status": application.status,
        "outlet_id": application.outlet_id,
        "created_at": application.created_at,
        "updated_at": application.updated_at,
    }
