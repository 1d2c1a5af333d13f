"""Unit: the topic contract files are what the records say, and real records validate."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import orjson
import pytest
import yaml

from app import codec
from app.contract import ASYNCAPI, SCHEMA_DIR, rendered, topics
from app.dlq import dlq_entry
from app.domain import approvals as ap
from app.domain.operations import apply_command
from tests.unit.test_operations import NOW, POLICY, ROUTING, cmd, paid_order


def test_contract_files_match_the_records() -> None:
    for path, text in rendered().items():
        assert path.exists(), f"{path} missing: run python -m app.contract"
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run python -m app.contract"


@pytest.mark.parametrize("name", sorted(topics()))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(topics()[name][4])


def test_asyncapi_references_resolve() -> None:
    doc = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    assert doc["asyncapi"].startswith("3.")
    messages = doc["components"]["messages"]
    for channel in doc["channels"].values():
        for ref in channel["messages"].values():
            message = messages[ref["$ref"].rsplit("/", 1)[1]]
            schema_ref = doc["components"]["schemas"][message["payload"]["schema"]["$ref"].rsplit("/", 1)[1]]
            assert (ASYNCAPI.parent / schema_ref["$ref"]).exists()
    for op in doc["operations"].values():
        assert op["channel"]["$ref"].rsplit("/", 1)[1] in doc["channels"]


def _validate(schema_name: str, record: object) -> None:
    schema = orjson.loads((SCHEMA_DIR / f"{schema_name}.schema.json").read_bytes())
    jsonschema.validate(orjson.loads(codec.encode(record)), schema,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_records_the_code_makes_validate() -> None:
    order = paid_order(total=500_000)
    asked = apply_command(order, (), cmd("change_address", params={"receiver": {"name": "李四"}}, reason="x"),
                          POLICY, NOW, ROUTING)
    approval = (asked.approvals or ())[0]
    first = apply_command(asked.decision.order, asked.approvals,
                          cmd("approve", "amy", approval_id=approval.approval_id), POLICY, NOW, ROUTING)
    second = apply_command(asked.decision.order, first.approvals,
                           cmd("approve", "bob", approval_id=approval.approval_id), POLICY, NOW, ROUTING)
    assert second.outcome == ap.ApprovalState.APPROVED.value
    for event in asked.decision.events + second.decision.events:
        _validate("order-event", event)
    for command in second.decision.commands:
        _validate("fulfillment-command", command)
    for entry in asked.audit + first.audit + second.audit:
        _validate("audit-entry", entry)
    _validate("ops-command", cmd("hold", reason="x"))
    entry = dlq_entry(topic="t", partition=0, offset=1, key=b"k", value=b"v", headers=[], exc=ValueError("x"),
                      stage="ingest")
    jsonschema.validate(entry, orjson.loads(Path(SCHEMA_DIR / "dlq-entry.schema.json").read_bytes()))
    with pytest.raises(jsonschema.ValidationError):
        _validate("fulfillment-command", second.decision.events[0])
