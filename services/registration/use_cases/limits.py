"""Per-client-address limits: code requests, account creations, log-ins and password resets,
each counted per address in the database (so every web process sees the same count), at most
`REGISTRATION_ADDRESS_LIMIT_PER_HOUR` of each in any hour. A password spray over many phones
from one address meets 429 long before it has tried many of them.

Each attempt is counted before it is judged, in a transaction of its own that the edge commits
whatever the answer to the request turns out to be (api/guards.py)."""

from __future__ import annotations

import logging
import random

from services.registration.dao import (
    dao_delete_address_attempts_before,
    dao_get_address_attempts,
    dao_lock_address,
    dao_record_address_attempt,
)
from services.registration.deps import Dependencies
from services.registration.domain.coded_errors import AddressThrottled
from services.registration.domain.limits import LimitedAction, address_key
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

# Share of attempts that also sweep every address's expired rows.
SWEEP_PROBABILITY = 0.01


def count_address_attempt(
    uow: UnitOfWork, deps: Dependencies, *, address: str | None, action: LimitedAction
) -> None:
    """Records one attempt of `action` from `address`; AddressThrottled (nothing recorded)
    when the address has used up its hour. Does nothing when the limit is off (0)."""
    limit = deps.address_limit
    if not limit.enabled:
        return
    key = address_key(deps.code_key, address)
    now = deps.clock()
    window_start = limit.window_start(now)
    dao_lock_address(uow.session, key, action)
    dao_delete_address_attempts_before(uow.session, window_start, address_key=key, action=action)
    if random.random() < SWEEP_PROBABILITY:
        dao_delete_address_attempts_before(uow.session, window_start)
    try:
        limit.check(dao_get_address_attempts(uow.session, key, action, since=window_start), now)
    except AddressThrottled:
        log.warning("address limit reached for %s", action)
        raise
    dao_record_address_attempt(uow.session, key, action, now)
