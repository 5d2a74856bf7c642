"""The registration service's business rules, in plain Python."""
