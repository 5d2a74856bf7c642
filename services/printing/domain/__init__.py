"""The bank printing service's business rules, in plain Python."""
