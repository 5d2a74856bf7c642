"""The notification service's business rules, in plain Python."""
