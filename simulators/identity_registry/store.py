"""The simulator's people, in a small SQLite file so every web worker sees the same data."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    gender: str
    birth_date: str
    ethnicity: str
    address: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class PeopleStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self._lock, self._connection:
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS people (id_number TEXT PRIMARY KEY, name TEXT,"
                " gender TEXT, birth_date TEXT, ethnicity TEXT, address TEXT, photo BLOB)"
            )

    def get(self, id_number: str) -> Person | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT id_number, name, gender, birth_date, ethnicity, address FROM people"
                " WHERE id_number = ?",
                (id_number,),
            ).fetchone()
        return Person(*row) if row else None

    def photo(self, id_number: str) -> bytes | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT photo FROM people WHERE id_number = ?", (id_number,)
            ).fetchone()
        return row[0] if row and row[0] else None

    def put(self, person: Person, photo: bytes | None) -> bool:
        """Creates or replaces; True when the person is new."""
        with self._lock, self._connection:
            existed = self._connection.execute(
                "SELECT 1 FROM people WHERE id_number = ?", (person.id_number,)
            ).fetchone()
            self._connection.execute(
                "INSERT OR REPLACE INTO people VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*asdict(person).values(), photo),
            )
        return existed is None
