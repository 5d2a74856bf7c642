"""The tables the verification service owns, in its own database.

- `verification_cases`: one per application: the applicant as submitted (ID number encrypted,
  found again by its blind index), the claim-checked files, status and decision;
- `case_checks`: every check of a case with its outcome, reason codes and detail;
- `identity_claims`: "one person, one card": at most one active claim per ID number, enforced
  by a partial unique index, taken in the same transaction as an approval;
- `review_audit`: which reviewer viewed or decided which case, and when;
- `face_analyses`: faces found in an image and the encoding of the main one, by SHA-256, so
  the same photo (the photo on file) is not analysed twice within the retention
  (`VERIFICATION_FACE_CACHE_RETENTION_DAYS`); the worker deletes older ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db.tables import UTCDateTime, new_id, new_metadata
from shared.time import utcnow

metadata = new_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class VerificationCase(Base):
    __tablename__ = "verification_cases"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    account_id: Mapped[str] = mapped_column(String(36), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    # Null on a tombstone: a cancellation that arrived before its submission.
    acceptance_number: Mapped[str | None] = mapped_column(String(40))
    outlet_id: Mapped[str | None] = mapped_column(String(36))
    bank_code: Mapped[str | None] = mapped_column(String(40))
    applicant_name: Mapped[str | None] = mapped_column(String(120))
    applicant_gender: Mapped[str | None] = mapped_column(String(10))
    applicant_birth_date: Mapped[str | None] = mapped_column(String(10))
    id_number_encrypted: Mapped[str | None] = mapped_column(Text)
    id_number_index: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    # {photo|id_card_front|id_card_back: {url, sha256, content_type}}: the claim checks.
    files: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "system" for an automatic outcome, else the reviewer's account id.
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The review queue: pending cases, oldest first.
        Index("ix_verification_cases_status_created", "status", "created_at"),
    )


class CaseCheck(Base):
    __tablename__ = "case_checks"

    case_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("verification_cases.case_id"), primary_key=True
    )
    check: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(10), nullable=False)
    codes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class IdentityClaim(Base):
    __tablename__ = "identity_claims"

    claim_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    id_number_index: Mapped[str] = mapped_column(String(64), nullable=False)
    application_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    case_id: Mapped[str] = mapped_column(String(36), nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    card_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (
        # The rule itself: one active claim per person. Two transactions approving the same
        # person cannot both commit, whichever code path they come from.
        Index(
            "uq_identity_claims_active_person",
            "id_number_index",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )


class ReviewAudit(Base):
    __tablename__ = "review_audit"

    audit_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_roles: Mapped[str] = mapped_column(String(120), nullable=False)
    # viewed | viewed_file:<kind> | approved | rejected
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class FaceAnalysisRow(Base):
    __tablename__ = "face_analyses"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The analyser's version (models, scales): a change of method never reuses old results.
    analyser: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The faces and format facts, with the main face's encoding (see imaging.py).
    result: Mapped[dict] = mapped_column(JSON, nullable=False)
    # When the analysis was made: past the retention it is neither reused nor kept (indexed
    # for the worker's purge).
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, index=True
    )
