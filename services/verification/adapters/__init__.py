"""What the verification service reaches beyond its own database: the identity registry, the
claim-checked files the application service keeps, and the face analyser (its models, its
process pool, and this process's memo of recent analyses)."""
