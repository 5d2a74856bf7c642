"""Personal data: the resident ID number, the identity registry it is checked against, and
how such data is encrypted, indexed and masked."""
