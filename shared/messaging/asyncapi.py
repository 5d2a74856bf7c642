"""Generates `docs/asyncapi.yaml`, the AsyncAPI 3.0 description of every sscard message, from
the event registry (shared/messaging/events.py) and the topology (shared/messaging/topology.py).

    python -m shared.messaging.asyncapi > docs/asyncapi.yaml

The `data` schemas are the registry's marshmallow schemas, converted to JSON Schema by
apispec; the envelope is CloudEvents 1.0 in structured mode. A contract test regenerates the
document and fails when the committed one differs, so no event type goes undocumented.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.messaging.envelope import CONTENT_TYPE, DATA_CONTENT_TYPE, SPEC_VERSION
from shared.messaging.events import (
    BANK_FEEDBACK_EXCHANGE,
    BANK_REPORTED_STATUSES,
    PRINT_EXCHANGE,
    REGISTRY,
    EventContract,
)
from shared.messaging.topology import EXCHANGES, SUBSCRIPTIONS, print_queue

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT_VERSION = "1.0.0"
AMQP_BINDING_VERSION = "0.3.0"
ENVELOPE = "CloudEvent"
# Extension attributes that only the print message carries (docs/contract.md §4.5).
PRINT_EXTENSIONS = {
    "signature": {
        "type": "string",
        "contentEncoding": "base64",
        "description": "Ed25519 signature over the canonical JSON (RFC 8785) of `data`.",
    },
    "signaturekeyid": {
        "type": "string",
        "description": "The `key_id` of the key at GET /api/v1/print-signing-key that verifies "
        "the signature.",
    },
}

DESCRIPTION = """\
Every message sscard exchanges over RabbitMQ. Each is a CloudEvents 1.0 event in structured
JSON mode (`content_type: application/cloudevents+json`), persistent, with the AMQP
`message_id` equal to the event `id`. The `data` of each type is described by its schema;
consumers must tolerate fields they do not know (more may be added, none removed or renamed
within a `dataschema` version).

Exchanges (all durable): `sscard.events` (topic, routing key = event type),
`sscard.print` (direct, routing key = bank code; each partner bank has the durable quorum
queue `print.<bank_code>`), `sscard.bank-feedback` (topic, routing key
`bank.<bank_code>.<status>`). Partner banks: see docs/banks.md.
"""


def message_id(event_type: str) -> str:
    """`card.print_requested` → `cardPrintRequested`."""
    words = event_type.replace(".", "_").split("_")
    return words[0] + "".join(word.capitalize() for word in words[1:])


def _consumers(contract: EventContract) -> list[str]:
    consumers = []
    for service, bindings in SUBSCRIPTIONS.items():
        for binding in bindings:
            matches_topic = binding.exchange == contract.exchange and (
                binding.routing_key == contract.type
                or (
                    contract.exchange == BANK_FEEDBACK_EXCHANGE
                    and binding.routing_key == "bank.*.*"
                )
            )
            if matches_topic:
                consumers.append(service)
                break
    if contract.exchange == PRINT_EXCHANGE:
        consumers.append("partner banks (queue print.<bank_code>)")
    return consumers


def _data_schemas() -> dict[str, Any]:
    """JSON Schemas of every registry `data` schema, nested ones included, by schema name."""
    spec = APISpec(
        title="sscard events",
        version=DOCUMENT_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
    )
    seen: set[type] = set()
    for contract in REGISTRY.values():
        if contract.schema not in seen:
            seen.add(contract.schema)
            spec.components.schema(contract.schema.__name__, schema=contract.schema)
    return spec.to_dict()["components"]["schemas"]


def _envelope_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0, structured JSON mode.",
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "time",
            "datacontenttype",
            "dataschema",
            "data",
        ],
        "properties": {
            "specversion": {"type": "string", "const": SPEC_VERSION},
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "Unique per event; also the AMQP message_id. A repeated id is "
                "the same event delivered again.",
            },
            "source": {
                "type": "string",
                "description": "`/sscard/<service>` for sscard's events, `/banks/<bank_code>` "
                "for a partner bank's.",
            },
            "type": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "The application or card id."},
            "datacontenttype": {"type": "string", "const": DATA_CONTENT_TYPE},
            "dataschema": {"type": "string", "description": "`urn:sscard:<type>:v<N>`"},
            "correlationid": {
                "type": "string",
                "description": "The application id, through the whole flow.",
            },
            "causationid": {"type": "string", "description": "The id of the causing event."},
            "data": {"type": "object"},
        },
    }


def _payload(contract: EventContract) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "type": {"const": contract.type},
        "dataschema": {"const": contract.dataschema},
        "data": {"$ref": f"#/components/schemas/{contract.schema.__name__}"},
    }
    required = []
    if contract.exchange == PRINT_EXCHANGE:
        properties.update(PRINT_EXTENSIONS)
        required = sorted(PRINT_EXTENSIONS)
    addition: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        addition["required"] = required
    return {"allOf": [{"$ref": f"#/components/schemas/{ENVELOPE}"}, addition]}


def _exchange_binding(exchange: str) -> dict[str, Any]:
    return {
        "amqp": {
            "is": "routingKey",
            "exchange": {
                "name": exchange,
                "type": EXCHANGES[exchange],
                "durable": True,
                "autoDelete": False,
                "vhost": "/",
            },
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def _channel(contract: EventContract) -> tuple[str, dict[str, Any]]:
    identifier = message_id(contract.type)
    channel: dict[str, Any] = {
        "address": contract.type,
        "title": contract.type,
        "summary": contract.summary,
        "messages": {identifier: {"$ref": f"#/components/messages/{identifier}"}},
        "bindings": _exchange_binding(contract.exchange),
        "x-sscard-consumers": _consumers(contract),
    }
    if contract.exchange == PRINT_EXCHANGE:
        channel["address"] = "{bank_code}"
        channel["description"] = (
            f"Routed by bank code to the bank's durable quorum queue "
            f"`{print_queue('<bank_code>')}`, which sscard declares and the bank consumes. "
            "Published as mandatory: a message no queue takes is kept and retried by sscard."
        )
        channel["parameters"] = {
            "bank_code": {
                "description": "The partner bank's code, e.g. ICBC.",
                "examples": ["ICBC"],
            }
        }
    elif contract.exchange == BANK_FEEDBACK_EXCHANGE:
        channel["address"] = "bank.{bank_code}.{status}"
        channel["description"] = (
            "Partner banks publish here; `bank_code` must be the bank of the card reported on "
            "(another bank's report is refused and dead-lettered) and `status` must equal "
            "`data.status`."
        )
        channel["parameters"] = {
            "bank_code": {"description": "The reporting bank's code.", "examples": ["ICBC"]},
            "status": {
                "description": "The reported status.",
                "enum": list(BANK_REPORTED_STATUSES),
            },
        }
    return identifier, channel


def _operation(contract: EventContract, identifier: str) -> dict[str, Any]:
    receiving = contract.exchange == BANK_FEEDBACK_EXCHANGE
    binding: dict[str, Any] = (
        {"ack": True}
        if receiving
        else {"deliveryMode": 2, "mandatory": contract.exchange == PRINT_EXCHANGE}
    )
    binding["bindingVersion"] = AMQP_BINDING_VERSION
    who = contract.producer
    return {
        "action": "receive" if receiving else "send",
        "channel": {"$ref": f"#/channels/{identifier}"},
        "summary": (
            f"sscard's printing service receives this from {who}s."
            if receiving
            else f"The {who} service publishes this."
        ),
        "messages": [{"$ref": f"#/channels/{identifier}/messages/{identifier}"}],
        "bindings": {"amqp": binding},
    }


def _message(contract: EventContract) -> dict[str, Any]:
    return {
        "name": contract.type,
        "title": contract.type,
        "summary": contract.summary,
        "contentType": CONTENT_TYPE,
        "payload": _payload(contract),
        "bindings": {
            "amqp": {"messageType": contract.type, "bindingVersion": AMQP_BINDING_VERSION}
        },
        "x-sscard-dataschema": contract.dataschema,
        "x-sscard-public": contract.public,
    }


def build_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for contract in sorted(REGISTRY.values(), key=lambda c: (c.exchange, c.type)):
        identifier, channel = _channel(contract)
        channels[identifier] = channel
        operations[identifier] = _operation(contract, identifier)
        messages[identifier] = _message(contract)
    schemas = {ENVELOPE: _envelope_schema(), **dict(sorted(_data_schemas().items()))}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "sscard messaging",
            "version": DOCUMENT_VERSION,
            "description": DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ; set by AMQP_URL in each deployment.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so the document reads like the prose it holds."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def render() -> str:
    header = (
        "# Generated by `python -m shared.messaging.asyncapi` from "
        "shared/messaging/events.py; do not edit.\n"
    )
    body = yaml.dump(
        build_document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return header + body


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
