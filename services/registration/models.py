"""The tables the registration service owns, in its own database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, utcnow

metadata = new_metadata()

ID_NUMBER_COLUMN = "accounts.id_number"  # bound into the ciphertext and the blind index


class Base(DeclarativeBase):
    metadata = metadata


class Account(Base):
    """A citizen (with an ID number) or a staff member (without one, with a role and, for a
    bank operator, a bank). Uniqueness of phone and ID number is the database's job, so two
    concurrent registrations cannot both win."""

    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20))
    bank_code: Mapped[str | None] = mapped_column(String(32))
    # AES-GCM ciphertext (shared.pii.FieldCipher); found again by its keyed blind index.
    id_number_encrypted: Mapped[str | None] = mapped_column(Text)
    id_number_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "role IN ('citizen', 'reviewer', 'bank_operator', 'integrator', 'admin')",
            name="known_role",
        ),
        CheckConstraint(
            "(role = 'citizen' AND id_number_index IS NOT NULL "
            "AND id_number_encrypted IS NOT NULL) "
            "OR (role <> 'citizen' AND id_number_index IS NULL AND id_number_encrypted IS NULL)",
            name="citizens_have_an_id_number",
        ),
        CheckConstraint(
            "(role = 'bank_operator' AND bank_code IS NOT NULL) "
            "OR (role <> 'bank_operator' AND bank_code IS NULL)",
            name="bank_operators_have_a_bank",
        ),
    )


class LoginFailure(Base):
    """One failed (or still unfinished) login for a phone, whether or not it has an account;
    kept for the throttling window. In the database so every web worker sees the same count."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    phone: Mapped[str] = mapped_column(String(20))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_login_failures_phone_failed_at", "phone", "failed_at"),
        Index("ix_login_failures_failed_at", "failed_at"),
    )
