"""Schema fields shared by this service's resources."""

from __future__ import annotations

from marshmallow import fields

from shared.time import format_time


class UtcTime(fields.DateTime):
    """RFC 3339 UTC with a `Z`, as docs/contract.md §2 writes times."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_time(value)
