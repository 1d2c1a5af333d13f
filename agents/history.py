"""Faust wiring: each order's path (events + audit entries) into `order-history`; live stats.

Reads the output topics `order-events` and `audit` (keyed by OLI, co-partitioned with the
orders table) and appends a short entry per message to the order's bounded history. The
same messages feed the worker's in-memory dashboard counters (`app/console/stats.py`).
"""

from __future__ import annotations

from typing import Any

import orjson

from agents.wiring import consume, log, utcnow
from app import codec
from app.console.queries import append_history, audit_history_entry, event_entry
from app.console.stats import LiveStats
from app.domain.errors import OrderhubError
from app.main import app
from app.topics import audit_topic, order_events_topic
from tables.console import history_table

AUDIT_TOPIC = audit_topic.get_topic_name()
history_inputs_topic = app.topic(order_events_topic.get_topic_name(), AUDIT_TOPIC, key_type=bytes,
                                 value_type=bytes, key_serializer="raw", value_serializer="raw")
live_stats = LiveStats()


async def record(event: Any) -> None:
    try:
        data = codec.decode_json(event.value, what="history input")
        oli = str(data.get("oli") or "")
        if not oli and data.get("rule_id"):
            return  # a rule change: its trail is the audit topic (key rule:<id>), no order's history
        if not oli:
            raise OrderhubError("history input without an oli")
    except OrderhubError as exc:
        # our own output topics: nothing to dead-letter into, and nothing to lose
        log.warning("history.skipped", topic=event.message.topic, offset=event.message.offset, error=str(exc))
        return
    if event.message.topic == AUDIT_TOPIC:
        entry = audit_history_entry(data)
        live_stats.on_audit(data)
    else:
        entry = event_entry(data)
        live_stats.on_event(data, utcnow())
    key = oli.encode()
    history = orjson.loads(history_table.get(key) or b"[]")
    history_table[key] = orjson.dumps(append_history(history, entry))


@app.agent(history_inputs_topic, name="record-history")
async def record_history(stream):  # type: ignore[no-untyped-def]
    await consume(stream, record)
