"""Conventions that hold for every service, checked so nobody has to remember them:
every route says who may call it, every worker handles exactly what its queue receives,
and every bound event type is in the registry."""

from __future__ import annotations

import importlib

import pytest

from shared.config import SERVICES
from shared.messaging.events import BANK_FEEDBACK_EXCHANGE, REGISTRY
from shared.messaging.topology import SUBSCRIPTIONS

# Served by flask-smorest (the OpenAPI document) and by the shared health blueprint.
OPEN_BY_DESIGN = {"api-docs.openapi_json", "health.healthz", "health.readyz", "health.metrics"}


def bound_event_types(service: str) -> set[str]:
    types = set()
    for binding in SUBSCRIPTIONS[service]:
        # Banks report on their own exchange under bank.<code>.<status>, always as one type.
        types.add(
            "bank.card_status"
            if binding.exchange == BANK_FEEDBACK_EXCHANGE
            else binding.routing_key
        )
    return types


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_declares_who_may_call_it(service):
    app = importlib.import_module(f"services.{service}.app").create_app()
    unguarded = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        guarded = hasattr(view, "_sscard_roles") or getattr(view, "_sscard_public", False)
        if not guarded and rule.endpoint not in OPEN_BY_DESIGN:
            unguarded.append(f"{sorted(rule.methods - {'HEAD', 'OPTIONS'})} {rule.rule}")
    assert unguarded == []


def test_every_bound_event_type_is_in_the_registry():
    for service in SERVICES:
        assert bound_event_types(service) <= set(REGISTRY), service


@pytest.mark.parametrize("service", [s for s in SERVICES if SUBSCRIPTIONS[s]])
def test_each_worker_handles_exactly_what_its_queue_receives(service):
    handlers = importlib.import_module(f"services.{service}.handlers").HANDLERS
    assert set(handlers) == bound_event_types(service)


def test_a_service_without_subscriptions_has_no_worker():
    for service in SERVICES:
        if not SUBSCRIPTIONS[service]:
            with pytest.raises(ModuleNotFoundError):
                importlib.import_module(f"services.{service}.worker")
