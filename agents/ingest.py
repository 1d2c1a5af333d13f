"""Faust wiring: channel orders → adapter → standard order, re-keyed by OLI onto `order-inputs`."""

from __future__ import annotations

from typing import Any

from agents.wiring import consume, dead_letter, log, send
from app import codec
from app.channels import default_registry
from app.main import app
from app.topics import channel_orders_topic, order_inputs_topic

registry = default_registry()


async def ingest(event: Any) -> None:
    try:
        envelope = codec.decode_envelope(event.value)
        order = registry.get(envelope.channel).adapt(envelope.payload, shop_id=envelope.shop_id)
    except Exception as exc:  # noqa: BLE001 — every failure is dead-lettered, never raised
        await dead_letter(event, exc, stage="ingest")
        return
    await send(order_inputs_topic, order.oli.encode(), codec.encode_order_input(order=order), event)
    log.debug("order.ingested", oli=order.oli, stage="ingest", channel_status=order.channel_status)


@app.agent(channel_orders_topic, name="ingest-channel-orders")
async def ingest_channel_orders(stream):  # type: ignore[no-untyped-def]
    await consume(stream, ingest)
