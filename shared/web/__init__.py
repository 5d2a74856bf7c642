"""The HTTP shell every service shares: app factory, problem+json errors, health, metrics,
OpenAPI, authentication decorators and idempotent requests."""
