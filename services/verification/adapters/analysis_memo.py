"""This process's memo of recent face analyses, in front of the database's face cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from services.verification import config
from shared.time import utcnow


class AnalysisMemo:
    """The most recent face analyses by image digest, in this process: a message retried with
    its batch neighbours does not pay for their faces twice. Each entry keeps when its analysis
    was made (not when it was last used), so that an analysis older than the face cache's
    retention is no more reused from here than from the database."""

    def __init__(
        self,
        size: int = 256,
        *,
        retention: timedelta = config.DEFAULT_FACE_CACHE_RETENTION,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.size = size
        self.retention = retention
        self._clock = clock
        self._items: OrderedDict[str, tuple[dict, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            value, analysed_at = item
            if analysed_at < self._not_before():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: str, value: dict, *, analysed_at: datetime | None = None) -> None:
        """Keeps `value`, analysed at `analysed_at` (now unless told: a result from the
        database brings its own time)."""
        with self._lock:
            self._items[key] = (value, self._clock() if analysed_at is None else analysed_at)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget_expired(self) -> int:
        """Drops the entries past the retention, so that an idle process does not hold them
        either; how many."""
        with self._lock:
            not_before = self._not_before()
            expired = [key for key, (_, at) in self._items.items() if at < not_before]
            for key in expired:
                del self._items[key]
            return len(expired)

    def _not_before(self) -> datetime:
        return self._clock() - self.retention
