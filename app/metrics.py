"""Prometheus metrics of a worker (served on `GET /metrics`), in one registry of their own.

Every metric is documented in docs/operations.md. Label values are bounded: `channel` is
a known channel name or `other`, `topic` one of orderhub's topics, `reason` an error or
hold code.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from app.domain.identity import CHANNEL_CODES
from app.operations.lag import LagRow

#: the classic text format generate_latest writes, understood by every Prometheus version
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

__all__ = ["CONTENT_TYPE", "REGISTRY", "channel_of_key", "render"]

REGISTRY = CollectorRegistry(auto_describe=True)

#: header on every output: when the first input of the chain reached Kafka (ms since the epoch)
ORIGIN_HEADER = "orderhub-origin-ts"
#: operator command types (ARCHITECTURE.md); exported at 0 until operator commands exist
MANUAL_COMMAND_TYPES = ("change_address", "hold", "release", "cancel", "split", "merge", "approve", "reject")

events_in = Counter("orderhub_events_in", "Input messages taken by an agent, per topic and channel",
                    ("topic", "channel"), registry=REGISTRY)
events_out = Counter("orderhub_events_out", "Messages produced by the agents, per topic and channel",
                     ("topic", "channel"), registry=REGISTRY)
payment_to_command = Histogram(
    "orderhub_payment_to_command_seconds",
    "From the input that made an order shippable reaching Kafka to its SHIP command being sent",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY)
dlq_messages = Counter("orderhub_dlq_messages", "Messages dead-lettered, per source topic and reason",
                       ("topic", "reason"), registry=REGISTRY)
holds = Counter("orderhub_holds", "Orders put on hold, per hold reason", ("reason",), registry=REGISTRY)
stuck_orders = Gauge("orderhub_stuck_orders", "Orders of this worker's partitions raised as stuck "
                     "(order_stuck) and still without a WMS acknowledgement", registry=REGISTRY)
retries = Counter("orderhub_retries", "Steps that failed transiently and were tried again (each counted once), "
                  "per step: `decide` (decode and routing) or `send`", ("what",), registry=REGISTRY)
recommands = Counter("orderhub_recommands", "SHIP commands the stuck-order watchdog sent again "
                     "(same command_id)", registry=REGISTRY)
manual_commands = Counter("orderhub_manual_commands", "Operator commands applied, per type",
                          ("type",), registry=REGISTRY)
rule_hits = Counter("orderhub_rule_hits", "Routing rule matches, per rule id", ("rule",), registry=REGISTRY)
alerts = Counter("orderhub_alerts", "Alerts published on the alerts topic, per kind", ("kind",), registry=REGISTRY)
alert_deliveries = Counter("orderhub_alert_webhook_messages",
                           "Alert webhook outcomes: sent, deduplicated, rate_limited, failed",
                           ("outcome",), registry=REGISTRY)
consumer_lag = Gauge("orderhub_consumer_lag", "Messages between a group's committed offset and the log end",
                     ("group", "topic", "partition"), registry=REGISTRY)
consumption_rate = Gauge("orderhub_consumption_rate",
                         "Committed messages per second over the last lag sample interval",
                         ("group", "topic", "partition"), registry=REGISTRY)
backlog = Gauge("orderhub_backlog_messages", "The workers' own group: summed lag on its input topics "
                "(channel orders, payments, order inputs, WMS events, operator commands)", registry=REGISTRY)
catchup_rate = Gauge("orderhub_catchup_rate", "The workers' own group: input messages committed per second "
                     "over the last lag sample", registry=REGISTRY)
backlog_eta = Gauge("orderhub_backlog_eta_seconds", "Estimated seconds until the backlog is processed at the "
                    "current rate (-1 = unknown: no progress in the last sample)", registry=REGISTRY)
paid_first_backlog = Gauge("orderhub_paid_first_backlog", "This worker: messages not yet read on its partitions "
                           "of the paid lane, channel orders and payments", registry=REGISTRY)
unpaid_lane_held = Gauge("orderhub_unpaid_lane_held", "This worker: 1 while its unpaid lane (order-inputs) is held "
                         "back so paid orders go first", registry=REGISTRY)
lag_samples_failed = Counter("orderhub_lag_samples_failed", "Lag samples that could not read the cluster",
                             registry=REGISTRY)

for _type in MANUAL_COMMAND_TYPES:
    manual_commands.labels(_type)
for _outcome in ("sent", "deduplicated", "rate_limited", "failed"):
    alert_deliveries.labels(_outcome)

_CODE_TO_CHANNEL = {code: name for name, code in CHANNEL_CODES.items()}


def channel_of_key(key: bytes | None) -> str:
    """The channel of an order message from its key: `taobao:shop:id` or an OLI `tb-shop-id`."""
    if not key:
        return "other"
    head = key[:16].decode("ascii", "replace")
    name, sep, _ = head.partition(":")
    if sep and name in CHANNEL_CODES:
        return name
    code, sep, _ = head.partition("-")
    return _CODE_TO_CHANNEL.get(code, "other") if sep else "other"


def set_lag(rows: Iterable[LagRow]) -> None:
    """Replace the lag and rate gauges with one sample (partitions no longer seen disappear)."""
    consumer_lag.clear()
    consumption_rate.clear()
    for row in rows:
        labels = (row.group, row.topic, str(row.partition))
        consumer_lag.labels(*labels).set(row.lag)
        if row.rate is not None:
            consumption_rate.labels(*labels).set(row.rate)


def render() -> bytes:
    return generate_latest(REGISTRY)
