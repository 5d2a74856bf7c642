"""What the registration service reaches beyond its own database: the signing key ring on disk
and the tokens it signs with it."""
