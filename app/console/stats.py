"""Pure: the dashboard's live figures, counted per worker from the events it sees.

Each worker counts what its partitions carry; the dashboard sums the workers' snapshots
(`merge`). Counters live in memory: they restart from zero with the worker, while the
topics stay the durable record.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

BUCKET_S = 10
BUCKETS = 60  # ten minutes of throughput in 10 s buckets
LATENCY_SAMPLES = 2000
HOURS = 24
MANUAL_ROLES = frozenset({"operator", "approver", "admin"})
#: orders whose ids a worker remembers for the "touched by hand" share
MAX_TRACKED = 500_000


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@dataclass
class LiveStats:
    #: (bucket start epoch s, channel) -> order events
    throughput: Counter[tuple[int, str]] = field(default_factory=Counter)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    #: (hour start epoch s, command) -> manual audit entries
    interventions: Counter[tuple[int, str]] = field(default_factory=Counter)
    orders_seen: set[str] = field(default_factory=set)
    orders_touched: set[str] = field(default_factory=set)
    events_total: int = 0

    def on_event(self, event: dict[str, Any], now: datetime) -> None:
        order = event.get("order") or {}
        bucket = int(now.timestamp()) // BUCKET_S * BUCKET_S
        self.throughput[(bucket, order.get("channel", "?"))] += 1
        self.events_total += 1
        if len(self.orders_seen) < MAX_TRACKED and event.get("oli"):
            self.orders_seen.add(event["oli"])
        if event.get("type") == "FulfillmentRequested" and order.get("paid_at") and event.get("at"):
            paid = datetime.fromisoformat(order["paid_at"])
            sent = datetime.fromisoformat(event["at"])
            self.latencies_ms.append(max(0.0, (sent - paid).total_seconds() * 1000))
        self._trim(bucket)

    def on_audit(self, entry: dict[str, Any]) -> None:
        if entry.get("role") not in MANUAL_ROLES:
            return
        at = datetime.fromisoformat(entry["at"])
        hour = int(at.timestamp()) // 3600 * 3600
        self.interventions[(hour, entry.get("command") or entry.get("action", "?"))] += 1
        if len(self.orders_touched) < MAX_TRACKED and entry.get("oli"):
            self.orders_touched.add(entry["oli"])

    def _trim(self, bucket: int) -> None:
        if len(self.throughput) > BUCKETS * 20:
            oldest = bucket - BUCKETS * BUCKET_S
            for key in [k for k in self.throughput if k[0] < oldest]:
                del self.throughput[key]
        if len(self.interventions) > HOURS * 20:
            oldest_hour = bucket // 3600 * 3600 - HOURS * 3600
            for key in [k for k in self.interventions if k[0] < oldest_hour]:
                del self.interventions[key]

    def snapshot(self) -> dict[str, Any]:
        return {
            "throughput": [[b, c, n] for (b, c), n in sorted(self.throughput.items())],
            "latencies_ms": list(self.latencies_ms),
            "interventions": [[h, c, n] for (h, c), n in sorted(self.interventions.items())],
            "orders_seen": len(self.orders_seen),
            "orders_touched": len(self.orders_touched),
            "events_total": self.events_total,
        }


def merge(snapshots: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The workers' snapshots as one dashboard view."""
    throughput: Counter[tuple[int, str]] = Counter()
    interventions: Counter[tuple[int, str]] = Counter()
    latencies: list[float] = []
    seen = touched = events = 0
    for snap in snapshots:
        for b, c, n in snap.get("throughput", []):
            throughput[(b, c)] += n
        for h, c, n in snap.get("interventions", []):
            interventions[(h, c)] += n
        latencies += snap.get("latencies_ms", [])
        seen += snap.get("orders_seen", 0)
        touched += snap.get("orders_touched", 0)
        events += snap.get("events_total", 0)
    current = int(now.timestamp()) // BUCKET_S * BUCKET_S
    channels = sorted({c for _, c in throughput})
    series = {c: [throughput.get((current - i * BUCKET_S, c), 0) / BUCKET_S for i in range(BUCKETS - 1, -1, -1)]
              for c in channels}
    hour = int(now.timestamp()) // 3600 * 3600
    per_hour: dict[str, list[int]] = {}
    for (h, c), n in interventions.items():
        if hour - h < HOURS * 3600:
            per_hour.setdefault(c, [0] * HOURS)[HOURS - 1 - (hour - h) // 3600] += n
    return {
        "bucket_s": BUCKET_S,
        "throughput_per_s": series,
        "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                       "samples": len(latencies)},
        "interventions_per_hour": per_hour,
        "orders_seen": seen,
        "orders_touched": touched,
        "intervention_rate": touched / seen if seen else 0.0,
        "events_total": events,
    }
