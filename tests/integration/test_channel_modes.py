"""Integration, real broker: channel modes. A shadow channel gives order events (marked
``shadow``) and no fulfillment commands; an off channel gives neither; a live one ships."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from app.channels import builtin_registry
from app.domain.identity import source_key
from tests.integration.harness import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # broker-independent: runs once, on the embedded broker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAID = {
    "douyin": ("paid_wrapped", "multi_line_gift", "masked_receiver"),   # shadow
    "wechat": ("paid", "virtual_number", "multi_line_gift"),           # live
    "kuaishou": ("paid", "masked_receiver", "zero_price_gift"),        # off
}


def _envelopes(p: Pipeline) -> tuple[list[tuple[str, bytes, bytes]], dict[str, set[str]]]:
    registry = builtin_registry()
    messages, olis = [], {}
    for channel, names in PAID.items():
        olis[channel] = set()
        for name in names:
            payload = json.loads((FIXTURES / channel / f"{name}.json").read_text(encoding="utf-8"))
            order = registry.get(channel).adapt(payload, shop_id="shop-7")
            olis[channel].add(order.oli)
            envelope = {"channel": channel, "shop_id": "shop-7", "received_at": "2026-11-11T00:00:00+00:00",
                        "payload": payload}
            messages.append((p.names.channel_orders, source_key(channel, "shop-7", order.external_id).encode(),
                             orjson.dumps(envelope)))
    return messages * 2, olis  # delivered twice: still one event stream and one command per order


async def test_shadow_gives_events_but_no_commands_and_off_gives_nothing(pipeline: Pipeline) -> None:
    pipeline.extra_env = {"ORDERHUB_CHANNEL_MODES": "douyin=shadow,kuaishou=off"}
    messages, olis = _envelopes(pipeline)
    pipeline.start_worker()
    await pipeline.produce(messages)

    live_and_shadow = olis["wechat"] | olis["douyin"]
    events = await pipeline.collect(pipeline.names.order_events,
                                    until=lambda recs: live_and_shadow <= {r["oli"] for r in recs},
                                    timeout=90, settle=3.0)
    commands = await pipeline.collect(pipeline.names.fulfillment_commands,
                                      until=lambda recs: olis["wechat"] <= {r["oli"] for r in recs},
                                      timeout=60, settle=3.0)

    shadow_events = [e for e in events if e["oli"] in olis["douyin"]]
    assert {e["oli"] for e in shadow_events} == olis["douyin"]
    assert all(e["shadow"] is True and e["order"]["shadow"] is True for e in shadow_events)
    assert not any(e["type"] == "FulfillmentRequested" for e in shadow_events)
    assert not any(e["oli"] in olis["kuaishou"] for e in events)  # off: skipped, not even mapped
    assert all(e["shadow"] is False for e in events if e["oli"] in olis["wechat"])

    ships = [c for c in commands if c["type"] == "SHIP"]
    assert {c["oli"] for c in ships} == olis["wechat"]  # none for the shadow or off channels
    assert len(ships) == len(olis["wechat"])

    dlq = await pipeline.collect(pipeline.names.dlq(pipeline.names.channel_orders), until=lambda recs: True,
                                 timeout=5, settle=1.0, strict=False)
    assert dlq == []  # skipped envelopes are not dead-lettered
