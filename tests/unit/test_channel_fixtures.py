"""Every channel fixture with an expected SOM, through the registry, compared field by field.

A fixture is ``tests/fixtures/<channel>/<name>.json`` (the platform payload) next to
``<name>.expected.json``: either the expected order (the `Order` as JSON, as
``codec.encode`` writes it; ``version``, ``fulfillment`` and ``payment_ids`` may be left
out) or an expected failure ``{"error_type": "unknown_status", "error": "<substring>"}``.
The shop id is the expected order's ``shop_id`` (``"shop-1"`` for failures). Adding a
fixture pair is all it takes to test it here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from app import codec
from app.channels import builtin_registry
from app.domain.errors import OrderhubError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
#: fields every expected order must spell out (the rest may be left at their defaults)
CORE_FIELDS = ("oli", "channel", "shop_id", "external_id", "status", "channel_status", "refund_status",
               "updated_at", "created_at", "paid_at", "buyer", "receiver", "lines", "amounts",
               "buyer_memo", "seller_memo", "tags", "holds")


def _cases() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*.json")
                  if not p.name.endswith(".expected.json") and p.with_suffix(".expected.json").exists())


CASES = _cases()
REGISTRY = builtin_registry()


def _differences(expected: Any, actual: Any, path: str) -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in expected:
            if key not in actual:
                found.append(f"{path}.{key}: missing from the adapted order")
            else:
                found.extend(_differences(expected[key], actual[key], f"{path}.{key}"))
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in _differences(e, a, f"{path}[{i}]")]
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def test_fixtures_are_found() -> None:
    channels = {p.parent.name for p in CASES}
    assert {"taobao", "douyin"} <= channels


@pytest.mark.parametrize("payload_path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_maps_to_expected_order(payload_path: Path) -> None:
    channel = payload_path.parent.name
    payload = json.loads(payload_path.read_text(encoding="utf-8"))
    expected = json.loads(payload_path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    adapter = REGISTRY.get(channel)
    if "error_type" in expected:
        with pytest.raises(OrderhubError) as caught:
            adapter.adapt(payload, shop_id=expected.get("shop_id", "shop-1"))
        assert caught.value.code == expected["error_type"]
        assert expected["error"] in str(caught.value)
        return
    missing = [f for f in CORE_FIELDS if f not in expected]
    assert not missing, f"{payload_path.name}: the expected order must spell out {missing}"
    order = adapter.adapt(payload, shop_id=expected["shop_id"])
    actual = orjson.loads(codec.encode(order))
    differences = _differences(expected, actual, "order")
    assert not differences, "\n".join(differences)
    assert order.version == 0


@pytest.mark.parametrize("payload_path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_is_deterministic_and_not_mutated(payload_path: Path) -> None:
    raw = payload_path.read_text(encoding="utf-8")
    payload = json.loads(raw)
    expected = json.loads(payload_path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    if "error_type" in expected:
        return
    adapter = REGISTRY.get(payload_path.parent.name)
    first = adapter.adapt(payload, shop_id=expected["shop_id"])
    assert adapter.adapt(payload, shop_id=expected["shop_id"]) == first
    assert payload == json.loads(raw)
