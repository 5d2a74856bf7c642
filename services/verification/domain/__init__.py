"""The verification service's business rules, in plain Python: the checks of CONTRACT §3 and
how their outcomes add up to a decision."""
