"""The public progress look-up's query: a name with exactly one of an ID number or an
acceptance number (api/schemas.ProgressQuerySchema documents it and words its errors).

Every channel's every look-up passes here, so a query that is plainly valid is taken by this
check, which costs a small fraction of a schema load; anything else goes to the schema, which
decides and explains. A test holds the two to the same answers."""

from __future__ import annotations

from collections.abc import Mapping

NAME_MAX = 60
NUMBER_MAX = 40
NUMBER_KEYS = ("id_number", "acceptance_number")


def plainly_valid_lookup(args: Mapping[str, str]) -> dict[str, str] | None:
    """The query as the schema would load it, or None when the schema must judge it."""
    name = args.get("name")
    if not name or len(name) > NAME_MAX:
        return None
    given = [key for key in NUMBER_KEYS if key in args]
    if len(given) != 1:
        return None
    number = args[given[0]]
    if not number or len(number) > NUMBER_MAX:
        return None
    return {"name": name, given[0]: number}
