"""The signed commands a card's bank receives after activation, on its `print.<bank_code>`
queue beside the print messages, and the confirmations it sends back.

Each command is a CloudEvent whose `data` is signed exactly like a print message's (Ed25519
over its canonical JSON, extension attributes `signature` and `signaturekeyid`). The bank
confirms a command with a `bank.card_status` report on `sscard.bank-feedback` whose status is
the command's confirmation and whose `command_id` is the command's event id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

BLOCK_REQUEST = "card.block_request"
UNBLOCK_REQUEST = "card.unblock_request"
CANCEL_REQUEST = "card.cancel_request"
COMMANDS = (BLOCK_REQUEST, UNBLOCK_REQUEST, CANCEL_REQUEST)

# The status a bank reports to confirm each command (routing key bank.<code>.<status>).
CONFIRMATION = {
    BLOCK_REQUEST: "blocked",
    UNBLOCK_REQUEST: "unblocked",
    CANCEL_REQUEST: "cancelled",
}
CONFIRMATION_STATUSES = tuple(CONFIRMATION.values())
COMMAND_CONFIRMED_BY = {status: command for command, status in CONFIRMATION.items()}


@dataclass(frozen=True)
class CardReference:
    card_id: str
    application_id: str
    bank_code: str
    card_serial: str


def command_data(
    card: CardReference,
    *,
    requested_at: datetime,
    reason: str | None = None,
    outlet_id: str | None = None,
) -> dict[str, Any]:
    """`data` of a command: which card (id and serial), when, and why or where. Strings only,
    so its canonical JSON is the sorted compact dump, as for print messages."""
    data: dict[str, Any] = {
        "card_id": card.card_id,
        "application_id": card.application_id,
        "bank_code": card.bank_code,
        "card_serial": card.card_serial,
        "requested_at": requested_at.isoformat().replace("+00:00", "Z"),
    }
    if reason is not None:
        data["reason"] = reason
    if outlet_id is not None:
        data["outlet_id"] = outlet_id
    return data
