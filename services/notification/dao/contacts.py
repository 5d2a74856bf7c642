"""Contacts (the phone an account registered with) and channel bindings (where a person wants
to be told, in which language)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.notification.dao import insert_ignoring_duplicates
from services.notification.domain.statuses import BindingSource
from services.notification.models import ChannelBinding, Contact
from shared.time import utcnow


def dao_save_contact(session: Session, account_id: str, phone: str) -> None:
    insert_ignoring_duplicates(
        session, Contact, [{"account_id": account_id, "phone": phone, "registered_at": utcnow()}]
    )


def dao_get_binding(session: Session, account_id: str, channel: str) -> ChannelBinding | None:
    return session.get(ChannelBinding, (account_id, channel))


def dao_insert_binding(
    session: Session, account_id: str, channel: str, address: str, locale: str, source: str
) -> None:
    """Nothing happens when the account already has a binding on the channel (one inserted
    concurrently, say)."""
    insert_ignoring_duplicates(
        session,
        ChannelBinding,
        [
            {
                "account_id": account_id,
                "channel": channel,
                "address": address,
                "locale": locale,
                "source": source,
                "updated_at": utcnow(),
            }
        ],
    )


def dao_overwrite_binding(
    session: Session,
    account_id: str,
    channel: str,
    address: str,
    locale: str | None,
    source: str,
) -> None:
    """Sets the binding's address and source (and locale, when given) in one statement."""
    session.execute(
        update(ChannelBinding)
        .where(ChannelBinding.account_id == account_id, ChannelBinding.channel == channel)
        .values(
            address=address,
            source=source,
            updated_at=utcnow(),
            **({"locale": locale} if locale else {}),
        )
    )


def dao_update_binding(
    binding: ChannelBinding, address: str, locale: str | None, source: str
) -> None:
    binding.address = address
    binding.source = source
    binding.updated_at = utcnow()
    if locale:
        binding.locale = locale


def dao_get_chosen_locale(session: Session, account_id: str) -> str | None:
    """The locale of the channel the person bound themselves most recently, if any."""
    return session.execute(
        select(ChannelBinding.locale)
        .where(
            ChannelBinding.account_id == account_id,
            ChannelBinding.source == BindingSource.CITIZEN,
        )
        .order_by(ChannelBinding.updated_at.desc())
        .limit(1)
    ).scalar()


def dao_get_bindings(session: Session, account_id: str) -> list[ChannelBinding]:
    return list(
        session.scalars(
            select(ChannelBinding)
            .where(ChannelBinding.account_id == account_id)
            .order_by(ChannelBinding.channel)
        )
    )


def dao_delete_binding(session: Session, account_id: str, channel: str) -> bool:
    result = session.execute(
        delete(ChannelBinding).where(
            ChannelBinding.account_id == account_id, ChannelBinding.channel == channel
        )
    )
    return result.rowcount > 0


def dao_get_addresses(
    session: Session, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    pairs = set(pairs)
    if not pairs:
        return {}
    accounts = {account for account, _ in pairs}
    rows = session.execute(
        select(ChannelBinding.account_id, ChannelBinding.channel, ChannelBinding.address).where(
            ChannelBinding.account_id.in_(accounts)
        )
    )
    return {(a, c): address for a, c, address in rows if (a, c) in pairs}


def dao_bound_channels(session: Session, account_id: str) -> frozenset[str]:
    """The channels the account has an address on."""
    return frozenset(
        session.scalars(
            select(ChannelBinding.channel).where(ChannelBinding.account_id == account_id)
        )
    )
