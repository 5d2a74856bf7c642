"""The one Alembic environment: the caller passes the service's URL and metadata."""

from alembic import context
from sqlalchemy import text

from shared.db.engine import create_db_engine

config = context.config
metadata = config.attributes["metadata"]
service = config.attributes["service"]


def run_offline() -> None:
    context.configure(url=config.attributes["database_url"], target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_db_engine(config.attributes["database_url"])
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several containers of one service may start together; one migrates at a time.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                    {"name": f"sscard-migrate-{service}"},
                )
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
