"""The database every service keeps: engine, the shared tables and column types, the unit
of work, Alembic migrations and the prepared hot reads."""
