"""Who acts on a card after its activation, and which cards each may act on.

A holder acts on their own cards only (the card's account is theirs); a bank operator on the
cards of their bank only; an administrator on any card. A card the actor may not act on is
answered as if it did not exist, so nobody learns of another person's or another bank's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    HOLDER = "holder"
    BANK_OPERATOR = "operator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    # The account id from the token.
    subject: str
    # A bank operator's bank.
    bank_code: str | None = None

    @property
    def source(self) -> str:
        """How the card's history names them: holder:<id>, operator:<id>, admin:<id>."""
        return f"{self.kind}:{self.subject}"

    def may_act_on(self, *, account_id: str, bank_code: str) -> bool:
        if self.kind is ActorKind.HOLDER:
            return account_id == self.subject
        if self.kind is ActorKind.BANK_OPERATOR:
            return self.bank_code is not None and bank_code == self.bank_code
        return True


def holder(subject: str) -> Actor:
    return Actor(ActorKind.HOLDER, subject)


def bank_operator(subject: str, bank_code: str) -> Actor:
    return Actor(ActorKind.BANK_OPERATOR, subject, bank_code)


def admin(subject: str) -> Actor:
    return Actor(ActorKind.ADMIN, subject)
