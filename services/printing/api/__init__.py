"""The bank printing service's HTTP resources, one blueprint each."""

BLUEPRINTS: list = []
