"""Faust wiring: the stateful core. Order inputs and WMS events → orders table → events, commands.

One agent reads both topics (co-partitioned by OLI) so an order's inputs are applied one
at a time. Outputs are sent before the state is written: if the worker dies in between,
the input is processed again and the command goes out again with the same command_id
(recognisable downstream) rather than never.
"""

from __future__ import annotations

from typing import Any

from agents.ops import OPS_TOPIC, apply_ops_command, audit_automatic_holds
from agents.wiring import consume, dead_letter, log, publish, utcnow
from app import codec
from app.domain import transitions
from app.domain.identity import make_oli
from app.domain.model import Order
from app.main import app, settings
from app.topics import order_inputs_topic, wms_events_topic
from tables.orders import orders_table, pending_payments_table

routing = transitions.RoutingDefaults(warehouse=settings.default_warehouse,
                                      carrier=settings.default_carrier)
order_and_wms_topic = app.topic(order_inputs_topic.get_topic_name(), wms_events_topic.get_topic_name(), OPS_TOPIC,
                                key_type=bytes, value_type=bytes,
                                key_serializer="raw", value_serializer="raw")
WMS_TOPIC = wms_events_topic.get_topic_name()


def _decide(topic: str, value: bytes | None) -> tuple[str, transitions.Decision]:
    now = utcnow()
    if topic == WMS_TOPIC:
        wms_event = codec.decode_wms_event(value)
        key = wms_event.oli.encode()
        return wms_event.oli, transitions.apply_wms_event(
            codec.decode_order(orders_table.get(key)), wms_event, now, routing)
    item = codec.decode_order_input(value or b"")
    if isinstance(item, Order):
        key = item.oli.encode()
        return item.oli, transitions.apply_channel_update(
            codec.decode_order(orders_table.get(key)), item,
            codec.decode_payments(pending_payments_table.get(key)), now, routing)
    oli = make_oli(item.channel, item.shop_id, item.external_id)
    key = oli.encode()
    return oli, transitions.apply_payment(
        codec.decode_order(orders_table.get(key)), item,
        codec.decode_payments(pending_payments_table.get(key)), now, routing)


async def process(event: Any) -> None:
    topic = event.message.topic
    if topic == OPS_TOPIC:
        await apply_ops_command(event)
        return
    stage = "wms" if topic == WMS_TOPIC else "route"
    try:
        oli, decision = _decide(topic, event.value)
    except Exception as exc:  # noqa: BLE001 — every failure is dead-lettered, never raised
        await dead_letter(event, exc, stage=stage)
        return
    if not decision.changed:
        log.debug("order.unchanged", oli=oli, stage=stage, outcome=decision.outcome)
        return
    await publish(decision, event)
    await audit_automatic_holds(decision, event)
    key = oli.encode()
    if decision.order is not None:
        orders_table[key] = codec.encode(decision.order)
    if decision.pending is not None:
        if decision.pending:
            pending_payments_table[key] = codec.encode(decision.pending)
        elif key in pending_payments_table:
            del pending_payments_table[key]
    log.debug("order.processed", oli=oli, stage=stage, outcome=decision.outcome,
              version=decision.order.version if decision.order else None, commands=len(decision.commands))


@app.agent(order_and_wms_topic, name="process-orders")
async def process_orders(stream):  # type: ignore[no-untyped-def]
    await consume(stream, process)
