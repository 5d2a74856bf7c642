"""The simulator's texts, phone owners and fault settings, in a small SQLite file so that every
web worker sees the same data (an in-process dict would show a text sent through one worker to
only half the readers).

Bounded: past `max_messages` the oldest texts are forgotten, past `max_subscribers` the owners
recorded longest ago. It is a stand-in, not an archive.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_SUBSCRIBERS = 100_000


@dataclass(frozen=True)
class Message:
    id: str
    phone: str
    text: str
    sent_at: str

    def to_item(self) -> dict[str, str]:
        """What a reader of `GET /sms/v1/messages` sees of it."""
        return {"phone": self.phone, "text": self.text, "sent_at": self.sent_at}


@dataclass(frozen=True)
class Subscriber:
    phone: str
    name: str
    id_number: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Faults:
    status: int | None = None
    delay_ms: int = 0


class GatewayStore:
    def __init__(
        self,
        path: Path | str,
        *,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS,
    ) -> None:
        if max_messages < 1 or max_subscribers < 1:
            raise ValueError("the store's bounds must be at least 1")
        self.max_messages = max_messages
        self.max_subscribers = max_subscribers
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self._lock, self._connection:
            self._connection.executescript(
                """
                CREATE TABLE IF NOT EXISTS messages (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL, phone TEXT NOT NULL, text TEXT NOT NULL,
                    sent_at TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS messages_by_phone ON messages (phone, seq);
                CREATE TABLE IF NOT EXISTS subscribers (
                    phone TEXT PRIMARY KEY, name TEXT NOT NULL, id_number TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS faults (
                    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
                    status INTEGER, delay_ms INTEGER NOT NULL);
                """
            )

    # Texts

    def add_message(self, phone: str, text: str) -> Message:
        message = Message(
            id=str(uuid.uuid4()),
            phone=phone,
            text=text,
            sent_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        )
        with self._lock, self._connection:
            cursor = self._connection.execute(
                "INSERT INTO messages (id, phone, text, sent_at) VALUES (?, ?, ?, ?)",
                (message.id, message.phone, message.text, message.sent_at),
            )
            self._connection.execute(
                "DELETE FROM messages WHERE seq <= ?", (cursor.lastrowid - self.max_messages,)
            )
        return message

    def messages(self, phone: str | None = None, limit: int = 100) -> list[Message]:
        """Newest first (in the order they were recorded, which the clock cannot tie)."""
        query = "SELECT id, phone, text, sent_at FROM messages"
        parameters: tuple = ()
        if phone is not None:
            query += " WHERE phone = ?"
            parameters = (phone,)
        with self._lock:
            rows = self._connection.execute(
                query + " ORDER BY seq DESC LIMIT ?", (*parameters, limit)
            ).fetchall()
        return [Message(*row) for row in rows]

    # Phone owners, as a carrier has them on its real-name register

    def put_subscriber(self, subscriber: Subscriber) -> None:
        """Records or replaces the owner of a phone; the newest recording is kept longest."""
        with self._lock, self._connection:
            # REPLACE deletes the old row and inserts a new one, so rowid orders by recording.
            self._connection.execute(
                "INSERT OR REPLACE INTO subscribers (phone, name, id_number) VALUES (?, ?, ?)",
                (subscriber.phone, subscriber.name, subscriber.id_number),
            )
            (count,) = self._connection.execute("SELECT COUNT(*) FROM subscribers").fetchone()
            if count > self.max_subscribers:
                self._connection.execute(
                    "DELETE FROM subscribers WHERE rowid IN"
                    " (SELECT rowid FROM subscribers ORDER BY rowid LIMIT ?)",
                    (count - self.max_subscribers,),
                )

    def subscriber(self, phone: str) -> Subscriber | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT phone, name, id_number FROM subscribers WHERE phone = ?", (phone,)
            ).fetchone()
        return Subscriber(*row) if row else None

    # Misbehaviour on request, shared by every worker

    def faults(self) -> Faults:
        with self._lock:
            row = self._connection.execute(
                "SELECT status, delay_ms FROM faults WHERE only_row = 1"
            ).fetchone()
        return Faults(*row) if row else Faults()

    def set_faults(self, faults: Faults) -> None:
        with self._lock, self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO faults (only_row, status, delay_ms) VALUES (1, ?, ?)",
                (faults.status, faults.delay_ms),
            )
