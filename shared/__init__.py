"""Cross-cutting code every sscard service shares: configuration, logging, persistence,
messaging, the web shell and auth. Business rules never live here."""
