"""Build the AsyncAPI document of every event from the marshmallow schemas.

Run `python -m services.contracts.asyncapi` (or `senctl contracts asyncapi`) to
print it; docs/asyncapi.json is this output, and a test keeps the two equal.
"""

import json

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import catalogue
from .envelope import EnvelopeSchema


def build() -> dict:
    # One APISpec collects the JSON schema of every event's data, and of the
    # schemas they nest, under components.schemas.
    spec_builder = APISpec("events", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec_builder.components.schema("Envelope", schema=EnvelopeSchema)
    for spec in catalogue():
        spec_builder.components.schema(_schema_name(spec), schema=spec.schema)
    schemas = spec_builder.to_dict()["components"]["schemas"]
    envelope = schemas.pop("Envelope")
    channels, messages = {}, {}
    for spec in catalogue():
        name = f"{spec.type}.v{spec.version}"
        payload = json.loads(json.dumps(envelope))
        payload["properties"]["type"] = {"type": "string", "const": spec.type}
        payload["properties"]["version"] = {"type": "integer", "const": spec.version}
        payload["properties"]["data"] = {"$ref": f"#/components/schemas/{_schema_name(spec)}"}
        messages[name] = {
            "name": spec.type,
            "title": f"{spec.type} (version {spec.version})",
            "summary": spec.summary,
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "traceparent": {"type": "string", "description": "W3C trace context"},
                },
            },
            "payload": payload,
        }
        channel = f"{spec.producer}.events/{spec.type}"
        channels.setdefault(channel, {
            "description": f"Topic exchange `{spec.producer}.events`, routing key `{spec.type}`.",
            "subscribe": {"operationId": f"receive_{spec.type.replace('.', '_')}",
                          "message": {"oneOf": []}},
        })
        channels[channel]["subscribe"]["message"]["oneOf"].append(
            {"$ref": f"#/components/messages/{name}"})
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "SEN trust platform events",
            "version": "1",
            "description": "Every event published by the platform's services, "
                           "generated from services/contracts.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }


def _schema_name(spec):
    return f"{spec.schema.__name__}"


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
