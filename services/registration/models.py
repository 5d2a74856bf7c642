"""The tables the registration service owns, in its own database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db.tables import UTCDateTime, new_metadata
from shared.time import utcnow

metadata = new_metadata()

ID_NUMBER_COLUMN = "accounts.id_number"  # bound into the ciphertext and the blind index


class Base(DeclarativeBase):
    metadata = metadata


class Account(Base):
    """A citizen (with an ID number) or a staff member (without one, with a role and, for a
    bank operator, a bank). Uniqueness of the phone is the database's job, so two concurrent
    registrations cannot both win. The ID number is not unique: whoever registered another
    person's number never blocks that person; the account whose person proves the identity
    (an approved application) locks the others (docs/registration.md, "No squatting")."""

    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20))
    bank_code: Mapped[str | None] = mapped_column(String(32))
    # AES-GCM ciphertext (shared.personal_data.protection.FieldCipher); found again by its keyed
    # blind index.
    id_number_encrypted: Mapped[str | None] = mapped_column(Text)
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when an application of this account's was approved: its person passed the face
    # check against the identity registry, and the ID number is bound to this account.
    identity_proven_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Staff only (sscardctl staff disable); cleared by `enable`.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A citizen account whose ID number another account proved (LOCK_REASONS in domain).
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_reason: Mapped[str | None] = mapped_column(String(64))
    # Tokens issued before this moment are refused (disabled, locked, password reset); served
    # by GET /internal/v1/revocations to every other service's token verifier.
    tokens_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the identity registry confirmed the name + ID number, and when the phone was proven
    # (a texted code) and confirmed by its carrier as this person's; NULL for accounts made
    # before registration checked either (and for staff).
    identity_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone_proven_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_accounts_id_number_index", "id_number_index"),
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
        # The revocation list reads these; nearly every account has neither.
        Index(
            "ix_accounts_tokens_revoked_at",
            "tokens_revoked_at",
            postgresql_where=text("tokens_revoked_at IS NOT NULL"),
            sqlite_where=text("tokens_revoked_at IS NOT NULL"),
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


class PhoneCode(Base):
    """A one-time code texted to a phone, for one purpose. Only its HMAC is kept (keyed with a
    key derived from the service's secret material), never the code."""

    __tablename__ = "phone_codes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))
    code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("purpose IN ('register', 'reset_password')", name="known_purpose"),
        Index("ix_phone_codes_phone_created_at", "phone", "created_at"),
        Index("ix_phone_codes_expires_at", "expires_at"),
    )


class AddressAttempt(Base):
    """One request of a limited kind (a code request, an account creation, a log-in) from one
    client address, kept for the limit's hour. The address is kept only as a keyed hash."""

    __tablename__ = "address_attempts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    address_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_address_attempts_key_action_at", "address_key", "action", "attempted_at"),
        Index("ix_address_attempts_attempted_at", "attempted_at"),
    )
