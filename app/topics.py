"""Faust wiring: every topic object. Names come from `TopicNames` (prefix + constant).

All topics carry raw bytes: agents decode inside their loop, so a decode failure reaches
their `except` and the DLQ keeps the original bytes.
"""

from __future__ import annotations

import faust

from app.admin import DLQ_MAX_MESSAGE_BYTES
from app.main import app, settings, topic_names


def _topic(name: str, **config: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", partitions=settings.partitions,
                     config=config or None)


channel_orders_topic = _topic(topic_names.channel_orders)
payments_topic = _topic(topic_names.payments)
wms_events_topic = _topic(topic_names.wms_events)
order_inputs_topic = _topic(topic_names.order_inputs)
order_inputs_paid_topic = _topic(topic_names.order_inputs_paid)
#: where paid inputs go: the paid lane, or `order-inputs` when paid-first is off (ORDERHUB_PAID_FIRST_BACKLOG=0)
paid_lane_topic = order_inputs_paid_topic if settings.paid_first_backlog > 0 else order_inputs_topic
ops_commands_topic = _topic(topic_names.ops_commands)
merge_candidates_topic = _topic(topic_names.merge_candidates)

order_events_topic = _topic(topic_names.order_events)
fulfillment_commands_topic = _topic(topic_names.fulfillment_commands)
alerts_topic = _topic(topic_names.alerts)
audit_topic = _topic(topic_names.audit)

dlq_topics: dict[str, faust.TopicT] = {
    name: _topic(topic_names.dlq(name), **{"max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES)})
    for name in (topic_names.channel_orders, topic_names.payments, topic_names.wms_events,
                 topic_names.order_inputs, topic_names.order_inputs_paid, topic_names.ops_commands, topic_names.merge_candidates)
}
