"""flask-smorest's documenting decorators, for the OpenAPI document alone.

Each of `blp.doc`, `blp.response` and `blp.alt_response` wraps the view in a layer; for a view
that builds its own `Response`, every one of those layers only passes it through, and on the
busiest reads they cost more than the rest of the view. `documented(...)` applies them to a
stand-in, keeps the documentation they record, and leaves the view itself unwrapped. Only for
views that return a `Response` (or raise): nothing dumps their result with a schema.
"""

from __future__ import annotations

from collections.abc import Callable


def documented(*decorators: Callable) -> Callable:
    """`@documented(blp.response(200, S), blp.alt_response(404))` documents like the same
    decorators stacked in that order, without their layers at run time."""

    def decorator(view: Callable) -> Callable:
        stand_in = view
        for apply in reversed(decorators):
            stand_in = apply(stand_in)
        view._apidoc = stand_in._apidoc  # type: ignore[attr-defined]
        return view

    return decorator
