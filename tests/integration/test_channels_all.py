"""Integration, real broker: the golden orders of every built-in channel, each delivered
twice and shuffled, give one OLI per platform order and exactly one SHIP per order that
the pure domain says ships; nothing else ships, and the second delivery changes nothing."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from app.catalog import Catalog
from app.channels import builtin_registry
from app.domain.identity import source_key
from app.domain.model import CommandType, Order
from app.domain.transitions import RoutingDefaults, apply_channel_update
from app.geocoders import make_geocoder
from app.routing import RulesRouter
from app.rules import RuleSet
from app.settings import Settings
from tests.integration.harness import Pipeline, final_orders

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # the adapters end to end: broker-independent, once

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHOP = "shop-9"


def _golden_orders() -> list[tuple[Order, dict]]:
    """One fixture per platform order (fixtures of one order at several stages would race)."""
    registry = builtin_registry()
    picked: dict[str, tuple[Order, dict]] = {}
    for expected in sorted(FIXTURES.glob("*/*.expected.json")):
        channel = expected.parent.name
        if "oli" not in json.loads(expected.read_text("utf-8")):
            continue  # an error case: the DLQ tests cover those
        payload = json.loads(expected.with_name(expected.name.replace(".expected", "")).read_text("utf-8"))
        order = registry.get(channel).adapt(payload, shop_id=SHOP)
        picked.setdefault(order.oli, (order, payload))
        if channel == "taobao":  # tmall reads the same TOP format under its own name
            tmall = registry.get("tmall").adapt(payload, shop_id=SHOP)
            picked.setdefault(tmall.oli, (tmall, payload))
    return list(picked.values())


def _ships(order: Order) -> bool:
    """What the worker must decide, from the pure domain with the worker's default routing."""
    settings = Settings.from_env()
    router = RulesRouter(RuleSet(()), Catalog(), make_geocoder(settings),
                         RoutingDefaults(settings.default_warehouse, settings.default_carrier))
    decision = apply_channel_update(None, order, (), datetime.now(UTC), router)
    return any(c.type is CommandType.SHIP for c in decision.commands)


async def test_every_channel_replayed_and_shuffled_ships_once_per_shippable_order(pipeline: Pipeline) -> None:
    golden = _golden_orders()
    assert {o.channel for o, _ in golden} == set(builtin_registry().channels())
    ship = {o.oli for o, _ in golden if _ships(o)}
    everything = {o.oli for o, _ in golden}
    assert len(ship) >= 8 and len(everything) - len(ship) >= 8  # both kinds, across channels
    topic = pipeline.names.channel_orders
    messages = [(topic, source_key(o.channel, SHOP, o.external_id).encode(),
                 orjson.dumps({"channel": o.channel, "shop_id": SHOP, "received_at": "2026-11-11T00:00:00+00:00",
                               "payload": payload}))
                for o, payload in golden] * 2
    random.Random(5).shuffle(messages)

    pipeline.start_worker()
    await pipeline.produce(messages)
    events = await pipeline.collect(pipeline.names.order_events,
                                    until=lambda recs: everything <= {r["oli"] for r in recs},
                                    timeout=120, settle=3.0)
    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: ship <= {r["oli"] for r in recs},
                                      timeout=60, settle=3.0)

    ships = [c for c in commands if c["type"] == "SHIP"]
    assert sorted(c["oli"] for c in ships) == sorted(ship)  # one per shippable order, none for others
    assert len({c["command_id"] for c in ships}) == len(ship)
    assert set(final_orders(events)) == everything
    created = sorted(e["oli"] for e in events if e["type"] == "OrderCreated")
    assert created == sorted(everything)  # one OLI per platform order
    assert not [e for e in events if e["type"] == "OrderUpdated"]  # the second delivery changed nothing
