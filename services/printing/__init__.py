"""The bank printing service: banks and outlets, card orders, signed print messages to partner
banks, and the card's life until activation.
"""
