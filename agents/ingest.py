"""Faust wiring: channel orders → adapter → standard order, re-keyed by OLI onto `order-inputs`."""

from __future__ import annotations

from app import codec
from app.channels import default_registry
from app.domain.errors import OrderhubError
from app.main import app
from app.topics import channel_orders_topic, order_inputs_topic
from agents.wiring import dead_letter, log

registry = default_registry()


@app.agent(channel_orders_topic, name="ingest-channel-orders")
async def ingest_channel_orders(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        try:
            envelope = codec.decode_envelope(event.value)
            order = registry.get(envelope.channel).adapt(envelope.payload, shop_id=envelope.shop_id)
        except OrderhubError as exc:
            await dead_letter(event, exc, stage="ingest")
            continue
        except Exception as exc:  # an adapter bug must not stop the stream or lose the message
            await dead_letter(event, exc, stage="ingest")
            continue
        await order_inputs_topic.send(key=order.oli.encode(), value=codec.encode_order_input(order=order))
        log.debug("order.ingested", oli=order.oli, stage="ingest", channel=order.channel,
                  channel_status=order.channel_status)
