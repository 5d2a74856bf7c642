"""The bank printing service's HTTP resources, one blueprint each."""

from services.printing.api import banks, card_life, cards, ecard, outlets, signing_key

BLUEPRINTS: list = [banks.blp, outlets.blp, card_life.blp, cards.blp, signing_key.blp, ecard.blp]
