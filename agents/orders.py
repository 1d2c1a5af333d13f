"""Faust wiring: the stateful core. Order inputs and WMS events → orders table → events, commands.

One agent reads both topics (co-partitioned by OLI) so an order's inputs are applied one
at a time. Outputs are sent before the state is written: if the worker dies in between,
the input is processed again and the command goes out again with the same command_id
(recognisable downstream) rather than never.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.merges import merge_policy, send_notices
from agents.ops import OPS_TOPIC, apply_ops_command, audit_automatic_holds
from agents.watchdog import policy as watchdog_policy
from agents.wiring import consume, dead_letter, log, publish, retry_policy, utcnow
from app import codec, tracing
from app.domain import transitions, watchdog
from app.domain.identity import make_oli
from app.domain.merge_orders import MergeWaitRouter, notices
from app.domain.model import Order, WmsEvent
from app.geocoders import make_geocoder
from app.main import app, settings
from app.routing import RulesRouter
from app.topics import order_inputs_paid_topic, order_inputs_topic, wms_events_topic
from tables.orders import orders_table, pending_payments_table
from tables.reference import reference

defaults = transitions.RoutingDefaults(warehouse=settings.default_warehouse,
                                       carrier=settings.default_carrier)
geocoder = make_geocoder(settings)
geocoder_blocks = settings.geocoder != "offline"
order_and_wms_topic = app.topic(order_inputs_paid_topic.get_topic_name(), order_inputs_topic.get_topic_name(),
                                wms_events_topic.get_topic_name(), OPS_TOPIC,
                                key_type=bytes, value_type=bytes,
                                key_serializer="raw", value_serializer="raw")
WMS_TOPIC = wms_events_topic.get_topic_name()


def _load(topic: str, value: bytes | None) -> tuple[str, Any, Order | None, Any]:
    """Decode the input and read the order's state (in the event loop: tables are not shared with threads)."""
    if topic == WMS_TOPIC:
        wms_event = codec.decode_wms_event(value)
        return wms_event.oli, wms_event, codec.decode_order(orders_table.get(wms_event.oli.encode())), None
    item = codec.decode_order_input(value or b"")
    oli = item.oli if isinstance(item, Order | watchdog.WatchdogTick) else make_oli(
        item.channel, item.shop_id, item.external_id)
    key = oli.encode()
    return (oli, item, codec.decode_order(orders_table.get(key)),
            codec.decode_payments(pending_payments_table.get(key)))


def _apply(item: Any, order: Order | None, pending: Any, routing: transitions.Router) -> transitions.Decision:
    """Pure: the transition for one input."""
    now = utcnow()
    if isinstance(item, WmsEvent):
        return transitions.apply_wms_event(order, item, now, routing)
    if isinstance(item, Order):
        return transitions.apply_channel_update(order, item, pending, now, routing)
    if isinstance(item, watchdog.WatchdogTick):
        return watchdog.apply_tick(order, now, watchdog_policy, routing)
    return transitions.apply_payment(order, item, pending, now, routing)


async def process(event: Any) -> None:
    topic = event.message.topic
    stage = "wms" if topic == WMS_TOPIC else "route"
    if not reference.ready.is_set():
        await reference.ready.wait()  # rules and SKU catalog loaded once before the first order is routed
    rules_router = RulesRouter(reference.rules, reference.catalog, geocoder, defaults)
    routing = MergeWaitRouter(rules_router, merge_policy()) if merge_policy().enabled else rules_router
    if topic == OPS_TOPIC:
        await apply_ops_command(event, routing)
        return

    async def decide() -> tuple[str, Any, Order | None, transitions.Decision]:
        oli, item, order, pending = _load(topic, event.value)
        if geocoder_blocks:  # an online geocoder: keep its network calls off the event loop
            return oli, item, order, await asyncio.to_thread(_apply, item, order, pending, routing)
        return oli, item, order, _apply(item, order, pending, routing)

    try:  # nothing is sent before the decision: a step that fails for good is only dead-lettered
        oli, item, order, decision = await retry_policy.decide(decide, what="decide")
    except Exception as exc:  # noqa: BLE001 — every failure is dead-lettered, never raised
        await dead_letter(event, exc, stage=stage)
        return
    tracing.tag_decision(oli, item, order, decision)
    if rules_router.last is not None:
        _log_routing(oli, rules_router)
    if not decision.changed:
        log.debug("order.unchanged", oli=oli, stage=stage, outcome=decision.outcome)
        return
    await publish(decision, event)
    await audit_automatic_holds(decision, event)
    await send_notices(notices(order, decision.order, utcnow()), event)
    key = oli.encode()
    if decision.order is not None:
        orders_table[key] = codec.encode(decision.order)
    if decision.pending is not None:
        if decision.pending:
            pending_payments_table[key] = codec.encode(decision.pending)
        elif key in pending_payments_table:
            del pending_payments_table[key]
    log_processed = log.info if isinstance(item, watchdog.WatchdogTick) else log.debug  # watchdog actions are rare
    log_processed("order.processed", oli=oli, stage=stage, outcome=decision.outcome,
                  version=decision.order.version if decision.order else None, commands=len(decision.commands))


def _log_routing(oli: str, routing: RulesRouter) -> None:
    decision = routing.last
    assert decision is not None
    for ref, message in decision.evaluation.errors:
        reference.rule_errors[ref.id] += 1
        log.warning("rule.failed", oli=oli, rule_id=ref.id, rule_version=ref.version, error=message,
                    failures=reference.rule_errors[ref.id])
    log.debug("order.routed", oli=oli, stage="route", carrier=decision.carrier, warehouse=decision.warehouse,
             holds=[h.reason for h in decision.holds],
             rules_fired=[f"{r.id}@{r.version}" for r in decision.rules_fired])


@app.agent(order_and_wms_topic, name="process-orders")
async def process_orders(stream):  # type: ignore[no-untyped-def]
    await consume(stream, process)
