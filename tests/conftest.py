"""Fixtures come from shared.testing.plugin (loaded for every session in pyproject.toml)."""
