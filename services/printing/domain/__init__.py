"""The bank printing service's business rules, in plain Python: the card's life cycle and the
status reports that move it, card numbers and identification codes, the print message and its
signature, bank account masking, bank codes and outlets, applications closed without a card."""
