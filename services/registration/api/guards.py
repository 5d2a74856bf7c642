"""Edge guards that run before a route's own transaction opens, each in a short transaction of
its own that commits whatever the request's answer turns out to be: the per-client-address
limits, and the check of a texted code (a wrong try must stay counted although the request
then answers 422 and its own transaction rolls back). Placed below `@public` and above
`@transactional`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from marshmallow import Schema

from services.registration import deps
from services.registration.domain.limits import LimitedAction
from services.registration.domain.phone_codes import Purpose, code_invalid
from services.registration.use_cases import limits, phone_codes
from shared.db.uow import UnitOfWork


def address_limited(action: LimitedAction) -> Callable[[Callable], Callable]:
    """Counts the request against its client address (`request.remote_addr`, which a trusted
    proxy sets through REGISTRATION_TRUSTED_PROXY_HOPS); 429 past the hour's limit."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            dependencies = deps.current()
            with UnitOfWork(dependencies.database, dependencies.settings.service) as uow:
                limits.count_address_attempt(
                    uow, dependencies, address=request.remote_addr, action=action
                )
                uow.commit()
            return view(*args, **kwargs)

        return wrapper

    return decorate


def phone_code_required(purpose: Purpose, schema: type[Schema]) -> Callable[[Callable], Callable]:
    """Checks the body's `code` against the live code of the body's `phone` for `purpose` and
    hands the view `proven_code`; 422 `code_invalid` otherwise. A body that `schema` refuses
    goes on unchecked (`proven_code=None`), for the route's own schema to name every bad field
    first."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or schema().validate(body):
                return view(*args, proven_code=None, **kwargs)
            phone, code = body["phone"], body["code"]
            dependencies = deps.current()
            with UnitOfWork(dependencies.database, dependencies.settings.service) as uow:
                proven = phone_codes.check_phone_code(
                    uow, dependencies, phone=phone, purpose=purpose, code=code
                )
                uow.commit()  # a wrong try stays counted
            if proven is None:
                raise code_invalid()
            return view(*args, proven_code=proven, **kwargs)

        return wrapper

    return decorate
