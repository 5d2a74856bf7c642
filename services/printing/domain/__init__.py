"""The bank printing service's business rules, in plain Python: the card's life cycle, card
numbers and identification codes, the print message and its signature, bank account masking."""
