"""Faust wiring: `GET /api/stats`, the dashboard's figures gathered from every worker.

Per worker: throughput and latency counters (`agents/history.py`), consumer lag of its
partitions (Faust's monitor: end offset − committed offset), stuck orders and pending
approvals of its tables. Once per request, from Kafka: the message count of each DLQ.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.web import View
from mode import Service

from agents.history import live_stats
from app import codec
from app.admin import client_security
from app.console import stats
from app.console.queries import MAX_SCAN, stuck_reason
from app.console.roles import Permission, Principal
from app.domain import approvals as ap
from app.log_ends import log_end_offsets, stop_helper
from app.main import app, settings, topic_names
from app.web.api import api, gather, json_response
from tables.console import approvals_table
from tables.orders import orders_table

DLQ_CACHE_S = 5.0
_dlq_cache: dict[str, Any] = {"at": 0.0, "counts": {}}
_offsets: dict[str, AIOKafkaConsumer] = {}


def _lag() -> dict[str, int]:
    monitor = app.monitor
    lag: dict[str, int] = {}
    for tp in app.assignor.assigned_actives():
        end = (monitor.tp_end_offsets or {}).get(tp)
        committed = (monitor.tp_committed_offsets or {}).get(tp)
        if end is not None:
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - (committed or 0))
    return lag


def _local() -> dict[str, Any]:
    now, after = datetime.now(UTC), timedelta(seconds=settings.stuck_after_s)
    stuck = pending = scanned = 0
    for _key, value in orders_table.items():
        scanned += 1
        order = codec.decode_order(value)
        if order is not None and stuck_reason(order, now, after):
            stuck += 1
        if scanned >= MAX_SCAN:
            break
    for _key, value in approvals_table.items():
        pending += len(ap.pending(codec.decode_approvals(value)))
    return {"live": live_stats.snapshot(), "lag": _lag(), "stuck": stuck, "pending_approvals": pending}


async def dlq_counts() -> dict[str, int]:
    if time.monotonic() - _dlq_cache["at"] < DLQ_CACHE_S:
        return _dlq_cache["counts"]  # type: ignore[no-any-return]
    consumer = _offsets.get("c")
    if consumer is None:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, **client_security(settings))  # type: ignore[arg-type]
        await consumer.start()
        _offsets["c"] = consumer
    topics = [topic_names.dlq(t) for t in topic_names.inputs]
    tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
    ends = await log_end_offsets(consumer, tps)
    begins = await consumer.beginning_offsets(tps)
    counts = {t: sum(ends[tp] - begins[tp] for tp in tps if tp.topic == t) for t in topics}
    _dlq_cache.update(at=time.monotonic(), counts=counts)
    return counts


@app.page("/api/stats")
class StatsView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal) -> Any:
        async def local() -> dict[str, Any]:
            return _local()

        answers, failed = await gather(request, local)
        lag: dict[str, int] = {}
        for a in answers:
            for topic, n in a["lag"].items():
                lag[topic] = lag.get(topic, 0) + n
        merged = stats.merge([a["live"] for a in answers], datetime.now(UTC))
        return json_response(self, merged | {
            "consumer_lag": lag, "dlq": await dlq_counts(), "workers": len(answers), "unreachable": failed,
            "stuck": sum(a["stuck"] for a in answers),
            "pending_approvals": sum(a["pending_approvals"] for a in answers)})


@app.service
class DlqOffsetsClient(Service):
    """Stops the DLQ offsets client with the worker (it starts on the first stats request)."""

    async def on_stop(self) -> None:
        consumer = _offsets.pop("c", None)
        if consumer is not None:
            await stop_helper(consumer, "dlq-offsets")
