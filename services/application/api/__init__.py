"""The application service's HTTP resources, one blueprint each."""

BLUEPRINTS: list = []
