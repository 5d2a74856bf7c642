"""Time as sscard keeps and writes it: aware UTC, and RFC 3339 with a `Z` (docs/contract.md §2)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with a `Z`, as docs/contract.md §2 writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
