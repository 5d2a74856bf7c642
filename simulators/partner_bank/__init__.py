"""A partner bank, simulated: consumes its print queues, verifies each print message's
signature, and reports the card's progress on `sscard.bank-feedback`.

Written the way a partner bank would write it, from docs/banks.md and docs/asyncapi.yaml
alone: it depends on pika, cryptography and requests, and on nothing of sscard's own code.
It is the reference consumer banks can copy.
"""
