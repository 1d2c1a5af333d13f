"""Faust wiring shared by the agents: dead-lettering and publishing a `Decision`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from app import codec
from app.dlq import dlq_entry, encode_entry
from app.domain.errors import OrderhubError
from app.domain.transitions import Decision
from app.logs import get_logger
from app.topics import alerts_topic, dlq_topics, fulfillment_commands_topic, order_events_topic

log = get_logger("orderhub.agents")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def dead_letter(event: Any, exc: BaseException, *, stage: str) -> None:
    """Send the event's original bytes and the reason to `<topic>.dlq`; the agent goes on."""
    message = event.message
    entry = dlq_entry(topic=message.topic, partition=message.partition, offset=message.offset,
                      key=message.key, value=message.value, headers=message.headers,
                      exc=exc, stage=stage)
    level = log.warning if isinstance(exc, OrderhubError) else log.error
    level("order.dead_lettered", stage=stage, topic=message.topic, partition=message.partition,
          offset=message.offset, error_type=entry["error_type"], error=entry["error"][:300],
          exc_info=not isinstance(exc, OrderhubError))
    await dlq_topics[message.topic].send(key=message.key, value=encode_entry(entry))


async def publish(decision: Decision) -> None:
    """Emit what a decision says, in order: commands, order events, alerts."""
    for command in decision.commands:
        await fulfillment_commands_topic.send(key=command.oli.encode(), value=codec.encode(command))
    for order_event in decision.events:
        await order_events_topic.send(key=order_event.oli.encode(), value=codec.encode(order_event))
    for alert in decision.alerts:
        await alerts_topic.send(key=alert.kind.encode(), value=codec.encode(alert))
        log.warning("order.alert", oli=alert.oli, kind=alert.kind, detail=alert.detail)
