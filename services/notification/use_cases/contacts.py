"""Where a person is told: the phone they registered with, and the channels they bind."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.notification.dao.contacts import (
    dao_delete_binding,
    dao_get_binding,
    dao_get_bindings,
    dao_get_chosen_locale,
    dao_insert_binding,
    dao_overwrite_binding,
    dao_save_contact,
    dao_update_binding,
)
from services.notification.deps import Dependencies
from services.notification.domain.channels import (
    CHANNELS,
    DEFAULT_LOCALE,
    SMS,
    normalise_address,
    normalise_phone,
    replaces_binding,
)
from services.notification.domain.statuses import BindingSource
from services.notification.models import ChannelBinding
from shared.db.uow import UnitOfWork
from shared.errors import NotFound


def record_registration(
    uow: UnitOfWork, deps: Dependencies, *, account_id: str, phone: str
) -> None:
    """A new account's phone: kept as its contact, and its sms binding unless it chose one."""
    phone = normalise_phone(phone)
    dao_save_contact(uow.session, account_id, phone)
    bind_address(uow.session, account_id, SMS, phone, None, BindingSource.ACCOUNT)


def bind_channel(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    account_id: str,
    channel: str,
    address: str,
    locale: str | None,
) -> None:
    """The person's own address on one channel (re-binding replaces it)."""
    known_channel(channel)
    address = normalise_address(channel, address)
    bind_address(uow.session, account_id, channel, address, locale, BindingSource.CITIZEN)


def unbind_channel(uow: UnitOfWork, deps: Dependencies, *, account_id: str, channel: str) -> None:
    known_channel(channel)
    if not dao_delete_binding(uow.session, account_id, channel):
        raise NotFound(f"No {channel} binding.")


def list_channels(session: Session, *, account_id: str) -> list[ChannelBinding]:
    return dao_get_bindings(session, account_id)


def known_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise NotFound(f"No channel {channel!r}; channels are {', '.join(CHANNELS)}.")
    return channel


def bind_address(
    session: Session,
    account_id: str,
    channel: str,
    address: str,
    locale: str | None,
    source: BindingSource,
) -> None:
    """A new binding speaks the language the person chose for their other channels."""
    binding = dao_get_binding(session, account_id, channel)
    if binding is None:
        chosen = locale or dao_get_chosen_locale(session, account_id) or DEFAULT_LOCALE
        dao_insert_binding(session, account_id, channel, address, chosen, source)
        if source == BindingSource.CITIZEN:
            # A registration phone inserted concurrently would have won the race above.
            dao_overwrite_binding(session, account_id, channel, address, locale, source)
        return
    if replaces_binding(source, binding.source):
        dao_update_binding(binding, address, locale, source)
