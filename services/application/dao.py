"""Data access for the application service: `dao_<verb>_<noun>()` functions over its own
tables. They never commit; the unit of work around the use case does."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from services.application.adapters.storage import FileStore
from services.application.domain.images import CheckedImage
from services.application.domain.owner_view import owner_view_json
from services.application.domain.status import Status
from services.application.models import (
    Application,
    ApplicationDocument,
    Outlet,
    PhotoView,
    RateLimitWindow,
    ReleasedFile,
    StoredFile,
    TimelineEntry,
)
from shared.db.engine import is_postgresql
from shared.db.hot_reads import HotReads
from shared.db.tables import new_id
from shared.errors import TransientError
from shared.time import utcnow

# -- outlets ------------------------------------------------------------------------------------


def dao_upsert_outlet(session: Session, data: dict[str, Any], version_at: datetime) -> bool:
    """Applies an `outlet.upserted`; False when the row already reflects a newer one."""
    outlet = session.get(Outlet, str(data["outlet_id"]), with_for_update=True)
    if outlet is None:
        outlet = Outlet(outlet_id=str(data["outlet_id"]))
        session.add(outlet)
    elif outlet.version_at > version_at:
        return False
    moved = (outlet.name, outlet.address) != (data["name"], data["address"])
    outlet.bank_code = data["bank_code"]
    outlet.bank_name = data["bank_name"]
    outlet.name = data["name"]
    outlet.district = data["district"]
    outlet.address = data["address"]
    outlet.active = bool(data["active"])
    outlet.version_at = version_at
    if moved:
        # The copies the progress look-up reads (see Application.outlet_name).
        session.execute(
            update(Application)
            .where(Application.outlet_id == outlet.outlet_id)
            .values(outlet_name=outlet.name, outlet_address=outlet.address)
        )
    return True


def dao_get_outlet(session: Session, outlet_id: str) -> Outlet | None:
    return session.get(Outlet, outlet_id)


def dao_list_active_outlets(session: Session) -> list[Outlet]:
    query = (
        select(Outlet)
        .where(Outlet.active.is_(True))
        .order_by(Outlet.bank_code, Outlet.district, Outlet.name, Outlet.outlet_id)
    )
    return list(session.scalars(query))


def dao_count_outlets(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Outlet)) or 0


# -- applications -------------------------------------------------------------------------------


def dao_get_application(
    session: Session, application_id: str, *, for_update: bool = False
) -> Application | None:
    return session.get(Application, application_id, with_for_update=for_update or None)


# The hot reads' statements are built once: building and caching a statement per call costs
# more than the database round trip it makes.
_VIEW_BY_ID = select(Application.account_id, Application.view).where(
    Application.application_id == bindparam("application_id")
)


def dao_get_application_view(reads: HotReads, application_id: str):
    """(account_id, view) of one application: the whole read of `GET /applications/{id}`."""
    return reads.first(_VIEW_BY_ID, {"application_id": application_id})


def dao_list_applications_for_account(session: Session, account_id: str) -> list[Application]:
    query = (
        select(Application)
        .where(Application.account_id == account_id)
        .order_by(Application.created_at.desc())
    )
    return list(session.scalars(query))


def dao_get_open_application_for_account(session: Session, account_id: str) -> Application | None:
    return session.scalar(select(Application).where(Application.open_account_key == account_id))


def dao_add_photo_view(
    session: Session, application_id: str, account_id: str, viewed_at: datetime
) -> None:
    session.add(
        PhotoView(application_id=application_id, account_id=account_id, viewed_at=viewed_at)
    )


def dao_list_photo_views(session: Session, application_id: str) -> list[PhotoView]:
    """Oldest first."""
    return list(
        session.scalars(
            select(PhotoView)
            .where(PhotoView.application_id == application_id)
            .order_by(PhotoView.view_id)
        )
    )


_PROGRESS_COLUMNS = select(
    Application.status,
    Application.status_at,
    Application.name,
    Application.outlet_name,
    Application.outlet_address,
)
_PROGRESS_BY_ID_NUMBER = (
    _PROGRESS_COLUMNS.where(Application.id_number_index == bindparam("id_index"))
    .order_by(Application.created_at.desc())
    .limit(1)
)
_PROGRESS_BY_ACCEPTANCE_NUMBER = _PROGRESS_COLUMNS.where(
    Application.acceptance_number == bindparam("acceptance_number")
)


def dao_get_latest_application_by_id_number(reads: HotReads, id_index: str):
    """(status, status_at, name, outlet name, outlet address) of a person's newest application."""
    return reads.first(_PROGRESS_BY_ID_NUMBER, {"id_index": id_index})


def dao_get_application_by_acceptance_number(reads: HotReads, acceptance_number: str):
    """The same columns as the look-up by ID number."""
    return reads.first(_PROGRESS_BY_ACCEPTANCE_NUMBER, {"acceptance_number": acceptance_number})


def dao_save_application(session: Session, application: Application) -> None:
    """Flushes the application's changes and stores its owner's view rendered beside them
    (domain/owner_view.py): the one way a change to an application is saved, before its
    transaction commits."""
    session.flush()
    present = dao_get_document_kinds(session, application.application_id)
    timeline = dao_get_timeline(session, application.application_id)
    application.view = owner_view_json(application, present, timeline)


# -- timeline and progress ----------------------------------------------------------------------


def dao_add_timeline_entry(
    session: Session,
    application_id: str,
    *,
    event_id: str,
    status: Status,
    at: datetime,
    detail: str,
) -> bool:
    """False when the event is in the timeline already."""
    exists = session.scalar(
        select(TimelineEntry.entry_id).where(TimelineEntry.event_id == event_id)
    )
    if exists is not None:
        return False
    session.add(
        TimelineEntry(
            event_id=event_id,
            application_id=application_id,
            status=status.value,
            at=at,
            detail=detail[:500],
            recorded_at=utcnow(),
        )
    )
    return True


def dao_get_timeline(session: Session, application_id: str) -> list[TimelineEntry]:
    """In no particular order (domain.owner_view.in_lifecycle_order orders them)."""
    return list(
        session.scalars(select(TimelineEntry).where(TimelineEntry.application_id == application_id))
    )


# -- files --------------------------------------------------------------------------------------


# How often storing a file looks for its row again when a release deleted it in between
# (dao_store_file): each retry needs another release to commit between two statements.
_STORE_ATTEMPTS = 3


def dao_store_file(session: Session, store: FileStore, image: CheckedImage) -> str:
    """Stores the bytes and sees that a `stored_files` row records them, locked until this
    transaction ends (FOR KEY SHARE, as the foreign key check would lock it). A replacement
    releasing the same bytes at this moment (dao_release_file) then either waits for this
    transaction and finds them referenced, or has deleted the row already: the lock waits for
    that to commit, finds the row gone, and the bytes are recorded anew, where a document
    would otherwise fail its foreign key."""
    sha256 = store.put(image.data)
    locked = (
        select(StoredFile.sha256)
        .where(StoredFile.sha256 == sha256)
        .with_for_update(read=True, key_share=True)
    )
    record = (
        _dialect_insert(session)(StoredFile)
        .values(
            sha256=sha256,
            content_type=image.content_type,
            size=len(image.data),
            created_at=utcnow(),
        )
        # Two requests storing the same new bytes at once: the second waits for the first.
        .on_conflict_do_nothing(index_elements=[StoredFile.sha256])
    )
    for _attempt in range(_STORE_ATTEMPTS):
        if session.scalar(locked) is not None or session.execute(record).rowcount:
            return sha256
        # Recorded by another transaction just now, and possibly released since: look again.
    raise TransientError("The file could not be recorded; please retry.")


def dao_get_stored_file(session: Session, sha256: str) -> StoredFile | None:
    return session.get(StoredFile, sha256)


def dao_recorded_files(session: Session, sha256s: list[str]) -> set[str]:
    """Which of these files a committed `stored_files` row records."""
    return set(session.scalars(select(StoredFile.sha256).where(StoredFile.sha256.in_(sha256s))))


def dao_put_document(
    session: Session, application_id: str, kind: str, sha256: str, *, source: str
) -> None:
    """Sets the application's document of this kind; the file it replaces is released if no
    document refers to it any more (dao_release_file)."""
    document = session.get(ApplicationDocument, (application_id, kind))
    replaced = None
    if document is None:
        document = ApplicationDocument(application_id=application_id, kind=kind)
        session.add(document)
    else:
        replaced = document.sha256
    document.sha256 = sha256
    document.source = source
    document.uploaded_at = utcnow()
    if replaced is not None and replaced != sha256:
        session.flush()  # the reference check sees this document refer to the new file
        dao_release_file(session, replaced)


def dao_release_file(session: Session, sha256: str) -> bool:
    """Deletes the file's `stored_files` row and records it in `released_files`, for the worker
    to delete the file after the grace period, if no document refers to it; True if released.

    Equal bytes are stored once, so another application's request may be storing these very
    bytes right now. On PostgreSQL (READ COMMITTED) the row is first locked FOR UPDATE, which
    waits for every transaction that holds it for a new reference (dao_store_file); the
    reference check, a later statement, then sees what those committed. Without the lock, a
    reference committed after the delete began would fail the delete on the foreign key, and
    two replacements of the last two references would each see the other's and keep the file
    for ever. On SQLite every transaction holds the write lock from its start (shared/db/tables.py),
    so nothing interleaves.

    Never fails the replacement it is part of: keeping a file is always safe, so a foreign key
    violation (a reference that still slipped in) or a deadlock (two applications swapping
    the same two files at once) rolls back to the savepoint and keeps the file."""
    stored = select(StoredFile.sha256).where(StoredFile.sha256 == sha256)
    unreferenced = ~exists().where(ApplicationDocument.sha256 == sha256)
    release = _dialect_insert(session)(ReleasedFile).values(sha256=sha256, released_at=utcnow())
    # Released before, stored again, released again before the sweep came by: a new grace.
    release = release.on_conflict_do_update(
        index_elements=[ReleasedFile.sha256], set_={"released_at": release.excluded.released_at}
    )
    try:
        with session.begin_nested():
            if session.scalar(stored.with_for_update()) is None:
                return False
            deleted = session.execute(
                delete(StoredFile)
                .where(StoredFile.sha256 == sha256, unreferenced)
                .execution_options(synchronize_session=False)
            ).rowcount
            if deleted:
                session.execute(release)
    except (IntegrityError, OperationalError):
        return False
    return bool(deleted)


def dao_list_unreferenced_files(
    session: Session, recorded_before: datetime, *, limit: int
) -> list[str]:
    """Files a row records, recorded before `recorded_before`, that no document refers to:
    left behind by a release that had to give way (a deadlock, say; dao_release_file)."""
    return list(
        session.scalars(
            select(StoredFile.sha256)
            .where(
                StoredFile.created_at < recorded_before,
                ~exists().where(ApplicationDocument.sha256 == StoredFile.sha256),
            )
            .order_by(StoredFile.sha256)
            .limit(limit)
        )
    )


def dao_released_files(session: Session, sha256s: list[str]) -> set[str]:
    """Which of these files are released and not yet swept."""
    return set(session.scalars(select(ReleasedFile.sha256).where(ReleasedFile.sha256.in_(sha256s))))


def dao_list_released_files(
    session: Session, released_before: datetime, *, after: str = "", limit: int
) -> list[str]:
    """Files released before `released_before`, in name order, from after `after`."""
    return list(
        session.scalars(
            select(ReleasedFile.sha256)
            .where(ReleasedFile.released_at < released_before, ReleasedFile.sha256 > after)
            .order_by(ReleasedFile.sha256)
            .limit(limit)
        )
    )


def dao_forget_released_file(session: Session, sha256: str, released_before: datetime) -> None:
    """Deletes the release record, unless the file was released again since `released_before`
    (stored again and replaced again: that release has its own grace period)."""
    session.execute(
        delete(ReleasedFile).where(
            ReleasedFile.sha256 == sha256, ReleasedFile.released_at < released_before
        )
    )


def _dialect_insert(session: Session):
    """INSERT with ON CONFLICT, in the database's own dialect."""
    return postgresql.insert if is_postgresql(session) else sqlite.insert


def dao_get_documents(session: Session, application_id: str) -> dict[str, tuple[str, str, str]]:
    """kind → (sha256, content_type, source)."""
    rows = session.execute(
        select(
            ApplicationDocument.kind,
            ApplicationDocument.sha256,
            StoredFile.content_type,
            ApplicationDocument.source,
        )
        .join(StoredFile, StoredFile.sha256 == ApplicationDocument.sha256)
        .where(ApplicationDocument.application_id == application_id)
    )
    return {row.kind: (row.sha256, row.content_type, row.source) for row in rows}


def dao_get_document_kinds(session: Session, application_id: str) -> set[str]:
    return set(
        session.scalars(
            select(ApplicationDocument.kind).where(
                ApplicationDocument.application_id == application_id
            )
        )
    )


def dao_list_closed_applications_keeping_documents(
    session: Session, statuses: Iterable[Status], closed_before: datetime, *, limit: int
) -> list[Application]:
    """Up to `limit` applications that reached one of `statuses` (those that end without a
    card) before `closed_before` and whose documents have not been deleted, oldest first,
    locked until this transaction ends. Rows another transaction holds (a late event being
    recorded, another worker's batch) are skipped, not waited for: the next look finds them."""
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.status.in_([status.value for status in statuses]),
                Application.status_at < closed_before,
                Application.documents_deleted_at.is_(None),
            )
            .order_by(Application.status_at, Application.application_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def dao_delete_documents(session: Session, application_ids: list[str]) -> int:
    """Deletes these applications' documents and releases each of their files that no other
    document refers to (dao_release_file: bytes another application uses stay); how many
    files were released. Files are released in name order, as any other batch would lock
    them."""
    documents = ApplicationDocument.application_id.in_(application_ids)
    sha256s = set(session.scalars(select(ApplicationDocument.sha256).where(documents)))
    if not sha256s:
        return 0
    session.execute(delete(ApplicationDocument).where(documents))
    return sum(dao_release_file(session, sha256) for sha256 in sorted(sha256s))


# -- rate limits --------------------------------------------------------------------------------


def _count_request_statement(dialect):
    statement = dialect.insert(RateLimitWindow).values(
        bucket=bindparam("bucket"),
        window_start=bindparam("window_start", type_=RateLimitWindow.window_start.type),
        count=bindparam("counted", type_=Integer),
    )
    return statement.on_conflict_do_update(
        index_elements=[RateLimitWindow.bucket, RateLimitWindow.window_start],
        set_={"count": RateLimitWindow.count + statement.excluded.count},
    ).returning(RateLimitWindow.count)


_COUNT_REQUEST = {
    "postgresql": _count_request_statement(postgresql),
    "sqlite": _count_request_statement(sqlite),
}
_FORGET_ENDED_WINDOWS = delete(RateLimitWindow).where(
    RateLimitWindow.window_start < bindparam("window_start")
)


def dao_count_request(
    reads: HotReads, bucket: str, window_start: datetime, counted: int = 1
) -> int:
    """Adds `counted` requests to the client's count for the window and returns the new count.
    One atomic upsert, so concurrent requests in any number of processes are all counted; it
    runs on public look-ups, so on the hot-statement path (one round trip, no wait for the
    disk: a count lost in a crash only lets a client a few look-ups more)."""
    params = {
        "bucket": hashlib.sha256(bucket.encode()).hexdigest()[:40],  # short, fixed-length keys
        "window_start": window_start,
        "counted": counted,
    }
    count = reads.first(_COUNT_REQUEST[reads.dialect_name], params).count
    if count == counted:
        # A new window for this client: a good moment to forget finished windows (windows
        # are aligned, so every earlier one has ended).
        reads.first(_FORGET_ENDED_WINDOWS, {"window_start": window_start})
    return count


def new_local_event_id() -> str:
    """For timeline facts this service records itself without publishing an event."""
    return new_id()
