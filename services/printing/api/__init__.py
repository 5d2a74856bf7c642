"""The bank printing service's HTTP resources, one blueprint each."""

from services.printing.api import banks, cards, outlets, signing_key

BLUEPRINTS: list = [banks.blp, outlets.blp, cards.blp, signing_key.blp]
