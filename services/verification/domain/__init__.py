"""The verification service's business rules, in plain Python."""
