"""The registration service's HTTP resources, one blueprint each."""

BLUEPRINTS: list = []
