"""The verification service's rules, in plain Python: the checks of docs/contract.md §3.3 and
how their outcomes add up to a decision."""
