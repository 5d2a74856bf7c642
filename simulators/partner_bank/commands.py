"""The signed commands about a card after its activation — `card.block_request`,
`card.unblock_request`, `card.cancel_request` — arriving on the same `print.<bank_code>` queue
as print messages, signed exactly like them. The bank checks the signature with the printing
service's published key, acts (here: nothing to do but record it), and confirms on
`sscard.bank-feedback` with a `bank.card_status` report whose status is the confirmation and
whose `command_id` is the command's event id. The confirmation's id is derived from the
command's, so a command delivered twice is confirmed twice with the same id."""

from __future__ import annotations

import uuid

from simulators.partner_bank import reports
from simulators.partner_bank.signatures import SigningKeys, signature_is_valid

CONFIRMATIONS = {
    "card.block_request": "blocked",
    "card.unblock_request": "unblocked",
    "card.cancel_request": "cancelled",
}
COMMAND_TYPES = tuple(CONFIRMATIONS)


def check(keys: SigningKeys, bank_code: str, message: dict) -> str | None:
    """None when the command is genuine and for this bank; else why not. Raises
    KeysUnavailable while the printing service cannot be asked for its keys."""
    data = message.get("data") or {}
    signature, key_id = message.get("signature"), message.get("signaturekeyid")
    if not signature or not key_id:
        return "the command is not signed"
    key = keys.key(str(key_id))
    if key is None:
        return f"unknown signing key {key_id}"
    if not signature_is_valid(key, data, str(signature)):
        return "data does not match its signature"
    if data.get("bank_code") != bank_code:
        return f"command for bank {data.get('bank_code')} reached {bank_code}"
    return None


def confirmation(bank_code: str, message: dict) -> dict:
    """The `bank.card_status` report confirming the command."""
    data = message["data"]
    status = CONFIRMATIONS[message["type"]]
    event = reports.status_report(
        bank_code=bank_code,
        card_id=str(data["card_id"]),
        card_serial=data.get("card_serial"),
        status=status,
        print_message=message,
    )
    event["id"] = str(uuid.uuid5(reports.REPORT_ID_NAMESPACE, f"confirm/{message['id']}"))
    event["data"]["command_id"] = message["id"]
    return event
