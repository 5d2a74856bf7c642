"""The verification service's business rules, in plain Python: the checks of docs/contract.md
§3.3 and how their outcomes add up to a decision, the numbers they apply, a case's statuses,
and what the service refuses."""
