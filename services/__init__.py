"""The five sscard services. Each has the same skeleton:

config.py     its settings (shared.config plus its own)
models.py     the tables it owns, in its own database
app.py        create_app(): the Flask app from shared.web.app
api/          one blueprint per resource, with its marshmallow schemas
domain/       business rules in plain Python: no Flask, pika or database session
dao.py        data access: dao_<verb>_<noun>() functions
handlers.py   one function per consumed event type (HANDLERS)
worker.py     the consumer process's entry point
migrations/   its Alembic revisions
"""
