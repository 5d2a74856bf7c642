"""The verification service's use cases, one module per area: each runs inside the caller's
unit of work (a consumer's transaction, or a request's) and commits nothing."""
