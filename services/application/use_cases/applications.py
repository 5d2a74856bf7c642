"""A citizen's applications: open a draft, set its photo and ID card images, submit it, cancel
it, and read it. Every command is the owner's only: anyone else gets the same 404 as for an
application that does not exist."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.application.dao import (
    dao_add_photo_view,
    dao_add_timeline_entry,
    dao_get_application,
    dao_get_application_view,
    dao_get_documents,
    dao_get_open_application_for_account,
    dao_get_outlet,
    dao_list_applications_for_account,
    dao_put_document,
    dao_save_application,
    dao_store_file,
    new_local_event_id,
)
from services.application.deps import Dependencies
from services.application.domain.acceptance import new_acceptance_number
from services.application.domain.applicant import (
    PHOTO,
    DocumentSource,
    check_consistent_with_id_number,
    check_is_callers_own,
    check_may_see_photo_on_file,
    check_owner,
    checked_id_number,
    id_card_side,
    missing_documents,
)
from services.application.domain.images import (
    CheckedImage,
    InvalidImage,
    check_card_photo,
    check_id_card_image,
)
from services.application.domain.status import (
    Status,
    StatusState,
    check_is_cancellable,
    check_is_draft,
    is_open,
)
from services.application.models import Application, Outlet
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, InvalidInput, NotFound
from shared.messaging.claim_check import claim_check_url
from shared.personal_data.protection import mask_id_number
from shared.time import format_time, utcnow

log = logging.getLogger(__name__)

_ACCEPTANCE_NUMBER_ATTEMPTS = 5

# -- reading ------------------------------------------------------------------------------------


def list_applications(session: Session, *, account_id: str) -> list[Application]:
    """The caller's applications, newest first."""
    return dao_list_applications_for_account(session, account_id)


def get_owner_view(deps: Dependencies, *, account_id: str, application_id: str) -> str:
    """The stored view (JSON) of the caller's application: one hot read."""
    row = dao_get_application_view(deps.reads, application_id)
    if row is None:
        raise NotFound("No such resource.")
    check_owner(row.account_id, account_id)
    return row.view


def get_default_photo(
    uow: UnitOfWork, deps: Dependencies, *, account_id: str, application_id: str
) -> bytes:
    """The photo the identity registry has on file for the applicant; 404 if none. Shown only
    while the registration service's identity check vouches for the caller with the
    application's name and ID number (403 otherwise: the account may have been locked since),
    and each showing is recorded in `photo_views` and logged. The peers are asked before the
    unit of work touches the database, so no transaction waits on them."""
    with deps.database.session_factory() as session:
        application = _own(session, account_id, application_id)
        name = application.name
        id_number = deps.id_numbers.decrypt(application.id_number_encrypted)
    _check_vouched_for(deps, account_id, application_id, name, id_number)
    photo = deps.identity_registry.get_photo(id_number)
    if photo is None:
        raise NotFound("The identity registry has no photo on file for you.")
    dao_add_photo_view(uow.session, application_id, account_id, utcnow())
    log.info("photo on file shown: application %s, account %s", application_id, account_id)
    return photo


def _check_vouched_for(
    deps: Dependencies, account_id: str, application_id: str, name: str, id_number: str
) -> None:
    """403 unless the identity check vouches for the account with this name and ID number; a
    refusal is logged by ids only (no name, no number)."""
    verdict = deps.accounts.check_identity(account_id, name, id_number)
    if not verdict.match:
        log.warning("photo on file refused: application %s, account %s", application_id, account_id)
    check_may_see_photo_on_file(verdict)


# -- opening a draft ----------------------------------------------------------------------------


def create_application(
    uow: UnitOfWork, deps: Dependencies, *, account_id: str, outlet_id: str, applicant: dict
) -> Application:
    """Opens a draft for the caller, who must be the applicant (403 otherwise); 409 while the
    caller has another application that is not rejected, cancelled or activated. `applicant`:
    the declared name, gender, ethnicity, birth date, ID number, phone, address and status."""
    id_number = checked_id_number(applicant["id_number"])
    check_consistent_with_id_number(id_number, applicant["gender"], applicant["birth_date"])
    verdict = deps.accounts.check_identity(account_id, applicant["name"], id_number)
    check_is_callers_own(verdict)
    person_key = deps.id_numbers.blind_index(id_number)
    now = utcnow()
    outlet = dao_get_outlet(uow.session, outlet_id)
    if outlet is None or not outlet.active:
        raise InvalidInput(
            "There is no active outlet with this id.",
            errors={"outlet_id": ["Not an active outlet; see GET /api/v1/outlets."]},
        )
    if dao_get_open_application_for_account(uow.session, account_id) is not None:
        raise _already_open()
    application = _new_draft(deps, account_id, outlet, applicant, id_number, person_key, now)
    uow.session.add(application)
    try:
        uow.session.flush()
    except IntegrityError:
        # Another request of the same account won the race to the unique constraint.
        raise _already_open() from None
    dao_add_timeline_entry(
        uow.session,
        application.application_id,
        event_id=new_local_event_id(),
        status=Status.DRAFT,
        at=now,
        detail="Application started.",
    )
    dao_save_application(uow.session, application)
    return application


def _new_draft(
    deps: Dependencies,
    account_id: str,
    outlet: Outlet,
    applicant: dict,
    id_number: str,
    person_key: str,
    now: datetime,
) -> Application:
    return Application(
        application_id=str(uuid.uuid4()),
        account_id=account_id,
        status=Status.DRAFT.value,
        status_at=now,
        outlet_id=outlet.outlet_id,
        outlet_name=outlet.name,
        outlet_address=outlet.address,
        bank_code=outlet.bank_code,
        name=applicant["name"].strip(),
        gender=applicant["gender"],
        ethnicity=applicant["ethnicity"].strip(),
        birth_date=applicant["birth_date"],
        id_number_encrypted=deps.id_numbers.encrypt(id_number),
        id_number_index=person_key,
        id_number_masked=mask_id_number(id_number),
        open_account_key=account_id,
        phone=applicant["phone"],
        address=applicant["address"].strip(),
        person_status=applicant["person_status"],
        rejection_reasons=[],
        created_at=now,
        updated_at=now,
    )


def _already_open() -> Conflict:
    return Conflict(
        "You already have an application in progress; cancel it or wait until it is done."
    )


# -- documents ----------------------------------------------------------------------------------


def set_photo(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    account_id: str,
    application_id: str,
    upload: bytes | None,
) -> None:
    """Sets the card photo: `upload`, or (None) the photo the identity registry has on file.
    The image is judged outside the transaction, which only records it."""
    application = _own_draft_outside_transaction(deps, account_id, application_id)
    rules = deps.options.uploads
    if upload is None:
        id_number = deps.id_numbers.decrypt(application.id_number_encrypted)
        # Choosing the photo on file puts it on the card: the same check as showing it.
        _check_vouched_for(deps, account_id, application_id, application.name, id_number)
        on_file = deps.identity_registry.get_photo(id_number)
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
        source = DocumentSource.ON_FILE
    else:
        image = check_card_photo(_image_in(upload, PHOTO), rules)
        source = DocumentSource.UPLOAD
    _save_document(uow, deps, account_id, application_id, PHOTO, image, source)


def set_id_card_image(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    account_id: str,
    application_id: str,
    side: str,
    upload: bytes,
) -> None:
    """Sets the image of the front (portrait side) or back of the applicant's ID card."""
    kind = id_card_side(side)
    _own_draft_outside_transaction(deps, account_id, application_id)
    image = check_id_card_image(_image_in(upload, kind), deps.options.uploads, field=kind)
    _save_document(uow, deps, account_id, application_id, kind, image, DocumentSource.UPLOAD)


def _image_in(upload: bytes, field: str) -> bytes:
    if not upload:
        raise InvalidInput("The request has no image in its body.", errors={field: ["Missing."]})
    return upload


def _own_draft_outside_transaction(
    deps: Dependencies, account_id: str, application_id: str
) -> Application:
    """Looked up in a session of its own, so that no transaction is open (on SQLite: no write
    lock held) while an image is judged."""
    with deps.database.session_factory() as session:
        application = _own(session, account_id, application_id)
    check_is_draft(Status(application.status))
    return application


def _save_document(
    uow: UnitOfWork,
    deps: Dependencies,
    account_id: str,
    application_id: str,
    kind: str,
    image: CheckedImage,
    source: DocumentSource,
) -> None:
    # Checked again inside the transaction: the image was judged outside it.
    application = _own(uow.session, account_id, application_id, for_update=True)
    check_is_draft(Status(application.status))
    sha256 = dao_store_file(uow.session, deps.files, image)
    dao_put_document(uow.session, application.application_id, kind, sha256, source=source.value)
    if kind == PHOTO:
        application.photo_source = source.value
    application.updated_at = utcnow()
    dao_save_application(uow.session, application)


# -- submitting and cancelling ------------------------------------------------------------------


def submit_application(
    uow: UnitOfWork, deps: Dependencies, *, account_id: str, application_id: str
) -> Application:
    """Hands a complete draft to verification (`application.submitted`); 409 listing what is
    missing otherwise, or when the chosen outlet no longer issues cards."""
    application = _own(uow.session, account_id, application_id, for_update=True)
    check_is_draft(Status(application.status))
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
    event = uow.add_event(
        "application.submitted",
        _submitted_data(deps, application, documents, now),
        subject=application.application_id,
    )
    move_to(application, StatusState(Status.SUBMITTED, now), now=now)
    dao_add_timeline_entry(
        uow.session,
        application.application_id,
        event_id=event.id,
        status=Status.SUBMITTED,
        at=now,
        detail=f"Submitted; acceptance number {application.acceptance_number}.",
    )
    dao_save_application(uow.session, application)
    return application


def _submitted_data(
    deps: Dependencies,
    application: Application,
    documents: dict[str, tuple[str, str, str]],
    now: datetime,
) -> dict:
    base_url = deps.settings.url_of("application")
    return {
        "application_id": application.application_id,
        "account_id": application.account_id,
        "acceptance_number": application.acceptance_number,
        "applicant": {
            "name": application.name,
            "gender": application.gender,
            "ethnicity": application.ethnicity,
            "birth_date": application.birth_date.isoformat(),
            "id_number": deps.id_numbers.decrypt(application.id_number_encrypted),
            "phone": application.phone,
            "address": application.address,
            "person_status": application.person_status,
        },
        "outlet_id": application.outlet_id,
        "bank_code": application.bank_code,
        "files": {
            kind: {
                "url": claim_check_url(base_url, sha256),
                "sha256": sha256,
                "content_type": content_type,
            }
            for kind, (sha256, content_type, _source) in documents.items()
        },
        "photo_source": documents[PHOTO][2],
        "submitted_at": format_time(now),
    }


def _assign_acceptance_number(session: Session, application: Application, now: datetime) -> str:
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


def cancel_application(
    uow: UnitOfWork, deps: Dependencies, *, account_id: str, application_id: str
) -> Application:
    """Withdraws the application while it has not been sent to print; 409 afterwards."""
    application = _own(uow.session, account_id, application_id, for_update=True)
    check_is_cancellable(Status(application.status))
    now = utcnow()
    event = uow.add_event(
        "application.cancelled",
        {"application_id": application.application_id, "account_id": application.account_id},
        subject=application.application_id,
    )
    move_to(application, StatusState(Status.CANCELLED, now), now=now)
    dao_add_timeline_entry(
        uow.session,
        application.application_id,
        event_id=event.id,
        status=Status.CANCELLED,
        at=now,
        detail="You cancelled the application.",
    )
    dao_save_application(uow.session, application)
    return application


# -- shared by the commands ---------------------------------------------------------------------


def move_to(application: Application, state: StatusState, *, now: datetime) -> None:
    """Puts the application in `state`; a closed one no longer holds its account's one open
    application (the unique `open_account_key`)."""
    application.status = state.status.value
    application.status_at = state.occurred_at or now
    application.updated_at = now
    if not is_open(state.status):
        application.open_account_key = None


def _own(
    session: Session, account_id: str, application_id: str, *, for_update: bool = False
) -> Application:
    application = dao_get_application(session, application_id, for_update=for_update)
    if application is None:
        raise NotFound("No such resource.")
    check_owner(application.account_id, account_id)
    return application
