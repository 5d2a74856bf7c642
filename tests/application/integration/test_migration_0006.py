"""Revision 0006 on a database with applications in it: the open ones get their account's key
(one open application per account), the closed ones none, and going back gives the person's
key again. Runs on the test database backend (PostgreSQL, or SQLite with SSCARD_TEST_DB)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from shared.db.migrations import alembic_config, upgrade
from shared.testing.infrastructure import temporary_database
from tests.application.integration.conftest import application_settings

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def insert_application(
    connection,
    *,
    account_id: str,
    person: str,
    open_: bool,
    minute: int,
    key: str = "open_person_key",
):
    """An application as the revision before 0006 (`key="open_person_key"`, set to the
    person) or after it (`key="open_account_key"`, set to the account) writes it."""
    application_id = str(uuid.uuid4())
    values = {
        "application_id": application_id,
        "account_id": account_id,
        "status": "draft" if open_ else "cancelled",
        "status_at": T0,
        "outlet_id": str(uuid.uuid4()),
        "bank_code": "ICBC",
        "name": "王芳",
        "gender": "female",
        "ethnicity": "汉",
        "birth_date": datetime(1990, 1, 1).date(),
        "id_number_encrypted": "x",
        "id_number_index": person,
        "id_number_masked": "110105**********2X",
        "phone": "13800000000",
        "address": "北京",
        "person_status": "employed",
        key: (person if key == "open_person_key" else account_id) if open_ else None,
        "rejection_reasons": "[]",
        "created_at": T0 + timedelta(minutes=minute),
        "updated_at": T0,
    }
    table = sa.table("applications", *(sa.column(name) for name in values))
    connection.execute(sa.insert(table).values(**values))
    return application_id


def keys(engine, column: str) -> dict[str, str | None]:
    table = sa.table("applications", sa.column("application_id"), sa.column(column))
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(table)).all())


def test_open_applications_get_their_accounts_key_and_back(
    tmp_path, token_authority, accounts, registry
):
    with temporary_database("application", tmp_path) as database_url:
        settings = application_settings(
            database_url,
            tmp_path / "var",
            os.environ["AMQP_URL"],
            token_authority,
            accounts,
            registry,
        )
        upgrade(settings, "0005")
        engine = sa.create_engine(database_url)
        try:
            with engine.begin() as connection:
                opened = insert_application(
                    connection, account_id="a" * 36, person="p1", open_=True, minute=0
                )
                closed = insert_application(
                    connection, account_id="a" * 36, person="p1", open_=False, minute=-5
                )
                other = insert_application(
                    connection, account_id="b" * 36, person="p2", open_=True, minute=1
                )
            upgrade(settings)
            assert keys(engine, "open_account_key") == {
                opened: "a" * 36,
                closed: None,
                other: "b" * 36,
            }
            with engine.connect() as connection:
                assert connection.execute(sa.text("SELECT count(*) FROM photo_views")).scalar() == 0

            # Once in, another account of person p1 may open one too; going back keeps the
            # person's key on the newest only.
            with engine.begin() as connection:
                newer = insert_application(
                    connection,
                    account_id="c" * 36,
                    person="p1",
                    open_=True,
                    minute=10,
                    key="open_account_key",
                )
            command.downgrade(alembic_config(settings), "0005")
            assert keys(engine, "open_person_key") == {
                opened: None,
                closed: None,
                other: "p2",
                newer: "p1",
            }
        finally:
            engine.dispose()
