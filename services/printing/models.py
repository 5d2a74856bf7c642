"""The tables the bank printing service owns, in its own database."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata

metadata = new_metadata()


class Base(DeclarativeBase):
    metadata = metadata
