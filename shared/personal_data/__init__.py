"""Personal data: the resident ID number, and how such data is encrypted, indexed and masked."""
