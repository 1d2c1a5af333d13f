"""Faust wiring: each order's path (events + audit entries) in `order-history`; live stats.

The agent that decides (`process-orders`) also records: after it sends an input's order
events and audit entries, it appends them to the order's bounded history, in the same
step as the order's state (same partition, same transaction under exactly_once). Reading
the entries back from `order-events` and `audit` would cost every order a second pass
through a stream, a decode and a table write per message. The same entries feed the
worker's in-memory dashboard counters (`app/console/stats.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from app import tracing
from app.console.queries import append_history, audit_history_entry, event_entry
from app.console.stats import LiveStats
from tables.console import history_table

live_stats = LiveStats()


def record(events: Iterable[bytes] = (), audit: Iterable[bytes] = ()) -> None:
    """Append encoded `order-events` and `audit` messages to their orders' histories."""
    entries: dict[str, list[dict[str, Any]]] = {}
    now = datetime.now(UTC)
    for raw in events:
        data = orjson.loads(raw)
        live_stats.on_event(data, now)
        entries.setdefault(data["oli"], []).append(event_entry(data))
    for raw in audit:
        data = orjson.loads(raw)
        live_stats.on_audit(data)
        if data.get("oli"):
            entries.setdefault(data["oli"], []).append(audit_history_entry(data))
    trace_id = tracing.current_trace_id()  # the input's trace: from the order to its trace
    for oli, new in entries.items():
        if trace_id:
            for entry in new:
                entry["trace_id"] = trace_id
        key = oli.encode()
        history = orjson.loads(history_table.get(key) or b"[]")
        for entry in new:
            history = append_history(history, entry)
        history_table[key] = orjson.dumps(history)
