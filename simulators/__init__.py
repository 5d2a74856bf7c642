"""Stand-ins for the external systems sscard talks to, for development, demos and tests:
the national identity registry and the partner banks. sscard reaches them only over their
documented interfaces, so the real systems can replace them without a code change."""
