"""The images of rejected and cancelled applications are deleted after a retention: when that
happened is recorded on the application and shown in its owner's view (`documents_deleted_at`,
added as null to every view rendered before), closed applications still keeping their images
are indexed, and so are the documents by file (a release looks them up).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.tables

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEPT = sa.text("documents_deleted_at IS NULL")
_FIELD = "documents_deleted_at"


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(_FIELD, shared.db.tables.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_applications_documents_kept",
            ["status", "status_at"],
            unique=False,
            postgresql_where=_KEPT,
            sqlite_where=_KEPT,
        )
    with op.batch_alter_table("application_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_documents_sha256"), ["sha256"], unique=False
        )
    # The field goes last in a rendered view (views.py), so every view, a JSON object, ends
    # with it: one statement, the same on PostgreSQL and SQLite.
    op.execute(
        sa.text(
            "UPDATE applications SET view = substr(view, 1, length(view) - 1) || :tail "
            "WHERE view IS NOT NULL"
        ).bindparams(tail=f',"{_FIELD}":null}}')
    )


def downgrade() -> None:
    bind = op.get_bind()
    after = ""
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT application_id, view FROM applications"
                " WHERE view IS NOT NULL AND application_id > :after"
                " ORDER BY application_id LIMIT 1000"
            ),
            {"after": after},
        ).all()
        for application_id, text in rows:
            view = json.loads(text)
            view.pop(_FIELD, None)
            bind.execute(
                sa.text("UPDATE applications SET view = :view WHERE application_id = :id"),
                {
                    "view": json.dumps(view, ensure_ascii=False, separators=(",", ":")),
                    "id": application_id,
                },
            )
        if not rows:
            break
        after = rows[-1][0]
    with op.batch_alter_table("application_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_documents_sha256"))
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("ix_applications_documents_kept")
        batch_op.drop_column(_FIELD)
