"""Testing helpers: isolated brokers and databases, tokens, and waiters that return the moment
something has happened instead of sleeping."""
