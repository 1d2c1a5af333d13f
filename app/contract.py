"""The topic contract: JSON Schemas generated from the records, and docs/asyncapi.yaml.

`python -m app.contract` writes `docs/schemas/*.schema.json` and `docs/asyncapi.yaml`; a
unit test fails when the files differ from what the records say, and an integration test
validates real messages against the schemas, so the contract cannot drift from the code.

Output schemas list every field as required and refuse unknown ones (that is what the
producer writes; consumers should still ignore fields they do not know, see
docs/topics.md#compatibility). Input schemas require only the fields without a default.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from app.domain.audit import AuditEntry
from app.domain.commands import ACTIONS, OpsCommand
from app.domain.model import (
    SCHEMA_VERSION,
    Alert,
    FulfillmentCommand,
    OrderEvent,
    Payment,
    StuckAlert,
    WmsEvent,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "docs" / "schemas"
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
BASE_URI = "https://orderhub.dev/schemas/"

DLQ_ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "topic", "partition", "offset", "key", "value_b64", "headers", "error_type",
                 "error", "stage", "attempts", "first_failed_at", "last_failed_at"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"type": "integer", "const": SCHEMA_VERSION},
        "topic": {"type": "string"}, "partition": {"type": "integer"}, "offset": {"type": "integer"},
        "key": {"type": ["string", "null"]},
        "value_b64": {"type": ["string", "null"], "description": "the original message, base64"},
        "headers": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "error_type": {"type": "string"}, "error": {"type": "string"},
        "stage": {"type": "string"}, "attempts": {"type": "integer", "minimum": 1},
        "first_failed_at": {"type": "string", "format": "date-time"},
        "last_failed_at": {"type": "string", "format": "date-time"},
    },
}
ENVELOPE: dict[str, Any] = {
    "type": "object", "required": ["channel", "shop_id", "received_at", "payload"],
    "properties": {
        "channel": {"type": "string", "description": "taobao, tmall, ..."},
        "shop_id": {"type": ["string", "integer"]},
        "received_at": {"type": "string", "format": "date-time"},
        "payload": {"type": "object", "description": "the platform's raw order JSON"},
    },
}


class _Builder:
    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.defs: dict[str, Any] = {}

    def record(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        props, required = {}, []
        for f in dataclasses.fields(cls):
            props[f.name] = self.type(hints[f.name])
            if f.name == "schema_version":
                props[f.name] = {"type": "integer", "const": SCHEMA_VERSION}
            no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if self.strict or no_default:
                required.append(f.name)
        schema: dict[str, Any] = {"type": "object", "required": required, "properties": props}
        if self.strict:
            schema["additionalProperties"] = False
        if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
            schema["description"] = cls.__doc__.strip().splitlines()[0]
        return schema

    def type(self, tp: Any) -> dict[str, Any]:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [self.type(a) for a in args]}
        if tp is type(None):
            return {"type": "null"}
        if tp is Any:
            return {}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is str:
            return {"type": "string"}
        if tp is datetime:
            return {"type": "string", "format": "date-time"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [m.value for m in tp]}
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            if tp.__name__ not in self.defs:
                self.defs[tp.__name__] = {}  # placeholder against recursion
                self.defs[tp.__name__] = self.record(tp)
            return {"$ref": f"#/$defs/{tp.__name__}"}
        if origin is tuple or origin is list:
            return {"type": "array", "items": self.type(args[0]) if args else {}}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.type(args[1])}
        raise TypeError(f"no JSON Schema for {tp!r}")


def schema_for(cls: type, title: str, *, strict: bool = True) -> dict[str, Any]:
    builder = _Builder(strict=strict)
    root = builder.record(cls)
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_URI + title + ".schema.json",
           "title": title, **root}
    if builder.defs:
        doc["$defs"] = dict(sorted(builder.defs.items()))
    return doc


def _raw(schema: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_URI + title + ".schema.json",
            "title": title, **schema}


def _ops_command() -> dict[str, Any]:
    doc = schema_for(OpsCommand, "ops-command", strict=False)
    doc["properties"]["action"] = {"type": "string", "enum": list(ACTIONS)}
    return doc


def _alert() -> dict[str, Any]:
    """Every alert has `Alert`'s fields; `order_stuck` adds `StuckAlert`'s (absent from other kinds)."""
    doc = schema_for(Alert, "alert")
    stuck = schema_for(StuckAlert, "alert")["properties"]
    doc["properties"] |= {name: schema for name, schema in stuck.items() if name not in doc["properties"]}
    return doc


#: topic (without prefix) → (direction, key, schema name, description, schema)
def topics() -> dict[str, tuple[str, str, str, str, dict[str, Any]]]:
    return {
        "channel-orders": ("input", "channel:shop_id:external_id", "channel-order-envelope",
                           "Platform orders as a connector fetched them.", _raw(ENVELOPE, "channel-order-envelope")),
        "payments": ("input", "any", "payment", "Payments from the payment feed.",
                     schema_for(Payment, "payment", strict=False)),
        "wms-events": ("input", "oli", "wms-event", "Warehouse acknowledgements of fulfillment commands.",
                       schema_for(WmsEvent, "wms-event", strict=False)),
        "ops-commands": ("input", "oli", "ops-command",
                         "Operator commands; written by the HTTP API, applied by the workers.", _ops_command()),
        "order-events": ("output", "oli", "order-event", "Every accepted change of an order, with the order.",
                         schema_for(OrderEvent, "order-event")),
        "fulfillment-commands": ("output", "oli", "fulfillment-command",
                                 "SHIP / CANCEL_SHIPMENT commands for the warehouse; command_id is idempotent.",
                                 schema_for(FulfillmentCommand, "fulfillment-command")),
        "audit": ("output", "oli (rule:<rule id> for a rule change)", "audit-entry",
                  "Who changed what: commands, approvals, automatic holds, rule changes.",
                  schema_for(AuditEntry, "audit-entry")),
        "alerts": ("output", "alert kind", "alert", "Stuck orders, WMS rejections, intercepts too late.",
                   _alert()),
        "dlq": ("output", "the original key", "dlq-entry",
                "Dead letters of an input topic, on `<input topic>.dlq`.", _raw(DLQ_ENTRY, "dlq-entry")),
    }


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for name, (direction, key, schema_name, description, _schema) in topics().items():
        cid = name.replace("-", "_")
        address = "{prefix}.{input}.dlq" if name == "dlq" else "{prefix}." + name
        params: dict[str, Any] = {"prefix": {"description": "ORDERHUB_TOPIC_PREFIX", "default": "orderhub"}}
        if name == "dlq":
            params["input"] = {"enum": ["channel-orders", "payments", "wms-events", "order-inputs", "order-inputs-paid",
                                        "ops-commands", "merge-candidates"], "description": "the input topic"}
        channels[cid] = {
            "address": address, "description": description, "parameters": params,
            "messages": {schema_name.replace("-", "_"): {"$ref": f"#/components/messages/{schema_name}"}},
        }
        schemas[schema_name] = {"$ref": f"schemas/{schema_name}.schema.json"}
        # the application's view: it receives inputs and sends outputs
        operations[("receive_" if direction == "input" else "send_") + cid] = {
            "action": "receive" if direction == "input" else "send",
            "channel": {"$ref": f"#/channels/{cid}"}, "summary": f"{description} Key: {key}.",
        }
    messages = {
        s: {"name": s, "contentType": "application/json",
            "payload": {"schemaFormat": "application/schema+json;version=draft-2020-12",
                        "schema": {"$ref": f"#/components/schemas/{s}"}},
            "bindings": {"kafka": {"key": {"type": "string"}}}}
        for s in schemas
    }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "orderhub topics", "version": f"{SCHEMA_VERSION}.0.0",
                 "description": "Every topic orderhub reads and writes. Values are UTF-8 JSON; every output "
                                "carries schema_version. Generated by `python -m app.contract`; see "
                                "docs/topics.md for examples and compatibility rules."},
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": "localhost:9092", "protocol": "kafka",
                              "description": "your cluster (ORDERHUB_BROKER)"}},
        "channels": channels, "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def rendered() -> dict[Path, str]:
    files = {SCHEMA_DIR / f"{s[2]}.schema.json": json.dumps(s[4], indent=2, ensure_ascii=False) + "\n"
             for s in topics().values()}
    files[ASYNCAPI] = ("# Generated by `python -m app.contract` from the records in app/domain; do not edit.\n"
                       + yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True, width=100))
    return files


def main() -> int:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in rendered().items():
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(ROOT), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
