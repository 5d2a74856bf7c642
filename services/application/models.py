"""The tables the application service owns, in its own database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db.tables import UTCDateTime, new_id, new_metadata
from shared.time import utcnow

metadata = new_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Outlet(Base):
    """The read model of the printing service's outlets, built from `outlet.upserted` only."""

    __tablename__ = "outlets"

    outlet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    bank_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean)
    # The time of the event this row reflects: an older upsert arriving late changes nothing.
    version_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Application(Base):
    __tablename__ = "applications"
    # The progress look-up by ID number wants the person's newest application: one index scan.
    __table_args__ = (Index("ix_applications_person_newest", "id_number_index", "created_at"),)

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(32))
    # When the fact behind the current status happened (the progress look-up's `updated_at`).
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outlet_id: Mapped[str] = mapped_column(String(36), index=True)
    # Copied from the outlet read model, and kept in step with it by every `outlet.upserted`:
    # the public progress look-up, the busiest read there is, then reads one row, no join.
    outlet_name: Mapped[str | None] = mapped_column(String(200))
    outlet_address: Mapped[str | None] = mapped_column(String(500))
    bank_code: Mapped[str] = mapped_column(String(32))
    acceptance_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    # The applicant as declared. The ID number is stored encrypted; `id_number_index` (a keyed
    # blind index) finds it without decrypting anything.
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str] = mapped_column(String(8))
    ethnicity: Mapped[str] = mapped_column(String(50))
    birth_date: Mapped[date] = mapped_column(Date)
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    id_number_index: Mapped[str] = mapped_column(String(64))
    id_number_masked: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(500))
    person_status: Mapped[str] = mapped_column(String(16))
    # The account id while the application is open, NULL once closed: the unique constraint
    # is what makes "one open application per account" hold under concurrent requests. Per
    # account, not per person: whoever registered a person's ID number first must not block
    # that person's own application (one person, one card is verification's claim, taken on
    # approval).
    open_account_key: Mapped[str | None] = mapped_column(String(36), unique=True)
    photo_source: Mapped[str | None] = mapped_column(String(16))
    card_id: Mapped[str | None] = mapped_column(String(36))
    card_serial: Mapped[str | None] = mapped_column(String(64))
    card_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reasons: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the photo and ID card images of this rejected or cancelled application were deleted,
    # its retention having passed (housekeeping.py); NULL while they are kept.
    documents_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The owner's view as JSON, rendered at every change (dao.dao_save_application).
    view: Mapped[str | None] = mapped_column(Text)


# The retention's look for closed applications whose images are still kept: those deleted
# already leave the index, so the hourly look does not grow with the years.
Index(
    "ix_applications_documents_kept",
    Application.status,
    Application.status_at,
    postgresql_where=Application.documents_deleted_at.is_(None),
    sqlite_where=Application.documents_deleted_at.is_(None),
)


class TimelineEntry(Base):
    """One fact in an application's story. Keyed by the id of the event that reported it, so
    an event delivered twice adds nothing."""

    __tablename__ = "timeline_entries"

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    application_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("applications.application_id"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredFile(Base):
    """A file kept under data_dir/files/<sha256[:2]>/<sha256>; the bytes decide the name."""

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReleasedFile(Base):
    """A stored file that no document refers to any more: its `stored_files` row was deleted in
    the transaction that replaced the last document referring to it. The worker deletes the
    file once the grace period has passed, unless the same bytes were stored again meanwhile
    (housekeeping.py)."""

    __tablename__ = "released_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApplicationDocument(Base):
    """Which stored file is an application's photo, ID card front or back."""

    __tablename__ = "application_documents"

    application_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("applications.application_id"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Indexed: releasing a file asks whether any document still refers to it (and deleting its
    # stored_files row checks the foreign key), once per file the retention deletes.
    sha256: Mapped[str] = mapped_column(String(64), ForeignKey("stored_files.sha256"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhotoView(Base):
    """An audit row: this account was shown the identity registry's photo on file for this
    application, at this time (`GET /api/v1/applications/{id}/default-photo`)."""

    __tablename__ = "photo_views"

    view_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("applications.application_id"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RateLimitWindow(Base):
    """Fixed-window request counts per client, shared by every web worker of the service."""

    __tablename__ = "rate_limit_windows"

    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


Index("ix_rate_limit_windows_window_start", RateLimitWindow.window_start)
