"""Identity checks for other services: is this account a confirmed account of the person with
this real name and ID number? The full ID number is compared here, by its blind index, so it
never has to leave the registration service in any answer; the answer is one boolean, so it
says nothing about which part differed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.registration.dao import dao_get_account_by_id, id_number_index
from services.registration.deps import Dependencies
from services.registration.domain.accounts import normalise_name
from shared.errors import NotFound
from shared.personal_data.resident_id import normalise


def check_identity(
    session: Session, deps: Dependencies, *, account_id: str, name: str, id_number: str
) -> dict[str, bool]:
    """`{match}`: true only when the account's name and ID number are the claimed ones AND the
    account is confirmed — the registry confirmed its name + ID number and its phone was proven
    and confirmed by the carrier at registration (accounts made before those checks are not) —
    and not locked by another account's proof of the same identity, nor disabled."""
    account = dao_get_account_by_id(session, account_id)
    if account is None:
        raise NotFound("No such account.")
    claimed_index = id_number_index(deps.cipher, normalise(id_number))
    name_matches = account.name == normalise_name(name)
    id_matches = account.id_number_index is not None and account.id_number_index == claimed_index
    confirmed = account.identity_confirmed_at is not None and account.phone_proven_at is not None
    in_good_standing = account.locked_at is None and account.disabled_at is None
    return {"match": name_matches and id_matches and confirmed and in_good_standing}
