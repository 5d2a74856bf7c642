"""The application service's business rules, in plain Python."""
