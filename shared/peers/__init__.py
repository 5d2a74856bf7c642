"""Clients of the systems outside the platform that services ask: the national identity
registry, the SMS gateway and the carriers' real-name check of a phone."""
