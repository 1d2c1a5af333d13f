"""Integration, real broker: JD, Pinduoduo and Shopify orders, each delivered twice and
shuffled, give one event stream per order and exactly one SHIP per shippable order;
held, refund-blocked and unpaid orders give none; unknown status codes go to the DLQ."""

from __future__ import annotations

import json
import random
from pathlib import Path

import orjson
import pytest

from app.channels import builtin_registry
from app.domain.identity import source_key
from tests.integration.harness import Pipeline, final_orders

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # broker-independent: runs once, on the embedded broker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHOP = "shop-3"
#: fixtures whose order must ship (PAID, no hold, no refund in progress, full receiver)
SHIP = {
    "jd": ("paid", "multi_line_gift", "cod_unpaid", "missing_optional"),
    "pdd": ("paid", "multi_line_gift"),
    "shopify": ("paid", "multi_line_gift", "jpy_zero_decimal"),
}
#: fixtures whose order must not ship: channel holds, refunds in progress, unpaid,
#: already shipped or ended, no shipping address
NO_SHIP = {
    "jd": ("locked_cancel_requested", "pop_order_pause", "shipped", "cancelled_after_pay"),
    "pdd": ("group_forming", "risk_control", "refund_requested", "presale_deposit", "cancelled_after_pay"),
    "shopify": ("pending_manual_payment", "authorized", "redacted_customer", "cancelled_before_payment"),
}
UNKNOWN = {"jd": "DELIVERY_RETURN", "pdd": "'4'", "shopify": "disputed"}


def _envelope(channel: str, name: str) -> tuple[str, bytes, str]:
    payload = json.loads((FIXTURES / channel / f"{name}.json").read_text(encoding="utf-8"))
    try:
        order = builtin_registry().get(channel).adapt(payload, shop_id=SHOP)
        key, oli = source_key(channel, SHOP, order.external_id), order.oli
    except Exception:  # noqa: BLE001 — the unknown-status fixtures: the worker must dead-letter them
        key, oli = f"{channel}:{SHOP}:{name}", ""
    envelope = {"channel": channel, "shop_id": SHOP, "received_at": "2026-11-11T00:00:00+00:00",
                "payload": payload}
    return key, orjson.dumps(envelope), oli


async def test_replayed_and_shuffled_orders_ship_once_each(pipeline: Pipeline) -> None:
    topic = pipeline.names.channel_orders
    ship, hold, messages = set(), set(), []
    for group, target in ((SHIP, ship), (NO_SHIP, hold)):
        for channel, names in group.items():
            for name in names:
                key, value, oli = _envelope(channel, name)
                target.add(oli)
                messages.append((topic, key.encode(), value))
    for channel in UNKNOWN:
        key, value, _ = _envelope(channel, "unknown_status")
        messages.append((topic, key.encode(), value))
    messages = messages * 2
    random.Random(3).shuffle(messages)

    pipeline.start_worker()
    await pipeline.produce(messages)
    everything = ship | hold
    events = await pipeline.collect(pipeline.names.order_events,
                                    until=lambda recs: everything <= {r["oli"] for r in recs},
                                    timeout=90, settle=3.0)
    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: ship <= {r["oli"] for r in recs},
                                      timeout=60, settle=3.0)

    ships = [c for c in commands if c["type"] == "SHIP"]
    assert sorted(c["oli"] for c in ships) == sorted(ship)  # exactly one per shippable order
    assert len({c["command_id"] for c in ships}) == len(ship)
    orders = final_orders(events)
    assert set(orders) == everything
    created = [e for e in events if e["type"] == "OrderCreated"]
    assert sorted(e["oli"] for e in created) == sorted(everything)
    assert not [e for e in events if e["type"] == "OrderUpdated"]  # the second delivery changed nothing
    held = {oli for oli in hold if orders[oli]["holds"]}
    assert {orders[oli]["channel"] for oli in held} == {"jd", "pdd", "shopify"}

    dlq = await pipeline.collect(pipeline.names.dlq(topic), until=lambda recs: len(recs) >= 2 * len(UNKNOWN),
                                 timeout=30, settle=2.0)
    assert len(dlq) == 2 * len(UNKNOWN)
    assert {d["error_type"] for d in dlq} == {"unknown_status"}
    for channel, code in UNKNOWN.items():
        assert sum(d["error"].startswith(f"{channel}: ") and code in d["error"] for d in dlq) == 2
